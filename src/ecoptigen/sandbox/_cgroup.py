"""A pids cgroup per sandbox worker: a hard cap on processes that also works for root.

The kernel does not apply ``RLIMIT_NPROC`` to root, so as root a fork bomb is bounded here, by the
``pids`` controller (cgroup v2, or v1 as on many container hosts). Creating a cgroup needs write
access to the cgroup tree; where there is none, :meth:`PidsCgroup.create` returns ``None`` and the
sandbox relies on its PID namespace and timeout instead (reported in ``docs/sandbox.md``).

A cgroup is named after the process that made it (``ecoptigen-<pid>-<random>``). It is killed and
removed when its worker is (on close, and at exit); one left by a process of ours that died without
cleaning up (``SIGKILL``) is killed and removed the next time any of our processes creates one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from pathlib import Path

__all__ = ["PidsCgroup", "remove_stale"]

_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))


def _writable_pids_root() -> Path | None:
    for root in _ROOTS:
        if (root / "pids.max").exists() or (root / "cgroup.procs").exists():
            controllers = root / "cgroup.controllers"
            if controllers.exists() and "pids" not in controllers.read_text().split():
                continue
            if os.access(root, os.W_OK):
                return root
    return None


class PidsCgroup:
    """One cgroup with ``pids.max``; processes are put in it by a wrapper before anything runs."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, pids_max: int) -> PidsCgroup | None:
        root = _writable_pids_root()
        if root is None:
            return None
        remove_stale(root)
        path = root / f"ecoptigen-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(pids_max))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def wrap(self, command: list[str]) -> list[str]:
        """``command``, started from inside this cgroup (so every process it forks is in it too)."""
        procs = self.path / "cgroup.procs"
        return ["/bin/sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "sh", *command]

    def pids(self) -> list[int]:
        with contextlib.suppress(OSError):
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        return []

    def kill_all(self) -> None:
        for _ in range(5):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        self.kill_all()
        with contextlib.suppress(OSError):
            self.path.rmdir()


def remove_stale(root: Path) -> list[Path]:
    """Kill and remove the cgroups under ``root`` made by processes of ours that no longer exist.

    Returns:
        The cgroups removed.
    """
    removed = []
    for path in root.glob("ecoptigen-*-*"):
        owner = path.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            PidsCgroup(path).remove()
            if not path.exists():
                removed.append(path)
    return removed
