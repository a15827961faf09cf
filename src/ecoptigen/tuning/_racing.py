"""Stopping a trial as soon as it can no longer beat the best configuration found so far.

EcoOptiGen stops a trial early only on cost (see :mod:`ecoptigen.tuning._pruning`); a configuration that
fits the inference budget is evaluated on all the data even when its first instances already show that
it cannot win. This module adds the other early stop, on the metric, with a bound rather than a guess:

* The tuned metric is the average of eval_func's per-instance values. When every per-instance value of
  the metric seen in this run lies in [0, 1] (a success, an accuracy, a pass rate), an instance not yet
  evaluated is taken to score at most 1 (at least 0 when minimizing).
* After ``m`` of ``N`` instances, whose values sum to ``S``, the trial's final metric is then at most
  ``(S + N - m) / N`` (at least ``S / N``). When that is worse than the best trial so far, the trial
  stops, status ``beaten``. Its metrics, and what the searcher is told, are its averages over the
  instances it was evaluated on: an estimate that is never better than the bound (telling the bound
  itself, an optimistic value, would draw the search towards configurations known to be poor). A trial
  that can still tie goes on: among equals the first stays the best, but a user may pick among them
  by another result (``get_best_trial("inference_cost", "min")``).
* A value outside [0, 1] anywhere in the run turns the rule off for the rest of it.

While a trial can be stopped this way, its instances are evaluated in growing batches (each at least
twice the last, and at least as many as could decide) instead of all at once, and eval_func runs after
each batch rather than once at the end.

Example:
    >>> race = Race(incumbent=0.5, mode="max", total=4)
    >>> race.record(0, 0.0); race.record(1, 0.0); race.bound(), race.beaten()
    (0.5, False)
    >>> race.record(2, 0.0); race.bound(), race.beaten()
    (0.25, True)
"""

from __future__ import annotations

import math

__all__ = ["Beaten", "Race", "best_update", "in_unit_interval", "reachable"]

# Floating-point slack when comparing a bound with the best metric (both are sums over the instances
# divided by their number): a bound this close to the incumbent ties it.
_TIE = 1e-9


def in_unit_interval(value: float) -> bool:
    """Whether a per-instance metric value lies in [0, 1].

    Example:
        >>> in_unit_interval(True), in_unit_interval(0.5), in_unit_interval(3.0), in_unit_interval(float("nan"))
        (True, True, False, False)
    """
    return 0.0 <= float(value) <= 1.0


def reachable(values: list[float], total: int, mode: str) -> float:
    """The best average the metric can still reach over ``total`` instances, given the ``values`` seen,
    when every other instance scores its best (1 when maximizing, 0 when minimizing).

    Example:
        >>> reachable([1.0, 0.0], 4, "max"), reachable([1.0, 0.0], 4, "min")
        (0.75, 0.25)
    """
    best_unseen = (total - len(values)) if mode == "max" else 0.0
    return (sum(values) + best_unseen) / total


def best_update(value: float, mode: str) -> list:
    """The knowledge update that says a configuration within the inference budget scored ``value``.

    Example:
        >>> best_update(0.75, "max")
        ['best', 0.75, 'max']
    """
    return ["best", float(value), mode]


class Beaten(Exception):
    """A trial's race is lost: it can no longer beat the best configuration so far. Raised and caught
    inside the evaluator (the trial ends with status ``beaten``); never seen by a user."""

    def __init__(self, race: Race):
        most = "at most" if race.mode == "max" else "at least"
        super().__init__(f"it can score {most} {race.bound():.4g}; the best so far scored {race.incumbent:.4g}")
        self.race = race


class Race:
    """One trial's race against the best configuration so far: its per-instance values and its bound.

    Not thread-safe: the evaluator records values between steps, on one thread.

    Args:
        incumbent: the metric of the best configuration so far (within the inference budget).
        mode: ``"max"`` or ``"min"``.
        total: the number of data instances.
    """

    def __init__(self, incumbent: float, mode: str, total: int):
        self.incumbent, self.mode, self.total = incumbent, mode, total
        self.values: dict[int, float] = {}
        self.unbounded = False

    def record(self, index: int, value: float) -> None:
        """Note instance ``index``'s value of the metric; one outside [0, 1] ends the race."""
        self.values[index] = float(value)
        self.unbounded = self.unbounded or not in_unit_interval(value)

    def bound(self) -> float:
        """The best final metric the trial can still reach."""
        return reachable(list(self.values.values()), self.total, self.mode)

    def beaten(self) -> bool:
        """Whether the trial can no longer even tie the incumbent (never once a value was out of [0, 1])."""
        if self.unbounded or not self.values:
            return False
        if self.mode == "max":
            return self.bound() < self.incumbent - _TIE
        return self.bound() > self.incumbent + _TIE

    def fewest_to_decide(self) -> int:
        """The fewest further instances after which the trial could be beaten (if each scored its worst).

        Example:
            >>> Race(incumbent=0.5, mode="max", total=10).fewest_to_decide()
            6
        """
        seen, total = sum(self.values.values()), self.total
        if self.mode == "max":
            slack = seen + (total - len(self.values)) - total * self.incumbent
        else:
            slack = total * self.incumbent - seen
        return max(1, math.floor(slack + _TIE) + 1)

    def next_limit(self, limit: int, planned: int) -> int:
        """How many instances to have after the next step: ``planned`` (the budget rule's choice), but
        no more than twice ``limit`` or the fewest that could decide, whichever is larger.

        Example:
            >>> Race(incumbent=0.9, mode="max", total=20).next_limit(2, planned=20)
            5
        """
        return min(planned, max(2 * limit, limit + self.fewest_to_decide()), self.total)
