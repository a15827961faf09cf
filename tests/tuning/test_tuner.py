"""The tuning loop against an in-process engine: budget, journal/resume, validation, results."""

import json
import logging
import random
import threading
import time

import pytest
from tuning_fakes import DATA, FakeEngine, run, success

from ecoptigen import run_context, tuning
from ecoptigen.errors import (
    BudgetExceededError,
    ConfigurationError,
    EvalFuncError,
    InferenceBudgetWarning,
    RateLimitError,
    TemplateError,
    TuningError,
    UnknownPriceError,
)
from ecoptigen.money import ledger as spend
from ecoptigen.tuning._flaml import tune as flaml_tune
from ecoptigen.tuning._suggestions import MAX_SUGGEST_FAILURES, Suggestions


def test_tune_returns_a_config_create_accepts_and_keeps_to_the_budget():
    engine = FakeEngine()
    config, analysis = run(engine)
    assert analysis.total_cost == pytest.approx(engine.paid)
    assert analysis.total_cost <= 0.02
    assert config == analysis.best_config
    assert engine.create({"q": "x"}, chat=True, **config)["choices"]
    assert analysis.stopped_because.startswith("the optimization budget is spent")
    assert analysis.best_result["success"] == 1.0
    assert analysis.best_result["inference_cost"] <= 0.002
    assert len(analysis.trials) >= 2


def test_budget_counts_requests_made_inside_eval_func():
    engine = FakeEngine()

    def with_side_requests(responses, **instance):
        engine.create({"q": instance["q"]}, chat=True, model="gpt-4o", prompt="check {q}", max_tokens=100)
        return success(responses, **instance)

    _, analysis = run(engine, eval_func=with_side_requests, optimization_budget=0.04)
    gpt4o = sum(r["cost"] for r in engine.requests if r["model"] == "gpt-4o")
    assert gpt4o > 0
    assert analysis.total_cost == pytest.approx(engine.paid) and engine.paid <= 0.04


def test_num_samples_limits_the_trials():
    _, analysis = run(FakeEngine(), num_samples=3, optimization_budget=None)
    assert len(analysis.trials) == 3 and analysis.stopped_because == "num_samples trials done"


def test_parallel_trials_are_deterministic():
    first = run(FakeEngine(), num_samples=6, parallel_trials=3, optimization_budget=None)[1]
    second = run(FakeEngine(), num_samples=6, parallel_trials=3, optimization_budget=None)[1]
    assert [t.config for t in first.trials] == [t.config for t in second.trials]
    assert [t.metrics for t in first.trials] == [t.metrics for t in second.trials]


def test_the_search_seed_chooses_the_trials_and_the_same_seed_gives_the_same_ones():
    def configs(**seed):
        return [t.config for t in run(FakeEngine(), num_samples=4, optimization_budget=None, **seed)[1].trials]

    assert configs() == configs(search_seed=20)  # FLAML's seed is the default
    assert configs(search_seed=7) == configs(search_seed=7)
    assert configs(search_seed=7) != configs()


class _JitteryEngine(FakeEngine):
    """Answers after a random delay, so trials running at the same time finish in a random order."""

    def __init__(self, seed):
        super().__init__()
        self.random = random.Random(seed)

    def create(self, *args, **kwargs):
        time.sleep(self.random.random() * 0.01)
        return super().create(*args, **kwargs)


def test_parallel_trials_search_the_same_whichever_trial_finishes_first():
    runs = [run(_JitteryEngine(seed), num_samples=8, parallel_trials=3, optimization_budget=None)[1] for seed in (1, 2)]
    first, second = ([(t.config, t.metrics, t.cost) for t in analysis.trials] for analysis in runs)
    assert first == second and len(first) == 8


class _SecondTrialWaitsForTheThird(FakeEngine):
    """The second trial's first request waits until the third trial has sent one."""

    def __init__(self):
        super().__init__()
        self.third_started, self.second_started = threading.Event(), threading.Event()
        self.waited_in_vain = False

    def create(self, *args, **kwargs):
        trials = {ledger.name for ledger in spend.active_ledgers()}
        if "trial t2" in trials:
            self.third_started.set()
        if "trial t1" in trials and not self.second_started.is_set():
            self.second_started.set()
            self.waited_in_vain = not self.third_started.wait(timeout=10)
        return super().create(*args, **kwargs)


