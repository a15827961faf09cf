"""What the simulated provider reports and bills for an answer: OpenAI's usage object and its price.

The bill uses :func:`ecoptigen.money.prices.cost_of_usage` on ecoptigen's price table, so cached prompt
tokens are billed at the cached-input price and reasoning tokens (inside ``completion_tokens``) as output.
"""

from __future__ import annotations

from typing import Any

from ecoptigen.money import prices as pricing

__all__ = ["add_to_stats", "bill", "new_model_stats", "usage"]


def usage(prompt_tokens: int, completion_tokens: int, cached: int, reasoning: int, chat: bool) -> dict[str, Any]:
    """The ``usage`` object of an answer; chat answers break the counts down, as OpenAI's do.

    Example:
        >>> usage(2000, 50, 1920, 0, chat=True)["prompt_tokens_details"]["cached_tokens"]
        1920
    """
    result: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if chat:  # the legacy completions endpoint reports the three totals only
        result["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
        result["completion_tokens_details"] = {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return result


def bill(model: str, answer_usage: dict[str, Any]) -> float:
    """Dollars the provider bills for an answer of ``model`` (0 for a model without a price)."""
    price = pricing.resolve_price(model)
    return 0.0 if price is None else pricing.cost_of_usage(price, answer_usage)


def new_model_stats() -> dict[str, Any]:
    """One model's counters in ``stats()``."""
    return {
        "requests": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cached_tokens": 0,
        "reasoning_tokens": 0,
        "billed_usd": 0.0,
    }


def add_to_stats(entry: dict[str, Any], answer_usage: dict[str, Any] | None) -> None:
    """Count an answer's tokens into one model's counters."""
    counted = pricing.token_usage(answer_usage)
    entry["prompt_tokens"] += counted.prompt
    entry["completion_tokens"] += counted.completion
    entry["cached_tokens"] += counted.cached
    entry["reasoning_tokens"] += counted.reasoning
