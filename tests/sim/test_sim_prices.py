"""The simulator bills from its own frozen prices, and those are OpenAI's.

``tests/data/openai_prices.csv`` is OpenAI's price list as LiteLLM 1.109.1 ships it. The retired models
it no longer lists (the ones FLAML's documented runs use) are checked against FLAML 1.2.0's ``price1K``,
written out here. A bill test can then fail: the simulator's bill is neither ecoptigen's price table
nor its pricing code.
"""

import csv
import pathlib

import openai
import pytest

from ecoptigen.money import catalog
from ecoptigen.sim._prices import PRICES_1K

PRICES_CSV = pathlib.Path(__file__).parents[1] / "data" / "openai_prices.csv"
# FLAML 1.2.0's oai.Completion.price1K for the models OpenAI has retired (one number: input = output).
FLAML_1_2_0 = {
    "text-ada-001": 0.0004,
    "text-babbage-001": 0.0005,
    "text-curie-001": 0.002,
    "code-cushman-001": 0.024,
    "code-davinci-002": 0.1,
    "text-davinci-002": 0.02,
    "text-davinci-003": 0.02,
    "gpt-3.5-turbo-0301": 0.002,
    "gpt-4-32k": (0.06, 0.12),
}


def reference() -> dict[str, tuple[float, float, float | None]]:
    with PRICES_CSV.open() as f:
        rows = {row["model"]: row for row in csv.DictReader(f)}
    table = {
        name: (
            float(row["input_usd_per_1k"]),
            float(row["output_usd_per_1k"]),
            float(row["cached_input_usd_per_1k"]) if row["cached_input_usd_per_1k"] else None,
        )
        for name, row in rows.items()
    }
    for name, price in FLAML_1_2_0.items():
        low, high = price if isinstance(price, tuple) else (price, price)
        table.setdefault(name, (low, high, None))
    return table


def test_every_price_the_simulator_bills_is_the_reference_price():
    expected = reference()
    unchecked = sorted(set(PRICES_1K) - set(expected))
    assert unchecked == [], "add the model's price to openai_prices.csv or FLAML_1_2_0 before the simulator bills it"
    for name, (input_price, output_price, cached_price) in PRICES_1K.items():
        want = expected[name]
        assert (input_price, output_price) == pytest.approx(want[:2], rel=1e-12), name
        assert cached_price == (None if want[2] is None else pytest.approx(want[2], rel=1e-12)), name


def test_the_simulator_serves_every_catalogued_model_and_bills_each():
    assert set(PRICES_1K) == set(catalog.MODELS)


def test_the_bill_uses_the_simulators_prices_not_the_clients(server):
    """The client's table can be wrong (or edited); the simulated provider's bill does not follow it."""
    server.reset_stats()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        r = client.completions.create(model="text-davinci-003", prompt="Hello there", max_tokens=10)
    bill = server.stats()["total_billed_usd"]
    assert bill == pytest.approx((r.usage.prompt_tokens + r.usage.completion_tokens) * 0.02 / 1000, rel=1e-12)