def test_a_new_trial_starts_as_soon_as_the_oldest_running_one_is_told():
    engine = _SecondTrialWaitsForTheThird()
    _, analysis = run(engine, num_samples=3, parallel_trials=2, optimization_budget=None)
    assert len(analysis.trials) == 3 and engine.third_started.is_set() and not engine.waited_in_vain


def test_concurrency_does_not_change_the_search():
    one = run(FakeEngine(), num_samples=6, concurrency=1, optimization_budget=None)[1]
    many = run(FakeEngine(), num_samples=6, concurrency=8, optimization_budget=None)[1]
    assert [(t.config, t.metrics, t.cost) for t in one.trials] == [(t.config, t.metrics, t.cost) for t in many.trials]


def test_budget_too_small_for_any_trial_raises_with_the_analysis():
    with pytest.raises(BudgetExceededError, match="could not pay for any configuration") as caught:
        run(FakeEngine(), optimization_budget=0.00001)
    assert caught.value.analysis.total_cost <= 0.00001
    assert "a request may cost up to $" in str(caught.value) and "Raise optimization_budget" in str(caught.value)


@pytest.mark.parametrize("num_samples", [1, -1])
def test_a_budget_too_small_for_one_request_says_so_and_not_to_raise_the_inference_budget(num_samples):
    with pytest.raises(BudgetExceededError) as caught:
        run(FakeEngine(), optimization_budget=0.00001, inference_budget=0.01, num_samples=num_samples)
    message = str(caught.value)
    assert "a request may cost up to $" in message and "Raise optimization_budget" in message
    assert "inference_budget" not in message


def test_nothing_within_the_inference_budget_returns_the_best_found_with_a_warning():
    with pytest.warns(InferenceBudgetWarning, match="no configuration fits the inference budget") as caught:
        config, analysis = run(FakeEngine(), inference_budget=0.0000001, num_samples=3, optimization_budget=None)
    assert len(caught) == 1 and len(analysis.trials) == 3 and analysis.inference_budget_met is False
    measured = [t for t in analysis.trials if t.measured]
    assert measured and all(t.status == "over_budget" for t in analysis.trials)
    best = max(measured, key=lambda t: (t.measured["success"], -t.index))
    assert analysis.best_trial is best and config == analysis.best_config
    assert analysis.best_result["inference_cost"] == best.measured["inference_cost"] > 0.0000001


class _AlwaysRateLimited(FakeEngine):
    def create(self, *args, **kwargs):
        raise RateLimitError("the endpoint kept answering 429", 429)


def test_a_tuning_where_every_configuration_failed_is_a_tuning_error():
    with pytest.raises(TuningError, match="every configuration tried kept failing") as caught:
        run(_AlwaysRateLimited(), num_samples=3, optimization_budget=None)
    assert [t.status for t in caught.value.analysis.trials] == ["error"] * 3


def test_fully_cached_rerun_pays_nothing():
    engine = FakeEngine()
    _, first = run(engine, num_samples=5, optimization_budget=None)
    paid_requests = len(engine.requests)
    _, again = run(engine, num_samples=5, optimization_budget=None)
    assert len(engine.requests) == paid_requests
    assert again.total_cost == 0 and again.saved_by_cache == pytest.approx(first.total_cost)
    assert [t.config for t in again.trials] == [t.config for t in first.trials]


