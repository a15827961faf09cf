"""What ``tune`` returns, as FLAML's users read it: the config when nothing fits the inference budget,
and the analysis (FLAML's ``ExperimentAnalysis`` API) against the simulated endpoint."""

from __future__ import annotations

import warnings

import pytest

from ecoptigen import oai
from ecoptigen.errors import InferenceBudgetWarning

DATA = [{"q": f"Write a haiku about the number {i}."} for i in range(4)]


def answered(responses, **instance):
    return {"success": float(any(r.strip() for r in responses)), "length": float(sum(len(r) for r in responses))}


def tune(**overrides):
    arguments = {
        "data": DATA,
        "metric": "success",
        "mode": "max",
        "eval_func": answered,
        "prompt": "{q}",
        "show_progress": False,
    }
    return oai.Completion.tune(**{**arguments, **overrides})


def test_nothing_within_the_inference_budget_returns_the_best_config_found_with_one_warning(endpoint):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Three simulated answers of some 25 tokens at $0.02 per 1K tokens: about $0.0015, over the budget.
        config, analysis = tune(inference_budget=0.0005, num_samples=1, model="text-davinci-003", max_tokens=200, n=3)
    budget_warnings = [w for w in caught if issubclass(w.category, InferenceBudgetWarning)]
    assert len(budget_warnings) == 1 and len(caught) == 1
    message = str(budget_warnings[0].message)
    assert "$0.0005" in message and "inference_budget_met is False" in message and "Raise inference_budget" in message
    assert budget_warnings[0].filename == __file__  # it points at the caller's tune(...)
    assert analysis.inference_budget_met is False
    assert config == analysis.best_config and config["model"] == "text-davinci-003"
    assert analysis.best_result["inference_cost"] > 0.0005 and analysis.best_result["success"] == 1.0
    response = oai.Completion.create(context=DATA[0], **config)
    assert oai.Completion.extract_text(response)[0]


def test_a_budget_that_fits_is_met_and_gives_no_warning(endpoint):
    _, analysis = tune(inference_budget=0.01, num_samples=2, model="gpt-4o-mini", max_tokens=20)
    assert analysis.inference_budget_met is True and analysis.best_result["inference_cost"] <= 0.01


def test_flaml_analysis_api(endpoint):
    config, analysis = tune(
        optimization_budget=0.05, num_samples=4, model=["gpt-4o-mini", "gpt-4.1-nano"], max_tokens=30
    )
    assert analysis.default_metric == "success" and analysis.default_mode == "max"
    best = analysis.best_trial
    assert best.last_result == analysis.best_result
    assert best.last_result["success"] == 1.0 and best.last_result["config"] == best.config
    assert {"cost", "inference_cost", "total_cost", "time_total_s", "training_iteration"} <= set(best.last_result)
    assert all(best.last_result[f"config/{key}"] == value for key, value in best.config.items())
    assert analysis.get_best_trial("success", "max") is best
    cheapest = analysis.get_best_trial("inference_cost", "min")
    assert cheapest.last_result["inference_cost"] == min(t.last_result["inference_cost"] for t in analysis.trials)
    longest = analysis.get_best_trial("length", "max", scope="all")
    assert longest.last_result["length"] == max(t.last_result["length"] for t in analysis.trials)
    assert analysis.get_best_config("inference_cost", "min") == {
        k: v for k, v in cheapest.params.items() if k != "config_list"
    }
    assert list(analysis.results) == [t.trial_id for t in analysis.trials] == [f"t{i}" for i in range(4)]
    assert analysis.results[best.trial_id] == best.last_result
    assert best.metric_analysis["success"]["max"] == best.metric_analysis["success"]["last"] == 1.0
    frame = analysis.best_result_df
    assert list(frame.index) == [best.trial_id] and frame.loc[best.trial_id, "success"] == 1.0
    assert frame.loc[best.trial_id, "inference_cost"] == best.last_result["inference_cost"]
    assert config == analysis.best_config


def test_get_best_trial_refuses_an_unknown_mode_or_scope(endpoint):
    from ecoptigen.errors import ConfigurationError

    _, analysis = tune(num_samples=1, model="gpt-4o-mini", max_tokens=10)
    with pytest.raises(ConfigurationError, match="mode"):
        analysis.get_best_trial("success", "maximum")
    with pytest.raises(ConfigurationError, match="scope"):
        analysis.get_best_trial("success", "max", scope="first")
