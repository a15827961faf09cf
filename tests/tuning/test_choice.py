"""Which configuration ecoptigen's search returns among statistical ties (issue 24)."""

import pytest
from tuning_fakes import FakeEngine

from ecoptigen import tuning
from ecoptigen.tuning._choice import choose, paired_tie
from ecoptigen.tuning._flaml import tune as flaml_tune
from ecoptigen.tuning._scoring import Scoring
from ecoptigen.tuning.analysis import Analysis, Trial


def trial(index, values, n):
    scoring = Scoring.of(values, samples=n * len(values), answered=len(values))
    mean = sum(values) / len(values)
    return Trial(index, {"i": index}, {"model": "m", "n": n}, "ok", {"success": mean}, 0.01, 0.1, 0.1, 0.1,
                 scoring=scoring)  # fmt: skip


def test_the_paired_test_is_mcnemars_for_pass_fail_rows():
    # b = 3 rows only the first passes, c = 1 only the second: |3 - 1| <= 1.96 * sqrt(4)
    first, second = [1, 1, 1, 0, 1, 1], [0, 0, 0, 1, 1, 1]
    assert paired_tie(first, second)
    assert not paired_tie([1] * 6 + [0], [0] * 6 + [0])  # 6 rows to 0: |6| > 1.96 * sqrt(6)
    assert paired_tie([1, 0], [1, 0])  # the same on every row
    with pytest.raises(ValueError, match="same rows"):
        paired_tie([1, 0], [1])


def test_among_ties_the_configuration_with_more_completions_is_chosen():
    lucky = trial(0, [1.0] * 17 + [0.0] * 3, n=3)  # 0.85
    steady = trial(1, [1.0] * 16 + [0.0] * 4, n=21)  # 0.80: one row apart
    assert choose([lucky, steady], "success", "max", lambda t: t.params["n"]) is steady


def test_more_completions_of_another_model_are_not_preferred():
    strong = trial(0, [1.0] * 15 + [0.0] * 5, n=2)  # 0.75
    weaker = trial(1, [1.0] * 12 + [0.0] * 8, n=60)  # 0.60: tied by the paired test (b 3, c 0)
    weaker.params["model"] = "other"
    assert paired_tie(strong.scoring.values, weaker.scoring.values)
    assert choose([strong, weaker], "success", "max", lambda t: t.params["n"]) is strong


def test_a_configuration_the_rows_can_tell_apart_wins_whatever_its_completions():
    strong = trial(0, [1.0] * 18 + [0.0] * 2, n=3)  # 0.90
    weak = trial(1, [1.0] * 8 + [0.0] * 12, n=40)  # 0.40
    assert choose([weak, strong], "success", "max", lambda t: t.params["n"]) is strong


def test_when_minimizing_the_lowest_is_the_best_and_ties_still_go_to_more_completions():
    low = trial(0, [0.0] * 19 + [1.0], n=2)
    near = trial(1, [0.0] * 18 + [1.0] * 2, n=8)
    far = trial(2, [1.0] * 20, n=50)
    assert choose([low, near, far], "success", "min", lambda t: t.params["n"]) is near


def test_the_analysis_applies_the_rule_to_its_own_metric_only():
    lucky, steady = trial(0, [1.0] * 17 + [0.0] * 3, n=3), trial(1, [1.0] * 16 + [0.0] * 4, n=21)
    ours = Analysis("success", "max", [lucky, steady], rows=20, tie_break="completions")
    flamls = Analysis("success", "max", [lucky, steady], rows=20)
    assert ours.best_trial is steady and ours.best_config["n"] == 21
    assert ours.best_result["success"] == pytest.approx(0.8)
    assert flamls.best_trial is lucky
    assert ours.get_best_trial("inference_cost", "min") is lucky  # another metric: the plain best, first among equals


DATA = [{"q": f"question {i}", "row": i} for i in range(8)]


def few_completions_get_lucky_on_row_6(responses, **instance):
    """Rows 0-5 pass with any n, row 6 only with 3 completions or fewer, row 7 never."""
    return {"success": instance["row"] < 6 or (instance["row"] == 6 and len(responses) <= 3)}


def run(**kwargs):
    settings = {
        "chat": False,
        "data": DATA,
        "metric": "success",
        "mode": "max",
        "eval_func": few_completions_get_lucky_on_row_6,
        "inference_budget": 0.01,
        "optimization_budget": 0.1,
        "num_samples": 16,
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "{q}",
        "max_tokens": 50,
        "n": flaml_tune.lograndint(1, 11),
        "show_progress": False,
    }
    settings.update(kwargs)
    return tuning.tune(FakeEngine(), **settings)


def test_the_tuning_returns_the_configuration_with_more_completions_among_ties():
    config, analysis = run()
    lucky = [t for t in analysis.trials if t.status == "ok" and t.params["n"] <= 3]
    assert lucky and max(t.metrics["success"] for t in lucky) == 0.875  # a lucky one was found
    assert config["n"] > 3 and analysis.best_result["success"] == 0.75
    _, flamls = run(search_order="flaml")
    assert flamls.best_result["success"] == 0.875 and flamls.best_config["n"] <= 3
