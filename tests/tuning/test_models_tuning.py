"""Tuning current models as they are: reasoning models never get a sampling setting, and the cost
of prompts served from the provider's cache is what the provider bills."""

import logging
import re

import pytest

from ecoptigen import oai
from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._flaml import tune
from ecoptigen.tuning._space import build_space

QUESTIONS = [{"question": f"Is {i} an even number? Answer yes or no."} for i in range(4)]
# About 2,000 tokens of few-shot examples ahead of each question: the prefix the provider caches.
FEW_SHOT = "".join(
    f"Q: Is {i} an even number? Answer yes or no.\nA: {'Yes' if i % 2 == 0 else 'No'}.\n\n" for i in range(130)
)
MODELS = ["gpt-4o-mini", "o4-mini", "gpt-5-mini"]
REASONING = {"o4-mini", "gpt-5-mini"}


def answered(responses, **instance):
    return {"success": any(str(r).strip() for r in responses)}


def test_reasoning_models_in_the_default_temperature_space_get_no_sampling_settings(endpoint):
    _, analysis = oai.ChatCompletion.tune(
        data=QUESTIONS, metric="success", mode="max", eval_func=answered, optimization_budget=2.0,
        num_samples=9, model=MODELS, prompt="{question}", show_progress=False,
    )  # fmt: skip
    stats = endpoint.stats()
    assert stats["errors"] == 0  # no 400 (and no other error) from the endpoint
    assert {t.params["model"] for t in analysis.trials} == set(MODELS)
    for model in REASONING:
        assert stats["models"][model]["requests"] > 0 and stats["models"][model]["reasoning_tokens"] > 0
    for trial in analysis.trials:
        sampling = {"temperature", "top_p"} & set(trial.params)
        assert not sampling if trial.params["model"] in REASONING else len(sampling) == 1
    table = analysis.trials_dataframe()
    reasoning_rows = table[table["model"].isin(REASONING)]
    assert set(reasoning_rows["temperature"]) == {"fixed"} and set(reasoning_rows["top_p"]) == {"—"}
    assert analysis.total_cost == pytest.approx(stats["total_billed_usd"], rel=1e-9)


def test_cost_of_a_cached_few_shot_prompt_equals_the_bill(endpoint):
    engine_usage = oai.ChatCompletion._engine.usage
    before = engine_usage.summary()["models"].get("gpt-4.1-nano", {})
    _, analysis = oai.ChatCompletion.tune(
        data=QUESTIONS * 2, metric="success", mode="max", eval_func=answered, optimization_budget=0.5,
        num_samples=4, model="gpt-4.1-nano", prompt=FEW_SHOT + "Q: {question}\nA:", n=1,
        max_tokens=16, show_progress=False,
    )  # fmt: skip
    stats = endpoint.stats()["models"]["gpt-4.1-nano"]
    assert stats["prompt_tokens"] / stats["requests"] > 2000
    assert stats["cached_tokens"] > stats["prompt_tokens"] / 2  # most of the prompts came from the cache
    assert analysis.total_cost == pytest.approx(endpoint.stats()["total_billed_usd"], rel=1e-3)
    uncached = (stats["prompt_tokens"] * 0.0001 + stats["completion_tokens"] * 0.0004) / 1000
    assert analysis.total_cost < 0.6 * uncached
    after = engine_usage.summary()["models"]["gpt-4.1-nano"]
    assert after["cached_tokens"] - before.get("cached_tokens", 0) == stats["cached_tokens"]
    assert after["paid"] - before.get("paid", 0.0) == pytest.approx(stats["billed_usd"], rel=1e-9)


def test_settings_left_out_per_model(caplog):
    space = build_space({"model": MODELS, "prompt": "{q}", "stop": [["\n"], None]}, chat=True)
    assert space.left_out == {
        "o4-mini": ["stop", "temperature", "top_p"],
        "gpt-5-mini": ["stop", "temperature", "top_p"],
    }
    keys = {choice["model"]: set(choice) for choice in space.searched["subspace"].categories}
    assert keys["gpt-4o-mini"] == {"model", "max_tokens", "n", "temperature_or_top_p", "stop"}
    assert keys["o4-mini"] == keys["gpt-5-mini"] == {"model", "max_tokens", "n"}
    constant = build_space({"model": MODELS, "prompt": "{q}", "temperature": 0.2, "n": 1}, chat=True)
    assert constant.params({"prompt": 0, "subspace": {"model": "o4-mini", "max_tokens": 50}}).get("temperature") is None
    assert constant.params({"prompt": 0, "subspace": {"model": "gpt-4o-mini", "max_tokens": 50}})["temperature"] == 0.2
    with caplog.at_level(logging.WARNING, logger="ecoptigen.tuning"):
        single = build_space({"model": "o3", "prompt": "{q}", "temperature": 0.2}, chat=True)
    assert "temperature_or_top_p" not in single.searched and "temperature_or_top_p" not in single.constants
    assert "no model of the space can take" in caplog.text


def test_a_space_without_reasoning_models_is_unchanged():
    space = build_space({"model": ["gpt-4o-mini", "gpt-4.1-nano"], "prompt": "{q}", "stop": [["\n"], None]}, chat=True)
    assert space.left_out == {} and "stop" in space.searched
    assert {frozenset(c) for c in space.searched["subspace"].categories} == {
        frozenset({"model", "max_tokens", "n", "temperature_or_top_p"})
    }


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"temperature": 5}, "temperature=5 is out of range for gpt-4o-mini: the API takes a number from 0 to 2"),
        ({"top_p": tune.uniform(0, 2)}, "the searched range of top_p for gpt-4o-mini: top_p=2 is out of range"),
        ({"n": tune.randint(1, 200)}, "n=199 is out of range for gpt-4o-mini: the API takes an integer from 1 to 128"),
        ({"max_tokens": tune.lograndint(50, 20000)}, "max_tokens=19999 is out of range for gpt-4o-mini"),
    ],
)
def test_out_of_range_settings_are_refused_before_the_tuning_spends(endpoint, setting, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        oai.ChatCompletion.tune(
            data=QUESTIONS, metric="success", mode="max", eval_func=answered, optimization_budget=0.1,
            num_samples=2, model=["gpt-4o-mini", "o4-mini"], prompt="{question}", show_progress=False, **setting,
        )  # fmt: skip
    assert endpoint.stats()["requests"] == 0


def test_a_malformed_price_is_refused_before_the_tuning_spends(endpoint):
    with pytest.raises(ConfigurationError, match="a price must be"):
        oai.ChatCompletion.tune(
            data=QUESTIONS, metric="success", mode="max", eval_func=answered, optimization_budget=0.1,
            num_samples=2, model="gpt-4o-mini", prompt="{question}", price=["cheap", 1], show_progress=False,
        )  # fmt: skip
    assert endpoint.stats()["requests"] == 0
