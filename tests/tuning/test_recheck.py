"""Re-checking the best configuration on fresh completions before the tuning returns it (issue 24)."""

import json
import math

import pytest
from tuning_fakes import FakeEngine

from ecoptigen import tuning
from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._recheck import MAX_RECHECKS, RESERVE_SHARE, Draw, Rechecks
from ecoptigen.tuning._samples import FRESH_DRAW
from ecoptigen.tuning._scoring import Scoring
from ecoptigen.tuning.analysis import Trial

DATA = [{"q": f"question {i}", "answer": i} for i in range(8)]


def scoring_of(success, samples):
    if not math.isfinite(success):
        return None
    return Scoring.of([1.0] * round(success * 20) + [0.0] * (20 - round(success * 20)), samples, answered=20)


def trial(index=0, success=0.85, cost=0.1, inference_cost=0.01, status="ok"):
    scoring = scoring_of(success, 60)
    return Trial(index, {"i": index}, {"model": "m"}, status, {"success": success}, inference_cost, cost, cost, cost,
                 scoring=scoring)  # fmt: skip


def draw(success, inference_cost=0.01, status="ok", measured=None):
    scoring = scoring_of((measured or {}).get("success", success), 50)
    return Draw(status, {"success": success}, inference_cost, 0.11, 0.09, measured, scoring)


# --- the rules ----------------------------------------------------------------------------------------


def test_a_recheck_makes_the_metrics_the_mean_of_both_evaluations_and_keeps_what_the_first_cost():
    rechecks = Rechecks(3.0, "success", "max", 0.05)
    best = trial(success=0.85, inference_cost=0.008)
    assert rechecks.merge(best, draw(0.65, inference_cost=0.006))
    assert best.metrics["success"] == pytest.approx(0.75)
    assert best.inference_cost == pytest.approx(0.007)
    assert (best.cost, best.paid, best.status) == (0.1, 0.1, "ok")
    assert best.recheck["first"]["metrics"] == {"success": 0.85}
    assert best.recheck["fresh"]["metrics"] == {"success": 0.65}
    assert (best.recheck["cost"], best.recheck["paid"]) == (0.11, 0.09)
    assert (best.scoring.rows, best.scoring.samples, best.scoring.mean) == (20, 110, pytest.approx(0.75))


def test_a_configuration_whose_mean_inference_cost_is_over_the_budget_can_no_longer_be_chosen():
    rechecks = Rechecks(3.0, "success", "max", 0.05)
    best = trial(success=0.9, inference_cost=0.048)
    over = draw(-math.inf, math.inf, "over_budget", measured={"success": 0.9, "inference_cost": 0.056})
    assert rechecks.merge(best, over)
    assert best.status == "over_budget" and best.metrics["success"] == -math.inf
    assert best.measured == {"success": pytest.approx(0.9), "inference_cost": pytest.approx(0.052)}


def test_a_recheck_that_measured_nothing_leaves_the_trial_as_it_was():
    rechecks = Rechecks(3.0, "success", "max", 0.05)
    best = trial()
    assert not rechecks.merge(best, draw(-math.inf, math.inf, "unaffordable"))
    assert best.recheck is None and best.metrics == {"success": 0.85} and rechecks.made == 1


def test_what_is_held_back_is_the_cost_of_rechecking_the_best_unless_it_is_too_dear_or_done():
    rechecks = Rechecks(1.0, "success", "max", 0.05)
    assert rechecks.reserve(trial(cost=0.1)) == pytest.approx(0.12)
    assert rechecks.reserve(trial(cost=RESERVE_SHARE)) == 0.0  # 0.24 with the margin: over the share
    assert rechecks.reserve(None) == 0.0
    done = trial(cost=0.1)
    rechecks.merge(done, draw(0.8))
    assert rechecks.reserve(done) == 0.0 and rechecks.candidate(done) is None
    assert Rechecks(None, "success", "max", 0.05).reserve(trial(cost=0.1)) == 0.0


def test_rechecks_stop_after_the_most_allowed():
    rechecks = Rechecks(1.0, "success", "max", 0.05)
    for _ in range(MAX_RECHECKS):
        rechecks.merge(trial(), draw(0.5))
    assert rechecks.candidate(trial()) is None


