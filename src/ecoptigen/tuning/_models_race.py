"""Stopping paying for a model once it has shown it cannot beat the best configuration so far.

FLAML's search keeps proposing every model of the space to the end: measured on the seed's HumanEval
tuning, 8-15 trials per run went to text-ada-001 and text-babbage-001, which score 0 on every row.
The trial race (:mod:`~ecoptigen.tuning._racing`) stops each of those trials early, but each one still
pays for its first instances, and the searcher keeps coming back. This race works one level up:

* It applies only while the metric is known to lie in [0, 1] per instance (as the trial race).
* A model's evidence is its best metric over the configurations of it fully evaluated (``ok``), on
  ``N`` instances. Hoeffding's inequality bounds what that configuration's expected metric can be
  with confidence ``1 - DELTA``: at most ``best + sqrt(ln(1 / DELTA) / (2 N))`` (at least
  ``best - ...`` when minimizing).
* When that bound is worse than the best configuration so far (of another model), the model is
  dropped: the searcher's further suggestions of it are told back as failed without a request, and
  ``analysis.dropped_models`` says why. A dropped model is never taken back, so the search stays a
  function of the results.

The bound is of the configuration measured, not of every configuration of the model: a model could
do better elsewhere. The start points (:mod:`~ecoptigen.tuning._start_points`) try each model at the
largest ``n`` the budgets allow, where a sampled metric is at its best, which is what makes one
configuration a fair witness for its model.

Example:
    >>> race = ModelRace("max", rows=20)
    >>> race.record("weak", 0.05); race.record("strong", 0.8)
    >>> sorted(race.dropped)
    ['weak']
"""

from __future__ import annotations

import math

__all__ = ["DELTA", "ModelRace", "hoeffding_margin"]

# One minus the confidence with which a dropped model's measured configuration is worse than the best.
DELTA = 0.05


def hoeffding_margin(rows: int, delta: float = DELTA) -> float:
    """How far the mean of ``rows`` values in [0, 1] may lie from its expectation, with confidence ``1 - delta``.

    Example:
        >>> round(hoeffding_margin(20), 3)
        0.274
    """
    return math.sqrt(math.log(1 / delta) / (2 * rows))


class ModelRace:
    """The best metric of each model's fully evaluated configurations, and the models dropped.

    Not thread-safe: the tuner records results in trial order, on one thread.

    Args:
        mode: ``"max"`` or ``"min"``.
        rows: the number of data instances a fully evaluated configuration was scored on.
    """

    def __init__(self, mode: str, rows: int):
        self.mode, self.rows = mode, rows
        self.best: dict[str, float] = {}
        self.dropped: dict[str, str] = {}
        self.bounded = True

    def record(self, model: str, value: float) -> None:
        """Note a fully evaluated configuration of ``model`` that scored ``value``; drop the models it beats."""
        if not 0.0 <= value <= 1.0:
            self.bounded = False  # no bound on what an instance can score: nothing is dropped from now on
        known = self.best.get(model)
        if known is None or self._better(value, known):
            self.best[model] = value
        self._drop_beaten()

    def unbounded(self) -> None:
        """The metric was seen outside [0, 1]: stop dropping models."""
        self.bounded = False

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.mode == "max" else a < b

    def _drop_beaten(self) -> None:
        if not self.bounded or len(self.best) < 2:
            return
        pick = max if self.mode == "max" else min
        leader = pick(self.best, key=self.best.__getitem__)
        incumbent = self.best[leader]
        margin = hoeffding_margin(self.rows)
        for model, value in self.best.items():
            if model == leader or model in self.dropped:
                continue
            reach = value + margin if self.mode == "max" else value - margin
            if self._better(incumbent, reach):
                most = "at most" if self.mode == "max" else "at least"
                self.dropped[model] = (
                    f"its best configuration scored {value:.4g} on {self.rows} instances ({most} {reach:.4g} with "
                    f"{1 - DELTA:.0%} confidence); {leader} scored {incumbent:.4g}"
                )
