"""The worker that runs inside the sandbox. Standard library only; started as ``python -I -S -c``.

Its script is four parts joined in one (``_workers.assemble_worker``): ``_zygote_values.py`` (plain
data), ``_zygote_harness.py`` (what a forked child runs), ``_zygote_monitor.py`` (the monitor, which
runs the jobs) and this file (the zygote).

Two processes, with one duty each:

- the *zygote* (PID 1 of the sandbox) forks a child for each job, ahead of time, and sends the child's
  pipes to the monitor; it reaps the children and tells the monitor each one's exit status. It never
  reads a job, an output or a value, so nothing of a job is in the memory any later child starts from
  -- not in a frame, an object, nor in freed memory;
- the *monitor* (``_zygote_monitor.py``), forked once before any job and never forking, reads each job
  from stdin, gives it to its child, judges the outcome and answers on stdout.

A child closes everything it does not need, moves to a fresh folder and waits for its job; then it sets
hard resource limits and runs the trusted harness. Zygote and monitor are not dumpable, so a program
cannot ptrace them or open their file descriptors through ``/proc`` to forge an answer.

A job is a 24-byte length prefix, a JSON header, then (split jobs only) the trusted test code, which
the monitor moves with ``splice`` straight from its stdin to the harness: the test never enters the
monitor's memory either.

Two ways to judge a program:

- in-process (``calls`` or nothing): the harness executes the program and, only if it ran to its
  end, writes a record on a private pipe. A program that attacks the harness deliberately can forge
  that record (it runs in the same interpreter); strict mode relies only on the returned values.
- split: the harness forks the program's own process first, then reads the test and runs it with the
  entry point replaced by a stand-in that calls the program's function over a pipe and gets plain
  data back. The record is written by a process that never ran candidate code.
"""

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys

from ecoptigen.sandbox._zygote_harness import harness, set_limits, split_harness
from ecoptigen.sandbox._zygote_monitor import monitor, read_exactly

# Standard modules generated code often imports (HumanEval's prompts start with ``from typing import
# List``), imported once here so each forked child finds them loaded: importing typing in a child took
# about 10 ms (its code, and the copy-on-write faults of a fresh process). The system's own modules: no
# program's code runs here.
PRELOADED = ("typing", "heapq", "string", "copy")


class Child:
    """A child forked ahead of its job, waiting for it in a fresh folder: the fork, the folder and the
    child's own setup are done while the host reads the previous answer and sends the next job."""

    def __init__(self, keep_out):
        self.workdir = new_folder()
        out_r, out_w = os.pipe()
        report_r, report_w = os.pipe()
        test_r, test_w = os.pipe()
        job_r, job_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                for fd in (out_r, report_r, test_w, job_w, *keep_out):
                    os.close(fd)
                child(self.workdir, job_r, out_w, report_w, test_r)
            finally:
                os._exit(1)
        for fd in (out_w, report_w, test_r, job_r):
            os.close(fd)
        self.fds = [out_r, report_r, test_w, job_w]

    def hand_over(self, monitor_socket):
        """Send the child's pipes to the monitor, keeping none here."""
        info = json.dumps({"pid": self.pid, "workdir": self.workdir}).encode()
        try:
            socket.send_fds(monitor_socket, [info], self.fds)
        finally:
            for fd in self.fds:
                os.close(fd)


def new_folder():
    """A new private folder under the current one. Not ``tempfile.mkdtemp``: importing ``tempfile`` imports
    ``random``, whose reseeding after each fork costs every child about 40 page faults."""
    while True:
        path = os.path.join(os.getcwd(), "job-" + os.urandom(8).hex())
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
            return path


def child(workdir, job_r, out_w, report_w, test_fd):
    """The forked child: set up, wait for the job, then judge it (never returns)."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for fd in (null, out_w):
        os.close(fd)
    os.chdir(workdir)
    prefix = read_exactly(job_r, 12)
    header = read_exactly(job_r, int(prefix)) if prefix else None
    os.close(job_r)
    if header is None:  # the worker has gone
        os._exit(1)
    job = json.loads(header)
    set_limits(job["limits"])
    if job.get("entry_point") is None:
        os.close(test_fd)
        harness(job, report_w)
    else:
        split_harness(job, report_w, test_fd)


def prctl(option, value):
    """``prctl(option, value)``; whether it worked."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


def not_dumpable():
    """Make this process (and every child forked from it) impossible to ptrace or to open through
    ``/proc`` without capabilities, which the sandbox has none of."""
    return prctl(4, 0)  # PR_SET_DUMPABLE, 0


def host_gone():
    """Whether the host has closed our stdin (it holds the only writing end): it has exited."""
    poller = select.poll()
    poller.register(0, select.POLLIN)
    return any(events & (select.POLLHUP | select.POLLERR) for _, events in poller.poll(0))


def serve_children(monitor_socket, monitor_pid, keep_out):
    """The zygote's loop: fork a child, hand it to the monitor, reap it (and any orphan, as PID 1),
    report its exit status; fork the next when the monitor asks. Returns when the monitor has gone."""
    while True:
        ready = Child((monitor_socket.fileno(), *keep_out))
        try:
            ready.hand_over(monitor_socket)
        except OSError:
            return
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return
            if pid == monitor_pid:
                return
            if pid == ready.pid:
                break
        try:
            monitor_socket.send(json.dumps({"exited": pid, "status": status}).encode())
            if monitor_socket.recv(16) != b"next":
                return
        except OSError:
            return


def main():
    # Die with our parent (bubblewrap, or the host for the weak backend). bubblewrap asks the same for
    # us, but the switch to the unprivileged user (setpriv, as root) clears it: the kernel resets the
    # parent-death signal whenever a process's user changes.
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if host_gone():  # it died before we asked: no signal will come
        return
    mode = sys.argv[1] if len(sys.argv) > 1 else "namespace"
    hardened = not_dumpable()
    for name in PRELOADED:
        with contextlib.suppress(ImportError):
            __import__(name)
    # The first compile() of a process builds the ast module's types (tens of milliseconds here, over
    # a millisecond in each forked child): done once, the children inherit them.
    compile("pass", "warm-up", "exec")
    gc.freeze()  # the collector in a forked child leaves our objects' pages alone (fewer copy-on-write faults)
    with contextlib.suppress(AttributeError):
        sys.set_int_max_str_digits(0)  # a program may return a huge integer; it must cross as data
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.write(protocol_out, json.dumps({"ready": True, "hardened": hardened}).encode() + b"\n")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    monitor_pid = os.fork()
    if monitor_pid == 0:
        try:
            ours.close()
            monitor(mode, protocol_in, protocol_out, theirs)
        finally:
            os._exit(0)
    theirs.close()
    for fd in (protocol_in, protocol_out):
        os.close(fd)  # the zygote has no part in the protocol
    serve_children(ours, monitor_pid, (null,))


if __name__ == "__main__":
    main()
