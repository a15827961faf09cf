"""How sure a tuning's choice is: the interval of the chosen configuration's metric, and whether the
runner-up is a statistical tie.

A tuning picks the best of many configurations measured on a few instances (20 in FLAML's HumanEval
workflow). At that size the metric of one configuration is uncertain by about +-0.18 (a pass rate
near 0.8), so the configurations at the top are often indistinguishable; measured on the seed's
tuning, the rank correlation between the tuning rows and 144 held-out rows among configurations
scoring 0.75 or more was 0.14. This module puts a number on that for the user.

The interval is Wilson's score interval at 95%, exact in form for a pass rate (a mean of 0/1 values)
and a fair approximation for a mean of values in [0, 1]; it is given only for metrics known to lie
in [0, 1] per instance (otherwise ``None``). Two configurations whose intervals overlap are a tie.

Example:
    >>> low, high = wilson_interval(0.8, 20)
    >>> round(low, 2), round(high, 2)
    (0.58, 0.92)
"""

from __future__ import annotations

from dataclasses import dataclass

from ecoptigen.tuning._scoring import Z_95, wilson_interval

__all__ = ["Z_95", "ChoiceConfidence", "choice_confidence", "wilson_interval"]


@dataclass(frozen=True)
class ChoiceConfidence:
    """How sure the choice of the best configuration is.

    Attributes:
        metric: the chosen configuration's metric on the tuning data.
        rows: the instances it was measured on.
        interval: its 95% interval.
        runner_up: the trial id of the best other fully evaluated configuration (``None``: none).
        runner_up_metric: that configuration's metric.
        tie: whether the runner-up's interval overlaps the chosen one's.
    """

    metric: float
    rows: int
    interval: tuple[float, float]
    runner_up: str | None
    runner_up_metric: float | None
    tie: bool

    def __str__(self) -> str:
        low, high = self.interval
        text = f"{self.metric:.3g} on {self.rows} instances (95% interval {low:.2f}-{high:.2f})"
        if self.runner_up is None:
            return text + "; no other configuration was fully evaluated"
        verdict = "a statistical tie" if self.tie else "surely worse"
        return f"{text}; the runner-up, {self.runner_up}, scored {self.runner_up_metric:.3g}: {verdict}"


def choice_confidence(
    best: tuple[str, float], others: list[tuple[str, float]], rows: int, mode: str
) -> ChoiceConfidence | None:
    """The confidence of choosing ``best`` (trial id, metric) over ``others`` measured on ``rows`` instances.

    Returns:
        ``None`` when a metric lies outside [0, 1] (no interval is known for it).

    Example:
        >>> print(choice_confidence(("t3", 0.9), [("t1", 0.85), ("t2", 0.3)], 20, "max"))
        0.9 on 20 instances (95% interval 0.70-0.97); the runner-up, t1, scored 0.85: a statistical tie
    """
    values = [best[1], *(value for _, value in others)]
    if rows < 1 or not all(0.0 <= value <= 1.0 for value in values):
        return None
    interval = wilson_interval(best[1], rows)
    if not others:
        return ChoiceConfidence(best[1], rows, interval, None, None, False)
    pick = max if mode == "max" else min
    runner_up = pick(others, key=lambda item: item[1])
    low, high = wilson_interval(runner_up[1], rows)
    tie = low <= interval[1] and interval[0] <= high
    return ChoiceConfidence(best[1], rows, interval, runner_up[0], runner_up[1], tie)
