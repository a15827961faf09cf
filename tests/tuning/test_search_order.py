"""ecoptigen's default search order: start points scaled to price, the model race, the confidence of
the choice; and FLAML's order behind ``search_order="flaml"``."""

import pytest
from tuning_fakes import FakeEngine

from ecoptigen import tuning
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models
from ecoptigen.tuning._confidence import choice_confidence, wilson_interval
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._flaml import tune as flaml_tune
from ecoptigen.tuning._models_race import ModelRace, hoeffding_margin
from ecoptigen.tuning._space import build_space
from ecoptigen.tuning._start_points import (
    OPTIMIZATION_SHARE,
    START_N_MOST,
    START_TEMPERATURE,
    budgeted_start_points,
    fit_start_point,
)

DATA = [{"q": f"question {i}", "answer": i} for i in range(8)]
MODELS = ["gpt-4o", "gpt-4.1-nano", "gpt-4o-mini"]  # not in price order


class ModelNamingEngine(FakeEngine):
    """Every completion starts with the model's name, so an eval_func can score models differently."""

    def create(self, context=None, **config):
        response = super().create(context, **config)
        for choice in response["choices"]:
            choice["text"] = f"{config['model']}: {choice['text']}"
        return response


def nano_fails(responses, **instance):
    return {"success": not responses[0].startswith("gpt-4.1-nano")}


def run(engine, **kwargs):
    settings = {
        "chat": True,
        "data": DATA,
        "metric": "success",
        "mode": "max",
        "eval_func": nano_fails,
        "inference_budget": 0.01,
        "optimization_budget": 0.05,
        "num_samples": 12,
        "model": MODELS,
        "prompt": ["{q}", "Answer: {q}"],
        "max_tokens": flaml_tune.lograndint(20, 200),
        "n": flaml_tune.randint(1, 20),
        "show_progress": False,
    }
    settings.update(kwargs)
    return tuning.tune(engine, **settings)


def starts(inference_budget=0.01, optimization_budget=0.05, parallel_trials=1, space=None, chat=None):
    space = space or build_space(
        {"model": MODELS, "prompt": ["{q}", "Answer: {q}"], "max_tokens": flaml_tune.lograndint(20, 200),
         "n": flaml_tune.randint(1, 20), "stop": [["\n"], None]},
        chat=True,
    )  # fmt: skip
    evaluator = TrialEvaluator(None, space, DATA, nano_fails, "success", "max", inference_budget, models.PRICE_1K, None)
    points = budgeted_start_points(
        space, evaluator.price, evaluator.prompt_lengths, evaluator.max_tokens, inference_budget,
        optimization_budget, parallel_trials, chat,
    )  # fmt: skip
    return space, evaluator, points


# --- start points ---------------------------------------------------------------------------------


def test_start_points_try_every_model_once_cheapest_first_from_the_first_prompt_and_stop():
    _, _, points = starts()
    assert [p["subspace"]["model"] for p in points] == ["gpt-4.1-nano", "gpt-4o-mini", "gpt-4o"]
    assert all(p["prompt"] == 0 and p["stop"] == 0 for p in points)
    assert all(p["subspace"]["temperature_or_top_p"] == {"temperature": START_TEMPERATURE} for p in points)
    assert {p["subspace"]["max_tokens"] for p in points} == {63}  # the geometric middle of [20, 199]


def test_a_chat_models_start_point_takes_the_stop_choice_without_stop_sequences():
    points = starts(chat=lambda params: params["model"] != "gpt-4o")[2]
    stops = {p["subspace"]["model"]: p["stop"] for p in points}
    assert stops == {"gpt-4.1-nano": 1, "gpt-4o-mini": 1, "gpt-4o": 0}  # choice 1 is None; gpt-4o "completes"
    only_stops = build_space({"model": MODELS, "prompt": "{q}", "stop": [["\n"], ["\ndef"]]}, chat=True)
    points = starts(space=only_stops, chat=lambda params: True)[2]
    assert {p["stop"] for p in points} == {0}  # no choice without stops: the first, as for any model


def test_the_tuning_starts_chat_models_without_stop_sequences_when_listed():
    _, analysis = run(ModelNamingEngine(), stop=[["\n"], None], num_samples=3)
    assert [t.params.get("stop") for t in analysis.trials] == [None, None, None]


