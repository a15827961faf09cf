"""Evaluating one configuration: doubling n and data, early verdicts, pruning, concurrency."""

import functools
from concurrent.futures import ThreadPoolExecutor

import pytest
from tuning_fakes import FakeEngine

from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._outcome import Knowledge
from ecoptigen.tuning._samples import salt_after
from ecoptigen.tuning._scores import aggregate_metrics
from ecoptigen.tuning._space import build_space
from ecoptigen.tuning._steps import StepBudget, Unaffordable, call_all

DATA = [{"q": f"question {i}"} for i in range(10)]


def count(responses, **instance):
    return {"success": len(responses) >= 4, "responses": len(responses), "distinct": len(set(responses))}


def evaluator(engine, budget=None, pool=None, eval_func=count, **space):
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 50, **space}, chat=False)
    create = functools.partial(engine.create, chat=False)
    return TrialEvaluator(create, space, DATA, eval_func, "success", "max", budget, engine.price_table, pool)


def test_without_inference_budget_each_instance_gets_one_request_of_n():
    engine = FakeEngine()
    outcome = evaluator(engine, n=8).evaluate({"prompt": 0}, Knowledge())
    assert outcome.status == "ok"
    assert [(r["n"], r["salt"]) for r in engine.requests] == [(8, None)] * len(DATA)
    assert outcome.metrics == {"success": 1.0, "responses": 8.0, "distinct": 8.0}
    assert outcome.cost == pytest.approx(engine.paid)
    assert outcome.avg_input_tokens == pytest.approx(5)


def test_growing_n_asks_only_for_the_additional_completions_with_fresh_salts():
    engine = FakeEngine()
    # ~390 output tokens per instance: n=1 is all max_tokens=200 guarantees, and n=8 (~350) fits
    knowledge = Knowledge(avg_input_tokens=5)
    outcome = evaluator(engine, budget=0.000235, n=8, max_tokens=200).evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "ok"
    first = [(r["n"], r["salt"]) for r in engine.requests if r["context"] == DATA[0]]
    assert first == [(2, None), (2, "ecoptigen.tuning:after=2"), (4, "ecoptigen.tuning:after=4")]
    # every instance ends with exactly n distinct completions
    assert outcome.metrics["responses"] == 8 and outcome.metrics["distinct"] == 8


def test_clearly_over_budget_stops_after_one_instance_and_marks_n_invalid():
    engine = FakeEngine(tokens_per_choice=60)
    knowledge = Knowledge(avg_input_tokens=5)
    # $0.0001 leaves ~165 output tokens: n=3 is valid by max_tokens=50, so n=4 (~250 tokens) is tried first
    outcome = evaluator(engine, budget=0.0001, n=16).evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "over_budget"
    assert outcome.metrics["success"] == float("-inf")
    assert len(engine.requests) == 1
    assert outcome.updates[0] == ["invalid", ["gpt-4o-mini", 0, -1], 50.0, 4]


def test_clearly_under_budget_at_small_n_skips_the_rest_of_the_data():
    engine = FakeEngine()
    knowledge = Knowledge(avg_input_tokens=5)
    # $0.0005 leaves ~830 output tokens: n=16 is valid by max_tokens alone, so n=17 is evaluated at once
    outcome = evaluator(engine, budget=0.0005, n=17).evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "ok"
    assert {r["n"] for r in engine.requests} == {17}


def test_under_verdict_at_smaller_n_is_learned_and_data_is_skipped():
    engine = FakeEngine()
    knowledge = Knowledge(avg_input_tokens=5)
    # target ~ 498 tokens; max_tokens=50 makes n<=9 valid outright; n=10 starts, ~440 tokens: under at one instance
    outcome = evaluator(engine, budget=0.0003, n=14).evaluate({"prompt": 0}, knowledge)
    assert ["valid", ["gpt-4o-mini", 0, -1], 50.0, 10] in outcome.updates
    requests_at_10 = [r for r in engine.requests if r["n"] == 10]
    assert len(requests_at_10) == 1  # the verdict came after the first instance
    assert outcome.status == "over_budget"  # 14 completions (~616 tokens) do not fit


def test_known_invalid_config_is_pruned_without_a_request():
    engine = FakeEngine()
    knowledge = Knowledge(avg_input_tokens=5)
    knowledge.regions.mark_invalid(("gpt-4o-mini", 0, -1), 50, 8)
    outcome = evaluator(engine, budget=0.0001, n=20).evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "pruned" and outcome.cost == 0
    assert engine.requests == []


def test_measured_inference_cost_over_budget_never_counts_as_ok():
    engine = FakeEngine()
    outcome = evaluator(engine, budget=0.00001, n=2).evaluate({"prompt": 0}, Knowledge())
    assert outcome.status == "over_budget"
    assert [update[0] for update in outcome.updates] == ["invalid", "completion_tokens"]


