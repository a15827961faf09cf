"""Stopping a trial that can no longer beat the best configuration so far (bounded metrics)."""

import functools

import pytest
from tuning_fakes import FakeEngine

from ecoptigen import tuning
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._outcome import Knowledge
from ecoptigen.tuning._racing import Race, best_update, reachable
from ecoptigen.tuning._space import build_space

DATA = [{"q": f"question {i}", "i": i} for i in range(10)]


def solves_even(responses, i, **instance):
    """Solves the even instances only: a configuration scoring 0.5."""
    return {"success": i % 2 == 0}


def evaluator(engine, eval_func, mode="max", budget=None, **space):
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 50, "n": 4, **space}, chat=False)
    create = functools.partial(engine.create, chat=False)
    return TrialEvaluator(create, space, DATA, eval_func, "success", mode, budget, engine.price_table, None)


def knowing(best, bounded=True):
    return Knowledge(avg_input_tokens=5, best=best, bounded=bounded)


# -- the rule -----------------------------------------------------------------------------------------------


def test_the_bound_counts_every_unseen_instance_at_its_best_value():
    assert reachable([0.0, 1.0, 0.5], 5, "max") == pytest.approx(3.5 / 5)
    assert reachable([0.0, 1.0, 0.5], 5, "min") == pytest.approx(1.5 / 5)


@pytest.mark.parametrize(
    ("mode", "incumbent", "values", "beaten"),
    [
        ("max", 0.5, [0.0] * 5, False),  # 5 unseen successes would tie: a tie goes on
        ("max", 0.5, [0.0] * 6, True),
        ("max", 0.5, [1.0] * 6, False),
        ("min", 0.3, [1.0] * 3, False),  # 3/10 ties
        ("min", 0.3, [1.0] * 4, True),
        ("min", 0.3, [0.0] * 9, False),
    ],
)
def test_a_trial_is_beaten_only_when_it_cannot_even_tie(mode, incumbent, values, beaten):
    race = Race(incumbent, mode, total=10)
    for i, value in enumerate(values):
        race.record(i, value)
    assert race.beaten() is beaten


def test_a_value_outside_0_1_turns_the_rule_off():
    race = Race(0.9, "max", total=10)
    for i in range(9):
        race.record(i, 0.0)
    assert race.beaten()
    race.record(9, 1.5)
    assert not race.beaten()


def test_batches_double_or_grow_to_the_fewest_that_could_decide():
    race = Race(0.5, "max", total=20)
    assert race.fewest_to_decide() == 11  # 11 failures leave 9/20 < 0.5
    assert race.next_limit(0, planned=20) == 11
    for i in range(11):
        race.record(i, 1.0)
    assert race.next_limit(11, planned=20) == 20
    high = Race(0.95, "max", total=20)
    assert high.fewest_to_decide() == 2 and high.next_limit(1, planned=20) == 3


def test_knowledge_keeps_the_best_metric_in_the_tunings_mode():
    knowledge = Knowledge()
    for value in (0.4, 0.7, 0.6):
        knowledge.learn(_outcome([best_update(value, "max")]))
    assert knowledge.best == 0.7
    minimizing = Knowledge()
    for value in (0.4, 0.7, 0.2):
        minimizing.learn(_outcome([best_update(value, "min")]))
    assert minimizing.best == 0.2
    knowledge.learn(_outcome([["unbounded"]]))
    assert knowledge.race("max", 10) is None


def _outcome(updates):
    from ecoptigen.tuning._outcome import TrialOutcome

    return TrialOutcome("ok", {"success": 0.0}, 0.0, 0.0, updates)


# -- one trial ----------------------------------------------------------------------------------------------


def test_a_trial_that_cannot_beat_the_best_stops_early_with_its_average_so_far():
    engine = FakeEngine()
    outcome = evaluator(engine, solves_even).evaluate({"prompt": 0}, knowing(0.8))
    assert outcome.status == "beaten"
    # First the 3 instances whose failures could decide, then 6: after instances 0-5 (three failures)
    # it can reach at most 7/10 < 0.8. Its metric is its average on those 6 (never above the bound).
    assert outcome.metrics == {"success": pytest.approx(0.5)}
    assert len(engine.requests) == 6
    assert outcome.cost == pytest.approx(engine.paid)
    assert "at most 0.7" in outcome.error


