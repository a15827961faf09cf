"""What the simulated provider reports and bills for an answer: OpenAI's usage object and its price.

The bill uses the simulator's own frozen prices (:mod:`ecoptigen.sim._prices`) and its own sum, as a
real provider bills from its own list: cached prompt tokens at the cached-input price, the other prompt
tokens at the input price, and every completion token (reasoning tokens are among them) at the output
price. Nothing of ecoptigen's client or price table is used, so a test comparing a reported cost with
the bill can fail.
"""

from __future__ import annotations

from typing import Any

from ecoptigen.sim._prices import PRICES_1K

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
    price = PRICES_1K.get(model)
    if price is None:
        return 0.0
    input_price, output_price, cached_price = price
    prompt, completion, cached, _ = _counts(answer_usage)
    cached_rate = input_price if cached_price is None else cached_price
    return ((prompt - cached) * input_price + cached * cached_rate + completion * output_price) / 1000


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
    prompt, completion, cached, reasoning = _counts(answer_usage or {})
    entry["prompt_tokens"] += prompt
    entry["completion_tokens"] += completion
    entry["cached_tokens"] += cached
    entry["reasoning_tokens"] += reasoning


def _counts(answer_usage: dict[str, Any]) -> tuple[int, int, int, int]:
    """(prompt, completion, cached, reasoning) tokens of a usage object this simulator made."""
    cached = (answer_usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    reasoning = (answer_usage.get("completion_tokens_details") or {}).get("reasoning_tokens", 0)
    return answer_usage["prompt_tokens"], answer_usage["completion_tokens"], cached, reasoning
