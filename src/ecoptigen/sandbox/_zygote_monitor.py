"""Part of the sandbox worker's script (see ``_zygote.py``): the monitor, which runs the jobs.

The monitor is the only part of the worker that reads jobs and answers them. It is forked from the
zygote once, before any job, and never forks: no process is ever started from memory that held a job.
For each job it receives a waiting child from the zygote (its pipes, over a Unix socket), hands it the
job, collects its output (capped) and its record, enforces the wall-clock timeout, learns its exit
status from the zygote (its parent), kills whatever the job left running, empties the sandbox's
writable folders (``/tmp``, ``/dev/shm``), answers with one JSON line on stdout, and asks the zygote
for the next child. Standard library only.
"""

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import stat
import time

OUTPUT_CAP = 64 * 1024
# The values a run returns (its record): far more than any honest test needs, bounded so that a program
# cannot make the monitor hold its memory. Over it, the run is an "error" that names this limit.
REPORT_CAP = 256 << 20
FILES_CAP = 16 << 20  # bytes of files collected from one job's folder
FILES_MAX = 1000  # files collected from one job's folder
PREFIX = 24  # f"{header_length:011d} {test_length:011d}\n"
# Writable folders of the sandbox, emptied after every job (namespace mode: they are the sandbox's own).
SCRATCH = ("/tmp", "/dev/shm")


class Ready:
    """The child the zygote forked for the next job, as the monitor holds it: its pid, its folder and
    its pipes (received over the zygote's socket)."""

    def __init__(self, zygote):
        message, fds, _, _ = socket.recv_fds(zygote, 4096, 4)
        if not message or len(fds) != 4:
            raise EOFError("the zygote has gone")
        info = json.loads(message)
        self.pid, self.workdir = info["pid"], info["workdir"]
        self.out_r, self.report_r, self.test_w, self.job_w = fds

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
        """Close its pipes and remove its folder (the child has ended and been swept)."""
        for fd in (self.out_r, self.report_r):
            os.close(fd)
        shutil.rmtree(self.workdir, ignore_errors=True)


def child_status(zygote, pid):
    """The exit status of child ``pid``, which the zygote sends once it has reaped it."""
    message = zygote.recv(4096)
    if not message:
        raise EOFError("the zygote has gone")
    info = json.loads(message)
    if info.get("exited") != pid:
        raise EOFError("the zygote is out of step")
    return info["status"]


def read_capped(fds, deadline, zygote, pid, mode, protocol_in):
    """Collect output and the record until the child has exited and the pipes are drained, or the
    deadline passes. Anything the child left running is killed as soon as the child exits, so a
    grandchild holding a pipe open cannot stretch a run to its timeout. If the host goes meanwhile
    (our stdin ends: the host sends nothing while a job runs), the job is killed and we exit."""
    output, report, truncated, report_over = bytearray(), bytearray(), False, False
    open_fds = dict(fds)
    status = None
    while open_fds or status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        watched = list(open_fds) + ([zygote] if status is None else []) + [protocol_in]
        for fd in select.select(watched, [], [], remaining)[0]:
            if fd == protocol_in:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                sweep(mode, pid)
                os._exit(0)  # the zygote follows, and with it the sandbox
            if fd is zygote:
                status = child_status(zygote, pid)
                sweep(mode, pid)
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]
                continue
            if open_fds[fd] == "out":
                room = OUTPUT_CAP - len(output)
                output += chunk[: max(room, 0)]
                truncated = truncated or len(chunk) > room
            elif len(report) + len(chunk) > REPORT_CAP:
                report_over = True
            else:
                report += chunk
    report = None if report_over else bytes(report)
    return bytes(output), report, truncated, status, status is None


def _alive_others(me, zygote_pid):
    """Live processes of the sandbox's PID namespace but us and the zygote (zombies are already dead)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me, zygote_pid):
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
    """Kill everything the job started once its child ``pid`` has ended: its process group, and in the
    sandbox's own PID namespace every process but the zygote and us (the zygote forks the next child
    only when asked, after this); return once they are gone (bounded)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    if mode != "namespace":
        return
    me, zygote_pid = os.getpid(), os.getppid()
    give_up = time.monotonic() + 2.0
    while time.monotonic() < give_up:
        if zygote_pid == 1 and nobody_else():
            return
        others = _alive_others(me, zygote_pid)
        if not others:
            return
        for other in others:
            with contextlib.suppress(OSError):
                os.kill(other, signal.SIGKILL)
        wait_for_exit(others, give_up)


def nobody_else():
    """Whether no process but us and the namespace's init (the zygote) exists, zombies included: one
    system call where reading ``/proc`` takes a few per process."""
    try:
        os.kill(-1, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


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


def run_job(job, header, test_length, ready, mode, protocol_in, zygote):
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
    deadline = start + job["timeout"]
    fds = {ready.out_r: "out", ready.report_r: "report"}
    output, report, truncated, status, timed_out = read_capped(fds, deadline, zygote, ready.pid, mode, protocol_in)
    if status is None:  # out of time: the child first (SIGKILL cannot be caught), then the rest
        with contextlib.suppress(OSError):
            os.kill(ready.pid, signal.SIGKILL)
        status = child_status(zygote, ready.pid)
        sweep(mode, ready.pid)
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
    if report is None:  # ``None``: the record was over REPORT_CAP
        return {
            "id": job["id"],
            "verdict": "error",
            "exit_code": exit_code,
            "output": f"the values the program returned are over {REPORT_CAP >> 20} MiB, the sandbox "
            "harness's limit for carrying values out (a limit of the harness, not a fault of the program)",
            "truncated": False,
            "values": None,
            "duration": time.monotonic() - start,
        }
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
        "duration": time.monotonic() - start,
    }


def empty_folder(path):
    """Remove everything inside ``path`` (the job's processes are gone), even what a program made
    unreadable or unwritable: it is ours to change back."""

    def allow_and_retry(function, name, _):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            os.chmod(name, 0o700)
            function(name)

    try:
        entries = os.listdir(path)
    except OSError:
        return
    for entry in entries:
        target = os.path.join(path, entry)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target, onerror=allow_and_retry)
        else:
            with contextlib.suppress(OSError):
                os.unlink(target)


def read_exactly(fd, length):
    data = b""
    while len(data) < length:
        chunk = os.read(fd, length - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def monitor(mode, protocol_in, protocol_out, zygote):
    """Answer jobs until the host closes the stream (then return), each in a child from the zygote."""
    ready = Ready(zygote)
    while (prefix := read_exactly(protocol_in, PREFIX)) is not None:
        header_length, test_length = (int(part) for part in prefix.split())
        header = read_exactly(protocol_in, header_length)
        job = json.loads(header)
        result = run_job(job, header, test_length, ready, mode, protocol_in, zygote)
        ready.discard()
        if mode == "namespace":  # the sandbox's own writable folders: the next job finds them empty
            for folder in SCRATCH:
                empty_folder(folder)
        zygote.send(b"next")  # forked while the host reads this answer and sends the next job
        data = json.dumps(result).encode() + b"\n"
        while data:
            data = data[os.write(protocol_out, data) :]
        ready = Ready(zygote)
