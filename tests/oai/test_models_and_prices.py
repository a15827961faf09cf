import math

import pytest

from ecoptigen.money import catalog as models
from ecoptigen.money import prices as pricing
from ecoptigen.oai import Completion, CompletionEngine


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-35-turbo", "gpt-3.5-turbo"),
        ("gpt-35-turbo-0613", "gpt-3.5-turbo"),
        ("gpt-4-0613", "gpt-4"),
        ("gpt-4-32k-0314", "gpt-4-32k"),
        ("gpt-3.5-turbo-0301", "gpt-3.5-turbo-0301"),
        ("ft:gpt-4o-mini:acme::abc123", "gpt-4o-mini"),
    ],
)
def test_versioned_and_azure_names_map_to_their_base_price(name, base):
    assert models.base_model_name(name) == base
    assert models.price_of(name) == models.price_of(base)


def test_every_catalog_model_has_a_price_and_every_price_a_catalog_entry():
    assert set(models.MODELS) == set(models.PRICE_1K)


def test_unknown_model_has_no_price_rather_than_zero():
    assert models.price_of("my-local-llama") is None
    assert pricing.cost_of_tokens("my-local-llama", 10, 10) is None


def test_a_price_added_to_price1K_belongs_to_the_engine_behind_completion():
    Completion.price1K["my-model"] = (0.001, 0.002)
    try:
        response = {"model": "my-model", "usage": {"prompt_tokens": 1000, "completion_tokens": 1000}}
        assert Completion.cost(response) == pytest.approx(0.003)
        assert pricing.cost_of_tokens("my-model", 1000, 1000, Completion.price1K) == pytest.approx(0.003)
        assert "my-model" not in models.PRICE_1K
        with CompletionEngine() as other:
            assert "my-model" not in other.price_table
    finally:
        del Completion.price1K["my-model"]


def test_the_default_price_table_is_read_only():
    with pytest.raises(TypeError):
        models.PRICE_1K["my-model"] = (0.001, 0.002)  # type: ignore[index]


def test_cost_of_a_response_uses_input_and_output_prices():
    response = {"model": "gpt-4-0613", "usage": {"prompt_tokens": 1000, "completion_tokens": 500}}
    assert Completion.cost(response) == pytest.approx(0.03 + 0.03)


def test_cost_of_an_unpriced_response_is_unknown_and_warned():
    with pytest.warns(RuntimeWarning, match="price1K"):
        cost = Completion.cost({"model": "mystery", "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    assert math.isnan(cost)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("text-davinci-003", "completion"),
        ("code-davinci-002", "completion"),
        ("gpt-3.5-turbo-instruct", "completion"),
        ("davinci-002", "completion"),
        ("gpt-4", "chat"),
        ("gpt-4o-mini-2024-07-18", "chat"),
        ("gpt-6-preview", "chat"),  # a new gpt-* name never goes to the legacy endpoint
        ("meta-llama/Llama-3.1-8B-Instruct", "chat"),
        ("text-unknown-002", "completion"),
    ],
)
def test_endpoint_kind(name, kind):
    assert models.endpoint_kind(name) == kind


def test_user_listed_chat_models_win():
    assert models.endpoint_kind("text-special", {"text-special"}) == "chat"
