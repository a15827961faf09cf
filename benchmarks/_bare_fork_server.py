"""The bare limit of running checks on this machine: a warm fork-server with no isolation at all.

Not a sandbox: it is what running a check costs when nothing is isolated, to measure how far a real
sandbox is from the machine's limit. The server (this file, run as a child process) reads checks from
stdin, one JSON line each (``{"id": 3, "program": "...", "timeout": 3}``), forks a child per check from
its warm self, and the child ``exec``s the program with stdout and stderr sent to ``/dev/null``; exit
status 0 is a pass. It answers each check as its child ends (``{"id": 3, "passed": true}``), any number
in flight, in whatever order they finish: a child's pidfd says when it has ended, so nothing polls.

:class:`BareForkServer` is the client: ``check(program)`` is thread-safe and blocks until the verdict.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any


class BareForkServer:
    """Start the fork-server in a child process; ``check`` sends it one program and waits for the verdict."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._pending: dict[int, Future[bool]] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._reader = threading.Thread(target=self._read_verdicts, daemon=True)
        self._reader.start()

    def check(self, program: str, timeout: float = 3.0) -> bool:
        """Run ``program`` in a forked child of the server; ``True`` if it exits with status 0."""
        verdict: Future[bool] = Future()
        with self._lock:
            check_id = self._next_id
            self._next_id += 1
            self._pending[check_id] = verdict
            self._stdin().write(json.dumps({"id": check_id, "program": program, "timeout": timeout}) + "\n")
            self._stdin().flush()
        return verdict.result(timeout=timeout + 30)

    def close(self) -> None:
        """Stop the server (it finishes the checks in flight first)."""
        self._stdin().close()
        self._proc.wait(timeout=30)
        self._reader.join(timeout=30)

    def __enter__(self) -> BareForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stdin(self) -> Any:
        if self._proc.stdin is None:
            raise RuntimeError("the fork-server has no stdin")
        return self._proc.stdin

    def _read_verdicts(self) -> None:
        if self._proc.stdout is None:
            raise RuntimeError("the fork-server has no stdout")
        for line in self._proc.stdout:
            answer = json.loads(line)
            with self._lock:
                future = self._pending.pop(answer["id"])
            future.set_result(answer["passed"])
        with self._lock:
            for future in self._pending.values():
                future.set_exception(RuntimeError("the fork-server ended with checks in flight"))


def _run_child(program: str, timeout: float) -> None:
    """In the forked child: run the program, exit 0 if it raised nothing (never returns)."""
    status = 1
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        signal.alarm(max(1, round(timeout)))
        exec(compile(program, "<check>", "exec"), {"__name__": "__main__"})
        status = 0
    finally:
        os._exit(status)


def _serve() -> None:
    # Reads the raw descriptor: a buffered stdin could hold a line that select() no longer announces.
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (pid, check id)
    buffer = b""
    reading = True
    while reading or children:
        for key, _ in selector.select():
            if key.fd == 0:
                chunk = os.read(0, 1 << 20)
                if not chunk:
                    reading = False
                    selector.unregister(0)
                    continue
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    request = json.loads(line)
                    pid = os.fork()
                    if pid == 0:
                        _run_child(request["program"], request["timeout"])
                    pidfd = os.pidfd_open(pid)
                    children[pidfd] = (pid, request["id"])
                    selector.register(pidfd, selectors.EVENT_READ)
            else:
                pid, check_id = children.pop(key.fd)
                selector.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                os.write(1, (json.dumps({"id": check_id, "passed": status == 0}) + "\n").encode())


if __name__ == "__main__":
    _serve()