def test_without_a_better_incumbent_the_same_trial_runs_to_the_end():
    for knowledge in (knowing(None), knowing(0.5), knowing(0.8, bounded=False)):
        engine = FakeEngine()
        outcome = evaluator(engine, solves_even).evaluate({"prompt": 0}, knowledge)
        assert outcome.status == "ok" and outcome.metrics["success"] == 0.5
        assert len(engine.requests) == len(DATA)


def test_a_trial_scored_before_it_finished_is_not_scored_again():
    calls = []

    def counted(responses, i, **instance):
        calls.append(i)
        return solves_even(responses, i)

    outcome = evaluator(FakeEngine(), counted).evaluate({"prompt": 0}, knowing(0.4))
    assert outcome.status == "ok" and sorted(calls) == list(range(len(DATA)))
    assert calls[0] == 0  # the first instance first: an unusable result is reported before the rest run


def test_minimizing_a_rate_stops_a_trial_that_cannot_get_low_enough():
    def fails_odd(responses, i, **instance):
        return {"success": float(i % 2)}

    engine = FakeEngine()
    outcome = evaluator(engine, fails_odd, mode="min").evaluate({"prompt": 0}, knowing(0.2))
    assert outcome.status == "beaten" and outcome.metrics["success"] == pytest.approx(0.5)  # 3 of 6 failed
    assert len(engine.requests) == 6 and "at least 0.3" in outcome.error


def test_an_ok_trial_teaches_the_best_and_an_out_of_range_value_turns_racing_off():
    outcome = evaluator(FakeEngine(), solves_even).evaluate({"prompt": 0}, knowing(None))
    assert best_update(0.5, "max") in outcome.updates

    def points(responses, i, **instance):
        return {"success": 2.0 * (i % 2 == 0)}

    outcome = evaluator(FakeEngine(), points).evaluate({"prompt": 0}, knowing(None))
    assert ["unbounded"] in outcome.updates


# -- in a tuning --------------------------------------------------------------------------------------------


def _tune(engine, eval_func, **kwargs):
    settings = {
        "chat": False, "data": DATA, "metric": "success", "mode": "max", "eval_func": eval_func,
        "inference_budget": 0.01, "optimization_budget": None, "num_samples": 8, "model": "gpt-4o-mini",
        "prompt": ["{q}", "Q: {q}"], "n": tuning.default_space(False)["n"], "max_tokens": 50, "show_progress": False,
    }  # fmt: skip
    settings.update(kwargs)
    return tuning.tune(engine, **settings)


def few_completions_fail_odd_instances(responses, i, **instance):
    return {"success": len(responses) >= 20 or i % 2 == 0}


def test_a_tuning_stops_the_trials_that_cannot_beat_the_best_and_tells_the_searcher_their_average():
    engine = FakeEngine()
    _, analysis = _tune(engine, few_completions_fail_odd_instances)
    best = analysis.best_trial
    assert best.metrics["success"] == 1.0
    beaten = [t for t in analysis.trials if t.status == "beaten"]
    assert beaten, [t.status for t in analysis.trials]
    for trial in beaten:
        assert trial.index > best.index and trial.params["n"] < 20
        assert "at most 0.9" in trial.error  # one failure seen: at most 9/10
        assert trial.metrics["success"] == pytest.approx(0.5)  # it failed the odd instances it saw
        whole = sum(FakeEngine().create(instance, chat=False, **trial.params)["cost"] for instance in DATA)
        assert 0 < trial.paid < whole / 2  # it stopped after a few instances
    assert analysis.total_cost == pytest.approx(engine.paid)


def test_a_resumed_tuning_races_as_the_first_run_did(tmp_path):
    log = str(tmp_path / "tune.jsonl")

    _tune(FakeEngine(), few_completions_fail_odd_instances, log_file_name=log, num_samples=4)
    _, resumed = _tune(FakeEngine(), few_completions_fail_odd_instances, log_file_name=log, num_samples=8)
    _, fresh = _tune(FakeEngine(), few_completions_fail_odd_instances, num_samples=8)
    assert "beaten" in {t.status for t in fresh.trials[4:]}
    assert [(t.config, t.status, t.metrics) for t in resumed.trials] == [
        (t.config, t.status, t.metrics) for t in fresh.trials
    ]
    assert [t.replayed for t in resumed.trials[:4]] == [True] * 4
