"""Starting sandbox workers from one thread that lives as long as this process.

bubblewrap's ``--die-with-parent`` asks the kernel for a signal when the process that started it
ends -- and the kernel means the *thread* that started it: a worker started from a short-lived pool
thread would be killed when that thread ends. So every worker is started by one long-lived thread
(:func:`spawn`), and the workers die with this process, however it ends (even by ``SIGKILL``).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Launch", "spawn"]


@dataclass(frozen=True)
class Launch:
    """How to start one worker.

    Attributes:
        argv: the command.
        pass_fds: descriptors the command reads (e.g. bubblewrap's seccomp filter); closed here once
            the worker has started.
    """

    argv: list[str]
    pass_fds: tuple[int, ...] = field(default=())


_requests: queue.SimpleQueue[tuple[Future, dict[str, Any]]] = queue.SimpleQueue()
_started = threading.Lock()
_thread: threading.Thread | None = None


def _serve() -> None:
    while True:
        future, options = _requests.get()
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(subprocess.Popen(**options))
            except BaseException as exc:  # handed to the caller, who raises it
                future.set_exception(exc)


def spawn(launch: Launch, **options: Any) -> subprocess.Popen:
    """``subprocess.Popen(launch.argv, pass_fds=launch.pass_fds, **options)``, started by the
    long-lived launcher thread; ``launch``'s descriptors are closed afterwards."""
    global _thread
    with _started:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_serve, name="ecoptigen-sandbox-launcher", daemon=True)
            _thread.start()
    future: Future[subprocess.Popen] = Future()
    _requests.put((future, {"args": launch.argv, "pass_fds": launch.pass_fds, **options}))
    try:
        return future.result()
    finally:
        for descriptor in launch.pass_fds:
            os.close(descriptor)
