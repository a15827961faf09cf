"""An endpoint that never answered is reported at once, naming its URL and the fix (issue 25, item 2);
one that did answer is retried as before."""

import logging
import socket
import time

import pytest

from ecoptigen import errors, oai, sim
from ecoptigen.money.ledger import SpendLedger
from ecoptigen.oai import CompletionEngine

# The acceptance bound: a user with a wrong base URL learns it within seconds, not after retry_timeout.
WITHIN = 10.0


def dead_url() -> str:
    """The base URL of a port on 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def engine(tmp_path):
    with CompletionEngine(cache_path_root=str(tmp_path / "cache")) as engine:
        yield engine


def ask(engine, base_url, **config):
    settings = {"model": "gpt-4o-mini", "prompt": "Say hi", "max_tokens": 8, "base_url": base_url}
    return engine.create(**{**settings, "api_key": "sk-test", "use_cache": False, **config})


def test_create_against_a_dead_endpoint_fails_at_once_naming_the_url_and_the_fix(engine):
    url = dead_url()
    started = time.monotonic()
    with pytest.raises(errors.EndpointUnreachableError) as raised:
        ask(engine, url)
    assert time.monotonic() - started < WITHIN
    assert isinstance(raised.value, errors.EcoptigenError)
    message = str(raised.value)
    assert url in message and "base_url" in message
    assert f"python -m ecoptigen.sim --port {url.split(':')[2].split('/')[0]}" in message


def test_the_facade_fails_fast_too_and_even_when_failures_would_return_minus_one(endpoint):
    url = dead_url()
    started = time.monotonic()
    with pytest.raises(errors.EndpointUnreachableError, match=url):
        oai.Completion.create(
            model="gpt-4o-mini", prompt="Hi", max_tokens=5, base_url=url, raise_on_ratelimit_or_timeout=False
        )
    assert time.monotonic() - started < WITHIN


def warm_up_a_cold_process(base_url):
    """Load what a process loads once (the tuner's imports: flaml, numpy; the tokenizer; the SDK's modules), so
    that the clock below measures how soon the failure is reported, not a cold start on a busy machine."""
    import ecoptigen.tuning  # noqa: F401
    from ecoptigen.money import prices as pricing

    pricing.prompt_tokens("gpt-4o-mini", True, None, [{"role": "user", "content": "warm"}])
    with pytest.raises(errors.EndpointUnreachableError):
        oai.ChatCompletion.create(model="gpt-4o-mini", prompt="warm", max_tokens=5, base_url=base_url)


def test_tune_against_a_dead_endpoint_fails_before_spending(endpoint):
    url = dead_url()
    warm_up_a_cold_process(dead_url())
    paid_before = oai.Completion._engine.usage.paid
    started = time.monotonic()
    with pytest.raises(errors.EndpointUnreachableError, match=url):
        oai.ChatCompletion.tune(
            data=[{"q": "1+1"}, {"q": "2+2"}],
            metric="success",
            mode="max",
            eval_func=lambda responses, **instance: {"success": 1.0},
            optimization_budget=0.05,
            num_samples=2,
            model="gpt-4o-mini",
            prompt="{q}",
            max_tokens=20,
            base_url=url,
            show_progress=False,
        )
    assert time.monotonic() - started < WITHIN
    assert oai.Completion._engine.usage.paid == paid_before


def test_a_config_list_fails_over_from_a_dead_endpoint(engine, server):
    ledger = SpendLedger(budget=1.0)
    with ledger.activate():
        response = engine.create(
            model="gpt-4o-mini",
            prompt="Say hi",
            max_tokens=8,
            api_key="sk-test",
            use_cache=False,
            config_list=[{"base_url": dead_url()}, {"base_url": server.base_url}],
        )
    assert response["config_id"] == 1
    assert ledger.unconfirmed == 0 and ledger.paid == pytest.approx(response["cost"])


def test_when_every_endpoint_of_a_config_list_is_dead_the_error_names_each(engine):
    urls = [dead_url(), dead_url().replace("127.0.0.1", "localhost")]
    started = time.monotonic()
    with pytest.raises(errors.EndpointUnreachableError) as raised:
        engine.create(
            model="gpt-4o-mini",
            prompt="Hi",
            max_tokens=5,
            api_key="sk-test",
            config_list=[{"base_url": url} for url in urls],
        )
    assert time.monotonic() - started < WITHIN
    assert "none of the 2 endpoints" in str(raised.value)
    assert all(url in str(raised.value) for url in urls)


def test_an_endpoint_that_answered_before_is_retried_as_before(engine, caplog):
    with sim.serve(seed=1) as server:
        ask(engine, server.base_url)
        url = server.base_url
    engine.close()  # no kept-alive connection: the next request must connect again
    caplog.set_level(logging.INFO, logger="ecoptigen.oai")
    with pytest.raises(errors.RequestTimeout, match="could not connect"):
        ask(engine, url, retry_timeout=5.0, retry_time=0.2)
    waits = [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()]
    assert waits and all(m.startswith("cannot connect from") for m in waits)
