"""Part of the sandbox worker's script (see ``_zygote.py``): the trusted harness a forked child runs.

In-process judging (:func:`harness`) runs the program and writes the record only if it ran to its end;
split judging (:func:`split_harness`) forks the program's own process, runs the test here and calls the
program's function over pipes, plain data only (a call whose arguments are not plain data runs in a
fresh child of the harness instead, :func:`fresh_call`). Standard library only.
"""

import contextlib
import json
import linecache
import os
import resource
import sys
import traceback

from ecoptigen.sandbox._zygote_values import Unsplittable, decode, plain


def flush_output():
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


def flush_and_exit(code):
    flush_output()
    os._exit(code)


def write_record(report_fd, record):
    data = json.dumps(record).encode()
    while data:
        data = data[os.write(report_fd, data) :]
    flush_and_exit(0)


def fail():
    """The program or its test did not run to the end: say why on stderr, leave no record.

    ``sys.exit(code)`` ends the process with that code and no traceback, as Python does; any other
    exception prints its traceback without the harness's own frames.
    """
    status = 1
    try:
        kind, error, frames = sys.exc_info()
        if isinstance(error, SystemExit):
            status = exit_status(error.code)
        else:
            while frames is not None and frames.tb_frame.f_globals is globals():
                frames = frames.tb_next
            traceback.print_exception(kind, error, frames)
    finally:
        flush_and_exit(status)


def exit_status(code):
    """The exit status of ``sys.exit(code)``: ``None`` is 0, an int itself, anything else printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code & 0xFF
    with contextlib.suppress(BaseException):
        print(code, file=sys.stderr)
    return 1


def compiled(source, filename):
    """``source`` compiled as ``filename``, its lines known to tracebacks (there is no file to read)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return compile(source, filename, "exec")


def program_namespace(job):
    filename = job.get("filename") or "candidate.py"
    sys.argv = [filename]
    return {"__name__": "__main__", "__builtins__": __builtins__, "__file__": filename}, filename


def harness(job, report_fd):
    """In-process judging: run the program (then ``calls``); write the record only at the end."""
    namespace, filename = program_namespace(job)
    try:
        exec(compiled(job["code"], filename), namespace)
        values = None
        if job.get("calls") is not None:
            values = []
            for call in job["calls"]:
                try:
                    values.append({"value": plain(eval(call, namespace))})
                except BaseException as exc:
                    values.append({"raised": type(exc).__name__})
    except BaseException:  # SystemExit, KeyboardInterrupt and every error mean: did not pass
        fail()
    write_record(report_fd, {"completed": True, "values": values})


class Lines:
    """JSON messages, one per line, over a pipe (no buffering beyond the current line)."""

    def __init__(self, read_fd, write_fd):
        self.read_fd, self.write_fd, self.buffer = read_fd, write_fd, b""

    def send(self, message):
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.write_fd, data) :]

    def receive(self):
        """The next message, or ``None`` when the other side has gone."""
        while b"\n" not in self.buffer:
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None


class CandidateGone(BaseException):
    """The program's process ended (or answered nonsense) while the test needed it."""


def serve_candidate(job, channel):
    """The program's process (split jobs): run the program, then answer calls to its function."""
    namespace, filename = program_namespace(job)
    try:
        exec(compiled(job["code"], filename), namespace)
        function = namespace[job["entry_point"]]
        if not callable(function):
            raise TypeError(f"{job['entry_point']} is not a function")
    except BaseException:
        fail()
    flush_output()  # the harness does not wait for this process: its output must be out before each answer
    channel.send({"ready": True})
    while (request := channel.receive()) is not None:
        try:
            value = function(*decode(request["args"]), **decode(request["kwargs"]))
            reply = {"value": plain(value)}
        except BaseException as exc:
            reply = {"raised": type(exc).__name__}
        flush_output()
        channel.send(reply)
    flush_and_exit(0)


