"""What the simulated models accept, and how the reasoning models think, as OpenAI's do.

Requests are checked against :data:`ecoptigen.money.catalog.CAPABILITIES`, the table ecoptigen's own client
checks before sending, and refused the way OpenAI refuses them: HTTP 400 with ``invalid_request_error``
and the parameter named in ``param``. The messages follow the ones OpenAI returns (as users reported
them): ``Unsupported parameter: 'stop' is not supported with this model.`` (code
``unsupported_parameter``, any value, even the default), ``Unsupported value: 'temperature' does not
support 0.7 with this model. Only the default (1) value is supported.`` (``unsupported_value``), and
``max_tokens`` refused by reasoning models in favour of ``max_completion_tokens``.

Reasoning models think before they answer: each completion spends hidden reasoning tokens, drawn per
completion around a mean set by ``reasoning_effort`` (:data:`REASONING_MEAN_TOKENS`, for a coding
problem; a quarter of it for other prompts -- orders of magnitude chosen for the simulation, not
measurements), counted in ``completion_tokens`` and billed as output. ``max_completion_tokens`` bounds
reasoning and answer together, so a small limit leaves an empty answer with ``finish_reason:
"length"``, as on the real API.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from ecoptigen.money import catalog as models

__all__ = ["REASONING_MEAN_TOKENS", "REASONING_TEMPERATURE", "Refusal", "reasoning_tokens", "refusal", "temperature"]

# Mean hidden reasoning tokens per completion of a coding problem, by reasoning_effort ("medium" is the
# API's default); other prompts get a quarter of it.
REASONING_MEAN_TOKENS = {"minimal": 16, "low": 192, "medium": 640, "high": 1920}
_EASY_SHARE = 0.25
# Reasoning models sample at a temperature the API does not expose; the simulated ones answer as a
# model would at this temperature, so their accuracy stays near the calibrated pass@1 (docs/sim.md)
# while their samples still differ.
REASONING_TEMPERATURE = 0.5
_SPREAD = 0.5  # log-normal spread of reasoning tokens around the mean
_COMPLETIONS_ONLY = ("best_of", "echo", "suffix")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: OpenAI's error fields."""

    message: str
    param: str | None
    code: str | None


def refusal(model: str, request: dict[str, Any], chat: bool) -> Refusal | None:
    """The 400 OpenAI answers ``request`` for ``model`` with, or ``None`` if it is accepted.

    Example:
        >>> refusal("o4-mini", {"temperature": 0.7}, chat=True).code
        'unsupported_value'
        >>> refusal("gpt-4o-mini", {"temperature": 0.7}, chat=True) is None
        True
    """
    caps = models.capabilities(model)
    if chat:
        for param in _COMPLETIONS_ONLY:
            if request.get(param) is not None:
                return Refusal(f"Unrecognized request argument supplied: {param}", None, None)
    if caps is None:
        return None
    if caps.reasoning and chat and request.get("max_tokens") is not None:
        return Refusal(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.",
            "max_tokens",
            "unsupported_parameter",
        )
    for param in sorted(caps.unsupported) + (["reasoning_effort"] if not caps.reasoning else []):
        if request.get(param) is not None:
            return Refusal(
                f"Unsupported parameter: '{param}' is not supported with this model.", param, "unsupported_parameter"
            )
    for param, only in caps.fixed.items():
        value = request.get(param)
        if value is not None and value != only:
            return Refusal(
                f"Unsupported value: '{param}' does not support {value} with this model. Only the default "
                f"({only}) value is supported.",
                param,
                "unsupported_value",
            )
    return _effort_refusal(caps, request.get("reasoning_effort"))


def _effort_refusal(caps: models.Capabilities, effort: Any) -> Refusal | None:
    if effort is None or effort in caps.reasoning_efforts:
        return None
    allowed = ", ".join(f"'{e}'" for e in caps.reasoning_efforts)
    return Refusal(
        f"Unsupported value: 'reasoning_effort' does not support {effort!r} with this model. Supported values "
        f"are: {allowed}.",
        "reasoning_effort",
        "unsupported_value",
    )


def is_reasoning(model: str) -> bool:
    """Whether ``model`` spends hidden reasoning tokens."""
    caps = models.capabilities(model)
    return caps is not None and caps.reasoning


def temperature(model: str, requested: float) -> float:
    """The temperature the simulated ``model`` answers at (reasoning models: their own, fixed)."""
    return REASONING_TEMPERATURE if is_reasoning(model) else requested


def reasoning_tokens(model: str, effort: Any, coding: bool, rng: random.Random) -> int:
    """Hidden reasoning tokens of one completion of ``model`` (0 for models that do not reason).

    Args:
        model: the model answering.
        effort: the request's ``reasoning_effort`` (``None``: the API's default, medium).
        coding: the prompt is a coding problem (more to think about).
        rng: the request's randomness.

    Example:
        >>> reasoning_tokens("gpt-4o", None, True, random.Random(0))
        0
        >>> reasoning_tokens("o4-mini", "low", True, random.Random(0)) > 0
        True
    """
    if not is_reasoning(model):
        return 0
    base = REASONING_MEAN_TOKENS.get(str(effort or "medium"), REASONING_MEAN_TOKENS["medium"])
    mean = base * (1.0 if coding else _EASY_SHARE)
    # A log-normal draw with this mean: most answers near it, a few thinking much longer.
    return max(0, round(mean * math.exp(rng.gauss(0.0, _SPREAD) - _SPREAD**2 / 2)))
