"""What a failed attempt costs the budget: nothing when it cannot have been billed, else an estimate that
the retry settles; and every wait is logged and announced (docs/tuning.md, "Failed requests and money")."""

import logging

import pytest

from ecoptigen import errors, sim
from ecoptigen.money.ledger import SpendLedger
from ecoptigen.oai import CompletionEngine
from ecoptigen.run_context import _waiting as waiting


@pytest.fixture
def engine(tmp_path):
    return CompletionEngine(cache_path_root=str(tmp_path / "cache"))


def ask(engine, server, prompt="Say hi", **config):
    settings = {"model": "gpt-4o-mini", "prompt": prompt, "max_tokens": 20, "base_url": server.base_url}
    settings.update(api_key="sk-test", use_cache=False, retry_time=0.01)
    return engine.create(**{**settings, **config})


def worst_case(engine, server, **config):
    from ecoptigen.client._request import prepare

    settings = {"model": "gpt-4o-mini", "prompt": "Say hi", "max_tokens": 20, "base_url": server.base_url}
    settings.update(request_timeout=5, **config)
    with SpendLedger(budget=1.0).activate():
        request = prepare(None, settings, chat=False, chat_models=set(), price_table=engine.price_table,
                          allow_format_str_template=True)  # fmt: skip
        return request.worst_case_cost()


def test_a_status_error_is_never_billed(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=["500", "429"]) as server, ledger.activate():
        response = ask(engine, server)
        billed = server.stats()["total_billed_usd"]
    assert ledger.unconfirmed == 0 and ledger.reserved == 0
    assert ledger.paid == pytest.approx(response["cost"]) == pytest.approx(billed)


def test_a_malformed_answer_is_settled_at_what_its_retry_cost(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=["malformed"]) as server, ledger.activate():
        response = ask(engine, server)
        stats = server.stats()
    assert stats["billed_but_lost"] == 1  # the provider billed the garbled answer
    assert ledger.paid == pytest.approx(response["cost"])
    assert ledger.unconfirmed == pytest.approx(response["cost"])  # the estimate of the lost one: its retry's cost
    assert ledger.paid + ledger.unconfirmed == pytest.approx(stats["total_billed_usd"], rel=0.5)
    assert ledger.usage["gpt-4o-mini"].unconfirmed == pytest.approx(response["cost"])


def test_a_lost_answer_that_no_retry_replaces_counts_at_the_models_average(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=[None, "truncated"]) as server, ledger.activate():
        first = ask(engine, server, n=2)
        with pytest.raises(errors.RequestTimeout):
            ask(engine, server, prompt="Say hello", n=3, max_tokens=500, retry_timeout=0)
    per_completion = first["cost"] / 2
    assert ledger.unconfirmed == pytest.approx(3 * per_completion)  # n=3 at the average seen, not the worst case
    assert ledger.reserved == 0


def test_before_any_answer_a_lost_attempt_counts_at_its_worst_case(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=["truncated"]) as server, ledger.activate():
        with pytest.raises(errors.RequestTimeout):
            ask(engine, server, retry_timeout=0)
        expected = worst_case(engine, server)
    assert ledger.unconfirmed == pytest.approx(expected) and ledger.paid == 0


def test_a_connection_dropped_sooner_than_any_answer_could_finish_is_not_billed(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, latency=0.2, fault_plan=[None, "disconnect"]) as server, ledger.activate():
        ask(engine, server)  # answers from this endpoint take about 0.2 s
        second = ask(engine, server, prompt="Say hello")  # dropped at once, then answered
        billed = server.stats()["total_billed_usd"]
    assert ledger.unconfirmed == 0
    assert ledger.paid == pytest.approx(billed) and second["cost"] > 0


def test_a_drop_before_any_answer_time_is_known_is_estimated_until_the_retry_shows_it_came_too_soon(engine):
    events = []
    ledger = SpendLedger(budget=1.0, listener=lambda *event: events.append(event))
    with sim.serve(seed=1, latency=0.2, fault_plan=["disconnect"]) as server, ledger.activate():
        ask(engine, server)
    estimates = [usd for kind, _, usd in events if kind == "estimate"]
    assert len(estimates) == 2 and estimates[0] > 0  # held as maybe billed while nothing was known ...
    assert estimates[1] == 0 and ledger.unconfirmed == 0  # ... and cleared once the answer took 0.2 s


def test_a_drop_no_sooner_than_answers_come_is_settled_at_the_retrys_cost(engine):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=["disconnect"]) as server, ledger.activate():
        where = f"OpenAI-compatible endpoint at {server.base_url}"
        engine._fastest_answer[(where, "gpt-4o-mini")] = 1e-6  # as if this endpoint answered in a microsecond
        response = ask(engine, server)
    assert ledger.unconfirmed == pytest.approx(response["cost"])


@pytest.mark.parametrize(("policy", "kept"), [("none", "nothing"), ("worst_case", "worst"), ("estimate", "retry")])
def test_the_failure_billing_policy_decides_what_a_lost_answer_counts(engine, policy, kept):
    ledger = SpendLedger(budget=1.0)
    with sim.serve(seed=1, fault_plan=["malformed"]) as server, ledger.activate():
        response = ask(engine, server, failure_billing=policy)
        expected = {"nothing": 0.0, "worst": worst_case(engine, server), "retry": response["cost"]}[kept]
    assert ledger.unconfirmed == pytest.approx(expected)


def test_an_unknown_failure_billing_policy_is_refused_before_sending(engine):
    with sim.serve() as server:
        with pytest.raises(errors.ConfigurationError, match="failure_billing must be one of"):
            ask(engine, server, failure_billing="never")
        assert server.stats()["requests"] == 0


def test_an_attempt_interrupted_while_in_flight_keeps_its_worst_case(engine, monkeypatch):
    def interrupted(step):
        raise KeyboardInterrupt

    ledger = SpendLedger(budget=1.0)
    monkeypatch.setattr(engine._blocking_io, "send", interrupted)
    with sim.serve() as server, ledger.activate(), pytest.raises(KeyboardInterrupt):
        ask(engine, server)
    assert ledger.reserved == 0 and ledger.unconfirmed == pytest.approx(worst_case(engine, server))


def test_estimates_count_against_the_budget(engine):
    with sim.serve(seed=1, fault_plan=["truncated"]) as server:
        budget = 1.5 * worst_case(engine, server)
        ledger = SpendLedger(budget=budget)
        with ledger.activate(), pytest.raises(errors.BudgetExceededError, match="unconfirmed"):
            ask(engine, server)  # the lost attempt keeps its worst case: no room left for the retry
    assert ledger.paid == 0 and ledger.committed <= budget


def test_every_wait_is_logged_and_announced(engine, caplog):
    heard = []
    with (
        sim.serve(fault_plan=["429", "503", "429"]) as server,
        waiting.listening(lambda cause, seconds: heard.append((cause, seconds))),
        caplog.at_level(logging.INFO, logger="ecoptigen.oai"),
    ):
        ask(engine, server)
    assert [cause for cause, _ in heard] == ["rate limit", "server error 503", "rate limit"]
    assert all(seconds >= 0 for _, seconds in heard)
    levels = [r.levelno for r in caplog.records if "waiting" in r.getMessage()]
    assert levels == [logging.WARNING, logging.INFO, logging.INFO]  # a WARNING once per burst
    assert "rate limit from" in caplog.records[0].getMessage()
