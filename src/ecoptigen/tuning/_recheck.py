"""Re-checking the best configuration on fresh completions before the tuning returns it.

A trial's metric is eval_func's mean over the tuning rows on the completions that trial happened to
draw. The best of the dozens of metrics a search measures is biased up (the winner's curse), and most
for the configurations whose metric varies most from one draw to the next: those with few completions
per row. (What fixed the worst case measured on the seed's HumanEval tuning -- text-davinci-003 with
``n`` 3 returned at 0.85 on the 20 tuning rows and 0.625 held out -- was the tie rule of
:mod:`~ecoptigen.tuning._choice`: its fresh draw scored 0.80 again, so the rows themselves, not the
draw, flattered it. The re-check guards against the other kind of luck: in the run traced at $3
(simulator seed 41) it lowered the returned configuration's tuning score from 0.90 to 0.825, the
configuration stayed the same.)

So before returning, the budgeted search re-evaluates its best configuration on the same rows with
completions of its own (:data:`~ecoptigen.tuning._samples.FRESH_DRAW` in the cache key: the cache
cannot hand the first draw back), and that configuration's metrics become the mean of both
evaluations: the metric of the configuration evaluated on twice the completions. If another
configuration is now the best, it is re-checked the same way, until the best is re-checked, its
re-check does not fit in what is left of the optimization budget, or :data:`MAX_RECHECKS` were made.

Money: once every model has been tried at its start point, the tuner holds back what re-checking its
current best would cost (:meth:`Rechecks.reserve`: that trial's cost with a margin, when it is at most
:data:`RESERVE_SHARE` of the budget), so the search ends with it still in hand; a re-check gives back
to the search what it did not need. A cheap configuration -- the kind whose
metric is noisy -- is thus always re-checked; an expensive one (many completions: a steadier
metric) only when money is left. The re-check is paid from the optimization budget like any trial,
written to the journal (a resumed run replays it), and shown in the trial table (``rechecked``).

Example:
    >>> from ecoptigen.tuning.analysis import Trial
    >>> best = Trial(3, {}, {"model": "m"}, "ok", {"success": 0.85}, 0.007, 0.13, 0.13, 1.0)
    >>> Rechecks(budget=3.0, metric="success", mode="max", inference_budget=0.05).reserve(best)
    0.156
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ecoptigen.tuning._scoring import Scoring
from ecoptigen.tuning.analysis import Trial

__all__ = ["MAX_RECHECKS", "RESERVE_SHARE", "Draw", "Rechecks"]

# The most re-checks a tuning makes before it returns.
MAX_RECHECKS = 4
# The most of the optimization budget the search holds back for re-checking its best configuration.
RESERVE_SHARE = 0.2
# A fresh draw can decide its rows later than the first (the prefix rule): what is held back for it.
COST_MARGIN = 1.2


@dataclass
class Draw:
    """One evaluation of a configuration on the tuning rows: what a re-check found.

    Attributes:
        status: the evaluation's status (see :class:`~ecoptigen.tuning._outcome.TrialOutcome`).
        metrics: eval_func's means over the rows (the metric's worst value unless ``ok``).
        inference_cost: dollars per instance (``inf`` unless ``ok``).
        cost: dollars of the responses it used; paid: dollars it paid.
        measured: for an evaluation found over the inference budget, what it really measured.
        scoring: the rows and completions its metric was measured on.
    """

    status: str
    metrics: dict[str, float]
    inference_cost: float
    cost: float
    paid: float
    measured: dict[str, float] | None = None
    scoring: Scoring | None = None

    @property
    def usable(self) -> bool:
        """Whether the evaluation measured the configuration on every row."""
        return self.status == "ok" or (self.status == "over_budget" and self.measured is not None)

    def found(self) -> tuple[dict[str, float], float]:
        """The metrics and inference cost measured (for ``over_budget``: those it really had)."""
        if self.status == "ok" or self.measured is None:
            return dict(self.metrics), self.inference_cost
        measured = dict(self.measured)
        return measured, float(measured.pop("inference_cost", math.inf))

    def to_record(self) -> dict[str, Any]:
        """The journal's fields."""
        return {
            "status": self.status,
            "metrics": self.metrics,
            "inference_cost": self.inference_cost,
            "cost": self.cost,
            "paid": self.paid,
            "measured": self.measured,
            "scoring": None if self.scoring is None else self.scoring.to_record(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Draw:
        """Read back :meth:`to_record`."""
        return cls(
            record["status"],
            dict(record["metrics"]),
            float(record["inference_cost"]),
            float(record["cost"]),
            float(record.get("paid", 0.0)),
            record.get("measured"),
            Scoring.from_record(record.get("scoring")),
        )


class Rechecks:
    """The re-checks of one tuning: what to hold back, what to re-check next, and merging a re-check.

    Args:
        budget: the optimization budget (``None``: no re-checks, nothing held back).
        metric, mode: what is optimized.
        inference_budget: dollars per instance (``None`` for none).
    """

    def __init__(self, budget: float | None, metric: str, mode: str, inference_budget: float | None):
        self.budget, self.metric, self.mode, self.inference_budget = budget, metric, mode, inference_budget
        self.made = 0

    def estimate(self, trial: Trial) -> float:
        """What re-checking ``trial`` is expected to cost at most (the first evaluation's cost with a margin)."""
        return trial.cost * COST_MARGIN

    def reserve(self, best: Trial | None) -> float:
        """Dollars to hold back while searching: the cost of re-checking ``best``, the best configuration so
        far, when it needs one and that is at most :data:`RESERVE_SHARE` of the budget; else 0."""
        if self.candidate(best) is None or self.budget is None:
            return 0.0
        cost = self.estimate(best)  # type: ignore[arg-type]  # candidate() returned it
        return round(cost, 12) if cost <= RESERVE_SHARE * self.budget else 0.0

    def candidate(self, best: Trial | None) -> Trial | None:
        """``best`` if it should be re-checked now: fully evaluated within the inference budget, not yet
        re-checked, with re-checks left (and a budget to pay for them)."""
        if self.budget is None or best is None or best.status != "ok" or best.recheck is not None:
            return None
        return best if self.made < MAX_RECHECKS else None

    def merge(self, trial: Trial, draw: Draw) -> bool:
        """Fold the re-check ``draw`` into ``trial``: its metrics, inference cost and scoring become the
        means over both evaluations (its ``cost`` and ``paid`` stay the first evaluation's; the re-check's
        are in ``trial.recheck``). A configuration whose mean inference cost is over the inference budget
        becomes ``over_budget``.

        Returns:
            Whether the draw measured the configuration (an unusable one -- the budget or the endpoint
            failed it -- leaves the trial as it was, and re-checking ends).
        """
        self.made += 1
        if not draw.usable:
            return False
        fresh, fresh_cost = draw.found()
        first = {"metrics": dict(trial.metrics), "inference_cost": trial.inference_cost}
        pooled = {k: (v + fresh[k]) / 2 for k, v in trial.metrics.items() if _number(v) and _number(fresh.get(k))}
        inference_cost = (trial.inference_cost + fresh_cost) / 2
        trial.recheck = {
            "first": first,
            "fresh": {"status": draw.status, "metrics": fresh, "inference_cost": fresh_cost},
            "cost": draw.cost,
            "paid": draw.paid,
        }
        trial.scoring = pooled_scoring(trial.scoring, draw.scoring)
        if self.inference_budget is not None and inference_cost > self.inference_budget:
            trial.status = "over_budget"
            trial.measured = {**pooled, "inference_cost": inference_cost}
            trial.metrics = {**pooled, self.metric: -math.inf if self.mode == "max" else math.inf}
            trial.inference_cost = math.inf
        else:
            trial.metrics, trial.inference_cost = {**trial.metrics, **pooled}, inference_cost
        return True


def pooled_scoring(first: Scoring | None, fresh: Scoring | None) -> Scoring | None:
    """The scoring of a metric averaged over two evaluations on the same rows: the rows once, the
    completions of both, each row's mean of the two values (and the mean and spread of those).

    Example:
        >>> a = Scoring.of([1.0, 0.0, 1.0, 1.0], samples=8, answered=4)
        >>> b = Scoring.of([1.0, 0.0, 0.0, 1.0], samples=9, answered=4)
        >>> pooled = pooled_scoring(a, b); pooled.rows, pooled.samples, pooled.mean, pooled.values
        (4, 17, 0.625, (1.0, 0.0, 0.5, 1.0))
    """
    if first is None or fresh is None or first.values is None or fresh.values is None:
        return first
    if len(first.values) != len(fresh.values):
        return first
    values = [(a + b) / 2 for a, b in zip(first.values, fresh.values, strict=True)]
    return Scoring.of(values, first.samples + fresh.samples, max(first.answered, fresh.answered))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
