"""What belongs to one run (a ``tune`` or a ``test``), in one place: a :class:`RunContext`.

Its verdict cache, who hears its waits, the spend ledgers its requests are charged to, where its
``create`` calls are forwarded (on a Ray worker) and the level of its logs live in one immutable object
held by one :mod:`contextvars` variable; ``tune``, ``test`` and the Ray worker each activate theirs
(:func:`activated`), and it follows the run onto the threads that run its work in a copy of its
context. Below the request engine, the money and the tuner; imports nothing else of ecoptigen.

Example:
    >>> from ecoptigen.run_context import RunMemory, activated, current
    >>> with activated(memory=RunMemory()):
    ...     current().memory.table("squares", size=10).get_or_compute(3, lambda: 3 * 3)
    9
    >>> current().memory is None
    True
"""

from ecoptigen.run_context._context import Forwarder, RunContext, WaitListener, activated, current
from ecoptigen.run_context._forwarding import (
    current_forwarder,
    forwarding_in_context,
    forwarding_to,
    receive,
    set_receiver,
)
from ecoptigen.run_context._verdict_cache import BoundedTable, RunMemory
from ecoptigen.run_context._waiting import announce, listening

__all__ = [
    "BoundedTable",
    "Forwarder",
    "RunContext",
    "RunMemory",
    "WaitListener",
    "activated",
    "announce",
    "current",
    "current_forwarder",
    "forwarding_in_context",
    "forwarding_to",
    "listening",
    "receive",
    "set_receiver",
]
