"""FLAML's class attributes mean the same everywhere: assigned on ``oai.Completion``, they take effect in
``create``, ``cost``, ``tune`` and ``test``, for ``ChatCompletion`` too."""

from __future__ import annotations

import time

import pytest

from ecoptigen import errors, oai, sim

DATA = [{"q": "Say hi."}, {"q": "Say bye."}]


def answered(responses, **instance):
    return {"success": float(any(r.strip() for r in responses))}


def test_an_assigned_price_table_is_used_by_create_cost_and_tune(endpoint):
    oai.Completion.price1K = {"gpt-4o-mini": (1.0, 2.0)}
    response = oai.ChatCompletion.create(model="gpt-4o-mini", prompt="price me", max_tokens=5, use_cache=False)
    usage = response["usage"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1000
    assert response["cost"] == pytest.approx(expected)
    assert oai.ChatCompletion.cost(response) == oai.Completion.cost(response) == pytest.approx(expected)
    _, analysis = oai.ChatCompletion.tune(
        data=DATA, metric="success", mode="max", eval_func=answered, num_samples=1, optimization_budget=5,
        model="gpt-4o-mini", prompt="{q}", max_tokens=5, n=1, show_progress=False,
    )  # fmt: skip
    billed_at_list_price = endpoint.stats()["total_billed_usd"]
    assert analysis.total_cost > 100 * billed_at_list_price  # the tuning paid the assigned price
    with pytest.raises(errors.UnknownPriceError, match=r"gpt-4\.1-nano"):  # the assigned table has only one model
        oai.Completion.tune(
            data=DATA, metric="success", mode="max", eval_func=answered, optimization_budget=1,
            model="gpt-4.1-nano", prompt="{q}", show_progress=False,
        )  # fmt: skip


def test_assigned_chat_models_decide_the_endpoint(endpoint):
    oai.Completion.chat_models = oai.Completion.chat_models | {"gpt-3.5-turbo-instruct"}
    with pytest.raises(errors.RequestError, match="not a chat model"):  # the simulated server says so
        oai.Completion.create(model="gpt-3.5-turbo-instruct", prompt="hi", use_cache=False, retry_timeout=0)
    assert "gpt-3.5-turbo-instruct" in oai.ChatCompletion.chat_models


def test_assigned_timeouts_apply_inside_test_and_tune(tmp_path, monkeypatch):
    oai.Completion.request_timeout = 0.2
    oai.Completion.retry_timeout = 0
    config = {"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 5}
    with sim.serve(latency=2.0) as slow:
        monkeypatch.setenv("OPENAI_BASE_URL", slow.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        started = time.monotonic()
        with pytest.raises(errors.RequestTimeout):
            oai.Completion.test(DATA, config, eval_func=answered, use_cache=False)
        with pytest.raises(errors.TuningError, match="every configuration tried kept failing") as caught:
            oai.Completion.tune(
                data=DATA, metric="success", mode="max", eval_func=answered, num_samples=1, use_cache=False,
                show_progress=False, **config,
            )  # fmt: skip
        assert time.monotonic() - started < 1.9  # every attempt gave up at 0.2 s, none was retried
    assert "timed out (waiting for the answer)" in caught.value.analysis.trials[0].error


def test_assigned_retry_time_bounds_the_waits_inside_test(monkeypatch):
    oai.Completion.retry_time = 0.01
    config = {"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 5, "retry_timeout": 0.6}
    with sim.serve(faults={"500": 1.0}) as failing:
        monkeypatch.setenv("OPENAI_BASE_URL", failing.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        with pytest.raises(errors.RetryableError):
            oai.Completion.test(DATA[:1], config, eval_func=answered, use_cache=False)
        # waits of at most 10 ms in 0.6 s: dozens of attempts (FLAML's default 10 s cap allows ~4)
        assert failing.stats()["errors"] >= 15


def test_settings_are_checked_when_assigned():
    with pytest.raises(errors.ConfigurationError, match="request_timeout"):
        oai.Completion.request_timeout = -1
    with pytest.raises(errors.ConfigurationError, match="price1K"):
        oai.Completion.price1K = [("gpt-4", 0.03)]
