"""What a trial's metric was measured on (rows, samples), and a confidence interval for it.

A trial's metric is the mean of eval_func's per-row values over the rows it scored. How far that mean
can be trusted depends on how many rows it covers and how much the values vary, so each trial keeps a
:class:`Scoring`, written to the journal with the trial and shown in ``Analysis.trials_dataframe()``.

The interval (:func:`metric_interval`, 95% by default):

* When every per-row value lies in [0, 1] (a success, an accuracy, a pass rate): the **Wilson score
  interval** over the rows, with the mean as the observed proportion. For 0/1 values this is the
  usual Wilson interval; for other values in [0, 1] it is conservative, because a variable in [0, 1]
  with mean ``p`` has a variance of at most ``p * (1 - p)``, the variance the interval assumes.
* Otherwise, with at least two rows: the **normal interval** ``mean ± z * sd / sqrt(rows)``, ``sd``
  being the sample standard deviation over the rows.
* Otherwise (no row scored, or one unbounded value): no interval.

Either interval describes the rows as a sample of the tuning data's distribution; it does not cover
a model's randomness beyond the completions the rows were scored on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Z_95", "Scoring", "metric_interval", "normal_interval", "wilson_interval"]

Z_95 = 1.959963984540054  # the standard normal quantile of 0.975


@dataclass(frozen=True)
class Scoring:
    """What one trial's metric was measured on.

    Attributes:
        rows: data rows eval_func scored.
        samples: completions those rows were scored on (all of their completions).
        answered: data rows that got at least one completion (scored or not).
        mean: the metric's mean over the scored rows (``None`` if none was scored).
        sd: the metric's sample standard deviation over the scored rows (``None`` under two rows).
        bounded: every scored value of the metric lies in [0, 1].
        values: the metric on each scored row, in data order (``None`` for trials read from journals
            written before ecoptigen kept them); two configurations scored on the same rows are
            compared row by row (see :mod:`~ecoptigen.tuning._choice`).

    Example:
        >>> s = Scoring.of([1.0, 0.0, 1.0, 1.0], samples=12, answered=4)
        >>> s.rows, s.mean, s.bounded
        (4, 0.75, True)
    """

    rows: int
    samples: int
    answered: int
    mean: float | None
    sd: float | None
    bounded: bool
    values: tuple[float, ...] | None = None

    @classmethod
    def of(cls, values: Sequence[float], samples: int, answered: int) -> Scoring:
        """The scoring of per-row metric ``values`` scored on ``samples`` completions."""
        rows = len(values)
        mean = sum(values) / rows if rows else None
        sd = None
        if rows >= 2 and mean is not None:
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (rows - 1))
        bounded = all(0.0 <= v <= 1.0 for v in values)
        return cls(rows, samples, answered, mean, sd, bounded, tuple(float(v) for v in values))

    def to_record(self) -> dict[str, Any]:
        """The journal's form."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> Scoring | None:
        """Read back :meth:`to_record` (``None`` for journals written before scorings were kept)."""
        if not isinstance(record, dict):
            return None
        return cls(
            int(record["rows"]),
            int(record["samples"]),
            int(record["answered"]),
            None if record.get("mean") is None else float(record["mean"]),
            None if record.get("sd") is None else float(record["sd"]),
            bool(record["bounded"]),
            None if record.get("values") is None else tuple(float(v) for v in record["values"]),
        )


def wilson_interval(proportion: float, rows: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion observed over ``rows`` rows.

    Example:
        >>> low, high = wilson_interval(0.75, 20)
        >>> round(low, 4), round(high, 4)
        (0.5313, 0.8881)
    """
    if rows < 1:
        raise ValueError("a Wilson interval needs at least one row")
    z2 = z * z
    denominator = 1 + z2 / rows
    center = (proportion + z2 / (2 * rows)) / denominator
    half = z / denominator * math.sqrt(proportion * (1 - proportion) / rows + z2 / (4 * rows * rows))
    return max(0.0, center - half), min(1.0, center + half)


def normal_interval(mean: float, sd: float, rows: int, z: float = Z_95) -> tuple[float, float]:
    """``mean ± z * sd / sqrt(rows)``.

    Example:
        >>> [round(bound, 4) for bound in normal_interval(10.0, 2.0, 4)]
        [8.04, 11.96]
    """
    half = z * sd / math.sqrt(rows)
    return mean - half, mean + half


def metric_interval(scoring: Scoring | None, z: float = Z_95) -> tuple[float, float] | None:
    """The confidence interval of a trial's metric (see the module docstring for which), or ``None``.

    Example:
        >>> metric_interval(Scoring.of([1.0, 1.0, 0.0, 1.0], samples=4, answered=4)) is not None
        True
        >>> metric_interval(Scoring.of([], samples=0, answered=0)) is None
        True
    """
    if scoring is None or scoring.mean is None or scoring.rows < 1:
        return None
    if scoring.bounded:
        return wilson_interval(scoring.mean, scoring.rows, z)
    if scoring.sd is None:
        return None
    return normal_interval(scoring.mean, scoring.sd, scoring.rows, z)
