"""Sending the requests of one step of a trial at the same time, as a sequential run would admit them.

A step's requests go out concurrently, but whether each may go is decided as if they went one after
another (:class:`StepBudget`), so the money spent does not depend on timing; :func:`call_all` runs them
on a pool and waits for all; :func:`waiting_for_money` retries a request refused only because money
is held for requests still in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from ecoptigen.errors import BudgetExceededError
from ecoptigen.money import ledger as spend

__all__ = ["StepBudget", "Unaffordable", "call_all", "waiting_for_money"]


class Unaffordable(Exception):
    """The next step of a trial cannot be paid for with what is left of the optimization budget."""


class StepBudget:
    """Admits the requests of one step as a sequential run would, while sending them concurrently.

    Sequentially, request ``k`` is sent if what is left at the start of the step, minus the cost of
    requests ``0..k-1``, covers its worst case. Concurrently, ``k`` goes as soon as the real costs of the
    earlier requests that have finished plus the worst cases of those still running leave room for it,
    and is refused only once all of them have finished and it does not fit. So the
    requests sent -- and the money spent -- do not depend on timing, and a re-run on a warm cache (which
    counts cache hits as spent) admits exactly the same requests.

    Example:
        >>> step = StepBudget(1.0, [0.4, 0.4, 0.4])
        >>> step.admit(0); step.admit(1); step.done(0, 0.1); step.done(1, 0.1)
        >>> step.admit(2)  # 1.0 - 0.2 covers 0.4
    """

    def __init__(self, left: float, worst: list[float]):
        self.left, self.worst = left, worst
        self.costs: list[float | None] = [None] * len(worst)
        self._changed = threading.Condition()
        self._refused = False

    def admit(self, position: int) -> None:
        """Return when request ``position`` may be sent.

        Raises:
            Unaffordable: it may not (or an earlier request of the step was refused).
        """
        if sum(self.worst[: position + 1]) <= self.left:
            return
        with self._changed:
            self._changed.wait_for(lambda: self._refused or self._fits(position) or self._known(position))
            if self._fits(position):
                return
            if self._refused:
                raise Unaffordable("an earlier request of this step could not be afforded")
            spent = sum(c for c in self.costs[:position] if c is not None)
            if spent + self.worst[position] > self.left:
                self._refused = True
                self._changed.notify_all()
                worst, left = self.worst[position], self.left - spent
                raise Unaffordable(f"a request may cost up to ${worst:.6f}; the budget has ${left:.6f} left")

    def _known(self, position: int) -> bool:
        return all(c is not None for c in self.costs[:position])

    def _fits(self, position: int) -> bool:
        """Whether ``position`` fits even if every earlier request still running costs its worst case."""
        earlier = sum(w if c is None else c for c, w in zip(self.costs[:position], self.worst, strict=False))
        return earlier + self.worst[position] <= self.left

    def done(self, position: int, cost: float) -> None:
        """Record what request ``position`` cost (``inf`` if it failed)."""
        with self._changed:
            self.costs[position] = cost
            self._changed.notify_all()


def call_all(pool: Executor | None, fn: Callable[[int], Any], indices: Sequence[int]) -> list[Any]:
    """``[fn(i) for i in indices]``, run on ``pool`` in copies of the caller's context, results in order.

    Every call is waited for before an error is raised, so no request is left running unaccounted; an
    error that stops the run (:class:`RunStopped`, :class:`StorageError`), then a
    :class:`BudgetExceededError`, is raised in preference to other errors (e.g. the :class:`Unaffordable`
    of a later request that a stopped one left without a cost).

    Example:
        >>> call_all(None, lambda i: i * i, [1, 2, 3])
        [1, 4, 9]
    """
    if pool is None or len(indices) <= 1:
        return [fn(i) for i in indices]
    return spend.collect_results([pool.submit(spend.run_in_context(fn), i) for i in indices])


def waiting_for_money(fn: Callable[[int], Any], poll: float = 0.005) -> Callable[[int], Any]:
    """Wrap ``fn`` so that a :class:`BudgetExceededError` caused only by money held for requests still in
    flight waits for them to settle and tries again; it is raised once nothing else holds money.

    Worst-case holds are far above real costs, so without this a few concurrent requests could end a
    tuning while most of its budget is still unspent.

    Example:
        >>> waiting_for_money(lambda i: i + 1)(1)
        2
    """

    def call(i: int) -> Any:
        while True:
            try:
                return fn(i)
            except BudgetExceededError:
                if not spend.wait_for_held_money(poll):
                    raise

    return call
