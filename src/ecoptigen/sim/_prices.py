"""The simulated provider's own price list, frozen: what it bills, whatever ecoptigen's client believes.

A real provider bills from its own price list, not from the client's. The simulator does the same, so
a test that compares the cost ecoptigen reports with the simulator's bill compares two independent
tables and two independent sums, and fails when either is wrong. These numbers are checked against
``tests/data/openai_prices.csv`` (OpenAI's prices as LiteLLM 1.109.1 ships them) and, for the retired
models that table no longer lists, against FLAML 1.2.0's ``price1K`` (``tests/sim/test_sim_prices.py``).

USD per 1K tokens as ``(input, output, cached_input)``; ``cached_input`` is ``None`` for models without
prompt caching (cached tokens are then billed at the input price, as no such tokens are reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["PRICES_1K"]

PRICES_1K: Mapping[str, tuple[float, float, float | None]] = MappingProxyType(
    {
        # Retired models, at FLAML 1.2.0's prices (OpenAI's list of spring 2023).
        "text-ada-001": (0.0004, 0.0004, None),
        "text-babbage-001": (0.0005, 0.0005, None),
        "text-curie-001": (0.002, 0.002, None),
        "code-cushman-001": (0.024, 0.024, None),
        "code-davinci-002": (0.1, 0.1, None),
        "text-davinci-002": (0.02, 0.02, None),
        "text-davinci-003": (0.02, 0.02, None),
        "gpt-3.5-turbo-0301": (0.002, 0.002, None),
        "gpt-4": (0.03, 0.06, None),
        "gpt-4-32k": (0.06, 0.12, None),
        # Current models, standard tier.
        "gpt-3.5-turbo": (0.0005, 0.0015, None),
        "gpt-3.5-turbo-16k": (0.003, 0.004, None),
        "gpt-3.5-turbo-instruct": (0.0015, 0.002, None),
        "davinci-002": (0.002, 0.002, None),
        "babbage-002": (0.0004, 0.0004, None),
        "gpt-4-turbo": (0.01, 0.03, None),
        "gpt-4o": (0.0025, 0.01, 0.00125),
        "gpt-4o-mini": (0.00015, 0.0006, 0.000075),
        "gpt-4.1": (0.002, 0.008, 0.0005),
        "gpt-4.1-mini": (0.0004, 0.0016, 0.0001),
        "gpt-4.1-nano": (0.0001, 0.0004, 0.000025),
        "o1": (0.015, 0.06, 0.0075),
        "o3": (0.002, 0.008, 0.0005),
        "o3-mini": (0.0011, 0.0044, 0.00055),
        "o4-mini": (0.0011, 0.0044, 0.000275),
        "gpt-5": (0.00125, 0.01, 0.000125),
        "gpt-5-mini": (0.00025, 0.002, 0.000025),
        "gpt-5-nano": (0.00005, 0.0004, 0.000005),
    }
)
