"""Whether what is left of the optimization budget can pay for finishing a trial.

The budget is hard: a request is sent only if its worst case fits in what is left (see
:class:`~ecoptigen.tuning._steps.StepBudget`). Near the end of the budget a trial can therefore start,
pay for some of its instances, and then stop ``unaffordable`` when a later request does not fit: what
it paid buys no result. These forecasts stop such a trial before it spends, or before it spends more:

* :func:`cannot_start`: before the first request, from a lower bound -- every instance's prompt as
  counted here, every completion as short as the shortest average completion an earlier trial of
  this tuning saw (any model, any prompt). If even that does not fit, nothing is sent.
* after each data step, at the prompt and completion lengths this trial saw (the evaluator's
  ``_check_finishable``); and :func:`tight`: when finishing fits but not with room for the estimate
  to be off by a quarter and for the last request's worst case (which the budget holds when it is
  sent), the rest of the data comes in doubling steps, each checked again with what it taught,
  instead of in one round. (Refusing such a trial outright would be wrong as often as right: an
  estimate from one instance is easily a fifth off.)

Example:
    >>> cannot_finish(expected=[0.2, 0.2, 0.2], worst_last=0.5, left=0.8)
    True
    >>> cannot_finish(expected=[0.2, 0.2, 0.2], worst_last=0.5, left=0.9), tight([0.2, 0.2, 0.2], 0.5, 0.9)
    (False, True)
"""

from __future__ import annotations

from collections.abc import Sequence

from ecoptigen.money.prices import cost_per_1k

__all__ = ["TIGHT_MARGIN", "cannot_finish", "cannot_start", "request_costs", "tight"]

# How far off (relative) an estimate from a trial's first instances may be before a step's requests
# are sent in one round rather than in doubling steps re-checked after each.
TIGHT_MARGIN = 0.25


def request_costs(
    price: tuple[float, float], prompt_tokens: Sequence[float], completions: Sequence[int], per_completion: float
) -> list[float]:
    """Expected dollars of the requests still to send, one per instance that misses completions.

    Args:
        price: USD per 1K (input, output) tokens.
        prompt_tokens: each instance's prompt length.
        completions: each instance's missing completions.
        per_completion: output tokens expected per completion.

    Example:
        >>> request_costs((1.0, 2.0), [100, 100], [0, 3], 50.0)
        [0.4]
    """
    price_input, price_output = price
    return [
        cost_per_1k(prompt, price_input, missing * per_completion, price_output)
        for prompt, missing in zip(prompt_tokens, completions, strict=True)
        if missing > 0
    ]


def cannot_start(lowest: list[float], left: float) -> bool:
    """Whether requests costing at least ``lowest`` in total exceed what is left.

    Example:
        >>> cannot_start([0.3, 0.3], 0.5), cannot_start([0.2, 0.2], 0.5)
        (True, False)
    """
    return sum(lowest) > left


def cannot_finish(expected: list[float], worst_last: float, left: float) -> bool:
    """Whether the requests still to send, at their ``expected`` costs, cannot all be admitted: the last
    one is sent only if what the others cost plus its worst case fits in what is left."""
    if not expected:
        return False
    return sum(expected[:-1]) + max(worst_last, expected[-1]) > left


def tight(expected: list[float], worst_last: float, left: float) -> bool:
    """Whether finishing would no longer fit if the ``expected`` costs were :data:`TIGHT_MARGIN` higher."""
    return cannot_finish([(1 + TIGHT_MARGIN) * cost for cost in expected], worst_last, left)
