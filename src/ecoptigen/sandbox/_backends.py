"""The sandbox backends, strongest first: bubblewrap, and a weak process fallback.

There is no Docker backend: it was never run against a real engine, and an untested sandbox is not
offered (``docs/sandbox.md``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ecoptigen.errors import SandboxError
from ecoptigen.sandbox._launch import Launch
from ecoptigen.sandbox._seccomp import seccomp_descriptor, seccomp_unavailable
from ecoptigen.sandbox._workers import ZYGOTE_SOURCE, WorkerPool

__all__ = ["bubblewrap_pool", "bubblewrap_usable", "process_pool"]

BUBBLEWRAP = (
    "bubblewrap (no network, unprivileged user, no capabilities, seccomp filter, read-only system, "
    "own PID namespace, fresh size-capped /tmp per run)"
)
PROCESS = "process (WEAK: separate process with a clean environment, but your files and network are reachable)"
_TMPFS_BYTES = 64 << 20
_SHM_BYTES = 16 << 20
# The user a sandbox started by root runs as, inside and out: "nobody", who owns nothing on the host.
UNPRIVILEGED = 65534
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


def bubblewrap_command(*program: str) -> Launch:
    """The command that runs ``program`` (default: the worker) in the sandbox, with a new descriptor
    of the seccomp filter for bubblewrap to read."""
    descriptor = seccomp_descriptor()
    argv = [
        *_bubblewrap_options(),
        "--seccomp", str(descriptor),
        "--", *_as_unprivileged(),
        *(program or (_interpreter()[0], "-I", "-S", "-c", ZYGOTE_SOURCE, "namespace")),
    ]  # fmt: skip
    return Launch(argv, (descriptor,))


def _as_root() -> bool:
    return os.geteuid() == 0


def _identity() -> list[str]:
    """Who the sandbox runs as. Started by a user, bubblewrap makes a user namespace (no capabilities,
    no nested one). Started by root, a user namespace would map to host root, who may write host-wide
    settings (``/proc/sys``) without any capability: so bubblewrap runs without one, keeps only the
    capabilities to change user, and the program is :data:`UNPRIVILEGED` of the host (``_as_unprivileged``)."""
    if _as_root():  # every namespace but the user's (which --unshare-all would try)
        return [
            "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
        ]  # fmt: skip
    return ["--unshare-all", "--unshare-user", "--cap-drop", "ALL"]


def _as_unprivileged() -> list[str]:
    """What the sandbox's first process execs through when we are root: the switch to
    :data:`UNPRIVILEGED`, which drops the two capabilities left (bubblewrap's ``no_new_privs`` and
    the seccomp filter are already in force, so nothing regains them)."""
    if not _as_root():
        return []
    return ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups", "--"]


def _bubblewrap_options() -> list[str]:
    _, prefix = _interpreter()
    binds = _system_binds()
    if not prefix.startswith("/usr/"):
        # Its parent folders, which bubblewrap would make private to root (0700), open to all (as
        # root, the program runs as another user).
        for parent in reversed(Path(prefix).parents[:-1]):
            binds += ["--perms", "0755", "--dir", str(parent)]
        binds += ["--ro-bind", prefix, prefix]
    return [
        "bwrap",
        *_identity(),
        *_hardening_flags(),
        # The kernel ties this to the *thread* that started bwrap: workers are started by one
        # long-lived thread (_launch.py), so they die with this process, not with a pool thread.
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        *[arg for key, value in _MINIMAL_ENV.items() for arg in ("--setenv", key, value)],
        "--setenv", "HOME", "/tmp",
        "--hostname", "sandbox",
        *binds,
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--size", str(_TMPFS_BYTES), "--tmpfs", "/tmp",
        "--perms", "1777", "--size", str(_SHM_BYTES), "--tmpfs", "/dev/shm",
        # Read-only: the root (bubblewrap's own tmpfs, no size cap), /dev, and /proc/sys and its kin
        # (out of an unprivileged user's reach anyway: closed twice). /tmp and /dev/shm stay writable,
        # capped, and the worker empties them after every job.
        *[arg for path in _READ_ONLY_PROC if os.path.exists(path) for arg in ("--ro-bind", path, path)],
        "--remount-ro", "/dev",
        "--remount-ro", "/",
        "--chdir", "/tmp",
    ]  # fmt: skip


_READ_ONLY_PROC = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs")


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
        if _as_root() and "--unshare-user" in flags:
            continue  # no user namespace as root (see _identity); seccomp refuses nested ones
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
    if _as_root() and shutil.which("setpriv") is None:
        return "setpriv is not installed (as root, the sandbox needs it to drop root; apt-get install util-linux)"
    reason = seccomp_unavailable()
    if reason is not None:
        return reason
    probe = bubblewrap_command(_interpreter()[0], "-I", "-S", "-c", "print('ok')")
    try:
        result = subprocess.run(probe.argv, capture_output=True, text=True, timeout=30, pass_fds=probe.pass_fds)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    finally:
        for descriptor in probe.pass_fds:
            os.close(descriptor)
    if result.returncode != 0 or result.stdout.strip() != "ok":
        return f"bubblewrap cannot create namespaces here: {result.stderr.strip()[:300]}"
    return None


def bubblewrap_pool(size: int | None = None) -> WorkerPool:
    return WorkerPool(bubblewrap_command, BUBBLEWRAP, env=dict(_MINIMAL_ENV), size=size)


def process_pool(size: int | None = None) -> WorkerPool:
    """The weak fallback: no namespaces. Only used when the caller explicitly allows it."""
    executable, _ = _interpreter()
    root = Path(tempfile.gettempdir()) / "ecoptigen-sandbox"
    root.mkdir(exist_ok=True)
    _remove_stale(root)

    def cwd() -> str:
        return tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root)

    def command() -> Launch:
        return Launch([executable, "-I", "-S", "-c", ZYGOTE_SOURCE, "session"])

    return WorkerPool(command, PROCESS, env=dict(_MINIMAL_ENV), cwd=cwd, size=size)


def _remove_stale(root: Path) -> None:
    """Delete work folders left by processes that no longer exist (a crash leaves them behind)."""
    for folder in root.iterdir():
        owner = folder.name.split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def unavailable(what: str, reason: str) -> SandboxError:
    fix = (
        "Install it, or allow the weaker process sandbox explicitly: set the environment variable "
        "ECOPTIGEN_ALLOW_WEAK_SANDBOX=1 (every function that runs code honours it; "
        "ecoptigen.sandbox.get_sandbox(allow_weak=True) does too). It does not keep generated code "
        "away from your files or the network."
    )
    return SandboxError(f"{what} is not available: {reason}. {fix}")