def exception_named(name, function):
    """The builtin exception the program's function raised (so a test can catch it), else ``Exception``.
    ``StopIteration`` becomes ``RuntimeError`` (as PEP 479 does in generators): raised into ``map`` or
    ``iter`` it would silently end the test's iteration, e.g. make ``all(map(candidate, cases))`` true."""
    import builtins

    name = str(name)
    if name in ("StopIteration", "StopAsyncIteration"):
        return RuntimeError(f"{name} raised by {function}")
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, BaseException):
        with contextlib.suppress(Exception):
            return kind(f"raised by {function}")
    return Exception(f"{name} raised by {function}")


def fresh_call(job, args, kwargs):
    """Call the program's function with arguments that cannot cross as plain data (a lambda, a value
    nested too deep): in a fresh child of this harness, which runs the program and makes this one call;
    only the result's plain data comes back. The verdict stays here, out of the program's reach. Never
    returns a value the program built: a reply as from :func:`serve_candidate`, or ``None`` if the
    program did not run to the point of answering."""
    reply_r, reply_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        keep_only(reply_w)  # the report pipe above all: the program must not write the record
        try:
            namespace, filename = program_namespace(job)
            exec(compiled(job["code"], filename), namespace)
            try:
                reply = {"value": plain(namespace[job["entry_point"]](*args, **kwargs))}
            except BaseException as exc:
                reply = {"raised": type(exc).__name__}
            flush_output()
            Lines(-1, reply_w).send(reply)
        finally:
            os._exit(0)
    os.close(reply_w)
    reply = Lines(reply_r, -1).receive()
    os.close(reply_r)
    os.waitpid(pid, 0)
    return reply if isinstance(reply, dict) and len(reply) == 1 else None


def stand_in(channel, name, trouble, job):
    """The entry point as the test sees it: each call runs in the program's process (or, for arguments
    that cannot cross, in a fresh child: :func:`fresh_call`). ``trouble`` remembers a lost program, even
    if the test swallows it."""

    def call(*args, **kwargs):
        try:
            request = {"args": plain(list(args), strict=True), "kwargs": plain(kwargs, strict=True)}
        except Unsplittable:
            reply = fresh_call(job, args, kwargs)
            if reply is None:
                trouble.add("gone")
                raise CandidateGone(name) from None
            if "value" in reply:
                return decode(reply["value"])
            raise exception_named(reply.get("raised"), name) from None
        try:
            channel.send(request)
            reply = channel.receive()
            if "value" in reply:
                return decode(reply["value"])
            error = exception_named(reply["raised"], name)
        except Exception:  # the program's process is gone, or answered what we did not write
            trouble.add("gone")
            raise CandidateGone(name) from None
        raise error

    call.__name__ = call.__qualname__ = name
    return call


def split_harness(job, report_fd, test_fd):
    """Split judging: fork the program's process, then read and run the test here."""
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        keep_only(request_r, reply_w)
        try:
            serve_candidate(job, Lines(request_r, reply_w))
        finally:
            os._exit(1)
    os.close(request_r)
    os.close(reply_w)
    chunks = []
    while chunk := os.read(test_fd, 1 << 16):
        chunks.append(chunk)
    os.close(test_fd)
    channel = Lines(reply_r, request_w)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    trouble = set()
    try:
        exec(compiled(job["prelude"], "definition.py"), namespace)  # while the program runs
        test = compiled(b"".join(chunks).decode(), "test.py")
        if channel.receive() != {"ready": True}:
            raise CandidateGone("the program did not run to its end")
        namespace[job["entry_point"]] = stand_in(channel, job["entry_point"], trouble, job)
        exec(test, namespace)
        os.close(request_w)  # the program's process ends now, while we write the record
    except BaseException:
        fail()
    if "gone" in trouble:
        flush_and_exit(1)
    # No need to wait for the program's process: the worker kills it when we exit.
    write_record(report_fd, {"completed": True, "values": None})


def keep_only(*fds):
    """Close every descriptor but stdin, stdout, stderr and ``fds`` (``close_range`` where there is one)."""
    low = 3
    for fd in sorted(fds):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def set_limits(limits):
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