# --- in a tuning --------------------------------------------------------------------------------------


class LuckyFirstDraw(FakeEngine):
    """Marks the completions of fresh draws, so an eval_func can score them differently."""

    def create(self, context=None, *, cache_salt=None, **config):
        response = super().create(context, cache_salt=cache_salt, **config)
        fresh = cache_salt is not None and FRESH_DRAW in cache_salt
        for choice in response["choices"]:
            choice["text"] = ("fresh " if fresh else "") + choice["text"]
        return response


def lucky_plain_prompt(responses, **instance):
    """The plain prompt passes every row on its first draw and none on a fresh one; the other prompt
    passes 6 rows of 8 on any draw."""
    text = responses[0]
    if text.removeprefix("fresh ").startswith("Answer:"):
        return {"success": instance["answer"] < 6}
    return {"success": not text.startswith("fresh ")}


def run(engine, **kwargs):
    settings = {
        "chat": False,
        "data": DATA,
        "metric": "success",
        "mode": "max",
        "eval_func": lucky_plain_prompt,
        "inference_budget": 0.01,
        "optimization_budget": 0.05,
        "num_samples": 6,
        "model": "gpt-3.5-turbo-instruct",
        "prompt": ["Answer: {q}", "{q}"],  # the steady one is the start point, so it is evaluated to the end
        "max_tokens": 50,
        "n": 2,
        "show_progress": False,
    }
    settings.update(kwargs)
    return tuning.tune(engine, **settings)


def test_a_lucky_first_draw_is_rechecked_and_the_steadier_configuration_is_returned():
    engine = LuckyFirstDraw()
    config, analysis = run(engine)
    plain = next(t for t in analysis.trials if t.params["prompt"] == "{q}" and t.recheck)
    assert plain.recheck["first"]["metrics"]["success"] == 1.0
    assert plain.recheck["fresh"]["metrics"]["success"] == 0.0
    assert plain.metrics["success"] == 0.5
    assert config["prompt"] == "Answer: {q}"
    assert analysis.best_trial.recheck is not None and analysis.best_result["success"] == 0.75
    fresh = [r for r in engine.requests if r["salt"] and FRESH_DRAW in r["salt"]]
    assert fresh and all(r["cost"] > 0 for r in fresh)  # paid for, not cache hits
    assert analysis.total_cost <= 0.05
    table = analysis.trials_dataframe()
    assert table["rechecked"].sum() == 2


def test_flamls_order_returns_the_lucky_draw_unchecked():
    config, analysis = run(LuckyFirstDraw(), search_order="flaml")
    assert config["prompt"] == "{q}"
    assert all(t.recheck is None for t in analysis.trials)


def test_a_resumed_tuning_replays_the_rechecks_without_paying_again(tmp_path):
    journal = str(tmp_path / "tune.jsonl")
    first = LuckyFirstDraw()
    config, analysis = run(first, log_file_name=journal)
    again = LuckyFirstDraw()
    config_again, analysis_again = run(again, log_file_name=journal)
    assert again.requests == []
    assert config_again == config
    assert [(t.index, t.metrics, t.recheck) for t in analysis_again.trials] == [
        (t.index, t.metrics, t.recheck) for t in analysis.trials
    ]
    lines = [json.loads(line) for line in (tmp_path / "tune.jsonl").read_text().splitlines()][1:]
    assert sorted(r["rechecks"] for r in lines if "rechecks" in r) == sorted(
        t.index for t in analysis.trials if t.recheck
    )


def test_a_journal_line_with_a_bad_recheck_index_is_refused(tmp_path):
    journal = str(tmp_path / "tune.jsonl")
    run(LuckyFirstDraw(), log_file_name=journal)
    damaged = [json.loads(line) for line in (tmp_path / "tune.jsonl").read_text().splitlines()]
    for record in damaged:
        if "rechecks" in record:
            record["rechecks"] = -1
            break
    with open(journal, "w") as file:
        file.write("\n".join(json.dumps(record) for record in damaged) + "\n")
    with pytest.raises(ConfigurationError, match="'rechecks' is -1"):
        run(LuckyFirstDraw(), log_file_name=journal)
