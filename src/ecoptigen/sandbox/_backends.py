"""The sandbox backends, strongest first: bubblewrap, Docker, and a weak process fallback."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ecoptigen.errors import SandboxError
from ecoptigen.sandbox._workers import ZYGOTE_SOURCE, WorkerPool

__all__ = ["bubblewrap_pool", "bubblewrap_usable", "docker_pool", "docker_usable", "process_pool"]

BUBBLEWRAP = "bubblewrap (no network, private /tmp, read-only system, no capabilities, own PID namespace)"
DOCKER = "docker (no network, read-only root, no capabilities)"
PROCESS = "process (WEAK: separate process with a clean environment, but your files and network are reachable)"
_TMPFS_BYTES = 64 << 20
_MINIMAL_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


def _interpreter() -> tuple[str, str]:
    """The base interpreter (not a virtualenv's) and its installation prefix: all a program needs."""
    executable = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    return executable, os.path.realpath(sys.base_prefix)


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def bubblewrap_command() -> list[str]:
    return [*_bubblewrap_options(), "--", _interpreter()[0], "-I", "-S", "-c", ZYGOTE_SOURCE, "namespace"]


def _bubblewrap_options() -> list[str]:
    _, prefix = _interpreter()
    binds = _system_binds()
    if not prefix.startswith("/usr/"):
        binds += ["--ro-bind", prefix, prefix]
    return [
        "bwrap",
        "--unshare-all",
        *_hardening_flags(),
        # Not --die-with-parent: the kernel ties it to the *thread* that started bwrap, so a worker
        # started from a short-lived pool thread would die with that thread. The worker exits by itself
        # when our end of its stdin closes (we exited), after at most its current run's timeout.
        "--new-session",
        "--cap-drop", "ALL",
        "--clearenv",
        *[arg for key, value in _MINIMAL_ENV.items() for arg in ("--setenv", key, value)],
        "--setenv", "HOME", "/tmp",
        "--hostname", "sandbox",
        *binds,
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(_TMPFS_BYTES), "--tmpfs", "/tmp",
        "--chdir", "/tmp",
    ]  # fmt: skip


# Hardening that older bubblewrap releases lack; each is used where this bwrap and kernel accept it.
_OPTIONAL_FLAGS = (
    # No nested user namespace: in one, a program holds every capability (not over us, but with more
    # kernel to attack).
    ("--unshare-user", "--disable-userns"),
    # The worker itself is PID 1: no bubblewrap init holding our pipes where a program could reach them
    # through /proc, and the kernel ignores the signals a program sends to its PID 1.
    ("--as-pid-1",),
)


@functools.cache
def _hardening_flags() -> tuple[str, ...]:
    """The :data:`_OPTIONAL_FLAGS` this bubblewrap accepts (probed once)."""
    accepted: list[str] = []
    for flags in _OPTIONAL_FLAGS:
        probe = ["bwrap", "--unshare-all", *flags, "--ro-bind", "/", "/", "--", "/bin/true"]
        try:
            if subprocess.run(probe, capture_output=True, timeout=30).returncode == 0:
                accepted += flags
        except (OSError, subprocess.TimeoutExpired):
            pass
    return tuple(accepted)


def bubblewrap_usable() -> str | None:
    """``None`` when bubblewrap can create a sandbox here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
    probe = [*_bubblewrap_options(), "--", _interpreter()[0], "-I", "-S", "-c", "print('ok')"]
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if result.returncode != 0 or result.stdout.strip() != "ok":
        return f"bubblewrap cannot create namespaces here: {result.stderr.strip()[:300]}"
    return None


def bubblewrap_pool(size: int | None = None) -> WorkerPool:
    return WorkerPool(bubblewrap_command, BUBBLEWRAP, env=dict(_MINIMAL_ENV), size=size)


DOCKER_IMAGE = os.environ.get("ECOPTIGEN_SANDBOX_IMAGE", "python:3.11-slim")


def docker_usable() -> str | None:
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker did not answer: {exc}"
    if result.returncode != 0:
        return "no Docker engine is running (docker info failed)"
    return None


def docker_pool(image: str = DOCKER_IMAGE, size: int | None = None) -> WorkerPool:
    def command() -> list[str]:
        return [
            "docker", "run", "--rm", "-i", "--network", "none", "--read-only",
            "--tmpfs", f"/tmp:size={_TMPFS_BYTES}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--pids-limit", "256", "--memory", "1g", "-w", "/tmp", image,
            "python", "-I", "-S", "-c", ZYGOTE_SOURCE, "namespace",
        ]  # fmt: skip

    return WorkerPool(command, f"{DOCKER} image {image}", env=dict(os.environ), size=size)


def process_pool(size: int | None = None) -> WorkerPool:
    """The weak fallback: no namespaces. Only used when the caller explicitly allows it."""
    executable, _ = _interpreter()
    root = Path(tempfile.gettempdir()) / "ecoptigen-sandbox"
    root.mkdir(exist_ok=True)
    _remove_stale(root)

    def cwd() -> str:
        return tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root)

    def command() -> list[str]:
        return [executable, "-I", "-S", "-c", ZYGOTE_SOURCE, "session"]

    return WorkerPool(command, PROCESS, env=dict(_MINIMAL_ENV), cwd=cwd, size=size)


def _remove_stale(root: Path) -> None:
    """Delete work folders left by processes that no longer exist (a crash leaves them behind)."""
    for folder in root.iterdir():
        owner = folder.name.split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def unavailable(what: str, reason: str) -> SandboxError:
    if what == "Docker":
        fix = (
            "Start a Docker engine, or leave use_docker out (or pass use_docker=False) to run in the "
            "bubblewrap sandbox."
        )
    else:
        fix = (
            "Install it, or allow the weaker process sandbox explicitly: set the environment variable "
            "ECOPTIGEN_ALLOW_WEAK_SANDBOX=1 (every function that runs code honours it; "
            "ecoptigen.sandbox.get_sandbox(allow_weak=True) does too). It does not keep generated code "
            "away from your files or the network."
        )
    return SandboxError(f"{what} is not available: {reason}. {fix}")