def test_start_n_is_the_largest_the_budgets_allow_and_stays_in_its_domain():
    space, evaluator, points = starts()
    for point in points:
        params = space.params(point)
        n, price = params["n"], evaluator.price(params)
        assert 1 <= n <= 19
        prompt = sum(evaluator.prompt_lengths(params, space.region_key(point))) / len(DATA) * price.input / 1000
        worst = 63 * price.output / 1000
        estimate = prompt + n * worst / 2  # every completion at half max_tokens
        assert (estimate <= 0.01 and len(DATA) * estimate <= OPTIMIZATION_SHARE * 0.05) or n == 1
        if n < 19:  # one more completion would break a budget (n is as large as the budgets allow)
            more = estimate + worst / 2
            assert more > 0.01 or len(DATA) * more > OPTIMIZATION_SHARE * 0.05


def test_with_parallel_trials_each_start_point_fits_its_part_of_the_share_at_the_worst_case():
    space, evaluator, points = starts(parallel_trials=2)
    for point in points:
        params = space.params(point)
        price = evaluator.price(params)
        prompt = sum(evaluator.prompt_lengths(params, space.region_key(point))) / len(DATA) * price.input / 1000
        worst = len(DATA) * (prompt + params["n"] * 63 * price.output / 1000)
        assert worst <= OPTIMIZATION_SHARE * 0.05 / 2 or params["n"] == 1


def test_a_smaller_budget_or_parallel_trials_start_with_fewer_completions():
    def gpt4o_n(**kwargs):
        return next(p for p in starts(**kwargs)[2] if p["subspace"]["model"] == "gpt-4o")["subspace"]["n"]

    assert gpt4o_n(optimization_budget=0.01) < gpt4o_n()
    assert gpt4o_n(parallel_trials=4) < gpt4o_n()
    assert gpt4o_n(optimization_budget=None, inference_budget=None) == 19  # nothing limits it


def test_a_start_point_asks_for_at_most_start_n_most_completions_however_cheap_its_model():
    wide = build_space(
        {"model": MODELS, "prompt": ["{q}"], "max_tokens": flaml_tune.lograndint(20, 200),
         "n": flaml_tune.randint(1, 100)},
        chat=True,
    )  # fmt: skip
    unlimited = {p["subspace"]["model"]: p["subspace"]["n"] for p in starts(None, None, space=wide)[2]}
    assert set(unlimited.values()) == {START_N_MOST}  # nothing else limits them
    narrow = build_space({"model": ["gpt-4o-mini"], "prompt": ["{q}"], "n": flaml_tune.randint(40, 60)}, chat=True)
    assert starts(None, None, space=narrow)[2][0]["n"] == 40  # never below the domain's lower bound


def test_a_start_point_is_fitted_to_what_is_left_and_never_grown():
    space, evaluator, points = starts()
    fit = [space, evaluator.price, evaluator.prompt_lengths, evaluator.max_tokens]
    point = next(p for p in points if p["subspace"]["model"] == "gpt-4o")
    planned = point["subspace"]["n"]
    assert planned > 1
    assert fit_start_point(point, *fit, left=1.0) is point  # fits: kept as planned, not grown
    fitted = fit_start_point(point, *fit, left=0.05 * OPTIMIZATION_SHARE / 3)
    assert 1 <= fitted["subspace"]["n"] < planned
    assert {**fitted, "subspace": {**fitted["subspace"], "n": planned}} == point  # only n changed
    assert point["subspace"]["n"] == planned  # the planned point is left as it was
    assert fit_start_point(point, *fit, left=0.0)["subspace"]["n"] == 1  # the smallest n still tries the model


def test_the_tuning_fits_a_start_point_to_what_the_cheaper_models_start_points_left():
    points = starts(optimization_budget=0.02)[2]
    planned = {p["subspace"]["model"]: p["subspace"]["n"] for p in points}
    _, analysis = run(ModelNamingEngine(), optimization_budget=0.02, num_samples=3)
    tried = {t.params["model"]: t.params["n"] for t in analysis.trials}
    assert list(tried) == [p["subspace"]["model"] for p in points]  # each model tried at its start point
    assert tried["gpt-4o"] < planned["gpt-4o"]  # refitted: the planned n no longer fit what was left
    assert all(tried[model] == planned[model] for model in ("gpt-4.1-nano", "gpt-4o-mini"))
    assert all(t.status == "ok" for t in analysis.trials)


def test_a_resumed_run_fits_its_start_points_as_the_first_run_did_and_pays_nothing_again(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    _, first = run(ModelNamingEngine(), optimization_budget=0.02, num_samples=3, log_file_name=log)
    again = ModelNamingEngine()
    _, resumed = run(again, optimization_budget=0.02, num_samples=3, log_file_name=log)
    assert again.requests == []  # every trial, the refitted start point included, found in the journal
    assert [t.config for t in resumed.trials] == [t.config for t in first.trials]
    assert all(t.replayed for t in resumed.trials)


def test_a_single_model_space_gets_one_start_point_with_constants_left_alone():
    space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "n": 3, "max_tokens": 50}, chat=True)
    _, _, points = starts(space=space)
    assert points == [{"prompt": 0, "temperature_or_top_p": {"temperature": START_TEMPERATURE}}]


