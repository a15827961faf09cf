"""Warm sandbox workers: a long-lived isolated process (the zygote) per slot, forking a child per run.

Starting bubblewrap and a Python interpreter takes tens of milliseconds; forking a warm one takes a
fraction of one. The host side below enforces every limit that must not depend on the sandboxed
side: a wall-clock deadline per run (a timer here, usable from any thread), and killing the whole
worker (its process group, and its cgroup when there is one) when it does not answer in time or
dies. A killed worker is replaced by a fresh one on the next run. Workers are started by one
long-lived thread (``_launch.py``), so they can die with this process.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.resources
import itertools
import json
import logging
import math
import os
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from ecoptigen.errors import ConfigurationError, SandboxError
from ecoptigen.sandbox._base import Check, RunResult, Verdict
from ecoptigen.sandbox._cgroup import PidsCgroup
from ecoptigen.sandbox._launch import Launch, spawn

__all__ = ["ZYGOTE_PARTS", "ZYGOTE_SOURCE", "WorkerPool", "assemble_worker", "job_limits"]

logger = logging.getLogger("ecoptigen.sandbox")

# The worker's script, in parts small enough to read; run as one script (``python -c``) in the sandbox.
ZYGOTE_PARTS = ("_zygote_values.py", "_zygote_harness.py", "_zygote_monitor.py", "_zygote.py")


def assemble_worker(read: Callable[[str], str | None]) -> str:
    """The worker's script from its parts (``read(name)``; ``None`` for a part that does not exist), in
    order, without the imports that join them as modules (in the script they share one namespace)."""
    joining = re.compile(r"^from ecoptigen\.sandbox\._zygote\w* import [^\n]*\n", re.MULTILINE)
    return "\n\n".join(joining.sub("", text) for name in ZYGOTE_PARTS if (text := read(name)) is not None)


ZYGOTE_SOURCE = assemble_worker(lambda name: importlib.resources.files("ecoptigen.sandbox").joinpath(name).read_text())
_START_TIMEOUT = 30.0
_GRACE = 2.0  # seconds the zygote gets, past a run's timeout, to report before it is killed
MEMORY_LIMIT = 1 << 30
FILE_SIZE_LIMIT = 16 << 20


def job_limits(timeout: float) -> dict[str, int]:
    """Hard resource limits for one run: the program cannot raise them (no capabilities)."""
    limits = {
        "RLIMIT_AS": MEMORY_LIMIT,
        "RLIMIT_CPU": math.ceil(timeout) + 1,
        "RLIMIT_FSIZE": FILE_SIZE_LIMIT,
        "RLIMIT_NOFILE": 256,
        "RLIMIT_CORE": 0,
    }
    if os.geteuid() != 0:  # the kernel ignores RLIMIT_NPROC for root; a pids cgroup covers that case
        limits["RLIMIT_NPROC"] = 1024
    return limits


class _Worker:
    def __init__(self, launch: Launch, env: dict[str, str], cwd: str | None, pids_max: int):
        self._cgroup = PidsCgroup.create(pids_max)
        command = launch.argv
        if self._cgroup is not None:
            launch = Launch(self._cgroup.wrap(command), launch.pass_fds)
        self._proc = spawn(
            launch,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._buffer = b""
        ready = self._read_line(time.monotonic() + _START_TIMEOUT)
        if ready is None:
            self.kill()
            raise SandboxError(f"the sandbox worker did not start: {' '.join(command[:3])} ...")
        if not json.loads(ready).get("hardened"):
            logger.warning("the sandbox worker could not make itself undumpable (prctl): a program may tamper with it")

    def _read_line(self, deadline: float) -> bytes | None:
        assert self._proc.stdout is not None  # created with stdout=PIPE
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _write(self, data: bytes, deadline: float) -> bool:
        """Send ``data`` by ``deadline``. The zygote passes a test on to the harness as it reads it, so a
        program that stops the harness can stall this write: it must not block past the run's time."""
        assert self._proc.stdin is not None  # created with stdin=PIPE
        fd = self._proc.stdin.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        try:
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                    return False
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(fd, view) :]
        except OSError:
            return False
        return True

    def run(self, job: dict, timeout: float, test: bytes = b"") -> dict | None:
        """The zygote's answer, or ``None`` if it did not answer in time or answered something else
        than this job's answer (then the worker is killed: it cannot be trusted any more)."""
        header = json.dumps(job).encode()
        deadline = time.monotonic() + timeout + _GRACE
        if not self._write(b"%011d %011d\n" % (len(header), len(test)) + header + test, deadline):
            self.kill()
            return None
        line = self._read_line(deadline)
        try:
            answer = json.loads(line) if line is not None else None
        except ValueError:
            answer = None
        if not (isinstance(answer, dict) and answer.get("id") == job["id"]) or self._buffer:
            self.kill()
            return None
        return answer

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        if self._cgroup is not None:
            self._cgroup.kill_all()
        with contextlib.suppress(Exception):
            self._proc.wait(timeout=10)
        for stream in (self._proc.stdin, self._proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        if self._cgroup is not None:
            self._cgroup.remove()


class WorkerPool:
    """Up to ``size`` warm workers shared by many threads.

    Args:
        command: how to start one zygote (e.g. ``bwrap ... python -I -S -c <zygote>``).
        isolation: the name reported in every result.
        env, cwd: the environment and working directory of the command.
        size: workers at most (runs beyond that wait for a free one).
    """

    def __init__(
        self,
        command: Callable[[], Launch],
        isolation: str,
        env: dict[str, str],
        cwd: Callable[[], str | None] = lambda: None,
        size: int | None = None,
        pids_max: int = 256,
    ):
        self.isolation = isolation
        self._command, self._env, self._cwd, self._pids_max = command, env, cwd, pids_max
        self._slots = threading.BoundedSemaphore(size or 2 * max(2, os.cpu_count() or 2))
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()  # idle or running: every one is killed on close
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closed = False

    def _take(self) -> _Worker:
        """A live worker; the caller holds a slot, so at most ``size`` workers exist."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox was closed")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                self._all.discard(worker)
                worker.kill()
        worker = _Worker(self._command(), self._env, self._cwd(), self._pids_max)
        with self._lock:
            self._all.add(worker)
            closed = self._closed
        if closed:
            self._give_back(worker)
            raise SandboxError("the sandbox was closed")
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and not self._closed:
                self._idle.append(worker)
                return
            self._all.discard(worker)
        worker.kill()

    def run(
        self,
        code: str,
        timeout: float,
        calls: list[str] | None = None,
        check: Check | None = None,
        *,
        files: dict[str, bytes] | None = None,
        collect_files: bool = False,
        filename: str | None = None,
    ) -> RunResult:
        """Run ``code`` in a fresh child of a warm worker; see :class:`~ecoptigen.sandbox.Sandbox`."""
        if isinstance(timeout, bool) or not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if check is not None and calls is not None:
            raise ConfigurationError("give calls (strict mode) or a check, not both")
        job: dict = {"id": next(self._ids), "code": code, "timeout": timeout, "limits": job_limits(timeout)}
        if filename:
            job["filename"] = filename
        if files:
            job["files"] = {name: base64.b64encode(data).decode() for name, data in files.items()}
        if collect_files:
            job["collect_files"] = True
        if check is not None:
            job.update(entry_point=check.entry_point, prelude=check.prelude)
            return self._run(job, timeout, check.test.encode())
        job["calls"] = calls
        return self._run(job, timeout)

    def _run(self, job: dict, timeout: float, test: bytes = b"") -> RunResult:
        with self._slots:
            worker = self._take()
            start = time.monotonic()
            try:
                answer = worker.run(job, timeout, test)
            finally:
                self._give_back(worker)
        if answer is None:
            # The worker went silent, died or misbehaved (the program's doing): not a pass.
            verdict: Verdict = "timeout" if time.monotonic() - start >= timeout else "failed"
            return RunResult(verdict, None, "", False, self.isolation, time.monotonic() - start)
        return RunResult(
            verdict=answer["verdict"],
            exit_code=answer["exit_code"],
            output=answer["output"],
            truncated=answer["truncated"],
            isolation=self.isolation,
            duration=answer["duration"],
            values=answer["values"],
            judged_apart=bool(test),
            files={name: base64.b64decode(data) for name, data in (answer.get("files") or {}).items()},
            files_left_out=int(answer.get("files_left_out") or 0),
        )

    def close(self) -> None:
        """Kill every worker, idle or running (a run in progress then fails)."""
        with self._lock:
            self._closed = True
            workers, self._idle, self._all = list(self._all), [], set()
        for worker in workers:
            worker.kill()
