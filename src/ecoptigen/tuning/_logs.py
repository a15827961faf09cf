"""The tuning's logs: ``logging_level`` applies to the run that asked for it, never to the process.

FLAML set its logger's level for the duration of a tuning, so two tunings in one process (or a
tuning and the rest of the program) changed each other's logging. Here a run's level lives in a
run context (:mod:`ecoptigen.run_context`) that follows the run onto its worker threads; the tuning modules log
through a :class:`RunLogger`, which inside a run emits exactly the records at or above that level to
the ``ecoptigen.tuning`` logger's handlers (and its ancestors'), and outside a run is the plain
logger. No logger's level is ever changed.

Example:
    >>> import logging
    >>> log = RunLogger("ecoptigen.tuning")
    >>> with logging_level(logging.ERROR):
    ...     log.isEnabledFor(logging.WARNING)
    False
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecoptigen import run_context

__all__ = ["RunLogger", "logging_level", "quiet_third_party"]


class RunLogger:
    """A logger whose level, inside a run, is the run's ``logging_level``.

    Args:
        name: the :mod:`logging` logger whose handlers get the records.
    """

    def __init__(self, name: str):
        self.logger = logging.getLogger(name)

    def isEnabledFor(self, level: int) -> bool:  # logging's name
        """Whether a record at ``level`` would be emitted here and now."""
        run_level = run_context.current().log_level
        if run_level is None:
            return self.logger.isEnabledFor(level)
        return level >= run_level and not self.logger.disabled

    def log(self, level: int, msg: str, *args: Any, exc_info: Any = None) -> None:
        """Log ``msg % args`` at ``level`` (``exc_info`` as :meth:`logging.Logger.log` takes it)."""
        if run_context.current().log_level is None:
            self.logger.log(level, msg, *args, exc_info=exc_info, stacklevel=3)
            return
        if not self.isEnabledFor(level):
            return
        filename, line, function, _ = self.logger.findCaller(stacklevel=3)
        error = sys.exc_info() if exc_info is True else exc_info or None
        self.logger.handle(self.logger.makeRecord(self.logger.name, level, filename, line, msg, args, error, function))

    def debug(self, msg: str, *args: Any) -> None:
        self.log(logging.DEBUG, msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self.log(logging.INFO, msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self.log(logging.WARNING, msg, *args)

    def error(self, msg: str, *args: Any) -> None:
        self.log(logging.ERROR, msg, *args)


@contextmanager
def logging_level(level: int) -> Iterator[None]:
    """Make ``level`` the tuning logs' level in the current context (and the work it hands to threads)."""
    with run_context.activated(log_level=level):
        yield


class _QuietWhenAsked(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not run_context.current().quiet_third_party


_QUIET_FILTER = _QuietWhenAsked()


@contextmanager
def quiet_third_party(name: str) -> Iterator[None]:
    """Drop the records below WARNING that logger ``name`` gives in the current context (e.g. optuna
    announcing each study BlendSearch creates), without changing that logger's level."""
    logger = logging.getLogger(name)
    # On the logger for its own records, and on its handlers for its children's (optuna logs from
    # ``optuna.storages._in_memory``; a logger's filters do not see records propagated from below).
    for target in (logger, *logger.handlers):
        if _QUIET_FILTER not in target.filters:
            target.addFilter(_QUIET_FILTER)  # idempotent, and a no-op outside quiet contexts
    with run_context.activated(quiet_third_party=True):
        yield
