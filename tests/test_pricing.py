"""The money rules of one request, used alike by the request pipeline and the tuner."""

import csv
import math
import pathlib

import pytest

from ecoptigen import oai
from ecoptigen.client._request import prepare
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models
from ecoptigen.money import prices as pricing
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._space import build_space

PRICES_CSV = pathlib.Path(__file__).parent / "data" / "openai_prices.csv"


def usage(prompt=0, completion=0, cached=None, reasoning=None):
    result = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        result["prompt_tokens_details"] = {"cached_tokens": cached}
    if reasoning is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    return result


def test_cached_prompt_tokens_are_billed_at_the_cached_price():
    price = pricing.resolve_price("gpt-4o-mini")
    cost = pricing.cost_of_usage(price, usage(prompt=2048, completion=100, cached=1920))
    expected = (128 * 0.00015 + 1920 * 0.000075 + 100 * 0.0006) / 1000
    assert cost == pytest.approx(expected, rel=1e-12)
    assert cost < pricing.cost_of_usage(price, usage(prompt=2048, completion=100))


def test_reasoning_tokens_are_part_of_completion_tokens_and_billed_once():
    price = pricing.resolve_price("o4-mini")
    with_details = pricing.cost_of_usage(price, usage(prompt=100, completion=900, reasoning=768))
    assert with_details == pytest.approx((100 * 0.0011 + 900 * 0.0044) / 1000, rel=1e-12)


def test_cached_tokens_without_a_cached_price_cost_the_input_price():
    price = pricing.resolve_price("my-llama", [0.001, 0.002])
    assert price.cached_input is None
    assert pricing.cost_of_usage(price, usage(prompt=1000, cached=1000)) == pytest.approx(0.001)


@pytest.mark.parametrize(
    "bad_usage",
    [
        usage(prompt=100, completion=10, cached=500),  # more cached than prompt tokens
        {"prompt_tokens": 100, "completion_tokens": 10, "prompt_tokens_details": None},
        {"prompt_tokens": 100, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": None}},
    ],
)
def test_odd_usage_never_makes_a_prompt_cheaper_than_its_cached_price(bad_usage):
    price = pricing.Price(0.001, 0.002, 0.0005)
    cost = pricing.cost_of_usage(price, bad_usage)
    assert (100 * 0.0005 + 10 * 0.002) / 1000 - 1e-15 <= cost <= (100 * 0.001 + 10 * 0.002) / 1000 + 1e-15


def test_an_unpriced_model_costs_nan_not_zero():
    assert math.isnan(pricing.cost_of_usage(None, usage(prompt=10)))
    assert pricing.resolve_price("my-llama") is None


@pytest.mark.parametrize("value", [0.002, [0.001, 0.002], (0.001, 0.002, 0.0005)])
def test_price_forms(value):
    price = pricing.resolve_price("anything", value)
    assert price.input > 0 and price.output > 0


@pytest.mark.parametrize("value", ["cheap", [1], [1, 2, 3, 4], [-1, 1], [True, 1], {"input": 1}])
def test_bad_price_forms_are_refused(value):
    with pytest.raises(ConfigurationError, match="a price must be"):
        pricing.resolve_price("anything", value)


def test_every_cached_price_matches_the_reference_table():
    """The third number of each entry is the cached-input price of openai_prices.csv (and models the
    table lists without one have none)."""
    with PRICES_CSV.open() as f:
        reference = {row["model"]: row for row in csv.DictReader(f)}
    checked = set()
    for name in models.PRICE_1K:
        row = reference.get(name)
        if row is None:
            continue
        price = pricing.resolve_price(name)
        assert price.input == pytest.approx(float(row["input_usd_per_1k"])), name
        assert price.output == pytest.approx(float(row["output_usd_per_1k"])), name
        if row["cached_input_usd_per_1k"]:
            assert price.cached_input == pytest.approx(float(row["cached_input_usd_per_1k"])), name
        else:
            assert price.cached_input is None, name
        checked.add(name)
    cached_families = {
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-nano",
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5-nano",
    }
    assert cached_families | {"gpt-3.5-turbo", "gpt-4", "davinci-002"} <= checked


@pytest.mark.parametrize(
    ("model", "chat", "prompt", "requested", "limit"),
    [
        ("gpt-4o-mini", True, 1000, None, 16384),  # its largest completion
        ("o4-mini", True, 1000, None, 100000),  # reasoning tokens included
        ("gpt-5-mini", True, 1000, None, 128000),
        ("gpt-4", True, 1000, None, 7192),  # only the context window limits it
        ("text-davinci-003", False, 1000, None, 16),  # the completions endpoint's default
        ("my-llama", True, 1000, None, 4096),
        ("o4-mini", True, 1000, 300, 300),
    ],
)
def test_completion_limit(model, chat, prompt, requested, limit):
    assert pricing.completion_limit(model, chat, prompt, requested) == limit


def test_the_engine_and_the_tuner_reserve_the_same_worst_case():
    """One rule for both: the tuner admits a step's requests at exactly the worst case the engine reserves."""
    instance = {"q": "What is 2 + 2? " * 20}
    for model, extra in [("o4-mini", {}), ("gpt-4o-mini", {"max_tokens": 77}), ("gpt-5-mini", {"n": 3})]:
        config = {"model": model, "prompt": "{q}", "request_timeout": 1.0, "api_key": "sk-x", **extra}
        config["base_url"] = "http://127.0.0.1:9/v1"
        request = prepare(
            instance,
            config,
            chat=True,
            chat_models=set(),
            price_table=models.PRICE_1K,
            allow_format_str_template=True,
        )
        space = build_space(dict(config), chat=True)
        evaluator = TrialEvaluator(
            lambda *a, **k: {}, space, [instance], lambda r, **i: {}, "m", "max", None, models.PRICE_1K, None, chat=True
        )
        n = int(extra.get("n", 1))
        assert evaluator.worst_case(space.params({"prompt": 0}), instance, n) == request.worst_case_cost()


def test_completion_cost_counts_cached_tokens():
    response = {"model": "gpt-4.1-mini", "usage": usage(prompt=1200, completion=10, cached=1152)}
    assert oai.Completion.cost(response) == pytest.approx((48 * 0.0004 + 1152 * 0.0001 + 10 * 0.0016) / 1000)
