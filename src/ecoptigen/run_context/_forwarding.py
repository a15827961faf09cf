"""Sending ``create`` calls to another process that holds the key, the cache and the budget.

A process that evaluates for a tuning running elsewhere (a Ray worker, see :mod:`ecoptigen.distributed`)
has no API key. While it runs eval_funcs, every ``oai.Completion.create`` / ``oai.ChatCompletion.create``
made in it -- from any thread eval_func starts -- goes to the forwarder installed here, which has the
driver make the request. The forwarder is process-wide on purpose: a request from a thread eval_func
started must not slip past it to the network. Such a process may run several eval_func calls at once,
one per thread: each call names its own forwarder in its run context (:func:`forwarding_in_context`),
which its requests use; a thread that eval_func starts without copying its context falls back to the
process-wide one.

On the driver, :func:`receive` makes a forwarded call with the ``create`` that :mod:`ecoptigen.oai`
registers when it is imported (:func:`set_receiver`), so this module -- and the distributed code that
uses it -- never imports ``oai``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from ecoptigen.run_context._context import Forwarder, activated, current

__all__ = ["Forwarder", "current_forwarder", "forwarding_in_context", "forwarding_to", "receive", "set_receiver"]

_forwarder: Forwarder | None = None
_receiver: Forwarder | None = None
_lock = threading.Lock()


def set_receiver(receiver: Forwarder) -> None:
    """Make ``receiver(chat, context, kwargs)`` the call that :func:`receive` makes (``ecoptigen.oai`` does)."""
    global _receiver
    _receiver = receiver


def receive(chat: bool, context: Any, kwargs: dict[str, Any]) -> Any:
    """Make a forwarded ``create`` call here, as ``oai.Completion.create`` (or ``ChatCompletion``'s) would."""
    if _receiver is None:  # importing the ecoptigen package imports ecoptigen.oai, which registers it
        raise RuntimeError("no receiver for forwarded create calls: ecoptigen.oai was not imported")
    return _receiver(chat, context, kwargs)


def current_forwarder() -> Forwarder | None:
    """Where ``create`` calls made here go instead of the network, if anywhere: this context's forwarder,
    else the process's."""
    return current().forwarder or _forwarder


@contextlib.contextmanager
def forwarding_to(forwarder: Forwarder) -> Iterator[None]:
    """Send every ``create`` call made in this process to ``forwarder`` until the block ends."""
    global _forwarder
    with _lock:
        previous, _forwarder = _forwarder, forwarder
    try:
        yield
    finally:
        with _lock:
            _forwarder = previous


@contextlib.contextmanager
def forwarding_in_context(forwarder: Forwarder) -> Iterator[None]:
    """Send the ``create`` calls made in this context (this thread, and threads started in a copy of its
    context) to ``forwarder`` until the block ends, in preference to the process-wide forwarder.

    Example:
        >>> with forwarding_in_context(lambda chat, context, kwargs: "answered elsewhere"):
        ...     current_forwarder()(False, None, {})
        'answered elsewhere'
        >>> current_forwarder() is None
        True
    """
    with activated(forwarder=forwarder):
        yield
