"""The model catalog: which endpoint a model is served on, what it costs, how long its context is.

This is the one place that owns prices. ``oai.Completion.price1K`` is the same dict as
:data:`PRICE_1K`, so ``oai.Completion.price1K["my-model"] = (0.001, 0.002)`` is seen everywhere,
including by the simulated endpoint's bill.

Sources for the numbers (USD per 1,000 tokens, as ``(input, output)``):

* Legacy models (``text-*-001``, ``text-davinci-00x``, ``code-*``, ``gpt-3.5-turbo-0301``,
  ``gpt-4``, ``gpt-4-32k``): FLAML 1.2.0's ``oai.Completion.price1K`` table, which reproduced
  OpenAI's price list of spring 2023. These models are retired by OpenAI; the prices are kept so
  that the documented workflow and the EcoOptiGen paper's settings can be reproduced.
* Current models: OpenAI's API pricing page (platform.openai.com/docs/pricing), read 2025-08;
  standard tier. The third number of an entry is the *cached-input* price (prompt tokens served from
  OpenAI's prompt cache), checked against ``openai_prices.csv`` (LiteLLM 1.109.1's price table):
  half the input price for gpt-4o, gpt-4o-mini, o1 and o3-mini; a quarter for the gpt-4.1 family, o3
  and o4-mini; a tenth for the gpt-5 family. Older models have no prompt caching (OpenAI enables it
  for gpt-4o and newer), so their entries have no third number.
* Context windows and largest completions: OpenAI's model pages for the same models, same date.

A price entry is one number (input and output cost the same), ``(input, output)``, or ``(input,
output, cached_input)``; :func:`parse_price` reads all three, and a config's ``"price"`` takes the
same forms. The money rules built on these numbers live in :mod:`ecoptigen.pricing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ecoptigen.errors import ConfigurationError

__all__ = [
    "MODELS",
    "PRICE_1K",
    "ModelInfo",
    "base_model_name",
    "context_window",
    "cost_of_tokens",
    "endpoint_kind",
    "lookup",
    "parse_price",
    "price_entry",
    "price_of",
]

Kind = Literal["chat", "completion"]


@dataclass(frozen=True)
class ModelInfo:
    """What ecoptigen knows about one model.

    Attributes:
        name: the model's base name, e.g. ``"gpt-4o-mini"``.
        kind: ``"chat"`` for the chat-completions endpoint, ``"completion"`` for the legacy one.
        context_window: prompt plus completion tokens the model accepts.
        max_output_tokens: the most tokens one completion can have (reasoning tokens included), or
            ``None`` when only the context window limits it.
    """

    name: str
    kind: Kind
    context_window: int
    max_output_tokens: int | None = None


def _m(name: str, kind: Kind, context: int, max_output: int | None = None) -> ModelInfo:
    return ModelInfo(name=name, kind=kind, context_window=context, max_output_tokens=max_output)


MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in [
        # Legacy GPT-3 / Codex completion models (retired by OpenAI).
        _m("text-ada-001", "completion", 2049),
        _m("text-babbage-001", "completion", 2049),
        _m("text-curie-001", "completion", 2049),
        _m("text-davinci-002", "completion", 4097),
        _m("text-davinci-003", "completion", 4097),
        _m("code-cushman-001", "completion", 2048),
        _m("code-davinci-002", "completion", 8001),
        # Current completion models.
        _m("gpt-3.5-turbo-instruct", "completion", 4096),
        _m("davinci-002", "completion", 16384),
        _m("babbage-002", "completion", 16384),
        # Chat models.
        _m("gpt-3.5-turbo", "chat", 16385, 4096),
        _m("gpt-3.5-turbo-0301", "chat", 4096),
        _m("gpt-3.5-turbo-16k", "chat", 16385, 4096),
        _m("gpt-4", "chat", 8192),
        _m("gpt-4-32k", "chat", 32768),
        _m("gpt-4-turbo", "chat", 128000, 4096),
        _m("gpt-4o", "chat", 128000, 16384),
        _m("gpt-4o-mini", "chat", 128000, 16384),
        _m("gpt-4.1", "chat", 1047576, 32768),
        _m("gpt-4.1-mini", "chat", 1047576, 32768),
        _m("gpt-4.1-nano", "chat", 1047576, 32768),
        _m("o1", "chat", 200000, 100000),
        _m("o3", "chat", 200000, 100000),
        _m("o3-mini", "chat", 200000, 100000),
        _m("o4-mini", "chat", 200000, 100000),
        _m("gpt-5", "chat", 400000, 128000),
        _m("gpt-5-mini", "chat", 400000, 128000),
        _m("gpt-5-nano", "chat", 400000, 128000),
    ]
}

# USD per 1K tokens: one number when input and output cost the same, else (input, output), or
# (input, output, cached_input) for models with prompt caching.
PRICE_1K: dict[str, float | tuple[float, ...]] = {
    # FLAML 1.2.0 table (OpenAI prices of spring 2023).
    "text-ada-001": 0.0004,
    "text-babbage-001": 0.0005,
    "text-curie-001": 0.002,
    "code-cushman-001": 0.024,
    "code-davinci-002": 0.1,
    "text-davinci-002": 0.02,
    "text-davinci-003": 0.02,
    "gpt-3.5-turbo-0301": 0.002,
    "gpt-4": (0.03, 0.06),
    "gpt-4-32k": (0.06, 0.12),
    # OpenAI pricing page, read 2025-08.
    "gpt-3.5-turbo": (0.0005, 0.0015),
    "gpt-3.5-turbo-16k": (0.003, 0.004),
    "gpt-3.5-turbo-instruct": (0.0015, 0.002),
    "davinci-002": 0.002,
    "babbage-002": 0.0004,
    "gpt-4-turbo": (0.01, 0.03),
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

# A dated snapshot suffix: -0613, -1106, -2024-08-06, optionally followed by -preview.
_SNAPSHOT = re.compile(r"-(\d{4}|\d{4}-\d{2}-\d{2})(-preview)?$")
# Names of models that only exist on the legacy completions endpoint.
_COMPLETION_NAME = re.compile(r"^(text-|code-|davinci|babbage|curie|ada)|-instruct(-|$)")


def base_model_name(model: str, table: dict | None = None) -> str:
    """Map a versioned or Azure-style model name to the name it is priced and described under.

    ``gpt-4o-2024-08-06`` -> ``gpt-4o``; ``gpt-35-turbo`` (Azure) -> ``gpt-3.5-turbo``;
    ``ft:gpt-4o-mini:org::id`` -> ``gpt-4o-mini``. A name that is in ``table`` as given is kept.

    Example:
        >>> base_model_name("gpt-35-turbo-0613")
        'gpt-3.5-turbo'
    """
    table = PRICE_1K if table is None else table
    if model in table or model in MODELS:
        return model
    name = model
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    name = name.replace("gpt-35-", "gpt-3.5-")
    if name in table or name in MODELS:
        return name
    stripped = _SNAPSHOT.sub("", name)
    return stripped


def lookup(model: str) -> ModelInfo | None:
    """The catalog entry of ``model`` (after :func:`base_model_name`), or ``None`` if unknown."""
    return MODELS.get(base_model_name(model, MODELS))


def endpoint_kind(model: str, chat_models: set[str] | frozenset[str] = frozenset()) -> Kind:
    """Which endpoint serves ``model``.

    Known models use the catalog. Names the user listed in ``chat_models`` are chat models.
    Any other name is a chat model unless it looks like a legacy completion model (``text-*``,
    ``code-*``, ``davinci*``, ``*-instruct``): new ``gpt-*`` names and open models on local
    servers are served by the chat endpoint.

    Example:
        >>> endpoint_kind("gpt-7-preview")
        'chat'
    """
    if model in chat_models:
        return "chat"
    info = lookup(model)
    if info is not None:
        return info.kind
    return "completion" if _COMPLETION_NAME.search(model) else "chat"


def context_window(model: str) -> int | None:
    """The context window of ``model`` in tokens, or ``None`` if the model is unknown."""
    info = lookup(model)
    return info.context_window if info else None


def parse_price(value: Any) -> tuple[float, float, float | None]:
    """Read a price entry (a table value or a config's ``"price"``) as ``(input, output, cached_input)``.

    Args:
        value: one number for input and output, ``(input, output)``, or ``(input, output, cached_input)``,
            in USD per 1K tokens.

    Returns:
        The three prices; ``cached_input`` is ``None`` when the entry does not give one.

    Raises:
        ConfigurationError: ``value`` has none of these forms, or a price is negative.

    Example:
        >>> parse_price(0.002), parse_price([0.0025, 0.01, 0.00125])
        ((0.002, 0.002, None), (0.0025, 0.01, 0.00125))
    """
    numbers: list[Any] = (
        [value, value] if _is_number(value) else list(value) if isinstance(value, (list, tuple)) else []
    )
    if len(numbers) not in (2, 3) or not all(_is_number(n) and n >= 0 for n in numbers):
        raise ConfigurationError(
            f"a price must be a number or [input, output] (optionally [input, output, cached_input]) in USD per "
            f"1K tokens, none negative; got {value!r}."
        )
    cached = float(numbers[2]) if len(numbers) == 3 else None
    return float(numbers[0]), float(numbers[1]), cached


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def price_entry(model: str, table: dict | None = None) -> Any:
    """The raw entry of ``model`` (or of its base name) in the price table, ``None`` if it has none."""
    table = PRICE_1K if table is None else table
    price = table.get(model)
    if price is None:
        price = table.get(base_model_name(model, table))
    return price


def price_of(model: str, table: dict | None = None) -> tuple[float, float] | None:
    """``(input, output)`` USD per 1K tokens for ``model``, or ``None`` when no price is known.

    Args:
        model: a model name, versioned and Azure names included.
        table: a price table to consult instead of :data:`PRICE_1K`.
    """
    entry = price_entry(model, table)
    if entry is None:
        return None
    prompt_price, completion_price, _ = parse_price(entry)
    return prompt_price, completion_price


def cost_of_tokens(model: str, prompt_tokens: int, completion_tokens: int, table: dict | None = None) -> float | None:
    """Dollars for the given token counts at the uncached input price, or ``None`` when ``model`` has no
    price (:func:`ecoptigen.pricing.cost_of_usage` also counts cached prompt tokens).

    Example:
        >>> round(cost_of_tokens("gpt-4", 1000, 1000), 4)
        0.09
    """
    price = price_of(model, table)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1000
