"""The worker that runs inside the sandbox. Standard library only; started as ``python -I -S -c``.

Its script is three parts joined in one (``_workers.assemble_worker``): ``_zygote_values.py`` (plain
data), ``_zygote_harness.py`` (what a forked child runs) and this file (the worker's loop).

It never runs candidate code itself. Each job runs in a child forked for it ahead of time (after the
previous answer, while the host reads it): the child closes everything it does not need, moves to a
fresh folder and waits for its job; then it sets hard resource limits and runs the trusted harness.
The worker collects the child's output (capped), enforces the job's wall-clock timeout, kills whatever
the child left behind, and answers with one JSON line on stdout. The worker is not dumpable, so a
program cannot ptrace it or open its file descriptors through ``/proc`` to forge an answer.

A job may carry files to place in the program's working folder first, and ask for the files the program
left there (new or changed regular files, never symlinks, within :data:`FILES_CAP`) back in the answer.

A job is a 24-byte length prefix, a JSON header, then (split jobs only) the trusted test code, which
the worker moves with ``splice`` straight from its stdin to the harness: the test never enters this
process's memory, so it is in no memory a program forked from here can read.

Two ways to judge a program:

- in-process (``calls`` or nothing): the harness executes the program and, only if it ran to its
  end, writes a record on a private pipe. A program that attacks the harness deliberately can forge
  that record (it runs in the same interpreter); strict mode relies only on the returned values.
- split: the harness forks the program's own process first, then reads the test and runs it with the
  entry point replaced by a stand-in that calls the program's function over a pipe and gets plain
  data back. The record is written by a process that never ran candidate code.
"""

import base64
import contextlib
import gc
import json
import os
import select
import shutil
import signal
import stat
import sys
import time

from ecoptigen.sandbox._zygote_harness import harness, set_limits, split_harness

OUTPUT_CAP = 64 * 1024
FILES_CAP = 16 << 20  # bytes of files collected from one job's folder
FILES_MAX = 1000  # files collected from one job's folder
PREFIX = 24  # f"{header_length:011d} {test_length:011d}\n"
# Standard modules generated code often imports (HumanEval's prompts start with ``from typing import
# List``), imported once here so each forked child finds them loaded: importing typing in a child took
# about 10 ms (its code, and the copy-on-write faults of a fresh process). The system's own modules: no
# program's code runs here.
PRELOADED = ("typing", "heapq", "string", "copy")


class Child:
    """A child forked ahead of its job, waiting for it in a fresh folder: the fork, the folder and the
    child's own setup are done while the worker would otherwise wait for the next job."""

    def __init__(self, protocol_fds):
        self.workdir = new_folder()
        out_r, out_w = os.pipe()
        report_r, report_w = os.pipe()
        test_r, test_w = os.pipe()
        job_r, job_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                for fd in (out_r, report_r, test_w, job_w, *protocol_fds):
                    os.close(fd)
                child(self.workdir, job_r, out_w, report_w, test_r)
            finally:
                os._exit(1)
        for fd in (out_w, report_w, test_r, job_r):
            os.close(fd)
        self.out_r, self.report_r, self.test_w, self.job_w = out_r, report_r, test_w, job_w

    def give(self, job_header):
        """Hand the child its job (the JSON header). A child that is gone fails the job by its exit."""
        data = b"%011d\n" % len(job_header) + job_header
        try:
            while data:
                data = data[os.write(self.job_w, data) :]
        except OSError:
            pass
        finally:
            os.close(self.job_w)

    def discard(self):
        """Remove the folder (the child has ended and been swept)."""
        for fd in (self.out_r, self.report_r):
            os.close(fd)
        shutil.rmtree(self.workdir, ignore_errors=True)


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


