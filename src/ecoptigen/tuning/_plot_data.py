"""The numbers behind the tuning plots, computed from an :class:`~ecoptigen.tuning.analysis.Analysis`
without matplotlib (so they can be tested and drawn elsewhere); :mod:`ecoptigen.tuning._plots` draws them.

Every trial becomes one :class:`TrialPoint` on the inference cost vs metric plot:

=============  ===============================================  ==========================================
kind           which trials                                     where
=============  ===============================================  ==========================================
``evaluated``  ``ok``: fully evaluated within the budget        measured inference cost and metric
``over``       ``over_budget``, evaluated on all the data       what it measured (right of the budget line)
``partial``    ``beaten``: stopped once it could not win        cost per answered row; mean over the rows
                                                                it was scored on
``unscored``   pruned, stopped over budget early, failed or     cost per answered row (pruned: the
               unaffordable: no metric                          inference budget it is known to exceed;
                                                                nothing bought: 0); no metric
=============  ===============================================  ==========================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecoptigen.tuning.analysis import Analysis, Trial

__all__ = ["TrialPoint", "plot_data", "trial_point"]


@dataclass(frozen=True)
class TrialPoint:
    """One trial on the inference cost vs metric plot.

    Attributes:
        trial: the trial's index.
        model: the model it used.
        status: its status (``ok``, ``pruned``, ...).
        kind: ``evaluated``, ``over``, ``partial`` or ``unscored`` (see the module docstring).
        cost: dollars per instance (see the module docstring for trials stopped early).
        value: the metric, ``None`` for an unscored trial.
        chosen: it is the configuration the tuning returned.
    """

    trial: int
    model: str
    status: str
    kind: str
    cost: float
    value: float | None
    chosen: bool


def trial_point(trial: Trial, metric: str, inference_budget: float | None, chosen: bool) -> TrialPoint:
    """Where ``trial`` goes on the inference cost vs metric plot.

    Example:
        >>> from ecoptigen.tuning.analysis import Trial
        >>> t = Trial(3, {}, {"model": "m"}, "pruned", {"success": -math.inf}, math.inf, 0.0, 0.0, 0.0)
        >>> trial_point(t, "success", 0.05, chosen=False)
        TrialPoint(trial=3, model='m', status='pruned', kind='unscored', cost=0.05, value=None, chosen=False)
    """
    model = str(trial.params.get("model", "?"))

    def point(kind: str, cost: float, value: float | None) -> TrialPoint:
        return TrialPoint(trial.index, model, trial.status, kind, float(cost), value, chosen)

    if trial.status == "ok" and math.isfinite(trial.inference_cost):
        return point("evaluated", trial.inference_cost, trial.metrics.get(metric))
    if trial.measured and metric in trial.measured:
        return point("over", trial.measured["inference_cost"], trial.measured[metric])
    scoring = trial.scoring
    per_row = trial.cost / scoring.answered if scoring and scoring.answered else None
    if trial.status == "beaten" and per_row is not None and scoring and scoring.mean is not None:
        return point("partial", per_row, scoring.mean)
    if per_row is None:
        per_row = inference_budget if trial.status == "pruned" and inference_budget else 0.0
    return point("unscored", per_row, None)


def plot_data(analysis: Analysis) -> dict[str, Any]:
    """The series the two plots draw.

    Returns:
        ``{"spend": [(dollars paid so far, best metric so far), ...], "trials": [TrialPoint, ...] (every
        trial), "models": [model names, in first-use order], "metric": name, "mode": "max" or "min",
        "budget": the optimization budget, "inference_budget": dollars per instance or None}``.

    Example:
        >>> from ecoptigen.tuning.analysis import Analysis, Trial
        >>> t = Trial(0, {}, {"model": "m"}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
        >>> data = plot_data(Analysis("success", "max", [t]))
        >>> data["spend"], data["trials"][0].chosen
        ([(0.2, 0.5)], True)
    """
    sign = 1 if analysis.mode == "max" else -1
    spend, best = [], None
    for trial in analysis.trials:
        value = trial.metrics.get(analysis.metric)
        if trial.status == "ok" and value is not None and (best is None or sign * value > sign * best):
            best = value
        if best is not None:
            spend.append((trial.total_paid, best))
    chosen = analysis.best_trial
    points = [trial_point(t, analysis.metric, analysis.inference_budget, chosen=t is chosen) for t in analysis.trials]
    return {
        "spend": spend,
        "trials": points,
        "models": list(dict.fromkeys(p.model for p in points)),
        "metric": analysis.metric,
        "mode": analysis.mode,
        "budget": analysis.budget,
        "inference_budget": analysis.inference_budget,
    }
