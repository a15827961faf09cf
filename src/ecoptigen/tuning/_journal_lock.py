"""One tuning per journal at a time: an exclusive lock on ``<journal>.lock``, held for the whole run.

Two runs appending to one journal would each spend the budget the other had already spent. So a run
takes an exclusive ``flock`` on ``<journal>.lock`` before it reads the journal, and keeps it until it
ends; a second run on the same journal is refused at once, before any request, with the pid, host and
start time of the run that holds it (written into the lock file by that run).

The lock is the operating system's: it is released when its file is closed, which the kernel does when
the process dies however it dies (a kill, a crash), so a dead run never blocks a later one. The lock
file itself stays (removing it would let a third run lock a new file while the second still holds the
old one); what it says about a run that is gone is only read when the lock is held by a live one.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "tune.jsonl")
    >>> with JournalLock.acquire(path):
    ...     try:
    ...         JournalLock.acquire(path)
    ...     except ConfigurationError as refused:
    ...         print("refused:", "is in use by" in str(refused))
    refused: True
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
from typing import IO, Any

from ecoptigen.errors import ConfigurationError

__all__ = ["JournalLock"]


class JournalLock:
    """The exclusive lock of one journal; :meth:`release` (or leaving a ``with`` block) gives it back."""

    def __init__(self, path: str, file: IO[str] | None):
        self.path = path
        self._file = file

    @classmethod
    def acquire(cls, journal: str | None) -> JournalLock:
        """Lock ``journal`` for this run (``None``: no journal, nothing to lock).

        Raises:
            ConfigurationError: another run holds the lock (the message names it and what to do).
        """
        if journal is None:
            return cls("", None)
        path = journal + ".lock"
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        file = open(path, "a+", encoding="utf-8")  # noqa: SIM115  # held open for the whole run, closed by release()
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = _describe(file.read())
            file.close()
            raise ConfigurationError(
                f"{journal} is in use by another tuning ({holder}); two runs on one journal would each spend "
                "what the other spent. Wait for that run to end (or stop it), or give this run another "
                "log_file_name."
            ) from None
        except BaseException:
            file.close()
            raise
        file.seek(0)
        file.truncate()
        started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        file.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": started}) + "\n")
        file.flush()
        return cls(path, file)

    def release(self) -> None:
        """Give the lock back (closing the file releases it); releasing twice does nothing."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JournalLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(text: str) -> str:
    """What the lock file says about the run holding it, for the refusal's message."""
    try:
        info = json.loads(text)
        return f"pid {info['pid']} on host {info['host']}, started {info['started']}"
    except (ValueError, TypeError, KeyError):
        return "a run that has not written its pid yet"
