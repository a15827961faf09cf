"""Memory that belongs to one run: what a tuning learns while it runs dies with it.

A tuning meets the same work again and again -- the same completion checked against the same test
across the samples of a request, the instances of a step and the trials of a model -- so remembering
answers saves real time. Remembered in module globals, those answers would outlive the run, leak from
one tuning into another and make tests depend on their order. Instead, ``tune`` and ``test`` each
activate a fresh :class:`RunMemory` for their duration (a :mod:`contextvars` variable, so it follows
the run onto its worker threads); code that wants to remember asks :func:`current` for it and
remembers nothing outside a run.

Example:
    >>> with RunMemory().activate():
    ...     table = current().table("squares", size=10)
    ...     table.get_or_compute(3, lambda: 3 * 3)
    9
    >>> current() is None
    True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from ecoptigen.run_context._context import activated
from ecoptigen.run_context._context import current as current_context

__all__ = ["BoundedTable", "RunMemory", "current"]


class BoundedTable:
    """A thread-safe table of at most ``size`` answers; the least recently used is forgotten first."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The remembered answer for ``key``, else ``compute()`` (outside the lock), remembered."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class RunMemory:
    """Named :class:`BoundedTable` s for the duration of one run. Thread-safe."""

    def __init__(self) -> None:
        self._tables: dict[str, BoundedTable] = {}
        self._lock = threading.Lock()

    def table(self, name: str, size: int) -> BoundedTable:
        """The table called ``name`` (created on first use with room for ``size`` answers)."""
        with self._lock:
            return self._tables.setdefault(name, BoundedTable(size))

    @contextmanager
    def activate(self) -> Iterator[RunMemory]:
        """Make this the memory of the current context (and of work it hands to other threads)."""
        with activated(memory=self):
            yield self


def current() -> RunMemory | None:
    """The memory of the run the caller is part of, or ``None`` outside any run."""
    return current_context().memory
