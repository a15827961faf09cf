"""Why nothing seems to happen: waits announced to whoever shows progress.

A request that waits before retrying (a rate limit, a server error, a lost connection) calls
:func:`announce`; a progress display that wants to show it listens for the duration of its run with
``with listening(callback):``. Listeners live in a :mod:`contextvars` variable, so they reach the pool
threads a tuning runs its requests on (those run in copies of the tuning's context) and two tunings in
one process only hear their own waits.

Example:
    >>> heard = []
    >>> with listening(lambda cause, seconds: heard.append((cause, seconds))):
    ...     announce("rate limit", 60.0)
    >>> heard
    [('rate limit', 60.0)]
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ecoptigen.run_context._context import WaitListener, activated, current

__all__ = ["WaitListener", "announce", "listening"]


@contextlib.contextmanager
def listening(listener: WaitListener) -> Iterator[None]:
    """Call ``listener(cause, seconds)`` for every wait announced in this context."""
    with activated(wait_listeners=(*current().wait_listeners, listener)):
        yield


def announce(cause: str, seconds: float) -> None:
    """Tell every listener of the current context that a wait of ``seconds`` starts, because of ``cause``."""
    for listener in current().wait_listeners:
        listener(cause, seconds)
