"""Running untrusted generated code: isolated, limited, and with a verdict it cannot fake.

:func:`get_sandbox` returns the strongest backend available here and says which (logged once, and
in every :class:`RunResult`). Security model and per-platform guarantees: ``docs/sandbox.md``.

Example:
    >>> from ecoptigen.sandbox import get_sandbox
    >>> result = get_sandbox().run("assert sum([1, 2]) == 3", timeout=5)
    >>> result.verdict
    'passed'
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from ecoptigen.errors import SandboxError
from ecoptigen.sandbox import _backends
from ecoptigen.sandbox._backends import bubblewrap_usable
from ecoptigen.sandbox._base import Check, RunResult, Sandbox, Verdict
from ecoptigen.sandbox._folders import folder_files, write_files
from ecoptigen.sandbox._parse import parse
from ecoptigen.sandbox._strict import StrictTest, strict_test
from ecoptigen.sandbox._workers import WorkerPool

__all__ = [
    "Check",
    "RunResult",
    "Sandbox",
    "StrictTest",
    "Verdict",
    "bubblewrap_usable",
    "folder_files",
    "get_sandbox",
    "parse",
    "strict_test",
    "write_files",
]

logger = logging.getLogger("ecoptigen.sandbox")

_pools: dict[str, WorkerPool] = {}
_lock = threading.Lock()


def _weak_allowed(allow_weak: bool | None) -> bool:
    if allow_weak is not None:
        return allow_weak
    return os.environ.get("ECOPTIGEN_ALLOW_WEAK_SANDBOX", "") not in ("", "0", "false", "no")


def get_sandbox(use_docker: bool | str = False, allow_weak: bool | None = None, slots: int | None = None) -> Sandbox:
    """The sandbox to run generated code in: bubblewrap if it works here, else an error.

    Args:
        use_docker: not supported (there is no Docker backend); any true value raises. Leave it out.
        allow_weak: when bubblewrap is unavailable, fall back to a plain separate process (clean
            environment, resource limits, own temp folder, but your files and the network stay
            reachable). Default: the environment variable ``ECOPTIGEN_ALLOW_WEAK_SANDBOX``.
        slots: programs run at once by this process's sandbox (default twice the cores); used by the
            first call that creates it (a Ray worker sharing its node's cores with others asks for fewer).

    Raises:
        SandboxError: the isolation asked for is not available; the message says what to install.
    """
    if use_docker:
        raise SandboxError(DOCKER_UNSUPPORTED)
    kind = "bubblewrap"
    with _lock:
        if kind in _pools:
            return _pools[kind]
        reason = _backends.bubblewrap_usable()
        if reason is None:
            pool = _backends.bubblewrap_pool(slots)
        elif _weak_allowed(allow_weak):
            kind = "process"
            pool = _pools.get(kind) or _backends.process_pool(slots)
            logger.warning("%s; running generated code with WEAK isolation as allowed", reason)
        else:
            raise _backends.unavailable("bubblewrap", reason)
        _pools[kind] = pool
        logger.info("generated code runs in: %s", pool.isolation)
        return pool


DOCKER_UNSUPPORTED = (
    "Docker is not supported: ecoptigen has no Docker backend (it could not be tested against a Docker "
    "engine, and no untested sandbox is offered). Leave use_docker out: generated code runs in the "
    "bubblewrap sandbox (apt-get install bubblewrap), which isolates it without a Docker engine."
)


def weak_sandbox() -> Sandbox:
    """The weak process backend, whatever else is available (for tests and comparisons)."""
    with _lock:
        if "process" not in _pools:
            _pools["process"] = _backends.process_pool()
        return _pools["process"]


@atexit.register
def _close_all() -> None:
    for pool in list(_pools.values()):
        pool.close()


__all__ += ["SandboxError", "weak_sandbox"]
