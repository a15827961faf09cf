"""Money: what requests may spend, what they did spend, and what the cache saved.

A :class:`SpendLedger` is one budget (or none) and its accounts. Every paid request goes through
:func:`reserve`, which holds the request's *worst-case* cost on every ledger that is active in the
current context before the request is sent. The hold then ends in one of three ways:

* :meth:`Reservation.settle` -- the answer arrived: its real cost becomes ``paid``;
* :meth:`Reservation.release` -- the attempt cannot have been billed (the connection never reached
  the server, or the server answered with an error status): nothing is spent;
* :meth:`Reservation.keep_as_estimate` -- the attempt may have been billed but its answer was lost
  (a read timeout, a connection dropped mid-answer, a garbled body, a kill): a plausible estimate
  becomes ``unconfirmed`` spending, which :meth:`Estimate.revise` can later correct (e.g. to the
  cost of the retry that did answer).

Because holds are taken before any money moves, concurrent requests can never take what is known to
be paid past a budget; ``unconfirmed`` estimates count against the budget too, so money the provider
may have billed is not spent twice.

Ledgers are activated with ``with ledger.activate():`` and stack: a tuning activates its ledger,
and every ``create`` made under it (including those made inside an ``eval_func``, e.g. by
``generate_assertions``) is charged to it. Activation lives in the run context
(:mod:`ecoptigen.run_context`), so two tunings in one process do not see each other; code that hands
work to threads must run it in a copy of the caller's context (:func:`run_in_context`).

A ledger may have a ``listener``, called (under no lock of the caller's) with every money event of
that ledger: ``("hold", id, usd)``, ``("paid", id, usd)``, ``("free", id, 0.0)``, ``("estimate", id,
usd)``; the tuning's resume journal is one.

Thread safety: every method of :class:`SpendLedger`, :class:`Reservation` and :class:`Estimate` may be
called from any thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ecoptigen import run_context
from ecoptigen.errors import BudgetExceededError, RunStopped, StorageError
from ecoptigen.money.prices import token_usage

__all__ = [
    "Estimate",
    "Listener",
    "ModelUsage",
    "Reservation",
    "SpendLedger",
    "active_ledgers",
    "budget_enforced",
    "collect_results",
    "first_error",
    "held_money_watch",
    "money_held",
    "reserve",
    "run_in_context",
    "wait_for_held_money",
]

T = TypeVar("T")
# Called with every money event of a ledger: (kind, id, usd); kind is hold, paid, free or estimate.
Listener = Callable[[str, int, float], None]


@dataclass
class ModelUsage:
    """Totals for one model on one ledger.

    Attributes:
        cached_tokens: prompt tokens (among ``prompt_tokens``) served from the provider's prompt cache.
        reasoning_tokens: hidden reasoning tokens (among ``completion_tokens``).
        choices: completions received in paid answers (for a per-completion average cost).
        unconfirmed: dollars estimated for attempts that may have been billed but whose answer was lost.
    """

    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    paid: float = 0.0
    saved_by_cache: float = 0.0
    unpriced_requests: int = 0
    choices: int = 0
    unconfirmed: float = 0.0


@dataclass
class SpendLedger:
    """A budget (``None`` for unlimited) with thread-safe accounts of held, paid and unconfirmed dollars.

    Attributes:
        paid: dollars of answered requests (known to be billed).
        reserved: worst cases held for requests in flight.
        unconfirmed: estimates for attempts that may have been billed although their answer was lost.
        listener: called with every money event (see the module docstring).

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
    unconfirmed: float = 0.0
    usage: dict[str, ModelUsage] = field(default_factory=lambda: defaultdict(ModelUsage))
    listener: Listener | None = field(default=None, repr=False)
    first_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: Iterator[int] = field(init=False, repr=False)
    _stopped: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._ids = itertools.count(self.first_id)

    @property
    def committed(self) -> float:
        """Dollars that count against the budget: paid, held for requests in flight, and unconfirmed."""
        return self.paid + self.reserved + self.unconfirmed

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
            RunStopped: the ledger was stopped (:meth:`stop`).
            Exception: what the listener raised when told of the hold (nothing stays held then).
        """
        with self._lock:
            if self._stopped is not None:
                raise RunStopped(f"no new request: {self._stopped}")
            if self.budget is not None and self.committed + amount > self.budget + 1e-12:
                raise BudgetExceededError(
                    f"a request that may cost up to ${amount:.6f} does not fit in the "
                    f"{self.name or 'budget'} (${self.budget:.4f}; ${self.paid:.6f} paid, "
                    f"${self.reserved:.6f} held for requests in flight, ${self.unconfirmed:.6f} unconfirmed). "
                    "Raise the budget, or lower max_tokens / n so requests cost less.",
                    worst_case=amount,
                )
            self.reserved += amount
            number = next(self._ids)
        try:
            self._tell("hold", number, amount)
        except BaseException:
            with self._lock:  # a hold its listener could not record is not taken: the request is not sent
                self.reserved -= amount
            raise
        return Reservation(self, amount, number)

    @property
    def stopped(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped is not None

    def stop(self, reason: str) -> None:
        """Refuse every later :meth:`hold` with :class:`~ecoptigen.errors.RunStopped` (``reason`` says why);
        holds already taken end as usual, so the requests in flight settle."""
        with self._lock:
            self._stopped = self._stopped or reason

    def per_completion(self, model: str) -> float | None:
        """The average dollars per completion of ``model`` in the answers paid so far (``None``: none yet)."""
        with self._lock:
            usage = self.usage.get(model)
            if usage is None or usage.choices == 0:
                return None
            return usage.paid / usage.choices

    def record_cache_hit(self, model: str, would_have_cost: float | None) -> None:
        """Count a cache hit: no money moves, the saving is reported separately."""
        with self._lock:
            usage = self.usage[model]
            usage.cache_hits += 1
            if would_have_cost is not None and not math.isnan(would_have_cost):
                usage.saved_by_cache += would_have_cost

    def _settle(self, held: float, number: int, model: str, cost: float, usage: dict | None, choices: int) -> None:
        with self._lock:
            self.reserved -= held
            entry = self.usage[model]
            entry.requests += 1
            entry.choices += choices
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
        self._tell("paid", number, 0.0 if math.isnan(cost) else cost)

    def _release(self, held: float, number: int) -> None:
        with self._lock:
            self.reserved -= held
        self._tell("free", number, 0.0)

    def _estimate(self, held: float, number: int, model: str, old: float, new: float) -> None:
        with self._lock:
            self.reserved -= held
            self.unconfirmed += new - old
            self.usage[model].unconfirmed += new - old
        self._tell("estimate", number, new)

    def _tell(self, kind: str, number: int, usd: float) -> None:
        if self.listener is not None:
            self.listener(kind, number, usd)

    @contextlib.contextmanager
    def activate(self) -> Iterator[SpendLedger]:
        """Charge every request made in this context (and contexts copied from it) to this ledger."""
        with run_context.activated(ledgers=(*run_context.current().ledgers, self)):
            yield self

    def summary(self) -> dict[str, Any]:
        """A plain-dict snapshot: totals and per-model usage."""
        with self._lock:
            return {
                "budget": self.budget,
                "paid": self.paid,
                "reserved": self.reserved,
                "unconfirmed": self.unconfirmed,
                "saved_by_cache": sum(u.saved_by_cache for u in self.usage.values()),
                "models": {m: vars(u).copy() for m, u in self.usage.items()},
            }


class Reservation:
    """Money held on one ledger for one request attempt; it ends settled, released or kept as an estimate."""

    def __init__(self, ledger: SpendLedger, amount: float, number: int):
        self._ledger = ledger
        self._amount = amount
        self.number = number
        self._open = True
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """Whether the hold has not ended yet."""
        return self._open

    def _close(self) -> bool:
        with self._lock:
            was_open, self._open = self._open, False
        return was_open

    def settle(self, cost: float, model: str = "", usage: dict | None = None, choices: int = 0) -> None:
        """Replace the hold by the real ``cost`` of the answered request (``choices`` completions)."""
        if self._close():
            self._ledger._settle(self._amount, self.number, model, cost, usage, choices)

    def release(self) -> None:
        """Give the hold back: the attempt cannot have been billed."""
        if self._close():
            self._ledger._release(self._amount, self.number)

    def keep_as_estimate(self, amount: float, model: str = "") -> Estimate | None:
        """End the hold of an attempt that may have been billed although its answer was lost, counting
        ``amount`` (a plausible cost, at most the hold) as unconfirmed spending.

        Returns:
            The estimate, to :meth:`~Estimate.revise` when a better figure is known; ``None`` if the
            hold had already ended.
        """
        if not self._close():
            return None
        amount = min(max(amount, 0.0), self._amount)
        self._ledger._estimate(self._amount, self.number, model, 0.0, amount)
        return Estimate(self._ledger, self.number, model, amount)


class Estimate:
    """Unconfirmed spending for one lost attempt, which a later, better figure may revise."""

    def __init__(self, ledger: SpendLedger, number: int, model: str, amount: float):
        self._ledger, self.number, self._model, self.amount = ledger, number, model, amount
        self._lock = threading.Lock()

    def revise(self, amount: float) -> None:
        """Count ``amount`` instead of the current estimate."""
        with self._lock:
            old, self.amount = self.amount, max(amount, 0.0)
        self._ledger._estimate(0.0, self.number, self._model, old, self.amount)


class Reservations:
    """Holds on every active ledger for one request attempt, taken and ended together."""

    def __init__(self, holds: list[Reservation]):
        self._holds = holds

    @property
    def open(self) -> bool:
        """Whether the holds have not ended yet."""
        return any(hold.open for hold in self._holds)

    def settle(self, cost: float, model: str = "", usage: dict | None = None, choices: int = 0) -> None:
        for hold in self._holds:
            hold.settle(cost, model, usage, choices)

    def release(self) -> None:
        for hold in self._holds:
            hold.release()

    def keep_as_estimate(self, amount: float, model: str = "") -> Estimates:
        return Estimates([e for e in (h.keep_as_estimate(amount, model) for h in self._holds) if e is not None])


class Estimates:
    """The estimates of one lost attempt on every ledger it was held on."""

    def __init__(self, estimates: list[Estimate]):
        self._estimates = estimates

    def revise(self, amount: float) -> None:
        for estimate in self._estimates:
            estimate.revise(amount)


def active_ledgers() -> tuple[SpendLedger, ...]:
    """The ledgers requests made in the current context are charged to, outermost first."""
    return run_context.current().ledgers


def reserve(amount: float, extra: tuple[SpendLedger, ...] = ()) -> Reservations:
    """Hold ``amount`` on ``extra`` and every active ledger, all or none.

    Raises:
        BudgetExceededError: when any ledger cannot hold ``amount``; nothing stays held then.
        RunStopped: a ledger was stopped; nothing stays held then.
    """
    holds: list[Reservation] = []
    try:
        for ledger in (*extra, *active_ledgers()):
            holds.append(ledger.hold(amount))
    except BaseException:
        for hold in holds:
            hold.release()
        raise
    return Reservations(holds)


def money_held() -> float:
    """Dollars held for requests in flight on the budgeted ledgers active in this context.

    A request refused while this is above zero may fit once those requests settle (worst-case holds are
    far above real costs): callers wait for it to fall and try again, and give up when it is zero.

    Example:
        >>> ledger = SpendLedger(budget=1.0, name="example")
        >>> with ledger.activate():
        ...     hold = reserve(0.25)
        ...     held = money_held()
        ...     hold.release()
        >>> held, money_held()
        (0.25, 0)
    """
    return sum(ledger.reserved for ledger in active_ledgers() if ledger.budget is not None)


def held_money_watch(*, some: bool = False) -> Callable[[], bool] | None:
    """For a request refused by a budget: whether waiting can help, and until when.

    When no money is held for requests in flight on the budgets active in this context, the refusal is
    final and this returns ``None``. Otherwise it returns a function that is true while the money held
    has not yet settled: the request may fit once it has (try again then). Every "refused for money held
    in flight: wait, then retry" of ecoptigen is this, waited for by :func:`wait_for_held_money` (blocking)
    or by the request pipeline's own sleeps (which an event loop can drive).

    Args:
        some: settled as soon as *less* is held than at the call, rather than nothing: for the parts of
            one request that are sent together, whose siblings hold money until they all end.

    Example:
        >>> held_money_watch() is None
        True
    """
    held = money_held()
    if held <= 1e-12:
        return None
    if some:
        return lambda: money_held() >= held
    return lambda: money_held() > 1e-12


def wait_for_held_money(poll: float = 0.005, *, some: bool = False) -> bool:
    """Wait, blocking, until the money held at the call has settled (:func:`held_money_watch`); ``False``
    at once when none was held (the refusal is final), else ``True`` once it has (try again).

    Args:
        poll: seconds between looks at the money held.
        some: as for :func:`held_money_watch`.

    Example:
        >>> wait_for_held_money()
        False
    """
    still_held = held_money_watch(some=some)
    if still_held is None:
        return False
    while still_held():
        time.sleep(poll)
    return True


def first_error(errors: Sequence[BaseException]) -> BaseException:
    """The error to raise for work that failed in several places: the first error that stops the run
    (:class:`RunStopped`, :class:`StorageError`), else the first :class:`BudgetExceededError` (the budget
    ends the run, whatever else went wrong), else the first error.

    Example:
        >>> first_error([ValueError("bad"), BudgetExceededError("spent")])
        BudgetExceededError('spent')
        >>> first_error([BudgetExceededError("spent"), RunStopped("interrupted")])
        RunStopped('interrupted')
    """
    stopping: list[BaseException] = [e for e in errors if isinstance(e, (RunStopped, StorageError))]
    budget: list[BaseException] = [e for e in errors if isinstance(e, BudgetExceededError)]
    return (stopping or budget or list(errors))[0]


def collect_results(futures: Sequence[Future]) -> list[Any]:
    """The results of ``futures`` in order, once every one has ended, so that no request is left running
    unaccounted; if any failed, :func:`first_error` of their errors is raised.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as pool:
        ...     collect_results([pool.submit(pow, 2, k) for k in (1, 2, 3)])
        [2, 4, 8]
    """
    wait(futures)
    errors = [error for f in futures if (error := f.exception()) is not None]
    if errors:
        raise first_error(errors)
    return [f.result() for f in futures]


def budget_enforced() -> bool:
    """Whether any active ledger has a budget (then every model called must have a price)."""
    return any(ledger.budget is not None for ledger in active_ledgers())


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
