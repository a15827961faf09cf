"""Money: what requests may spend, what they did spend, and what the cache saved.

A :class:`SpendLedger` is one budget (or none) and its accounts. Every paid request goes through
:func:`reserve`, which holds the request's *worst-case* cost on every ledger that is active in the
current context before the request is sent, and is settled with the real cost when the answer
arrives. Because a reservation is taken before any money moves, concurrent requests can never take
the total paid past a budget.

Ledgers are activated with ``with ledger.activate():`` and stack: a tuning activates its ledger,
and every ``create`` made under it (including those made inside an ``eval_func``, e.g. by
``generate_assertions``) is charged to it. Activation lives in a :mod:`contextvars` variable, so
two tunings in one process do not see each other; code that hands work to threads must run it in
a copy of the caller's context (:func:`run_in_context`).

Thread safety: every method of :class:`SpendLedger` may be called from any thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ecoptigen.errors import BudgetExceededError
from ecoptigen.pricing import token_usage

__all__ = ["ModelUsage", "Reservation", "SpendLedger", "active_ledgers", "reserve", "run_in_context"]

T = TypeVar("T")

_ACTIVE: contextvars.ContextVar[tuple[SpendLedger, ...]] = contextvars.ContextVar(
    "ecoptigen_active_ledgers", default=()
)


@dataclass
class ModelUsage:
    """Totals for one model on one ledger (``cached_tokens`` are among ``prompt_tokens``, served from the
    provider's prompt cache; ``reasoning_tokens`` among ``completion_tokens``)."""

    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    paid: float = 0.0
    saved_by_cache: float = 0.0
    unpriced_requests: int = 0


@dataclass
class SpendLedger:
    """A budget (``None`` for unlimited) with thread-safe accounts of reserved and paid dollars.

    Example:
        >>> ledger = SpendLedger(budget=1.0)
        >>> r = ledger.hold(0.4)
        >>> r.settle(0.1)
        >>> round(ledger.paid, 2), round(ledger.remaining, 2)
        (0.1, 0.9)
    """

    budget: float | None = None
    name: str = ""
    paid: float = 0.0
    reserved: float = 0.0
    uncertain: float = 0.0
    usage: dict[str, ModelUsage] = field(default_factory=lambda: defaultdict(ModelUsage))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def committed(self) -> float:
        """Dollars that count against the budget: paid, held for requests in flight, and uncertain."""
        return self.paid + self.reserved + self.uncertain

    @property
    def remaining(self) -> float:
        """Dollars not yet committed (``inf`` without a budget)."""
        if self.budget is None:
            return float("inf")
        return max(0.0, self.budget - self.committed)

    @property
    def saved_by_cache(self) -> float:
        """Dollars that cache hits would have cost had they been paid requests."""
        with self._lock:
            return sum(u.saved_by_cache for u in self.usage.values())

    def hold(self, amount: float) -> Reservation:
        """Hold ``amount`` dollars for a request about to be sent.

        Raises:
            BudgetExceededError: when ``amount`` does not fit in what is left of the budget.
        """
        with self._lock:
            if self.budget is not None and self.committed + amount > self.budget + 1e-12:
                raise BudgetExceededError(
                    f"a request that may cost up to ${amount:.6f} does not fit in the "
                    f"{self.name or 'budget'} (${self.budget:.4f}; ${self.committed:.6f} already "
                    "spent or held). Raise the budget, or lower max_tokens / n so requests cost less."
                )
            self.reserved += amount
        return Reservation(self, amount)

    def record_cache_hit(self, model: str, would_have_cost: float | None) -> None:
        """Count a cache hit: no money moves, the saving is reported separately."""
        with self._lock:
            usage = self.usage[model]
            usage.cache_hits += 1
            if would_have_cost is not None and not math.isnan(would_have_cost):
                usage.saved_by_cache += would_have_cost

    def _settle(self, held: float, model: str, cost: float, usage: dict[str, int] | None) -> None:
        with self._lock:
            self.reserved -= held
            entry = self.usage[model]
            entry.requests += 1
            if math.isnan(cost):  # a model without a price: counted, never silently free
                entry.unpriced_requests += 1
            else:
                self.paid += cost
                entry.paid += cost
            if usage:
                counted = token_usage(usage)
                entry.prompt_tokens += counted.prompt
                entry.completion_tokens += counted.completion
                entry.cached_tokens += counted.cached
                entry.reasoning_tokens += counted.reasoning

    def _release(self, held: float, keep_as_uncertain: bool) -> None:
        with self._lock:
            self.reserved -= held
            if keep_as_uncertain:
                self.uncertain += held

    @contextlib.contextmanager
    def activate(self) -> Iterator[SpendLedger]:
        """Charge every request made in this context (and contexts copied from it) to this ledger."""
        token = _ACTIVE.set((*_ACTIVE.get(), self))
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def summary(self) -> dict[str, Any]:
        """A plain-dict snapshot: totals and per-model usage."""
        with self._lock:
            return {
                "budget": self.budget,
                "paid": self.paid,
                "reserved": self.reserved,
                "uncertain": self.uncertain,
                "saved_by_cache": sum(u.saved_by_cache for u in self.usage.values()),
                "models": {m: vars(u).copy() for m, u in self.usage.items()},
            }


class Reservation:
    """Money held on one ledger for one request; settle it, or release it if nothing was billed."""

    def __init__(self, ledger: SpendLedger, amount: float):
        self._ledger = ledger
        self._amount = amount
        self._open = True

    def settle(self, cost: float, model: str = "", usage: dict[str, int] | None = None) -> None:
        """Replace the hold by the real ``cost`` of the answered request."""
        if self._open:
            self._open = False
            self._ledger._settle(self._amount, model, cost, usage)

    def release(self, billed_maybe: bool = False) -> None:
        """Give the hold back; with ``billed_maybe`` (a timeout, a dropped connection) keep it as
        uncertain spending, because the provider may have billed a request whose answer we lost."""
        if self._open:
            self._open = False
            self._ledger._release(self._amount, billed_maybe)


class _Reservations:
    """Holds on every active ledger for one request, taken and settled together."""

    def __init__(self, holds: list[Reservation]):
        self._holds = holds

    def settle(self, cost: float, model: str = "", usage: dict[str, int] | None = None) -> None:
        for hold in self._holds:
            hold.settle(cost, model, usage)

    def release(self, billed_maybe: bool = False) -> None:
        for hold in self._holds:
            hold.release(billed_maybe)


def active_ledgers() -> tuple[SpendLedger, ...]:
    """The ledgers requests made in the current context are charged to, outermost first."""
    return _ACTIVE.get()


def reserve(amount: float, extra: tuple[SpendLedger, ...] = ()) -> _Reservations:
    """Hold ``amount`` on ``extra`` and every active ledger, all or none.

    Raises:
        BudgetExceededError: when any ledger cannot hold ``amount``; nothing stays held then.
    """
    holds: list[Reservation] = []
    try:
        for ledger in (*extra, *_ACTIVE.get()):
            holds.append(ledger.hold(amount))
    except BudgetExceededError:
        for hold in holds:
            hold.release()
        raise
    return _Reservations(holds)


def budget_enforced() -> bool:
    """Whether any active ledger has a budget (then every model called must have a price)."""
    return any(ledger.budget is not None for ledger in _ACTIVE.get())


def run_in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """Wrap ``fn`` so it runs in a copy of the *current* context, e.g. on a pool thread.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as pool:
        ...     pool.submit(run_in_context(active_ledgers)).result()
        ()
    """
    context = contextvars.copy_context()

    def call(*args: Any, **kwargs: Any) -> T:
        return context.copy().run(fn, *args, **kwargs)

    return call
