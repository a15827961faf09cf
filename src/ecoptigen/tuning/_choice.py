"""Which configuration ecoptigen's search returns: among the configurations of the best one's model that
the tuning rows cannot tell from it, the one that draws the most completions per instance.

The configurations at the top of a tuning are measured on the same few rows (20 in FLAML's HumanEval
workflow), and they often differ there by a row or two: noise, not merit. Compared row by row (a paired
test, :func:`paired_tie`), two such configurations are a statistical tie. FLAML returns the one with
the higher metric anyway; across a search of dozens of configurations that favours whichever drew
lucky completions, and the configurations whose metric varies most from one draw to the next are
those with few completions per instance. Measured on the seed's HumanEval tuning at $3 (8 search
seeds, held-out success on 144 rows): text-davinci-003 with ``n`` 3 scored 0.85 on the tuning rows
and 0.625 held out; the same model with ``n`` 21 scored 0.80 and about 0.80.

So among the fully evaluated configurations of the best one's model that are tied with it,
:func:`choose` returns the one that asks for the most completions per instance (``n``, or
``best_of``), then the best metric, then the earliest. For a metric over sampled completions -- a pass
rate with selection by assertions, a majority vote -- more completions of the same model are the better
bet when the rows cannot decide; every candidate is within the inference budget already. Other models
are not weighed this way: more completions of a weaker model are no such bet (measured at $0.3 on the
same tuning, ties across models returned gpt-3.5-turbo with ``n`` 60, 0.56 held out, over
text-davinci-003 with ``n`` 2, 0.63). ``search_order="flaml"`` keeps FLAML's rule (the best metric, the
first among equals).

The paired test: with ``d_i`` the difference of the two configurations' values on row ``i``, the two
are tied when ``|sum d_i| <= z * sqrt(sum d_i^2)`` (z = 1.96). For 0/1 values this is McNemar's test:
``|b - c| <= z * sqrt(b + c)``, ``b`` and ``c`` the rows only one of the two passes.

Example:
    >>> paired_tie([1, 1, 1, 0, 1], [1, 1, 0, 0, 1]), paired_tie([1] * 10, [0] * 10)
    (True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ecoptigen.tuning._scoring import Z_95

if TYPE_CHECKING:
    from ecoptigen.tuning.analysis import Trial

__all__ = ["choose", "paired_tie"]


def paired_tie(first: Sequence[float], second: Sequence[float], z: float = Z_95) -> bool:
    """Whether two configurations measured on the same rows (values in the same row order) are a
    statistical tie by the paired test of the module docstring.

    Raises:
        ValueError: the two were not measured on the same number of rows.
    """
    if len(first) != len(second):
        raise ValueError(f"a paired test needs the same rows; got {len(first)} and {len(second)} values")
    differences = [a - b for a, b in zip(first, second, strict=True)]
    return abs(sum(differences)) <= z * math.sqrt(sum(d * d for d in differences)) + 1e-12


def choose(trials: Sequence[Trial], metric: str, mode: str, completions: Callable[[Trial], int]) -> Trial | None:
    """The configuration to return among fully evaluated ``trials`` (see the module docstring).

    Args:
        trials: the candidates (``ok`` trials), in trial order.
        metric, mode: what is optimized.
        completions: the completions per instance a trial's configuration asks for.
    """
    sign = 1.0 if mode == "max" else -1.0
    best: Trial | None = None
    for trial in trials:
        if best is None or sign * trial.metrics[metric] > sign * best.metrics[metric]:
            best = trial
    if best is None or _values(best) is None:
        return best
    model = best.params.get("model")
    tied = [t for t in trials if t is best or (t.params.get("model") == model and _tied(t, best))]
    return max(tied, key=lambda t: (completions(t), sign * t.metrics[metric], -t.index))


def _values(trial: Trial) -> tuple[float, ...] | None:
    return None if trial.scoring is None else trial.scoring.values


def _tied(trial: Trial, best: Trial) -> bool:
    values, best_values = _values(trial), _values(best)
    return (
        values is not None
        and best_values is not None
        and len(values) == len(best_values)
        and (paired_tie(values, best_values))
    )
