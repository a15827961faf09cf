"""Gathering an instance's completions: stopping once a prefix decides eval_func's result."""

import functools
import hashlib

import pytest
from tuning_fakes import FakeEngine

from ecoptigen.code_utils import eval_function_completions
from ecoptigen.errors import EvalFuncError
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._outcome import Knowledge
from ecoptigen.tuning._samples import Samples, next_round, prefix_rule, salt_after
from ecoptigen.tuning._space import build_space

DATA = [{"q": f"question {i}"} for i in range(12)]


def passes(response):
    return hashlib.sha256(response.encode()).digest()[0] < 40  # about one response in six


def first_passing(responses, q, **instance):
    """Selects the first passing response, as selection by assertions does."""
    index = next((i for i, r in enumerate(responses) if passes(r)), None)
    return {"success": float(index is not None), "index_selected": len(responses) - 1 if index is None else index}


def decided_once_one_passes(result, have, n):
    return result["success"] == 1.0


def once_one_passes(keywords):
    return decided_once_one_passes


def trial(engine, eval_func, n=16):
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 50, "n": n}, chat=False)
    create = functools.partial(engine.create, chat=False)
    return TrialEvaluator(create, space, DATA, eval_func, "success", "max", None, engine.price_table, None)


def completions_asked(engine, instance):
    return [r["n"] for r in engine.requests if r["context"] == instance]


def test_an_eval_func_without_a_prefix_rule_gets_all_n_completions_at_once():
    engine = FakeEngine()
    outcome = trial(engine, first_passing).evaluate({"prompt": 0}, Knowledge())
    assert outcome.status == "ok"
    assert all(completions_asked(engine, instance) == [16] for instance in DATA)


def gathered(engine, instance, asked):
    """The responses an instance gathered in its rounds, replayed from the engine's cache."""
    responses, have = [], 0
    for more in asked:
        salt = salt_after(have)
        answer = engine.create(
            instance, chat=False, cache_salt=salt, model="gpt-4o-mini", prompt="{q}", max_tokens=50, n=more
        )
        responses += [choice["text"] for choice in answer["choices"]]
        have += more
    return responses


def test_completions_stop_once_a_prefix_decides_and_the_metrics_are_those_of_that_prefix():
    decided = functools.partial(first_passing)
    first_passing.prefix_rule_for = once_one_passes
    try:
        engine = FakeEngine()
        outcome = trial(engine, decided).evaluate({"prompt": 0}, Knowledge())
    finally:
        del first_passing.prefix_rule_for
    assert outcome.status == "ok"
    assert outcome.cost == pytest.approx(engine.paid)
    rounds = [completions_asked(engine, instance) for instance in DATA]
    # two rounds, a quarter of n and the rest: an instance stops after the first if a response passed
    assert all(asked in ([4], [4, 12]) for asked in rounds), rounds
    assert any(sum(asked) < 16 for asked in rounds) and any(sum(asked) == 16 for asked in rounds)
    results = []
    for instance, asked in zip(DATA, rounds, strict=True):
        responses = gathered(engine, instance, asked)
        result = first_passing(responses, **instance)
        if sum(asked) < 16:  # decided: the first passing response came in the last round
            assert result["success"] == 1.0 and result["index_selected"] >= sum(asked[:-1])
        results.append(result["success"])
    assert outcome.metrics["success"] == pytest.approx(sum(results) / len(DATA))


def test_an_instance_decided_early_is_priced_at_the_configs_n():
    full_engine, early_engine = FakeEngine(), FakeEngine()
    full = trial(full_engine, first_passing).evaluate({"prompt": 0}, Knowledge())
    first_passing.prefix_rule_for = once_one_passes
    try:
        early = trial(early_engine, first_passing).evaluate({"prompt": 0}, Knowledge())
    finally:
        del first_passing.prefix_rule_for
    assert early.cost < 0.8 * full.cost  # fewer completions bought ...
    assert early.inference_cost == pytest.approx(full.inference_cost, rel=0.05)  # ... priced as n of them


def test_eval_function_completions_is_decided_by_the_first_response_passing_its_assertions():
    rule = prefix_rule(functools.partial(eval_function_completions, assertions="assert True"))
    assert rule is not None
    assert rule({"index_selected": 1, "succeed_assertions": True, "success": False}, 2, 27)
    assert not rule({"index_selected": 0, "succeed_assertions": True, "success": True}, 1, 27)
    assert not rule({"index_selected": 3, "succeed_assertions": False, "success": False}, 4, 27)
    # without assertions every response counts (expected_success), so no prefix decides
    assert prefix_rule(eval_function_completions) is None
    assert prefix_rule(functools.partial(eval_function_completions, assertions=None)) is None
    outer = functools.partial(functools.partial(eval_function_completions, assertions="assert True"), assertions=None)
    assert prefix_rule(outer) is None


def test_an_instance_decided_early_needs_nothing_more_and_counts_tokens_at_n():
    samples = Samples(have=4, output_tokens=100, decided=True)
    assert samples.missing(16) == 0 and samples.output_tokens_at(16) == 400
    assert Samples(have=4, output_tokens=100).missing(16) == 12
    assert [next_round(have, 5) for have in (0, 2)] == [2, 5] and next_round(0, 27) == 7


def test_an_unusable_result_on_a_prefix_is_reported_before_eval_func_runs_on_the_other_rows():
    calls = []

    def broken(responses, q):
        calls.append(q)
        return {"success": float("nan")}

    broken.prefix_rule_for = once_one_passes
    with pytest.raises(EvalFuncError, match="data row 0"):
        trial(FakeEngine(), broken).evaluate({"prompt": 0}, Knowledge())
    assert calls == [DATA[0]["q"]]
