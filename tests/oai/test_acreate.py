"""acreate(): create's async twin, over real HTTP through the SDK's AsyncOpenAI, against the simulated endpoint.

Each test runs its own event loop with asyncio.run, as a service would; the loop's clients are closed when
it ends (an unclosed one would fail the test: warnings are errors).
"""

import asyncio
import logging
import socket
import time

import pytest

from ecoptigen import errors, oai, sim
from ecoptigen.money.ledger import SpendLedger
from ecoptigen.oai import CompletionEngine

PROMPTS = [f"Say the number {i}" for i in range(8)]


def billed(server):
    return server.stats()["total_billed_usd"]


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


def test_concurrent_acreate_calls_are_each_answered_and_paid(endpoint):
    ledger = SpendLedger(budget=1.0)

    async def ask_all():
        with ledger.activate():
            return await asyncio.gather(
                *(oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt=p, max_tokens=16) for p in PROMPTS)
            )

    responses = asyncio.run(ask_all())
    assert [r["object"] for r in responses] == ["chat.completion"] * len(PROMPTS)
    assert endpoint.stats()["models"]["gpt-4o-mini"]["requests"] == len(PROMPTS)
    assert sum(r["cost"] for r in responses) == pytest.approx(billed(endpoint))
    assert ledger.paid == pytest.approx(billed(endpoint)) and ledger.reserved == pytest.approx(0, abs=1e-15)


def test_acreate_and_create_share_the_cache_and_the_cost(endpoint):
    request = {"model": "text-davinci-003", "prompt": "# Python 3\ndef add(a, b):", "max_tokens": 32}
    first = asyncio.run(oai.Completion.acreate(**request))
    assert first["cost"] == pytest.approx(billed(endpoint)) and first["cost"] > 0
    again = asyncio.run(oai.Completion.acreate(**request))  # a cache hit, on a new event loop
    synchronous = oai.Completion.create(**request)  # create finds what acreate stored
    assert endpoint.stats()["requests"] == 1
    assert again["choices"] == first["choices"] == synchronous["choices"]
    assert again["cost"] == first["cost"] == synchronous["cost"]


def test_the_same_answer_costs_the_same_through_create_and_acreate(tmp_path):
    request = {"model": "gpt-4o-mini", "prompt": "Say hi", "max_tokens": 16, "api_key": "sk-test", "use_cache": False}
    costs = {}
    for way in ("create", "acreate"):
        with sim.serve(seed=5) as server, CompletionEngine(cache_path_root=str(tmp_path / way)) as engine:
            if way == "create":
                response = engine.create(base_url=server.base_url, **request)
            else:
                response = asyncio.run(engine.acreate(base_url=server.base_url, **request))
            costs[way] = (response["cost"], billed(server), engine.usage.paid)
    assert costs["acreate"] == pytest.approx(costs["create"])
    assert costs["acreate"][0] == pytest.approx(costs["acreate"][1]) and costs["acreate"][0] > 0


def test_acreate_fails_over_along_a_config_list(endpoint):
    response = asyncio.run(
        oai.ChatCompletion.acreate(
            model="gpt-4o-mini",
            prompt="Say hi",
            max_tokens=8,
            use_cache=False,
            config_list=[{"base_url": dead_url()}, {"base_url": endpoint.base_url}],
        )
    )
    assert response["config_id"] == 1 and response["pass_filter"] is True
    assert response["cost"] == pytest.approx(billed(endpoint))


def test_acreate_retries_a_rate_limit_and_pays_only_the_answer(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ecoptigen.oai")
    ledger = SpendLedger(budget=1.0)

    async def ask(engine, base_url):
        with ledger.activate():
            return await engine.acreate(
                model="gpt-4o-mini",
                prompt="Say hi",
                max_tokens=8,
                base_url=base_url,
                api_key="sk-test",
                use_cache=False,
            )

    with sim.serve(seed=1, fault_plan=["429"]) as server, CompletionEngine(cache_path_root=str(tmp_path)) as engine:
        response = asyncio.run(ask(engine, server.base_url))
        assert server.stats()["requests"] == 2
        assert response["cost"] == pytest.approx(billed(server))
    assert ledger.paid == pytest.approx(response["cost"]) and ledger.unconfirmed == 0
    assert any(r.getMessage().startswith("rate limit from") for r in caplog.records)


def test_acreate_refuses_a_request_over_budget_before_sending(endpoint):
    async def ask():
        with SpendLedger(budget=1e-9).activate():
            await oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt="Say hi", max_tokens=500)

    with pytest.raises(errors.BudgetExceededError):
        asyncio.run(ask())
    assert endpoint.stats()["requests"] == 0


def test_acreate_against_a_dead_endpoint_fails_at_once(endpoint):
    url = dead_url()
    with pytest.raises(errors.EndpointUnreachableError):  # loads the async SDK: a cold start is not measured
        asyncio.run(oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt="warm", max_tokens=5, base_url=dead_url()))
    started = time.monotonic()
    with pytest.raises(errors.EndpointUnreachableError, match=url):
        asyncio.run(oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt="Hi", max_tokens=5, base_url=url))
    assert time.monotonic() - started < 10.0  # the bound (the same as create's)


def test_the_event_loop_keeps_running_while_acreate_waits():
    async def ticks_during(request_done: asyncio.Future) -> int:
        count = 0
        while not request_done.done():
            await asyncio.sleep(0.01)
            count += 1
        return count

    async def both(base_url):
        request = asyncio.ensure_future(
            oai.ChatCompletion.acreate(
                model="gpt-4o-mini",
                prompt="Say hi",
                max_tokens=5,
                base_url=base_url,
                api_key="sk-test",
                use_cache=False,
            )
        )
        ticks = await ticks_during(request)
        return await request, ticks

    with sim.serve(seed=1, latency=0.5) as server:
        response, ticks = asyncio.run(both(server.base_url))
    assert response["cost"] > 0
    assert ticks >= 5  # a blocking call would have let the ticker run only after the answer: once
