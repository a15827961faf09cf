"""Sending ``create`` calls to another process that holds the key, the cache and the budget.

A process that evaluates for a tuning running elsewhere (a Ray worker, see :mod:`ecoptigen.distributed`)
has no API key. While it runs an eval_func, every ``oai.Completion.create`` / ``oai.ChatCompletion.create``
made in it -- from any thread eval_func starts -- goes to the forwarder installed here, which has the
driver make the request. The forwarder is process-wide on purpose: such a process runs one eval_func
at a time, and a request from a thread eval_func started must not slip past it to the network.

On the driver, :func:`receive` makes a forwarded call with the ``create`` that :mod:`ecoptigen.oai`
registers when it is imported (:func:`set_receiver`), so this module -- and the distributed code that
uses it -- never imports ``oai``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Forwarder", "current_forwarder", "forwarding_to", "receive", "set_receiver"]

# forwarder(chat, context, kwargs) -> the response (or raises what create raised on the driver)
Forwarder = Callable[[bool, Any, dict[str, Any]], Any]

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
    """Where ``create`` calls made in this process go instead of the network, if anywhere."""
    return _forwarder


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