def test_without_a_target_yet_the_config_is_evaluated_at_once():
    engine = FakeEngine()
    outcome = evaluator(engine, budget=1.0, n=8).evaluate({"prompt": 0}, Knowledge())
    assert outcome.status == "ok"
    assert [(r["n"], r["salt"]) for r in engine.requests] == [(8, None)] * len(DATA)


def test_concurrent_evaluation_equals_sequential():
    sequential, concurrent = FakeEngine(), FakeEngine()
    knowledge = Knowledge(avg_input_tokens=5)
    a = evaluator(sequential, budget=0.0004, n=12, max_tokens=200).evaluate({"prompt": 0}, knowledge)
    with ThreadPoolExecutor(8) as pool:
        b = evaluator(concurrent, budget=0.0004, n=12, max_tokens=200, pool=pool).evaluate({"prompt": 0}, knowledge)
    assert len(sequential.requests) > len(DATA)  # n and data grew
    assert a == b
    key = lambda r: (str(r["context"]), r["n"], str(r["salt"]))  # noqa: E731
    assert sorted(map(key, sequential.requests)) == sorted(map(key, concurrent.requests))


def test_missing_metric_fails_on_the_first_result():
    calls = []

    def wrong(responses, **instance):
        calls.append(instance)
        return {"accuracy": 1.0}

    with pytest.raises(ConfigurationError, match="'success'"):
        evaluator(FakeEngine(), n=1, eval_func=wrong).evaluate({"prompt": 0}, Knowledge())
    assert len(calls) == 1


def test_aggregate_metrics_averages_numbers_and_bools_only():
    assert aggregate_metrics([{"s": True, "t": "x", "c": 2}, {"s": False, "c": 4}], "s") == {"s": 0.5, "c": 3.0}


def test_salts_differ_for_every_offset():
    assert len({salt_after(k) for k in range(10)}) == 10


def test_call_all_waits_for_everything_and_raises_the_first_error():
    done = []

    def work(i):
        if i == 1:
            raise ValueError("boom")
        done.append(i)
        return i

    with ThreadPoolExecutor(4) as pool, pytest.raises(ValueError, match="boom"):
        call_all(pool, work, [0, 1, 2, 3])
    assert sorted(done) == [0, 2, 3]


def test_step_budget_admits_at_once_when_worst_cases_fit():
    import threading

    step, admitted = StepBudget(1.0, [0.3, 0.3, 0.3]), []
    admitting = threading.Thread(target=lambda: [admitted.append(step.admit(p) or p) for p in range(3)], daemon=True)
    admitting.start()
    admitting.join(timeout=5)
    assert admitted == [0, 1, 2]  # none waited, though no done() was called
    over = StepBudget(1.0, [0.3, 0.3, 0.5])
    waiting = threading.Thread(target=over.admit, args=(2,), daemon=True)
    waiting.start()
    waiting.join(timeout=0.2)
    assert waiting.is_alive()  # 0.3 + 0.3 + 0.5 > 1: the third waits for the real costs of the first two
    over.done(0, 0.1)
    over.done(1, 0.1)
    waiting.join(timeout=5)
    assert not waiting.is_alive()


@pytest.mark.parametrize(("first_cost", "admitted"), [(0.1, True), (0.5, False)])
def test_step_budget_decides_on_real_costs_of_earlier_requests(first_cost, admitted):
    import threading

    step = StepBudget(1.0, [0.6, 0.6])
    step.admit(0)
    outcome = []

    def second():
        try:
            step.admit(1)
            outcome.append(True)
        except Unaffordable:
            outcome.append(False)

    waiter = threading.Thread(target=second)
    waiter.start()
    waiter.join(0.05)
    assert outcome == []  # it waits for the first request's real cost
    step.done(0, first_cost)
    waiter.join(5)
    assert outcome == [admitted]


def test_a_trial_expected_to_cost_more_than_is_left_stops_after_its_first_instance():
    engine = FakeEngine(tokens_per_choice=40)
    knowledge = Knowledge(avg_input_tokens=5)
    # ~43 output tokens per completion, 8 completions, 10 instances: finishing costs about ten times
    # what one instance costs. With room for three instances, the first one shows it cannot finish.
    one_instance = FakeEngine(tokens_per_choice=40).create(DATA[0], chat=False, model="gpt-4o-mini", prompt="{q}",
                                                           max_tokens=50, n=8)["cost"]  # fmt: skip
    trial = evaluator(engine, budget=1.0, n=8)
    trial.budget_left = lambda: 3 * one_instance - engine.paid
    outcome = trial.evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "unaffordable" and "expected to cost" in outcome.error
    assert len(engine.requests) == 1
    # With room for all of it, the same trial finishes.
    roomy = FakeEngine(tokens_per_choice=40)
    trial = evaluator(roomy, budget=1.0, n=8)
    trial.budget_left = lambda: 12 * one_instance - roomy.paid
    assert trial.evaluate({"prompt": 0}, knowledge).status == "ok"
