"""Request parameters checked before sending: what each model accepts, and the API's ranges.

A request that the provider would refuse with a 400 costs nothing, but inside a tuning it wastes a
trial and hides the real cause, so :func:`check_request` refuses it first, naming the model, the
parameter and the fix. The rules, in order:

1. **The completion-length limit** is sent under the name the model takes
   (:attr:`~ecoptigen.money.catalog.Capabilities.max_tokens_param`): ``max_tokens`` becomes
   ``max_completion_tokens`` for reasoning models on the chat endpoint, and the legacy completions
   endpoint gets ``max_tokens``. Giving both names is refused.
2. **Parameters the model cannot set** (:meth:`~ecoptigen.money.catalog.Capabilities.refuses`; on the chat
   endpoint also ``best_of``, ``echo``, ``suffix``, which exist only on the completions endpoint):
   a value that changes nothing -- the one value a fixed parameter takes (``temperature=1`` for
   reasoning models), OpenAI's default for the others (``top_p=1``, penalties ``0``,
   ``logprobs=False``, ``best_of=1``, ``echo=False``), or an empty value (``stop=None``, ``[]``) --
   is dropped from the request; any other value is refused with :class:`ConfigurationError`.
3. **Ranges** from OpenAI's API reference: ``temperature`` 0..2, ``top_p`` 0..1, ``n`` 1..128,
   ``best_of`` 1..20 and at least ``n``, penalties -2..2, ``top_logprobs`` 0..20, completions'
   ``logprobs`` 0..5, at most 4 ``stop`` sequences, a completion limit of at least 1 and at most the
   model's largest completion, ``reasoning_effort`` among the values the model takes. Ranges apply to
   every model, local ones included: they are the OpenAI protocol's.

Models ecoptigen does not know (a local server's) only get rules 1 (by name) and 3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models

__all__ = ["COMPLETIONS_ONLY", "DEFAULTS", "check_request", "check_value", "restriction"]

# Parameters of the legacy completions endpoint that the chat endpoint does not have.
COMPLETIONS_ONLY = frozenset({"best_of", "echo", "suffix"})
# OpenAI's documented defaults: sending one of these is the same as leaving the parameter out.
DEFAULTS: Mapping[str, Any] = {
    "temperature": 1,
    "top_p": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logprobs": False,
    "best_of": 1,
    "echo": False,
    "n": 1,
}
_MAX_STOP_SEQUENCES = 4
# A model whose catalog entry gives no largest completion is limited by its context window instead.
_NO_LIMIT = 10**9
_NO_DEFAULT = object()


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    integer: bool = False

    def holds(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        return self.low <= value <= self.high

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        return f"{kind} from {_fmt(self.low)} to {_fmt(self.high)}"


_RANGES = {
    "temperature": _Range(0, 2),
    "top_p": _Range(0, 1),
    "n": _Range(1, 128, integer=True),
    "best_of": _Range(1, 20, integer=True),
    "presence_penalty": _Range(-2, 2),
    "frequency_penalty": _Range(-2, 2),
    "top_logprobs": _Range(0, 20, integer=True),
}
_COMPLETIONS_LOGPROBS = _Range(0, 5, integer=True)


def check_request(model: str, body: dict[str, Any], chat: bool) -> dict[str, Any]:
    """The request body to send for ``model``, or the reason it cannot be sent.

    Args:
        model: the model the request is for.
        body: the request body (not changed).
        chat: whether it goes to the chat endpoint.

    Returns:
        ``body`` with the limit under the model's name for it and the default-valued parameters the
        model cannot set left out (see the module docstring).

    Raises:
        ConfigurationError: a parameter the model refuses, or a value out of the API's range; the
            message names the model, the parameter and what to do.

    Example:
        >>> check_request("o4-mini", {"model": "o4-mini", "temperature": 1, "max_tokens": 50}, chat=True)
        {'model': 'o4-mini', 'max_completion_tokens': 50}
    """
    caps = models.capabilities(model)
    out = dict(body)
    for param in list(out):
        if _refused(param, caps, chat):
            if not _changes_nothing(param, out[param], caps):
                raise ConfigurationError(_refusal(model, param, out[param], caps, chat))
            del out[param]
    for param, value in out.items():
        check_value(model, param, value, chat)
    best_of, n = out.get("best_of"), out.get("n")
    if best_of is not None and n is not None and best_of < n:
        raise ConfigurationError(f"best_of={best_of} is less than n={n} for {model}: best_of must be at least n.")
    return _rename_limit(model, out, chat, caps)


def restriction(model: str, param: str, chat: bool) -> str | None:
    """How ``model`` restricts ``param``: ``"fixed"`` (one value only, e.g. a reasoning model's
    temperature), ``"unsupported"`` (refused), or ``None`` (the model takes it).

    Example:
        >>> [restriction("o4-mini", p, chat=True) for p in ("temperature", "stop", "n")]
        ['fixed', 'unsupported', None]
    """
    caps = models.capabilities(model)
    if caps is not None and param in caps.fixed:
        return "fixed"
    return "unsupported" if _refused(param, caps, chat) else None


def check_value(model: str, param: str, value: Any, chat: bool) -> None:
    """Check one parameter's value against the API's range (values of ``None`` are not sent as set).

    Raises:
        ConfigurationError: the value is out of range, naming the parameter, the range and the model.

    Example:
        >>> try:
        ...     check_value("gpt-4o-mini", "temperature", 5, chat=True)
        ... except ConfigurationError as error:
        ...     print(error)
        temperature=5 is out of range for gpt-4o-mini: the API takes a number from 0 to 2.
    """
    if value is None:
        return
    allowed = _range_of(model, param, chat)
    if allowed is not None and not allowed.holds(value):
        raise ConfigurationError(f"{param}={value!r} is out of range for {model}: the API takes {allowed.describe()}.")
    if param == "stop":
        _check_stop(model, value)
    elif param == "reasoning_effort":
        _check_effort(model, value)


def _range_of(model: str, param: str, chat: bool) -> _Range | None:
    if param in ("max_tokens", "max_completion_tokens"):
        info = models.lookup(model)
        high = (info.max_output_tokens or info.context_window) if info else _NO_LIMIT
        return _Range(1, high, integer=True)
    if param == "logprobs" and not chat:
        return _COMPLETIONS_LOGPROBS
    return _RANGES.get(param)


def _check_stop(model: str, stop: Any) -> None:
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list) or not all(isinstance(s, str) for s in sequences):
        raise ConfigurationError(f"stop={stop!r} for {model}: give a string or a list of strings.")
    if len(sequences) > _MAX_STOP_SEQUENCES:
        raise ConfigurationError(
            f"stop has {len(sequences)} sequences for {model}: the API takes at most {_MAX_STOP_SEQUENCES}."
        )


def _check_effort(model: str, effort: Any) -> None:
    caps = models.capabilities(model)
    if caps is not None and caps.reasoning_efforts and effort not in caps.reasoning_efforts:
        raise ConfigurationError(
            f"reasoning_effort={effort!r} is not one {model} takes: use one of {list(caps.reasoning_efforts)}."
        )


def _rename_limit(model: str, body: dict[str, Any], chat: bool, caps: models.Capabilities | None) -> dict[str, Any]:
    given = [k for k in ("max_tokens", "max_completion_tokens") if body.get(k) is not None]
    if len(given) == 2:
        raise ConfigurationError(
            f"both max_tokens and max_completion_tokens are given for {model}: give one (ecoptigen sends it "
            "under the name the model takes)."
        )
    if not given:
        return body
    name = (caps.max_tokens_param if caps else given[0]) if chat else "max_tokens"
    if given[0] != name:
        body[name] = body.pop(given[0])
    return body


def _refused(param: str, caps: models.Capabilities | None, chat: bool) -> bool:
    return (chat and param in COMPLETIONS_ONLY) or (caps is not None and caps.refuses(param))


def _changes_nothing(param: str, value: Any, caps: models.Capabilities | None) -> bool:
    if value is None or (isinstance(value, (str, list, dict)) and not value):
        return True
    neutral = caps.fixed[param] if caps is not None and param in caps.fixed else DEFAULTS.get(param, _NO_DEFAULT)
    return value == neutral and isinstance(value, bool) == isinstance(neutral, bool)


def _refusal(model: str, param: str, value: Any, caps: models.Capabilities | None, chat: bool) -> str:
    setting = f"{param}={value!r}"
    if chat and param in COMPLETIONS_ONLY:
        return (
            f"{model} does not accept {setting}: '{param}' exists only on the legacy completions endpoint, and "
            f"{model} is served by the chat endpoint. Leave {param} out, or use a completion model."
        )
    family = caps.family if caps else model
    if caps is not None and param in caps.fixed:
        return (
            f"{model} does not accept {setting}: {family} reasoning models take only {param}="
            f"{caps.fixed[param]!r}. Leave {param} out, or tune it on a model that takes it (e.g. gpt-4.1-mini)."
        )
    if param == "reasoning_effort":
        return f"{model} does not accept {setting}: it is not a reasoning model. Leave reasoning_effort out."
    return (
        f"{model} does not accept {setting}: {family} models refuse '{param}'. Leave it out, or use a model "
        "that takes it (e.g. gpt-4.1-mini)."
    )


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
