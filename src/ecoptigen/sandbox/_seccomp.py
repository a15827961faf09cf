"""The seccomp filter of the bubblewrap sandbox: system calls a test program never needs, refused.

Built with libseccomp (through ``pyseccomp``), compiled to BPF once, and handed to bubblewrap
(``--seccomp FD``), which installs it for the worker and everything it forks. A refused call fails with
``EPERM`` (``ENOSYS`` for ``clone3``, so the C library falls back to ``clone``, whose flags the filter can
see); a call of another architecture's ABI (32-bit calls on x86-64, say) kills the process.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

__all__ = ["DENIED", "seccomp_filter", "seccomp_unavailable"]

# What a program under test has no use for, and what widens the kernel surface it can attack.
DENIED = (
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # the kernel itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "bpf", "perf_event_open", "syslog", "iopl", "ioperm", "quotactl", "lookup_dcookie",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "personality",
    "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    # keys, clocks, names
    "keyctl", "add_key", "request_key", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname",
    # System V IPC: objects that would outlive a job in the sandbox's IPC namespace
    "shmget", "msgget", "semget",
)  # fmt: skip

# clone() flags that create namespaces (CLONE_NEWNS ... CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME).
_NAMESPACE_FLAGS = (0x00020000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x02000000, 0x80)


def seccomp_unavailable() -> str | None:
    """``None`` when the filter can be built here, else why not."""
    try:
        seccomp_filter()
    except (ImportError, OSError, RuntimeError) as exc:
        return f"the seccomp filter cannot be built ({exc}); pip install pyseccomp, and install libseccomp2"
    return None


@functools.cache
def seccomp_filter() -> bytes:
    """The compiled BPF program (for this machine's architecture).

    Raises:
        ImportError: ``pyseccomp`` or the ``libseccomp`` library is missing.
    """
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            rules.add_rule(refuse, name)
        except (RuntimeError, ValueError, OSError):  # a call this libseccomp or architecture does not know
            continue
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as compiled:
        rules.export_bpf(compiled)
        compiled.seek(0)
        return compiled.read()


def seccomp_descriptor() -> int:
    """A new descriptor to read the compiled filter from (bubblewrap reads it to the end)."""
    descriptor = os.memfd_create("ecoptigen-seccomp")
    os.write(descriptor, seccomp_filter())
    os.lseek(descriptor, 0, os.SEEK_SET)
    return descriptor
