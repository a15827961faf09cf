"""The model catalog: which endpoint a model is served on, what it costs, how long its context is.

This is the one place that states ecoptigen's prices. :data:`PRICE_1K` is read-only: each request
engine owns an editable copy (:func:`price_table`), and ``oai.Completion.price1K`` is the copy of the
engine behind ``oai.Completion``, so ``oai.Completion.price1K["my-model"] = (0.001, 0.002)`` prices a
model for ``create``, ``cost``, ``tune`` and ``test`` and for nothing else in the process. The
simulated endpoint bills from prices of its own (``ecoptigen/sim/_prices.py``).

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
* What each family accepts (:data:`CAPABILITIES`): OpenAI's API reference and reasoning guide, the
  openai SDK's parameter docs (``stop``: "Not supported with latest reasoning models o3 and
  o4-mini"), the 400s users reported per model (e.g. ``'stop' is not supported with this model``
  for o3 and o4-mini; ``'top_p' is not supported`` for o1 and o4-mini; ``'temperature' does not
  support 0.7 with this model. Only the default (1) value is supported``), and LiteLLM's summaries
  of the same rules (its o-series and gpt-5 chat transformations).

A price entry is one number (input and output cost the same), ``(input, output)``, or ``(input,
output, cached_input)``; :func:`parse_price` reads all three, and a config's ``"price"`` takes the
same forms. The money rules built on these numbers live in :mod:`ecoptigen.money.prices`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ecoptigen.errors import ConfigurationError

__all__ = [
    "CAPABILITIES",
    "MODELS",
    "PRICE_1K",
    "Capabilities",
    "ModelInfo",
    "base_model_name",
    "capabilities",
    "context_window",
    "endpoint_kind",
    "lookup",
    "parse_price",
    "price_entry",
    "price_of",
    "price_table",
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
PRICE_1K: Mapping[str, float | tuple[float, ...]] = {
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
# Read-only: an engine edits its own copy (price_table()), never a table the whole process shares.
PRICE_1K = MappingProxyType(dict(PRICE_1K))


def price_table() -> dict[str, float | tuple[float, ...]]:
    """A fresh, editable copy of :data:`PRICE_1K`: the price table a request engine owns.

    Example:
        >>> table = price_table()
        >>> table["my-model"] = (0.001, 0.002)
        >>> "my-model" in PRICE_1K
        False
    """
    return dict(PRICE_1K)


@dataclass(frozen=True)
class Capabilities:
    """What the requests of one model family may carry.

    Attributes:
        family: the family's name, e.g. ``"o3 / o4-mini"``.
        reasoning: a reasoning model (hidden reasoning tokens, billed as output).
        max_tokens_param: the name the endpoint takes for the completion-length limit.
        fixed: parameters accepted only at one value (the provider refuses any other value).
        unsupported: parameters refused whatever their value.
        reasoning_efforts: the values ``reasoning_effort`` may take (empty: the parameter is refused).
        prompt_caching: prompts of 1,024 tokens or more are cached automatically (gpt-4o and newer).
    """

    family: str
    reasoning: bool = False
    max_tokens_param: str = "max_tokens"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    unsupported: frozenset[str] = frozenset()
    reasoning_efforts: tuple[str, ...] = ()
    prompt_caching: bool = False

    def refuses(self, param: str) -> bool:
        """Whether a request to this family cannot set ``param`` (it is fixed or unsupported)."""
        return param in self.fixed or param in self.unsupported or (param == "reasoning_effort" and not self.reasoning)


# Sampling controls reasoning models do not expose (OpenAI's reasoning guide; LiteLLM's o-series config).
_REASONING_UNSUPPORTED = frozenset(
    {"top_p", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "logit_bias"}
)
_COMPLETION_FAMILY = Capabilities("GPT-3 / Codex completions")
_GPT35 = Capabilities("gpt-3.5-turbo")
_GPT4 = Capabilities("gpt-4 / gpt-4-turbo")
_GPT4O = Capabilities("gpt-4o", prompt_caching=True)
_GPT41 = Capabilities("gpt-4.1", prompt_caching=True)
_O1 = Capabilities(
    "o1 / o3-mini",
    reasoning=True,
    max_tokens_param="max_completion_tokens",
    fixed={"temperature": 1},
    unsupported=_REASONING_UNSUPPORTED,
    reasoning_efforts=("low", "medium", "high"),
    prompt_caching=True,
)
_O3 = Capabilities(
    "o3 / o4-mini",
    reasoning=True,
    max_tokens_param="max_completion_tokens",
    fixed={"temperature": 1},
    unsupported=_REASONING_UNSUPPORTED | {"stop"},
    reasoning_efforts=("low", "medium", "high"),
    prompt_caching=True,
)
_GPT5 = Capabilities(
    "gpt-5",
    reasoning=True,
    max_tokens_param="max_completion_tokens",
    fixed={"temperature": 1},
    unsupported=_REASONING_UNSUPPORTED | {"stop"},
    reasoning_efforts=("minimal", "low", "medium", "high"),
    prompt_caching=True,
)
_FAMILY_MEMBERS: list[tuple[Capabilities, list[str]]] = [
    (
        _COMPLETION_FAMILY,
        [
            "text-ada-001",
            "text-babbage-001",
            "text-curie-001",
            "text-davinci-002",
            "text-davinci-003",
            "code-cushman-001",
            "code-davinci-002",
            "gpt-3.5-turbo-instruct",
            "davinci-002",
            "babbage-002",
        ],
    ),
    (_GPT35, ["gpt-3.5-turbo", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-16k"]),
    (_GPT4, ["gpt-4", "gpt-4-32k", "gpt-4-turbo"]),
    (_GPT4O, ["gpt-4o", "gpt-4o-mini"]),
    (_GPT41, ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"]),
    (_O1, ["o1", "o3-mini"]),
    (_O3, ["o3", "o4-mini"]),
    (_GPT5, ["gpt-5", "gpt-5-mini", "gpt-5-nano"]),
]
# Model name -> what its requests may carry. Every catalog model has an entry.
CAPABILITIES: dict[str, Capabilities] = {name: caps for caps, names in _FAMILY_MEMBERS for name in names}
# Reasoning models the catalog does not list (new snapshots, o3-pro, ...), by name.
_REASONING_NAMES = [
    (re.compile(r"^(o1|o3-mini)(-|$)"), _O1),
    (re.compile(r"^o\d(-|$)"), _O3),
    (re.compile(r"^gpt-5(?!-chat)"), _GPT5),
]

# A dated snapshot suffix: -0613, -1106, -2024-08-06, optionally followed by -preview.
_SNAPSHOT = re.compile(r"-(\d{4}|\d{4}-\d{2}-\d{2})(-preview)?$")
# Names of models that only exist on the legacy completions endpoint.
_COMPLETION_NAME = re.compile(r"^(text-|code-|davinci|babbage|curie|ada)|-instruct(-|$)")


def base_model_name(model: str, table: Mapping | None = None) -> str:
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


def capabilities(model: str) -> Capabilities | None:
    """What requests to ``model`` may carry; ``None`` for a model ecoptigen knows nothing about
    (a local server's model: every parameter is passed on).

    Names outside the catalog that follow OpenAI's reasoning-model naming (``o3-pro``, ``gpt-5.1``...)
    get the rules of their family, since sending them a sampling parameter is a guaranteed 400.

    Example:
        >>> capabilities("o4-mini-2025-04-16").family, capabilities("my-llama") is None
        ('o3 / o4-mini', True)
    """
    caps = CAPABILITIES.get(base_model_name(model, CAPABILITIES))
    if caps is not None:
        return caps
    name = model.removeprefix("ft:").split(":", 1)[0]
    return next((caps for pattern, caps in _REASONING_NAMES if pattern.search(name)), None)


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


def price_entry(model: str, table: Mapping | None = None) -> Any:
    """The raw entry of ``model`` (or of its base name) in the price table, ``None`` if it has none."""
    table = PRICE_1K if table is None else table
    price = table.get(model)
    if price is None:
        price = table.get(base_model_name(model, table))
    return price


def price_of(model: str, table: Mapping | None = None) -> tuple[float, float] | None:
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
