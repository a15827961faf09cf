"""The worker that runs inside the sandbox. Standard library only; started as ``python -I -S -c``.

It never runs candidate code itself. For each job (one JSON line on stdin) it forks a child that
sets hard resource limits, closes everything it does not need, and runs the trusted harness: the
harness executes the candidate program and, only if the program ran to its end, writes a record on
a private pipe. The worker collects the child's output (capped), enforces the job's wall-clock
timeout, kills whatever the child left behind, and answers with one JSON line on stdout.
"""

import contextlib
import json
import math
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

OUTPUT_CAP = 64 * 1024
SAFE_TYPES = (int, float, str, bool, type(None))


def plain(value, depth=0):
    """A JSON-safe copy of ``value`` built only from plain data; anything else becomes a marker string,
    so an object with a forged ``__eq__`` can never compare equal to an expected value."""
    if depth > 20:
        return {"__unserializable__": "too deep"}
    if type(value) in SAFE_TYPES:
        if type(value) is float and not math.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if type(value) in (list, tuple):
        return {"__" + type(value).__name__ + "__": [plain(v, depth + 1) for v in value]}
    if type(value) in (set, frozenset):
        return {"__set__": sorted((plain(v, depth + 1) for v in value), key=repr)}
    if type(value) is dict:
        return {"__dict__": [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in value.items()]}
    return {"__unserializable__": type(value).__name__}


def harness(job, report_fd):
    """Run the candidate program; write the record only when it ran to its end (child process)."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    report = os.fdopen(report_fd, "w")
    try:
        exec(compile(job["code"], "candidate.py", "exec"), namespace)
        values = None
        if job.get("calls") is not None:
            values = []
            for call in job["calls"]:
                try:
                    values.append({"value": plain(eval(call, namespace))})
                except BaseException as exc:
                    values.append({"raised": type(exc).__name__})
    except BaseException:  # SystemExit, KeyboardInterrupt and every error mean: did not pass
        try:
            traceback.print_exc()
        finally:
            flush_and_exit(1)
    report.write(json.dumps({"completed": True, "values": values}))
    report.flush()
    flush_and_exit(0)


def flush_and_exit(code):
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code)


def set_limits(limits):
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def child(job, workdir, out_w, report_r, report_w, protocol_fds):
    os.setsid()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for fd in (null, out_w, report_r, *protocol_fds):
        os.close(fd)
    os.chdir(workdir)
    set_limits(job["limits"])
    harness(job, report_w)


def read_capped(fds, deadline, pid, mode):
    """Collect output and the report until the child has exited and the pipes are drained, or the
    deadline passes. Anything the child left running is killed as soon as the child exits, so a
    grandchild holding a pipe open cannot stretch a run to its timeout."""
    output, report, truncated = bytearray(), bytearray(), False
    open_fds = dict(fds)
    status = None
    while open_fds or status is None:
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                sweep(mode, pid)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if not open_fds:
            time.sleep(min(remaining, 0.0005))
            continue
        ready, _, _ = select.select(list(open_fds), [], [], min(remaining, 0.01) if status is None else remaining)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                del open_fds[fd]
                continue
            target = output if open_fds[fd] == "out" else report
            room = OUTPUT_CAP - len(target)
            target += chunk[: max(room, 0)]
            truncated = truncated or (open_fds[fd] == "out" and len(chunk) > room)
    return bytes(output), bytes(report), truncated, status, status is None


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
    """Kill everything the job started: its process group, and in the sandbox's own PID namespace
    every process but us; return once they are gone (bounded)."""
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    if mode != "namespace":
        return
    me = os.getpid()
    give_up = time.monotonic() + 2.0
    while time.monotonic() < give_up:
        others = _alive_others(me)
        if not others:
            return
        for other in others:
            with contextlib.suppress(OSError):
                os.kill(other, signal.SIGKILL)
        time.sleep(0.001)


def reap_orphans():
    """Collect exited orphans (when this worker is PID 1, as in a container, they become ours)."""
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not done:
            return


def run_job(job, mode, protocol_fds):
    out_r, out_w = os.pipe()
    report_r, report_w = os.pipe()
    start = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="job-")
    pid = os.fork()
    if pid == 0:
        try:
            child(job, workdir, out_w, report_r, report_w, protocol_fds)
        finally:
            os._exit(1)
    os.close(out_w)
    os.close(report_w)
    deadline = start + job["timeout"]
    output, report, truncated, status, timed_out = read_capped({out_r: "out", report_r: "report"}, deadline, pid, mode)
    if status is None:
        sweep(mode, pid)
        _, status = os.waitpid(pid, 0)
    reap_orphans()
    for fd in (out_r, report_r):
        os.close(fd)
    shutil.rmtree(workdir, ignore_errors=True)
    exit_code = os.waitstatus_to_exitcode(status)
    record = None
    try:
        record = json.loads(report.decode()) if report else None
    except ValueError:
        record = None
    completed = bool(record and record.get("completed") is True and exit_code == 0)
    return {
        "id": job["id"],
        "verdict": "timeout" if timed_out else ("passed" if completed else "failed"),
        "exit_code": exit_code,
        "output": output.decode(errors="replace"),
        "truncated": truncated,
        "values": record.get("values") if completed else None,
        "duration": time.monotonic() - start,
    }


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "namespace"
    protocol_in = os.dup(0)
    protocol_out = os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    reader = os.fdopen(protocol_in, "rb")
    writer = os.fdopen(protocol_out, "wb")
    writer.write(b'{"ready": true}\n')
    writer.flush()
    for line in reader:
        job = json.loads(line)
        answer = run_job(job, mode, (protocol_in, protocol_out, null))
        writer.write(json.dumps(answer).encode() + b"\n")
        writer.flush()


if __name__ == "__main__":
    main()