def read_capped(fds, deadline, pid, mode):
    """Collect output and the report until the child has exited and the pipes are drained, or the
    deadline passes. Anything the child left running is killed as soon as the child exits, so a
    grandchild holding a pipe open cannot stretch a run to its timeout."""
    output, report, truncated = bytearray(), bytearray(), False
    open_fds = dict(fds)
    status = None
    exited = exit_notifier(pid)
    try:
        while open_fds or status is None:
            if status is None:
                done, code = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = code
                    sweep(mode, pid)
                    if not open_fds:
                        break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            watched = list(open_fds) + ([exited] if status is None and exited is not None else [])
            if not watched:
                time.sleep(min(remaining, 0.0005))
                continue
            # Without a pidfd to say when the child exits, look again every 10 ms.
            wait = remaining if status is not None or exited is not None else min(remaining, 0.01)
            for fd in select.select(watched, [], [], wait)[0]:
                if fd == exited:
                    continue  # waited for above
                chunk = os.read(fd, 65536)
                if not chunk:
                    del open_fds[fd]
                    continue
                target = output if open_fds[fd] == "out" else report
                room = OUTPUT_CAP - len(target)
                target += chunk[: max(room, 0)]
                truncated = truncated or (open_fds[fd] == "out" and len(chunk) > room)
    finally:
        if exited is not None:
            os.close(exited)
    return bytes(output), bytes(report), truncated, status, status is None


def exit_notifier(pid):
    """A descriptor that becomes readable when child ``pid`` exits (a pidfd), or ``None`` where the
    kernel has none (before Linux 5.3): then the caller polls."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _alive_others(me):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            pids.append(int(name))
    return pids


def sweep(mode, pid):
    """Kill everything the job started once its child ``pid`` has been waited for: its process group,
    and in the sandbox's own PID namespace every process but us; return once they are gone (bounded)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    if mode != "namespace":
        return
    me = os.getpid()
    give_up = time.monotonic() + 2.0
    while time.monotonic() < give_up:
        if me == 1:
            reap_orphans()  # as the namespace's init, the killed processes' zombies are ours to collect
        if nobody_else():
            return
        others = _alive_others(me)
        if not others:
            return
        for other in others:
            with contextlib.suppress(OSError):
                os.kill(other, signal.SIGKILL)
        wait_for_exit(others, give_up)


def wait_for_exit(pids, give_up):
    """Until one of ``pids`` has exited (pidfds), at most a few milliseconds and never past ``give_up``."""
    exits = []
    for pid in pids:
        with contextlib.suppress(OSError, AttributeError):
            exits.append(os.pidfd_open(pid))
    try:
        wait = max(0.0, min(give_up - time.monotonic(), 0.005 if exits else 0.001))
        if exits:
            select.select(exits, [], [], wait)
        else:
            time.sleep(wait)
    finally:
        for fd in exits:
            os.close(fd)


