"""One run's context: everything that belongs to one ``tune`` or ``test`` and must follow it onto threads.

A run needs a few things that its code, many calls deep and on many threads, must find without them
being passed along: the verdicts it remembers, who hears its waits, the ledgers its requests are
charged to, where its ``create`` calls go (a Ray worker forwards them to the driver), the level of its
logs. Kept in module globals they would leak
from one tuning into another; so they live in one immutable :class:`RunContext` held by one
:mod:`contextvars` variable. A thread pool that runs a step's work in a copy of the caller's context
(as the tuner's does) carries the whole of it; two runs in one process each see only their own.

:func:`current` reads it; :func:`activated` makes a changed copy current for the duration of a block
(``tune``, ``test`` and the Ray worker each activate theirs; a progress display adds its listener the
same way).

Example:
    >>> with activated(log_level=40):
    ...     current().log_level
    40
    >>> current().log_level is None
    True
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecoptigen.run_context._verdict_cache import RunMemory

__all__ = ["Forwarder", "RunContext", "WaitListener", "activated", "current"]

# listener(cause, seconds): a wait of ``seconds`` starts because of ``cause``
WaitListener = Callable[[str, float], None]
# forwarder(chat, context, kwargs) -> the response (or raises what create raised on the driver)
Forwarder = Callable[[bool, Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class RunContext:
    """What belongs to the run the caller is part of. Immutable: change it with :func:`activated`.

    Attributes:
        memory: what the run remembers (e.g. sandbox verdicts), gone when it ends; ``None`` outside a run.
        wait_listeners: called with ``(cause, seconds)`` for every wait announced in the run.
        ledgers: the spend ledgers active here, innermost last (see ``ecoptigen.money.ledger``).
        forwarder: where the run's ``create`` calls go instead of the network (a Ray worker's relay).
        log_level: the level of the tuning's logs in this run; ``None``: the logger's own level.
        quiet_third_party: drop third-party records below WARNING (see ``tuning._logs.quiet_third_party``).
    """

    memory: RunMemory | None = None
    wait_listeners: tuple[WaitListener, ...] = ()
    ledgers: tuple[Any, ...] = ()
    forwarder: Forwarder | None = None
    log_level: int | None = None
    quiet_third_party: bool = False


_OUTSIDE_ANY_RUN = RunContext()
_CURRENT: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("ecoptigen_run_context", default=None)


def current() -> RunContext:
    """The context of the run the caller is part of (an empty one outside any run)."""
    return _CURRENT.get() or _OUTSIDE_ANY_RUN


@contextlib.contextmanager
def activated(**changes: Any) -> Iterator[RunContext]:
    """Make the current context with ``changes`` (fields of :class:`RunContext`) current until the block ends.

    Raises:
        TypeError: a change names no field of :class:`RunContext`.
    """
    context = dataclasses.replace(current(), **changes)
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
