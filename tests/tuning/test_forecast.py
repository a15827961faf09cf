"""Stopping a trial the rest of the optimization budget cannot pay for, before it spends (or spends more)."""

import functools

import pytest
from tuning_fakes import FakeEngine

from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._forecast import cannot_start, request_costs, tight
from ecoptigen.tuning._outcome import Knowledge, TrialOutcome
from ecoptigen.tuning._space import build_space

DATA = [{"q": f"question {i}"} for i in range(10)]


def answered(responses, **instance):
    return {"success": bool(responses)}


def evaluator(engine, left, budget=0.01, **space):
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 50, **space}, chat=False)
    create = functools.partial(engine.create, chat=False)
    trial = TrialEvaluator(create, space, DATA, answered, "success", "max", budget, engine.price_table, None)
    trial.budget_left = lambda: left - engine.paid
    return trial


def one_instance_cost(n):
    return FakeEngine().create(DATA[0], chat=False, model="gpt-4o-mini", prompt="{q}", max_tokens=50, n=n)["cost"]


def test_the_first_trial_sends_one_instance_first_when_the_budget_might_not_pay_for_all():
    # No prompt length learned yet, so no early verdict on the inference budget: before, such a trial
    # asked for every instance at once, and the budget admitted them one by one until one did not fit.
    engine = FakeEngine()
    left = 4 * one_instance_cost(30)
    outcome = evaluator(engine, left, n=30).evaluate({"prompt": 0}, Knowledge())
    assert outcome.status == "unaffordable" and "expected to cost" in outcome.error
    assert len(engine.requests) == 1


def test_a_first_trial_the_budget_surely_covers_is_still_sent_in_one_round():
    engine, steps = FakeEngine(), []
    trial = evaluator(engine, 1.0, n=30)
    fill = trial._fill
    trial._fill = lambda params, samples, indices, *n: (steps.append(indices), fill(params, samples, indices, *n))
    assert trial.evaluate({"prompt": 0}, Knowledge()).status == "ok"
    assert steps == [range(0, len(DATA))]


def test_a_trial_even_the_shortest_completions_seen_cannot_pay_for_sends_nothing():
    engine = FakeEngine(tokens_per_choice=40)
    left = 3 * one_instance_cost(30)
    knowledge = Knowledge(avg_input_tokens=5, shortest_completion=40.0)
    outcome = evaluator(engine, left, budget=None, n=30).evaluate({"prompt": 0}, knowledge)
    assert outcome.status == "unaffordable" and outcome.cost == 0 and engine.requests == []
    assert "shortest" in outcome.error
    # Knowing nothing of lengths yet, the same trial pays for its first instance to find out.
    unknown = FakeEngine(tokens_per_choice=40)
    outcome = evaluator(unknown, left, budget=None, n=30).evaluate({"prompt": 0}, Knowledge(avg_input_tokens=5))
    assert outcome.status == "unaffordable" and len(unknown.requests) == 1


def test_every_trial_teaches_the_average_completion_length_and_knowledge_keeps_the_shortest():
    outcome = evaluator(FakeEngine(tokens_per_choice=40), 1.0, n=4).evaluate({"prompt": 0}, Knowledge())
    lengths = [update for update in outcome.updates if update[0] == "completion_tokens"]
    assert len(lengths) == 1 and 40 <= lengths[0][1] <= 47  # 40 plus 0-7 tokens per choice
    knowledge = Knowledge()
    for value in (50.0, 30.0, 45.0):
        knowledge.learn(TrialOutcome("ok", {"success": 1.0}, 0.0, 0.0, [["completion_tokens", value]]))
    assert knowledge.shortest_completion == 30.0


def test_close_to_the_end_of_the_budget_the_rest_comes_in_doubling_steps():
    engine, steps = FakeEngine(), []
    one = one_instance_cost(8)
    # Finishing fits (ten instances), but not with a quarter more and the last request's worst case.
    trial = evaluator(engine, 10.6 * one, budget=None, n=8)
    fill = trial._fill
    trial._fill = lambda params, samples, indices, *n: (steps.append(indices), fill(params, samples, indices, *n))
    outcome = trial.evaluate({"prompt": 0}, Knowledge(avg_input_tokens=5))
    assert [(r.start, r.stop) for r in steps][:3] == [(0, 1), (1, 2), (2, 4)]
    assert outcome.status in ("ok", "unaffordable")
    assert engine.paid <= 10.6 * one


def test_forecast_rules():
    assert request_costs((1.0, 2.0), [100, 50], [2, 0], 10.0) == [pytest.approx(0.14)]
    assert cannot_start([0.2, 0.2, 0.2], 0.5) and not cannot_start([0.2, 0.2], 0.5)
    assert tight([0.1] * 8, worst_last=0.3, left=1.1) and not tight([0.1] * 8, worst_last=0.3, left=1.2)