def test_journal_resume_replays_finished_trials_and_continues(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    complete = run(FakeEngine(), num_samples=6, optimization_budget=None)[1]
    engine = FakeEngine()
    run(engine, num_samples=3, optimization_budget=None, log_file_name=log)
    lines = (tmp_path / "tune.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    assert sum(json.loads(line).get("kind") == "trial" for line in lines) == 3
    fresh = FakeEngine()  # no cache at all: only the journal can spare the first three trials
    _, resumed = run(fresh, num_samples=6, optimization_budget=None, log_file_name=log)
    assert [t.replayed for t in resumed.trials] == [True] * 3 + [False] * 3
    assert [t.config for t in resumed.trials] == [t.config for t in complete.trials]
    assert {json.dumps(r["context"]) for r in fresh.requests}  # the new trials were paid ...
    assert resumed.total_cost == pytest.approx(engine.paid + fresh.paid)  # ... and the old ones counted once


def test_resumed_budget_counts_what_earlier_runs_paid(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    engine = FakeEngine()
    _, first = run(engine, log_file_name=log, optimization_budget=0.01)
    again = FakeEngine()
    _, second = run(again, log_file_name=log, optimization_budget=0.01)
    assert again.paid <= 0.01 - first.total_cost + 1e-12
    assert second.total_cost <= 0.01


def test_journal_of_another_tuning_is_refused(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    run(FakeEngine(), num_samples=1, optimization_budget=None, log_file_name=log)
    with pytest.raises(ConfigurationError, match="different tuning"):
        run(FakeEngine(), num_samples=1, optimization_budget=None, log_file_name=log, metric="n")


def test_a_line_cut_short_by_a_kill_is_dropped(tmp_path):
    log = tmp_path / "tune.jsonl"
    run(FakeEngine(), num_samples=2, optimization_budget=None, log_file_name=str(log))
    log.write_text(log.read_text() + '{"kind": "trial", "ind')
    _, resumed = run(FakeEngine(), num_samples=3, optimization_budget=None, log_file_name=str(log))
    assert [t.replayed for t in resumed.trials] == [True, True, False]
    assert all(json.loads(line) for line in log.read_text().splitlines())


V1_JOURNAL = (
    '{"journal": "ecoptigen.tuning", "version": 1, "fingerprint": "f", "metric": "success", "mode": "max"}\n'
    '{"kind": "spend", "total_paid": 0.05}\n'
    '{"kind": "trial", "index": 0, "config": {"prompt": 0}, "status": "ok", "metrics": {"success": 1.0}, '
    '"inference_cost": 0.001, "cost": 0.01, "paid": 0.01, "total_paid": 0.01, "updates": [], '
    '"avg_input_tokens": 5.0, "error": null, "seconds": 0.1}\n'
    '{"kind": "spend", "total_paid": 0.03}\n'
)


def test_version_1_journal_fixture_is_upgraded_in_place(tmp_path):
    from ecoptigen.tuning._journal import Journal

    fixture = tmp_path / "v1.jsonl"
    fixture.write_text(V1_JOURNAL)
    journal = Journal.open(str(fixture), "f", metric="success", mode="max")
    assert journal.paid == pytest.approx(0.03)  # the last checkpoint, carried over as paid
    assert journal.take({"prompt": 0})["metrics"] == {"success": 1.0}
    lines = [json.loads(line) for line in fixture.read_text().splitlines()]
    assert lines[0]["version"] == 2 and lines[0]["fingerprint"] == "f"
    assert [line["kind"] for line in lines[1:]] == ["carried", "trial"]
    again = Journal.open(str(fixture), "f", metric="success", mode="max")
    assert again.paid == pytest.approx(0.03) and len(again.records) == 1
    fixture.write_text(V1_JOURNAL.replace('"version": 1', '"version": 99'))
    with pytest.raises(ConfigurationError, match="format version 2"):
        Journal.open(str(fixture), "f")


def _journal_with_money(tmp_path, events):
    from ecoptigen.tuning._journal import Journal

    path = tmp_path / "tune.jsonl"
    header = '{"journal": "ecoptigen.tuning", "version": 2, "fingerprint": "f"}\n'
    path.write_text(header + "".join(json.dumps({"kind": k, "id": i, "usd": u}) + "\n" for k, i, u in events))
    return Journal.open(str(path), "f"), path


def test_resume_counts_paid_answers_exactly_and_revised_estimates_once(tmp_path):
    events = [
        ("hold", 0, 0.5),
        ("paid", 0, 0.01),
        ("hold", 1, 0.5),
        ("free", 1, 0.0),  # could not have been billed
        ("hold", 2, 0.5),
        ("estimate", 2, 0.5),  # lost, first estimated at the worst case ...
        ("estimate", 2, 0.02),  # ... then revised to what its retry cost
        ("hold", 3, 0.5),
        ("paid", 3, 0.02),
    ]
    journal, _ = _journal_with_money(tmp_path, events)
    assert journal.paid == pytest.approx(0.03) and journal.unconfirmed == pytest.approx(0.02)
    assert journal.in_flight == {} and journal.next_id == 4
    assert journal.reconcile(budget=1.0) == 0.0


def test_resume_holds_only_what_was_in_flight_at_the_kill_capped_at_the_budget(tmp_path):
    from ecoptigen.tuning._journal import Journal

    events = [("hold", 0, 0.3), ("paid", 0, 0.01), ("hold", 1, 0.3), ("hold", 2, 0.3), ("paid", 2, 0.02)]
    journal, path = _journal_with_money(tmp_path, events)
    assert journal.paid == pytest.approx(0.03) and journal.in_flight == {1: 0.3}
    assert journal.reconcile(budget=0.2) == pytest.approx(0.17)  # capped: 0.2 - 0.03 was left
    assert journal.unconfirmed == pytest.approx(0.17)
    journal.close()
    again = Journal.open(str(path), "f")  # the hold was written down as an estimate: no double count
    assert again.in_flight == {} and again.unconfirmed == pytest.approx(0.17) and again.paid == pytest.approx(0.03)
    assert again.reconcile(budget=0.2) == 0.0


def test_a_resumed_run_never_starts_over_budget_when_nothing_was_paid(tmp_path):
    journal, _ = _journal_with_money(tmp_path, [("hold", 0, 0.0468)])
    journal.reconcile(budget=0.02)
    assert journal.paid == 0 and journal.unconfirmed == pytest.approx(0.02)  # capped at the budget
    journal, _ = _journal_with_money(tmp_path, [("hold", 0, 0.0468), ("free", 0, 0.0)])
    assert journal.reconcile(budget=0.02) == 0 and journal.paid + journal.unconfirmed == 0


# -- validation before spending -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"data": []}, ConfigurationError, "data is empty"),
        ({"data": ["text"]}, ConfigurationError, "must be a dict"),
        ({"prompt": "{question}"}, TemplateError, "question"),
        ({"prompt": lambda d: d["missing"]}, TemplateError, "missing"),
        ({"model": ["gpt-4o-mini", "my-own-model"]}, UnknownPriceError, "my-own-model"),
        ({"eval_func": "success"}, ConfigurationError, "callable"),
        ({"mode": "maximize"}, ConfigurationError, "mode"),
        ({"stop": 7}, ConfigurationError, "stop"),
        ({"n": -2}, ConfigurationError, "n must"),
        ({"num_samples": 0}, ConfigurationError, "num_samples"),
        ({"optimization_budget": None}, ConfigurationError, "optimization_budget"),
        ({"inference_budget": -1}, ConfigurationError, "inference_budget"),
        ({"concurrency": 0}, ConfigurationError, "concurrency"),
        ({"search_seed": -1}, ConfigurationError, "search_seed"),
        ({"search_seed": "20"}, ConfigurationError, "search_seed"),
    ],
)
def test_invalid_arguments_fail_before_any_request(change, error, message):
    engine = FakeEngine()
    with pytest.raises(error, match=message):
        run(engine, **change)
    assert engine.requests == []


def test_metric_absent_from_eval_func_result_fails_after_the_first_result():
    engine, calls = FakeEngine(), []

    def counted(responses, **instance):
        calls.append(instance)
        return success(responses, **instance)

    with pytest.raises(ConfigurationError, match="has no 'accuracy'"):
        run(engine, metric="accuracy", eval_func=counted)
    assert len(calls) == 1
    assert len({r["model"] for r in engine.requests}) == 1  # only the first trial ran


@pytest.mark.parametrize(
    ("value", "problem"),
    [(float("nan"), "is NaN"), ("0.5", "not a number"), (None, "not a number"), ([1], "not a number")],
)
def test_an_unusable_metric_is_reported_at_the_first_instance_naming_row_and_config(value, problem):
    engine, calls = FakeEngine(), []

    def broken(responses, **instance):
        calls.append(instance)
        return {"success": value}

    with pytest.raises(EvalFuncError, match=problem) as caught:
        run(engine, eval_func=broken)
    assert len(calls) == 1 and caught.value.row == 0
    assert "data row 0" in str(caught.value) and "'model': 'gpt-4" in str(caught.value)
    assert "api_key" not in caught.value.config
    assert len({r["model"] for r in engine.requests}) == 1  # nothing more was spent


def test_a_nan_on_a_later_instance_names_that_row_not_the_inference_budget():
    def nan_on_row_5(responses, q, answer):
        return {"success": float("nan") if answer == 5 else 1.0}

    with pytest.raises(EvalFuncError, match="data row 5") as caught:
        run(FakeEngine(), eval_func=nan_on_row_5)
    assert "inference budget" not in str(caught.value)


def test_numpy_and_bool_metrics_are_numbers():
    import numpy as np

    def numpy_result(responses, **instance):
        return {"success": np.bool_(len(responses) >= 3), "score": np.float32(0.5), "count": np.int64(2)}

    _, analysis = run(FakeEngine(), eval_func=numpy_result, num_samples=2)
    assert set(analysis.trials[0].metrics) == {"success", "score", "count"}


def test_an_eval_func_that_raises_names_the_row_and_a_rerun_resumes_for_free(tmp_path):
    log, engine, calls = str(tmp_path / "tune.jsonl"), FakeEngine(), []

    def points(responses, **instance):  # up to 2 points, not a rate: trials are not stopped on the metric
        return {"success": 2.0 * (len(responses) >= 3)}

    def fails_on_third_trial(responses, q, answer):
        calls.append(q)
        if len(calls) > 2 * len(DATA) and answer == 3:
            raise ZeroDivisionError("division by zero")
        return points(responses)

    # FLAML's order: its first two trials are evaluated on every row, so the third one fails.
    flaml = {"log_file_name": log, "optimization_budget": None, "search_order": "flaml"}
    with pytest.raises(EvalFuncError, match="ZeroDivisionError: division by zero on data row 3") as caught:
        run(engine, eval_func=fails_on_third_trial, num_samples=6, **flaml)
    assert isinstance(caught.value.__cause__, ZeroDivisionError) and "run the same tune call again" in str(caught.value)
    paid_before = len(engine.requests)
    _, analysis = run(engine, eval_func=points, num_samples=3, **flaml)
    assert len(engine.requests) == paid_before  # finished trials replayed, the failed one's answers cached
    assert [t.replayed for t in analysis.trials] == [True, True, False]


# -- results ------------------------------------------------------------------------------------------------


def test_trial_table_and_plots(tmp_path):
    _, analysis = run(FakeEngine(), num_samples=5, optimization_budget=None)
    table = analysis.trials_dataframe()
    assert list(table["trial"]) == [0, 1, 2, 3, 4]
    assert {"status", "model", "prompt", "success", "inference_cost", "cost", "paid", "total_paid"} <= set(table)
    data = analysis.plot_data()
    assert [best for _, best in data["spend"]] == sorted(best for _, best in data["spend"])
    assert sum(point.chosen for point in data["trials"]) == 1
    path = analysis.plot(str(tmp_path / "tuning.png"))
    assert (tmp_path / "tuning.png").stat().st_size > 1000 and path.endswith("tuning.png")


def test_progress_bar_shows_money_and_best(capsys):
    run(FakeEngine(), num_samples=2, optimization_budget=None, show_progress=True)
    err = capsys.readouterr().err
    assert "2/2" in err and "best success=" in err


def test_progress_bar_shows_waits_unconfirmed_money_and_small_budgets(capsys):
    from ecoptigen.tuning._progress import TuningProgress

    with TuningProgress(total=3, budget=0.004, metric="success") as bar:
        bar.update(paid=0.0012, best=0.5, unconfirmed=0.0003)
        bar.waiting("rate limit", 60.0)
    err = capsys.readouterr().err
    assert "$0.001200 (+$0.000300 unconfirmed) of $0.004000" in err
    assert "waiting 60 s (rate limit)" in err


def test_a_tuning_shows_the_retry_waits_of_its_requests(monkeypatch):
    shown = []
    monkeypatch.setattr("ecoptigen.tuning._progress.TuningProgress.waiting", lambda self, c, s: shown.append((c, s)))

    class WaitingEngine(FakeEngine):
        def create(self, context=None, **config):
            from ecoptigen import run_context as waiting

            waiting.announce("rate limit", 0.0)
            return super().create(context, **config)

    run(WaitingEngine(), num_samples=1, optimization_budget=None, concurrency=4)
    assert shown and all(cause == "rate limit" for cause, _ in shown)


def test_logging_level_applies_during_the_run(caplog):
    with caplog.at_level(logging.DEBUG, logger="ecoptigen.tuning"):
        run(FakeEngine(), num_samples=1, optimization_budget=None, logging_level=logging.INFO)
        assert logging.getLogger("ecoptigen.tuning").level == logging.DEBUG  # restored after the run
    assert "trial t0 ok" in caplog.text


def test_logging_level_belongs_to_its_run_and_changes_no_logger(caplog):
    logger = logging.getLogger("ecoptigen.tuning")
    levels_seen = []

    def scored(name):
        def eval_func(responses, **instance):
            levels_seen.append(logger.level)
            return {name: float(len(responses) >= 3)}

        return eval_func

    def tune_quietly():
        run(FakeEngine(), metric="quiet", eval_func=scored("quiet"), num_samples=3, optimization_budget=None,
            logging_level=logging.ERROR)  # fmt: skip

    with caplog.at_level(logging.DEBUG, logger="ecoptigen.tuning"):
        quiet = threading.Thread(target=tune_quietly)
        quiet.start()
        run(FakeEngine(), metric="loud", eval_func=scored("loud"), num_samples=3, optimization_budget=None,
            logging_level=logging.INFO)  # fmt: skip
        quiet.join()
    assert levels_seen and set(levels_seen) == {logging.DEBUG}  # no run set the logger's level
    assert "trial t0 ok: loud=" in caplog.text and "quiet=" not in caplog.text


def test_what_a_run_remembers_belongs_to_it():
    memories = []

    def remembering(responses, **instance):
        memories.append(run_context.current().memory)
        return success(responses, **instance)

    engine = FakeEngine()
    config, _ = run(engine, eval_func=remembering, num_samples=2, optimization_budget=None)
    run(engine, eval_func=remembering, num_samples=2, optimization_budget=None)
    tuning.test(engine, chat=True, data=DATA, config=config, eval_func=remembering)
    runs = [m for i, m in enumerate(memories) if i == 0 or m is not memories[i - 1]]
    assert None not in memories and len(runs) == len({id(m) for m in runs}) == 3  # one memory per run
    assert run_context.current().memory is None


# -- test() ---------------------------------------------------------------------------------------------------


def test_test_in_the_seed_style_uses_the_last_tunes_eval_func():
    engine = FakeEngine()
    config, _ = run(engine, num_samples=2, optimization_budget=None)
    result = tuning.test_facade(engine, chat=True, data=DATA, config=config)
    assert set(result) == {"success", "n", "cost", "inference_cost"}
    assert result["inference_cost"] == pytest.approx(result["cost"] / len(DATA))


def test_test_in_flamls_style_with_eval_func_and_config_keywords():
    engine = FakeEngine()

    def first_char(responses, **instance):
        return {"long": len(responses[0]) > 5}

    result, per_instance, responses = tuning.test_facade(
        engine, chat=True, data=DATA, config=first_char, model="gpt-4o-mini", prompt="{q}", n=2,
        use_cache=False, agg_method="median", return_responses_and_per_instance_result=True,
    )  # fmt: skip
    assert result["long"] == 1 and len(per_instance) == len(DATA) and all(len(r) == 2 for r in responses)


def test_test_without_any_eval_func_is_an_error():
    with pytest.raises(ConfigurationError, match="needs an eval_func"):
        tuning.test_facade(FakeEngine(), chat=True, data=DATA, config={"model": "gpt-4o-mini", "prompt": "{q}"})


def test_test_aggregation_methods():
    engine = FakeEngine()
    config = {"model": "gpt-4o-mini", "prompt": "{q}"}

    def answer(responses, **instance):
        return {"answer": instance["answer"]}

    def run_test(agg):
        return tuning.test(engine, chat=True, data=DATA, config=config, eval_func=answer, agg_method=agg)["answer"]

    assert run_test("avg") == 3.5 and run_test("median") == 3.5
    assert run_test(max) == 7 and run_test({"answer": min}) == 0
    with pytest.raises(ConfigurationError, match="agg_method"):
        run_test("mode")


def test_worst_case_holds_of_concurrent_requests_do_not_end_the_run_early():
    # Each request may cost up to $0.5 (50 completions of 1000 tokens) but really costs ~$0.01: eight
    # concurrent holds cannot fit in $1 at once, yet the run must go on until the budget is really spent.
    engine = FakeEngine(tokens_per_choice=10)
    _, analysis = run(
        engine, model="gpt-4o", n=50, max_tokens=1000, inference_budget=None, optimization_budget=1.0, concurrency=8
    )
    assert len(analysis.trials) >= 5
    assert 1.0 - 0.55 <= analysis.total_cost <= 1.0  # stopped only when not even one worst case (+5%) fits
    assert analysis.total_cost == pytest.approx(engine.paid)


def test_a_constant_config_list_is_used_but_not_returned():
    engine = FakeEngine()
    config_list = [{"model": "gpt-4o-mini", "api_key": "sk-secret"}]
    seen = []
    original = engine.create

    def spy(context=None, **kwargs):
        seen.append(kwargs.get("config_list"))
        return original(context, **kwargs)

    engine.create = spy
    config, analysis = run(engine, num_samples=1, optimization_budget=None, config_list=config_list)
    assert seen and all(c is config_list for c in seen)
    assert "config_list" not in config
    assert "sk-secret" not in analysis.trials_dataframe().to_string()


def test_a_config_too_costly_for_the_budget_left_is_skipped_not_the_end():
    # Configs with many long completions cannot be afforded near the end of the budget; cheaper ones can.
    engine = FakeEngine(tokens_per_choice=10)
    _, analysis = run(
        engine, model="gpt-4o", n=flaml_tune.randint(1, 60), max_tokens=1000, inference_budget=None,
        optimization_budget=0.5, num_samples=-1,
    )  # fmt: skip
    statuses = [t.status for t in analysis.trials]
    assert "unaffordable" in statuses
    last_ok = max(i for i, status in enumerate(statuses) if status == "ok")
    assert statuses.index("unaffordable") < last_ok  # the search went on after skipping it
    assert analysis.total_cost <= 0.5


def test_credentials_given_to_tune_are_not_in_the_config_it_returns(tmp_path):
    log = tmp_path / "tune.jsonl"
    config, analysis = run(FakeEngine(), num_samples=2, api_key="sk-secret-123", log_file_name=str(log))
    assert "api_key" not in config and "api_key" not in analysis.best_config
    assert "sk-secret-123" not in log.read_text() and "sk-secret-123" not in analysis.trials_dataframe().to_csv()
    assert config["model"] in ("gpt-4o-mini", "gpt-4.1-nano")


class _DecliningSearcher:
    """Declines ``declines`` suggestions, then proposes one config per call."""

    def __init__(self, declines):
        self.declines, self.asked, self.told = declines, [], []

    def suggest(self, trial_id):
        self.asked.append(trial_id)
        if self.declines:
            self.declines -= 1
            return None
        return {"n": len(self.asked)}

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.told.append((trial_id, result, error))


def test_a_declined_suggestion_is_asked_again_with_a_fresh_id_as_flaml_tune_does():
    searcher = _DecliningSearcher(declines=3)
    suggestions = Suggestions(searcher)
    assert suggestions.suggest(0, others_running=True) is None  # wait for the running trial instead
    config = suggestions.suggest(0, others_running=False)
    assert config == {"n": 4} and len(set(searcher.asked)) == 4
    suggestions.tell(0, {"success": 1})
    assert searcher.told == [(searcher.asked[-1], {"success": 1}, False)]


def test_the_search_ends_after_max_suggest_failures_declines_in_a_row():
    searcher = _DecliningSearcher(declines=10**6)
    assert Suggestions(searcher).suggest(0, others_running=False) is None
    assert len(searcher.asked) == MAX_SUGGEST_FAILURES


def test_flamls_slow_draw_warning_is_not_passed_on_and_other_warnings_are():
    import warnings

    class SlowSearcher:
        def __init__(self, message):
            self.message = message

        def suggest(self, trial_id):
            warnings.warn(self.message, UserWarning, stacklevel=1)
            return {"x": 1}

    slow = "Define-by-run function passed in the `space` argument took 1.15 seconds to run. Ensure that ..."
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Suggestions(SlowSearcher(slow)).suggest(0, others_running=False) == {"x": 1}
        with pytest.raises(UserWarning, match="something else"):
            Suggestions(SlowSearcher("something else")).suggest(0, others_running=False)