# --- the model race -------------------------------------------------------------------------------


def test_a_model_is_dropped_once_its_upper_bound_is_below_the_best_of_another():
    race = ModelRace("max", rows=20)
    race.record("weak", 0.3)
    assert race.dropped == {}  # nothing to compare with yet
    race.record("strong", 0.3 + hoeffding_margin(20) - 0.01)
    assert race.dropped == {}  # within the margin: the weak one might still be as good
    race.record("strong", 0.3 + hoeffding_margin(20) + 0.01)
    assert list(race.dropped) == ["weak"] and "strong scored" in race.dropped["weak"]


def test_the_leader_is_never_dropped_and_minimizing_drops_the_high_ones():
    race = ModelRace("min", rows=50)
    race.record("a", 0.9)
    race.record("b", 0.1)
    race.record("a", 0.95)
    assert list(race.dropped) == ["a"]


def test_a_value_outside_0_1_stops_dropping():
    race = ModelRace("max", rows=20)
    race.record("a", 3.0)
    race.record("b", 0.0)
    race.record("c", 0.0)
    assert race.dropped == {}


def test_the_tuning_drops_a_model_that_scores_nothing_and_never_tries_it_again():
    _, analysis = run(ModelNamingEngine(), optimization_budget=0.2)
    first_ok = next(t.index for t in analysis.trials if t.status == "ok" and t.params["model"] != "gpt-4.1-nano")
    assert analysis.trials[0].params["model"] == "gpt-4.1-nano"  # the cheapest starts
    assert "gpt-4.1-nano" in analysis.dropped_models
    assert all(t.params["model"] != "gpt-4.1-nano" for t in analysis.trials[first_ok + 1 :])
    assert len(analysis.trials) == 12 and analysis.best_result["success"] == 1.0


def test_flamls_order_tries_every_model_from_one_shared_point_and_drops_none():
    _, analysis = run(ModelNamingEngine(), search_order="flaml")
    first = analysis.trials[:3]
    assert sorted(t.params["model"] for t in first) == sorted(MODELS)
    assert len({(t.params["n"], t.params["max_tokens"]) for t in first}) == 1
    assert analysis.dropped_models == {}


def test_the_search_is_the_same_for_the_same_seed_and_keeps_to_the_budget():
    runs = [run(ModelNamingEngine(), num_samples=-1, optimization_budget=0.02) for _ in range(2)]
    assert [(t.config, t.status, t.metrics) for t in runs[0][1].trials] == [
        (t.config, t.status, t.metrics) for t in runs[1][1].trials
    ]
    for _, analysis in runs:
        assert analysis.total_cost <= 0.02
        assert analysis.stopped_because.startswith("the optimization budget is spent")


def test_an_unknown_search_order_is_refused_before_anything_is_spent():
    engine = ModelNamingEngine()
    with pytest.raises(ConfigurationError, match="search_order must be one of"):
        run(engine, search_order="random")
    assert engine.requests == []


# --- how sure the choice is -----------------------------------------------------------------------


def test_wilson_interval_contains_the_mean_and_narrows_with_more_rows():
    low20, high20 = wilson_interval(0.8, 20)
    low144, high144 = wilson_interval(0.8, 144)
    assert low20 < low144 < 0.8 < high144 < high20
    assert wilson_interval(1.0, 20)[1] == 1.0 and wilson_interval(0.0, 20)[0] == 0.0


def test_the_runner_up_is_a_tie_only_when_the_intervals_overlap():
    assert choice_confidence(("t1", 0.9), [("t0", 0.8)], 20, "max").tie
    sure = choice_confidence(("t1", 0.95), [("t0", 0.2), ("t2", 0.3)], 20, "max")
    assert not sure.tie and sure.runner_up == "t2" and "surely worse" in str(sure)
    assert choice_confidence(("t1", 2.0), [("t0", 0.8)], 20, "max") is None


def test_the_analysis_says_how_sure_its_choice_is():
    _, analysis = run(ModelNamingEngine())
    confidence = analysis.choice_confidence()
    assert confidence.rows == len(DATA) and confidence.metric == analysis.best_result["success"]
    assert confidence.interval[0] < 1.0 == confidence.interval[1]