def nobody_else():
    """Whether no process but us (and the namespace's init) exists, zombies included: one system call
    where reading ``/proc`` takes a few per process."""
    try:
        os.kill(-1, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


def reap_orphans():
    """Collect exited orphans (when this worker is PID 1, as in a container, they become ours)."""
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not done:
            return


def move_test(source_fd, target_fd, length):
    """Move ``length`` bytes of test code from our stdin to the harness without reading them here
    (``splice``; where it is unavailable they pass through a buffer). If the harness is gone, they are
    discarded: the stream must stay in step."""
    while length > 0:
        moved = move_some(source_fd, target_fd, min(length, 1 << 16))
        if moved == 0:
            raise EOFError("the job stream ended inside a test")
        length -= moved


def move_some(source_fd, target_fd, length):
    if hasattr(os, "splice"):
        with contextlib.suppress(OSError):  # EPIPE (the harness is gone, nothing moved), EINVAL (no pipe)
            return os.splice(source_fd, target_fd, length)
    data = os.read(source_fd, length)
    rest = data
    with contextlib.suppress(BrokenPipeError):
        while rest:
            rest = rest[os.write(target_fd, rest) :]
    return len(data)


def run_job(job, header, test_length, ready, mode, protocol_in):
    """Run one job in the child forked for it (``ready``); the answer, before its folder is removed."""
    start = time.monotonic()
    place_files(ready.workdir, job.get("files") or {})
    if job.get("files"):  # the child has no use for them
        header = json.dumps({key: value for key, value in job.items() if key != "files"}).encode()
    ready.give(header)
    try:
        move_test(protocol_in, ready.test_w, test_length)
    finally:
        os.close(ready.test_w)
    pid = ready.pid
    deadline = start + job["timeout"]
    fds = {ready.out_r: "out", ready.report_r: "report"}
    output, report, truncated, status, timed_out = read_capped(fds, deadline, pid, mode)
    if status is None:  # out of time: the child first (SIGKILL cannot be caught), then the rest
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        sweep(mode, pid)
    reap_orphans()
    files, left_out = collect_files(ready.workdir, job.get("files") or {}) if job.get("collect_files") else ({}, 0)
    result = answer(job, start, status, timed_out, output, report, truncated)
    result.update(files=files, files_left_out=left_out)
    return result


def job_path(root, name):
    """``root/name`` for a relative path with no ``..`` or empty parts, else ``None``."""
    parts = str(name).split("/")
    if not name or str(name).startswith("/") or any(part in ("", ".", "..") for part in parts):
        return None
    return os.path.join(root, *parts)


def place_files(workdir, files):
    """Write the job's files (base64 by relative path) into its folder before the program starts."""
    for name, data in files.items():
        path = job_path(workdir, name)
        if path is None:
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


def collect_files(workdir, given):
    """The regular files of ``workdir`` the program created or changed (base64 by relative path), within
    :data:`FILES_CAP` and :data:`FILES_MAX`, and how many were left out. Symlinks and special files are
    skipped; everything the job started has been killed, so nothing changes meanwhile."""
    found, total, left_out = {}, 0, 0
    for folder, subfolders, names in os.walk(workdir):  # does not follow symlinked folders
        subfolders.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    continue
                if total + info.st_size > FILES_CAP or len(found) >= FILES_MAX:
                    left_out += 1
                    continue
                data = read_at_most(fd, info.st_size)
            finally:
                os.close(fd)
            relative = os.path.relpath(path, workdir).replace(os.sep, "/")
            encoded = base64.b64encode(data).decode()
            if given.get(relative) != encoded:
                found[relative] = encoded
                total += len(data)
    return found, left_out


def read_at_most(fd, length):
    chunks, left = [], length
    while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def answer(job, start, status, timed_out, output, report, truncated):
    exit_code = os.waitstatus_to_exitcode(status)
    try:
        record = json.loads(report.decode()) if report else {}
    except ValueError:
        record = {}
    if not isinstance(record, dict):
        record = {}
    completed = record.get("completed") is True and exit_code == 0
    return {
        "id": job["id"],
        "verdict": "timeout" if timed_out else ("passed" if completed else "failed"),
        "exit_code": exit_code,
        "output": output.decode(errors="replace"),
        "truncated": truncated,
        "values": record.get("values") if completed else None,
        "unsplittable": record.get("unsplittable") is True and exit_code == 0,
        "duration": time.monotonic() - start,
    }


def read_exactly(fd, length):
    data = b""
    while len(data) < length:
        chunk = os.read(fd, length - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def not_dumpable():
    """Make this process (and every child forked from it) impossible to ptrace or to open through
    ``/proc`` without capabilities, which the sandbox has none of."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE, 0
    except Exception:
        return False


def main():
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
    writer = os.fdopen(protocol_out, "wb")
    writer.write(json.dumps({"ready": True, "hardened": hardened}).encode() + b"\n")
    writer.flush()
    protocol_fds = (protocol_in, protocol_out, null)
    ready = Child(protocol_fds)
    while (prefix := read_exactly(protocol_in, PREFIX)) is not None:
        header_length, test_length = (int(part) for part in prefix.split())
        header = read_exactly(protocol_in, header_length)
        job = json.loads(header)
        result = run_job(job, header, test_length, ready, mode, protocol_in)
        writer.write(json.dumps(result).encode() + b"\n")
        writer.flush()
        # After answering, while the host reads the answer and sends the next job.
        ready.discard()
        ready = Child(protocol_fds)
    os.close(ready.job_w)  # the waiting child ends
    with contextlib.suppress(OSError):
        os.waitpid(ready.pid, 0)
    ready.discard()


if __name__ == "__main__":
    main()
