"""What the trial table and the plot data tell about every trial: why it stopped, what it was scored on,
how sure its metric is, and where it sits on the plot."""

import math

import pandas as pd
import pytest
from test_tuner import DATA, run
from tuning_fakes import FakeEngine

from ecoptigen.tuning._scoring import Scoring, metric_interval, normal_interval, wilson_interval
from ecoptigen.tuning.analysis import Analysis, Trial

NEW_COLUMNS = {"stop_reason", "rows_scored", "samples_scored", "success_ci_low", "success_ci_high"}


def completions_of(responses, **instance):
    return {"success": len(responses) >= 3}


def test_the_trial_table_says_why_each_trial_stopped_and_what_it_was_scored_on():
    _, analysis = run(FakeEngine(), eval_func=completions_of, num_samples=12, optimization_budget=0.02)
    table = analysis.trials_dataframe()
    assert set(table) >= NEW_COLUMNS
    statuses = set(table["status"])
    assert "ok" in statuses and statuses - {"ok"}, "the run should stop some trials early"
    for trial, row in zip(analysis.trials, table.to_dict("records"), strict=True):
        if trial.status == "ok":
            n = int(trial.params.get("n") or 1)
            assert pd.isna(row["stop_reason"])
            assert row["rows_scored"] == len(DATA) and row["samples_scored"] == len(DATA) * n
            low, high = wilson_interval(row["success"], len(DATA))
            assert (row["success_ci_low"], row["success_ci_high"]) == pytest.approx((low, high))
            assert row["success_ci_low"] <= row["success"] <= row["success_ci_high"]
        else:
            assert isinstance(row["stop_reason"], str) and row["stop_reason"]
            assert row["rows_scored"] < len(DATA) or trial.status in ("beaten", "over_budget")


def run_with_pruning():
    return run(
        FakeEngine(), eval_func=completions_of, num_samples=20, optimization_budget=None, inference_budget=0.0005
    )


def test_pruned_trials_say_they_were_pruned_and_were_scored_on_nothing():
    _, analysis = run(
        FakeEngine(), eval_func=completions_of, num_samples=20, optimization_budget=None, inference_budget=0.0005
    )
    pruned = [r for r in analysis.trials_dataframe().to_dict("records") if r["status"] == "pruned"]
    assert pruned, "this search prunes some configurations"
    assert all(r["stop_reason"].startswith("pruned") and r["rows_scored"] == 0 for r in pruned)
    assert all(r["samples_scored"] == 0 and math.isnan(r["success_ci_low"]) for r in pruned)


def test_a_resumed_run_shows_the_same_table_for_the_replayed_trials(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    _, first = run(FakeEngine(), eval_func=completions_of, num_samples=5, optimization_budget=None, log_file_name=log)
    _, resumed = run(FakeEngine(), eval_func=completions_of, num_samples=5, optimization_budget=None, log_file_name=log)
    assert all(t.replayed for t in resumed.trials)
    columns = sorted(NEW_COLUMNS)

    def table(analysis):  # missing values as None, so that two tables compare equal cell by cell
        frame = analysis.trials_dataframe()[columns].astype(object)
        return frame.where(frame.notna(), None).to_dict("records")

    assert table(resumed) == table(first)


def test_trials_from_an_older_journal_have_unknown_scoring_not_zero():
    trial = Trial(0, {}, {"model": "m"}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
    row = Analysis("success", "max", [trial]).trials_dataframe().to_dict("records")[0]
    assert pd.isna(row["rows_scored"]) and pd.isna(row["success_ci_low"]) and pd.isna(row["stop_reason"])


def test_the_wilson_interval_matches_its_closed_forms():
    # No success in 10 rows: [0, z^2 / (n + z^2)]; all 10: its mirror image.
    z2 = 1.959963984540054**2
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(1.0, 10) == pytest.approx((10 / (10 + z2), 1.0))
    assert wilson_interval(0.5, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)  # the textbook 50 of 100


def test_unbounded_metrics_get_a_normal_interval_and_one_row_none():
    values = [2.0, 4.0, 6.0, 8.0]
    scoring = Scoring.of(values, samples=4, answered=4)
    assert not scoring.bounded and scoring.sd == pytest.approx(2.5819889)
    assert metric_interval(scoring) == pytest.approx(normal_interval(5.0, 2.5819889, 4))
    assert metric_interval(Scoring.of([3.0], samples=1, answered=1)) is None
    assert metric_interval(Scoring.of([0.3, 0.9], samples=2, answered=2)) == pytest.approx(wilson_interval(0.6, 2))


# -- plot data -----------------------------------------------------------------------------------------------


def test_the_plot_data_has_every_trial_coloured_by_model_with_the_chosen_one_marked():
    _, analysis = run(
        FakeEngine(), eval_func=completions_of, num_samples=20, optimization_budget=None, inference_budget=0.0005
    )
    data = analysis.plot_data()
    points = data["trials"]
    assert [p.trial for p in points] == [t.index for t in analysis.trials]
    assert {p.status for p in points} > {"ok"}, "trials that did not complete are drawn too"
    assert data["models"] == list(dict.fromkeys(t.params["model"] for t in analysis.trials))
    assert [p.trial for p in points if p.chosen] == [analysis.best_trial.index]
    assert data["inference_budget"] == 0.0005
    kinds = {"ok": {"evaluated"}, "pruned": {"unscored"}, "beaten": {"partial"}, "over_budget": {"over", "unscored"}}
    for point in points:
        assert point.kind in kinds.get(point.status, {"unscored"})
        assert (point.value is None) == (point.kind == "unscored")
        assert point.cost >= 0 and math.isfinite(point.cost)
    for point in (p for p in points if p.status == "pruned"):
        assert point.cost == 0.0005  # known to be over the inference budget: drawn on its line


def test_a_trial_stopped_because_it_could_not_win_is_drawn_at_its_mean_so_far():
    scoring = Scoring.of([0.0, 0.0, 1.0], samples=9, answered=3)
    beaten = Trial(1, {}, {"model": "m"}, "beaten", {"success": 1 / 3}, math.inf, 0.03, 0.03, 0.03, scoring=scoring)
    best = Trial(0, {}, {"model": "m"}, "ok", {"success": 0.9}, 0.02, 0.2, 0.2, 0.2)
    points = Analysis("success", "max", [best, beaten], inference_budget=0.05).plot_data()["trials"]
    assert (points[1].kind, points[1].cost, points[1].value) == ("partial", pytest.approx(0.01), pytest.approx(1 / 3))
    assert points[0].chosen and not points[1].chosen
