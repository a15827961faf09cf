"""Checking the lines of a resume journal before a run trusts them.

A resumed run takes the journal's word for what was paid and what each trial found, so a damaged or
edited line could make it overspend (a negative ``paid``) or crash half-way (a line that is not an
object). Every line is checked on resume: its shape (an object with a known ``kind``), its fields
(types; money finite and not negative; ids and indices whole numbers) and, for money events, its place
in the ledger (a hold's id is new; ``paid`` and ``free`` end a hold that is open; an ``estimate`` refers
to a request that was held). :func:`line_problem` says what is wrong with one line, ``None`` if nothing.

Example:
    >>> ledger = MoneyIds()
    >>> line_problem({"kind": "paid", "id": 0, "usd": -1.0}, "success", ledger)
    "'usd' is -1.0: money must be a finite number of dollars, not negative"
    >>> line_problem({"kind": "hold", "id": 0, "usd": 0.5}, "success", ledger) is None
    True
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard, get_args

from ecoptigen.tuning._outcome import Status

__all__ = ["KINDS", "MoneyIds", "line_problem"]

MONEY_KINDS = ("hold", "paid", "free", "estimate")
# "carried": money a version 1 journal had paid, carried over by the upgrade; "spend": a version 1 checkpoint
KINDS = (*MONEY_KINDS, "trial", "carried", "spend")
_STATUSES = frozenset(get_args(Status))


class MoneyIds:
    """The money-event ids seen so far in a journal: which were held, and which holds are still open."""

    def __init__(self) -> None:
        self.held: set[int] = set()
        self.open: set[int] = set()

    def problem(self, kind: str, number: int) -> str | None:
        """What is wrong with a ``kind`` event of request ``number`` here (and record it if nothing is)."""
        if kind == "hold":
            if number in self.held:
                return f"request {number} is held a second time"
            self.held.add(number)
            self.open.add(number)
        elif kind in ("paid", "free"):
            if number not in self.open:
                return f"request {number} is {kind} but no open hold of it comes before"
            self.open.discard(number)
        elif number not in self.held:  # an estimate ends a hold, or revises an earlier estimate
            return f"request {number} has an estimate but was never held"
        else:
            self.open.discard(number)
        return None


def line_problem(record: Any, metric: str | None, ids: MoneyIds) -> str | None:
    """What makes journal line ``record`` untrustworthy, or ``None`` when it is sound.

    Args:
        record: the line's JSON value.
        metric: the tuning's metric (from the header), which every trial's metrics must have.
        ids: the money ids of the lines before this one (updated with this line's).
    """
    if not isinstance(record, dict):
        return f"it is a JSON {type(record).__name__}, not an object"
    kind = record.get("kind")
    if kind not in KINDS:
        return f"its kind {kind!r} is not one of {', '.join(KINDS)}"
    if kind in MONEY_KINDS:
        return _whole("id", record) or _money("usd", record) or ids.problem(kind, record["id"])
    if kind == "carried":
        return _money("usd", record)
    if kind == "spend":
        return _money("total_paid", record)
    return _trial_problem(record, metric)


def _trial_problem(record: dict[str, Any], metric: str | None) -> str | None:
    if not isinstance(record.get("config"), dict):
        return "its 'config' is not an object"
    if record.get("status") not in _STATUSES:
        return f"its status {record.get('status')!r} is not one of {', '.join(sorted(_STATUSES))}"
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not all(_is_number(v) for v in metrics.values()):
        return "its 'metrics' is not an object of numbers"
    if metric is not None and (metric not in metrics or math.isnan(metrics[metric])):
        return f"its metrics have no number for the tuning's metric {metric!r}"
    for name in ("cost", "paid", "total_paid", "unconfirmed"):
        if (name == "cost" or name in record) and (problem := _money(name, record)):
            return problem
    cost = record.get("inference_cost")
    if not (_is_number(cost) and cost >= 0):
        return f"'inference_cost' is {cost!r}: it must be a number, not negative"
    if "rechecks" in record and (problem := _whole("rechecks", record)):
        return problem
    return _whole("index", record)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _money(name: str, record: dict[str, Any]) -> str | None:
    value = record.get(name)
    if _is_number(value) and math.isfinite(value) and value >= 0:
        return None
    return f"{name!r} is {value!r}: money must be a finite number of dollars, not negative"


def _whole(name: str, record: dict[str, Any]) -> str | None:
    value = record.get(name)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"{name!r} is {value!r}: it must be a whole number, not negative"
