"""The money rules of one request: its price, what its answer cost, and the most it can cost.

Both the request pipeline (:mod:`ecoptigen.oai`) and the tuner (:mod:`ecoptigen.tuning`) price
requests with these functions, so a reservation, a step's admission and a trial's cost always agree.
This module imports neither of them; the numbers come from :mod:`ecoptigen.money.catalog`.

How OpenAI bills a request (the rules :func:`cost_of_usage` follows):

* ``usage.prompt_tokens`` counts every prompt token. The ones served from OpenAI's prompt cache,
  ``usage.prompt_tokens_details.cached_tokens``, are a subset of them, billed at the cached-input
  price; the rest at the input price.
* ``usage.completion_tokens`` counts every generated token of every choice, *including* the hidden
  reasoning tokens of reasoning models (``usage.completion_tokens_details.reasoning_tokens``), all
  billed at the output price. (The openai SDK's ``CompletionUsage`` documents that such tokens "are
  still counted in the total completion tokens for purposes of billing, output, and context window
  limits".) Reasoning tokens are therefore never added a second time.

The worst case of a request (:func:`worst_case_cost`) assumes no cache hit and every completion
running to its limit. ``max_completion_tokens`` bounds visible *and* reasoning tokens, so the
limit covers reasoning. When a request gives no limit (:func:`completion_limit`): the legacy
completions endpoint stops at 16 tokens (its documented default); a known chat model stops at its
largest completion (``ModelInfo.max_output_tokens``, e.g. 100,000 for o4-mini, 16,384 for gpt-4o),
or at what the context window leaves after the prompt when that is smaller; an unknown chat model is
assumed to stop at 4,096.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecoptigen.money import catalog as models
from ecoptigen.money import tokens

__all__ = [
    "COMPLETIONS_DEFAULT_MAX_TOKENS",
    "UNKNOWN_CHAT_MAX_TOKENS",
    "Price",
    "TokenUsage",
    "billed_completions",
    "completion_limit",
    "cost_of_tokens",
    "cost_of_usage",
    "cost_per_1k",
    "prompt_tokens",
    "requested_limit",
    "resolve_price",
    "token_usage",
    "worst_case_cost",
]

# What the legacy completions endpoint generates when max_tokens is not given.
COMPLETIONS_DEFAULT_MAX_TOKENS = 16
# The completion length assumed for a chat model ecoptigen's catalog does not know.
UNKNOWN_CHAT_MAX_TOKENS = 4096


@dataclass(frozen=True)
class Price:
    """USD per 1K tokens of one model.

    Attributes:
        input: uncached prompt tokens.
        output: completion tokens (reasoning tokens included).
        cached_input: prompt tokens served from the provider's prompt cache; ``None`` when unknown,
            in which case they are charged at ``input`` (never less than the bill).

    Example:
        >>> Price(0.00015, 0.0006, 0.000075).cached
        7.5e-05
    """

    input: float
    output: float
    cached_input: float | None = None

    @property
    def cached(self) -> float:
        """The price of a cached prompt token (the input price when no cached price is known)."""
        return self.input if self.cached_input is None else self.cached_input


@dataclass(frozen=True)
class TokenUsage:
    """The token counts of one answer that bear on its cost.

    Attributes:
        prompt: every prompt token (cached ones included).
        cached: prompt tokens served from the prompt cache.
        completion: every generated token (reasoning tokens included).
        reasoning: the hidden reasoning tokens among ``completion``.
    """

    prompt: int = 0
    cached: int = 0
    completion: int = 0
    reasoning: int = 0


def resolve_price(model: str, override: Any = None, table: Mapping | None = None) -> Price | None:
    """The price of ``model``: ``override`` (a config's ``"price"``) when given, else the price table's.

    Args:
        model: the model name (versioned and Azure names are looked up by their base name).
        override: a config's ``"price"``: a number, ``[input, output]`` or ``[input, output, cached_input]``.
        table: the price table (defaults to :data:`ecoptigen.money.catalog.PRICE_1K`).

    Returns:
        The price, or ``None`` when neither gives one (the model is unknown, never free).

    Raises:
        ConfigurationError: ``override`` or the table entry has a form a price cannot have.

    Example:
        >>> resolve_price("gpt-4o-mini")
        Price(input=0.00015, output=0.0006, cached_input=7.5e-05)
        >>> resolve_price("my-llama", [0, 0])
        Price(input=0.0, output=0.0, cached_input=None)
    """
    entry = override if override is not None else models.price_entry(model, table)
    if entry is None:
        return None
    return Price(*models.parse_price(entry))


def token_usage(usage: Mapping[str, Any] | None) -> TokenUsage:
    """Read the counts that matter for money from an answer's ``usage`` (missing parts count 0).

    Example:
        >>> token_usage({"prompt_tokens": 2000, "completion_tokens": 300,
        ...              "prompt_tokens_details": {"cached_tokens": 1920},
        ...              "completion_tokens_details": {"reasoning_tokens": 256}})
        TokenUsage(prompt=2000, cached=1920, completion=300, reasoning=256)
    """
    usage = usage or {}
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    cached = _count(_details(usage, "prompt_tokens_details").get("cached_tokens"))
    reasoning = _count(_details(usage, "completion_tokens_details").get("reasoning_tokens"))
    # A provider reporting more cached than prompt tokens would otherwise make the prompt cost negative.
    return TokenUsage(prompt, min(cached, prompt), completion, min(reasoning, completion))


def _details(usage: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    details = usage.get(key)
    return details if isinstance(details, Mapping) else {}


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return max(int(value), 0)


def cost_of_usage(price: Price | None, usage: Mapping[str, Any] | None) -> float:
    """Dollars an answer cost, as the provider bills it (see the module docstring).

    Returns:
        The cost; ``nan`` when ``price`` is ``None`` (unknown, never free).

    Example:
        >>> usage = {"prompt_tokens": 2000, "completion_tokens": 100,
        ...          "prompt_tokens_details": {"cached_tokens": 1920}}
        >>> round(cost_of_usage(Price(0.00015, 0.0006, 0.000075), usage), 8)
        0.000216
    """
    if price is None:
        return math.nan
    tokens = token_usage(usage)
    uncached = tokens.prompt - tokens.cached
    return cost_per_1k(uncached, price.input, tokens.completion, price.output, tokens.cached, price.cached)


def requested_limit(params: Mapping[str, Any]) -> int | None:
    """The completion-length limit a request or config gives (``max_tokens`` or ``max_completion_tokens``).

    Example:
        >>> requested_limit({"max_completion_tokens": 500}), requested_limit({"n": 2})
        (500, None)
    """
    for key in ("max_tokens", "max_completion_tokens"):
        value = params.get(key)
        if value:
            return int(value)
    return None


def completion_limit(model: str, chat: bool, prompt_tokens: int, requested: int | None = None) -> int:
    """The most tokens one completion of ``model`` can bill, reasoning tokens included.

    Args:
        model: the model name.
        chat: whether the request goes to the chat endpoint.
        prompt_tokens: the request's prompt length.
        requested: the request's ``max_tokens`` / ``max_completion_tokens``, if any.

    Returns:
        ``requested`` when given; else the bound the module docstring describes.

    Example:
        >>> completion_limit("o4-mini", True, 1000), completion_limit("text-davinci-003", False, 1000)
        (100000, 16)
    """
    if requested:
        return int(requested)
    if not chat:
        return COMPLETIONS_DEFAULT_MAX_TOKENS
    info = models.lookup(model)
    if info is None:
        return UNKNOWN_CHAT_MAX_TOKENS
    room = max(info.context_window - prompt_tokens, 1)
    return min(room, info.max_output_tokens) if info.max_output_tokens else room


def prompt_tokens(model: str, chat: bool, prompt: Any = None, messages: Any = None) -> int:
    """The prompt tokens of a filled-in request, counted as the endpoint bills them.

    On the chat endpoint a ``prompt`` is sent as one user message, so it is counted as one.

    Args:
        model: the model (its tokenizer counts).
        chat: whether the request goes to the chat endpoint.
        prompt: the prompt text (or a list of texts / token lists for the completions endpoint).
        messages: the chat messages.

    Example:
        >>> prompt_tokens("gpt-4o-mini", True, prompt="hello") == prompt_tokens(
        ...     "gpt-4o-mini", True, messages=[{"role": "user", "content": "hello"}])
        True
    """
    if chat:
        if messages is None:
            messages = [{"role": "user", "content": "" if prompt is None else str(prompt)}]
        return tokens.count_message_tokens(messages, model)
    prompts = prompt if isinstance(prompt, list) else [prompt or ""]
    return sum(tokens.count_tokens(p, model) if isinstance(p, str) else len(p) for p in prompts)


def worst_case_cost(price: Price, prompt_tokens: int, completions: int, limit: int) -> float:
    """The most a request can cost: its prompt uncached, and ``completions`` completions of ``limit`` tokens.

    Args:
        price: the model's price.
        prompt_tokens: the prompt's length.
        completions: completions generated (:func:`billed_completions`).
        limit: tokens per completion (:func:`completion_limit`).

    Example:
        >>> worst_case_cost(Price(0.001, 0.002), 1000, 2, 500)
        0.003
    """
    return cost_per_1k(prompt_tokens, price.input, completions * limit, price.output)


def cost_per_1k(
    input_tokens: float,
    input_price: float,
    output_tokens: float,
    output_price: float,
    cached_tokens: float = 0,
    cached_price: float = 0.0,
) -> float:
    """Dollars for token counts at prices in USD per 1K tokens: every per-1K sum of ecoptigen is this one.

    Args:
        input_tokens: prompt tokens billed at ``input_price`` (the uncached ones, when some were cached).
        input_price: USD per 1K input tokens.
        output_tokens: completion tokens (reasoning tokens included), billed at ``output_price``.
        output_price: USD per 1K output tokens.
        cached_tokens: prompt tokens served from the provider's prompt cache, at ``cached_price``.
        cached_price: USD per 1K cached input tokens.

    Example:
        >>> cost_per_1k(1000, 0.001, 500, 0.002)
        0.002
    """
    return (input_tokens * input_price + cached_tokens * cached_price + output_tokens * output_price) / 1000


def cost_of_tokens(
    model: str, prompt_tokens: int, completion_tokens: int, table: Mapping | None = None
) -> float | None:
    """Dollars for the given token counts at the uncached input price, or ``None`` when ``model`` has no
    price (:func:`cost_of_usage` also counts cached prompt tokens).

    Example:
        >>> round(cost_of_tokens("gpt-4", 1000, 1000), 4)
        0.09
    """
    price = models.price_of(model, table)
    if price is None:
        return None
    return cost_per_1k(prompt_tokens, price[0], completion_tokens, price[1])


def billed_completions(params: Mapping[str, Any]) -> int:
    """How many completions a request generates and is billed for: ``max(n, best_of)`` (the completions
    endpoint generates ``best_of`` and returns the best ``n``).

    Example:
        >>> billed_completions({"n": 2, "best_of": 5}), billed_completions({})
        (5, 1)
    """
    return max(int(params.get("n") or 1), int(params.get("best_of") or 1))
