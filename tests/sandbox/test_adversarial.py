"""Hostile programs, each run in the sandbox with a fake API key in our environment; afterwards the
host is checked (the ``sandbox`` fixture, in conftest.py): nothing leaked, nothing changed, nothing left
running, the evaluator still works."""

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ecoptigen.sandbox import Check, weak_sandbox
from ecoptigen.sandbox._strict import decode

FAKE_KEY = "sk-fake-" + uuid.uuid4().hex
PROJECT = Path(__file__).resolve().parents[2]


ENDS_BADLY = {
    "infinite loop": "while True:\n    pass",
    "sleep 1000": "import time\ntime.sleep(1000)",
    "ignores SIGALRM": "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.alarm(1)\n"
    "while True:\n    pass",
    "input()": "input()",
    "touch 3 GiB": "b = bytearray(3 * 2**30)\nfor i in range(0, len(b), 4096):\n    b[i] = 1",
    "stdout flood": "while True:\n    print('x' * 1000)",
    "fill the disk": "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'0' * 2**20)\n    i += 1",
    "hundreds of sleepers": "import os, time\nfor _ in range(400):\n    if os.fork() == 0:\n        time.sleep(1000)\n"
    "        os._exit(0)\nassert False",
    "setsid double fork": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
    "        time.sleep(1000)\n    os._exit(0)\nassert False",
    "sys.exit(0)": "import sys\nsys.exit(0)\nassert False",
    "os._exit(0)": "import os\nos._exit(0)\nassert False",
    "raise SystemExit(0)": "raise SystemExit(0)\nassert False",
    "KeyboardInterrupt": "raise KeyboardInterrupt\nassert False",
    "prints passed": "print('passed')\nprint('{\"completed\": true}')\nassert False",
    "reads the API key": "import os\nassert os.environ['OPENAI_API_KEY']",
    "opens a socket to the internet": "import socket\nsocket.create_connection(('1.1.1.1', 443), timeout=2)",
    "resolves a name": "import socket\nsocket.getaddrinfo('pypi.org', 443)",
    "raises its limits": "import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))",
    "kills its parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nassert False",
    # The worker is not dumpable: its pipes and memory are out of reach (else a record could be forged).
    "opens the worker's descriptors": "import os\nopen(f'/proc/{os.getppid()}/fd/0', 'rb')",
    "opens the worker's memory": "import os\nopen(f'/proc/{os.getppid()}/mem', 'rb')",
}


@pytest.mark.parametrize("code", ENDS_BADLY.values(), ids=ENDS_BADLY.keys())
def test_hostile_programs_fail_or_time_out(sandbox, fake_key, code):
    result = sandbox.run(code, timeout=2)
    assert result.verdict in ("failed", "timeout"), (result.verdict, result.output[-500:])
    assert fake_key not in result.output
    assert len(result.output) <= 64 * 1024
    assert "bubblewrap" in result.isolation


@pytest.fixture
def project_dotenv():
    """A project ``.env`` holding a secret (the user's own, if there is one, is left as it is)."""
    path = PROJECT / ".env"
    if path.exists():
        yield path, path.read_text()
        return
    secret = "SECRET=" + uuid.uuid4().hex
    path.write_text(secret + "\n")
    try:
        yield path, secret
    finally:
        path.unlink()


def test_project_dotenv_is_out_of_reach(sandbox, project_dotenv):
    path, secret = project_dotenv
    assert secret in path.read_text()  # readable here, on the host
    result = sandbox.run(f"print(open({str(path)!r}).read())", timeout=5)
    assert result.verdict == "failed" and secret not in result.output


def test_output_flood_is_capped_and_does_not_hang(sandbox):
    result = sandbox.run("import sys\nwhile True:\n    sys.stdout.write('y' * 65536)", timeout=1)
    assert result.verdict == "timeout" and result.truncated and len(result.output) == 64 * 1024


def test_environment_is_not_ours(sandbox):
    result = sandbox.run("import os\nprint(sorted(os.environ))", timeout=5)
    assert result.passed and "OPENAI_API_KEY" not in result.output


def test_writes_stay_inside(sandbox, tmp_path):
    home = Path.home() / f"ecoptigen-probe-{uuid.uuid4().hex}"
    target = PROJECT / f"ecoptigen-probe-{uuid.uuid4().hex}"
    code = textwrap.dedent(
        f"""
        for path in ({str(home)!r}, {str(target)!r}, {str(PROJECT / "README.md")!r}):
            try:
                open(path, "w").write("owned")
            except OSError:
                pass
        import os
        try:
            os.remove({str(PROJECT / "pyproject.toml")!r})
        except OSError:
            pass
        assert False
        """
    )
    before = (PROJECT / "README.md").read_bytes()
    result = sandbox.run(code, timeout=5)
    assert result.verdict == "failed"
    assert not home.exists() and not target.exists()
    assert (PROJECT / "README.md").read_bytes() == before and (PROJECT / "pyproject.toml").exists()


def test_strict_mode_is_not_fooled_by_a_forged_equality(sandbox):
    from ecoptigen.sandbox import strict_test

    strict = strict_test("def check(candidate):\n    assert candidate(2) == 4\n", "double")
    liar = "class Yes:\n    def __eq__(self, other):\n        return True\n\ndef double(x):\n    return Yes()\n"
    assert not strict.judge(sandbox.run(liar, timeout=5, calls=list(strict.calls)))
    honest = "def double(x):\n    return 2 * x\n"
    assert strict.judge(sandbox.run(honest, timeout=5, calls=list(strict.calls)))


def test_weak_backend_is_loudly_weak_but_still_hides_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    weak = weak_sandbox()
    assert "WEAK" in weak.isolation
    assert weak.run("import os\nassert 'OPENAI_API_KEY' not in os.environ", timeout=5).passed
    assert weak.run("import sys\nsys.exit(0)", timeout=5).verdict == "failed"
    assert weak.run("while True:\n    pass", timeout=1).verdict == "timeout"
    # Documented weakness: the program can read our files (no mount namespace).
    readme = weak.run(f"print(open({str(PROJECT / 'README.md')!r}).read()[:11])", timeout=5)
    assert readme.passed and readme.output.startswith("# ecoptigen")


# --- Issue 22: the attacker as root, as in CI ----------------------------------------------------------

SYSCTLS = ("/proc/sys/vm/stat_interval", "/proc/sys/kernel/core_pattern")


def test_host_kernel_settings_are_out_of_reach_even_for_root(sandbox):
    """A program of a sandbox started by root: not root inside, no capability, a seccomp filter, and every
    write to a host-wide kernel setting refused. Values written are harmless ones, and restored if taken."""
    before = {path: Path(path).read_text() for path in SYSCTLS}
    attempts = {
        "/proc/sys/vm/stat_interval": str(int(before["/proc/sys/vm/stat_interval"]) + 1),
        "/proc/sys/kernel/core_pattern": before["/proc/sys/kernel/core_pattern"].strip(),  # the same: harmless
    }
    code = textwrap.dedent(
        f"""
        import ctypes, os
        status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
        print("uid", os.getuid(), os.geteuid(), "caps", status["CapEff"].strip(), "seccomp", status["Seccomp"].strip())
        for path, value in {attempts!r}.items():
            try:
                with open(path, "w") as f:
                    f.write(value)
                print("WROTE", path)
            except OSError as exc:
                print("refused", path, exc.errno)
        libc = ctypes.CDLL(None, use_errno=True)
        for name, call in (("mount", lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
                           ("unshare", lambda: libc.unshare(0x10000000)),
                           ("ptrace", lambda: libc.ptrace(16, 1, None, None)),
                           ("keyctl", lambda: libc.syscall(250, 0, 0, 0, 0, 0))):
            print(name, call(), ctypes.get_errno())
        """
    )
    try:
        result = sandbox.run(code, timeout=10)
        after = {path: Path(path).read_text() for path in SYSCTLS}
    finally:
        for path, value in before.items():
            if Path(path).read_text() != value:
                Path(path).write_text(value)
    assert os.geteuid() == 0, "this attack is meant to run as root, as CI does"
    assert result.passed, result.output[-500:]
    assert after == before
    lines = result.output.splitlines()
    assert "WROTE" not in result.output
    assert lines[0] == "uid 65534 65534 caps 0000000000000000 seccomp 2", lines[0]
    for name in ("mount", "unshare", "ptrace", "keyctl"):
        assert f"{name} -1 1" in lines, (name, lines)  # EPERM, from the filter


def test_a_program_finds_no_trace_of_the_previous_jobs_answer(sandbox):
    """Eight samples, one correct; the seven others look for an earlier job's answer in frames and objects
    left in the warm worker (every worker has just run the correct program) and return it."""
    from ecoptigen.code_utils import eval_function_completions

    tag = uuid.uuid4().hex
    definition = "def add(x, y):\n"
    test = (
        "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(5, 7) == 12\n"
        "    assert candidate(-4, 4) == 0\n"
    )
    correct = f"    return x + y  # {tag}\n"
    thief = textwrap.dedent(
        """
        import gc, sys

        def _answers():
            frame = sys._getframe()
            while frame is not None:
                for value in frame.f_locals.values():
                    if isinstance(value, dict) and value.get("values"):
                        return [v.get("value") for v in value["values"]]
                frame = frame.f_back
            for value in gc.get_objects():
                if isinstance(value, dict) and value.get("verdict") == "passed" and value.get("values"):
                    return [v.get("value") for v in value["values"]]
            return []

        _STOLEN = iter(_answers())

        def add(x, y):
            return next(_STOLEN)
        """
    )
    # Every worker's last job: the correct program, answered with its values (strict mode).
    slots = 2 * max(2, os.cpu_count() or 2)
    warm = f"import time\ntime.sleep(0.3)\n{definition}{correct}"
    calls = ["add(1, 2)", "add(5, 7)", "add(-4, 4)"]
    with ThreadPoolExecutor(slots) as pool:
        assert all(run.passed for run in pool.map(lambda _: sandbox.run(warm, timeout=5, calls=calls), range(slots)))
    samples = [correct] + [f"{thief}\n# {tag} {i}\n" for i in range(7)]
    result = eval_function_completions(samples, definition, test=test, entry_point="add")
    assert result["success"]
    assert result["expected_success"] == pytest.approx(1 - (7 / 8) ** 8)


MEMORY_SCAN = textwrap.dedent(
    """
    import ctypes, re
    markers = (b"SECRET" + b"_KEY=", b"U0VDUkVUX0tF")  # the file's first bytes, raw and in base64
    found = []
    for line in open("/proc/self/maps").read().splitlines():
        fields = line.split()
        name = fields[5] if len(fields) > 5 else ""
        if not fields[1].startswith("r") or name not in ("", "[heap]", "[stack]"):
            continue  # Python's objects live in the heap and in anonymous mappings
        start, end = (int(part, 16) for part in fields[0].split("-"))
        data = ctypes.string_at(start, end - start)
        for marker in markers:
            for hit in re.finditer(re.escape(marker), data):
                found.append(data[hit.start() : hit.start() + 80])
    print(found)
    """
)


def test_a_program_finds_no_trace_of_a_previous_jobs_work_dir_file():
    """The first job gets a ``.env`` from the user's work_dir; the next job, in the same worker, scans
    its whole memory for it."""
    from ecoptigen.sandbox import _backends

    secret = f"SECRET_KEY=sk-{uuid.uuid4().hex}\n"
    pool = _backends.bubblewrap_pool(size=1)
    try:
        first = pool.run("print(open('.env').read() != '')", timeout=5, files={".env": secret.encode()})
        assert first.passed and first.output == "True\n"
        second = pool.run(MEMORY_SCAN, timeout=20)
    finally:
        pool.close()
    encoded = base64.b64encode(secret.encode()).decode()
    assert second.passed, second.output[-500:]
    assert secret.strip() not in second.output and encoded[:40] not in second.output, second.output[-500:]


def test_nothing_written_anywhere_survives_into_the_next_job():
    """One job fills /tmp and tries /etc, /dev and /dev/shm; the next finds none of it and can still
    write 8 MiB."""
    from ecoptigen.sandbox import _backends

    filler = textwrap.dedent(
        """
        import os
        for i in range(4):
            with open(f"/tmp/fill-{i}", "wb") as f:
                f.write(b"0" * (15 << 20))
        for path in ("/etc/fill", "/fill", "/dev/fill", "/dev/shm/fill"):
            try:
                with open(path, "wb") as f:
                    f.write(b"0" * (1 << 20))
            except OSError:
                pass
        """
    )
    checker = textwrap.dedent(
        """
        import os
        left = [p for p in ("/etc/fill", "/fill", "/dev/fill", "/dev/shm/fill") if os.path.exists(p)]
        left += [name for name in os.listdir("/tmp") if name != os.path.basename(os.getcwd())]
        print(left)
        with open("big", "wb") as f:
            f.write(b"1" * (8 << 20))
        assert os.path.getsize("big") == 8 << 20
        assert not left
        """
    )
    pool = _backends.bubblewrap_pool(size=1)
    try:
        assert pool.run(filler, timeout=20).passed
        result = pool.run(checker, timeout=20)
    finally:
        pool.close()
    assert result.passed and result.output == "[]\n", result.output[-500:]


def test_an_unsplittable_check_is_never_judged_with_the_program(sandbox):
    """The test passes the function a value nested too deep to cross, and feeds its output back in: the
    call runs in a fresh child, and an object with a forged ``__eq__`` still equals nothing."""
    test = textwrap.dedent(
        """
        deep = 0
        for _ in range(150):
            deep = [deep]
        assert f(f(deep)) == 42
        """
    )
    liar = "class Yes:\n    def __eq__(self, other):\n        return True\n\n\ndef f(x):\n    return Yes()\n"
    forged = sandbox.run(liar, timeout=10, check=Check("f", test))
    assert forged.verdict == "failed", forged.output[-500:]
    honest = sandbox.run("def f(x):\n    return 42\n", timeout=10, check=Check("f", test))
    assert honest.passed and honest.judged_apart, honest.output[-500:]


HOST = textwrap.dedent(
    """
    import json, os, threading, time
    from ecoptigen.sandbox import get_sandbox

    box = get_sandbox()
    assert box.run("pass", timeout=60).passed  # a worker is up
    threading.Thread(target=box.run, args=("import time\\ntime.sleep(600)", 600), daemon=True).start()
    time.sleep(1)
    def parent(pid):
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
        except OSError:
            return None

    mine = [p for p in os.listdir("/proc") if p.isdigit() and parent(p) == str(os.getpid())]
    groups = set()
    for pid in mine:
        try:
            lines = open(f"/proc/{pid}/cgroup").read().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.strip().split(":", 2)
            if "ecoptigen-" in parts[2]:
                groups.add(parts[2])
    print(json.dumps(sorted(groups)), flush=True)
    time.sleep(600)
    """
)


def _pids_root() -> Path:
    for root in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (root / "cgroup.procs").exists():
            return root
    raise AssertionError("no pids cgroup hierarchy: the sandbox's cgroups cannot be checked")


def _any_process_in(groups: list[Path]) -> bool:
    return any((group / "cgroup.procs").read_text().split() for group in groups)


def _processes_in(groups: list[Path]) -> list[str]:
    """Each process in ``groups``: its name, state and parent (for a failure message)."""
    found = []
    for group in groups:
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
                found.append(f"{pid} {status['Name']} {status['State']} parent {status['PPid']}")
    return found


def test_a_killed_host_leaves_no_sandboxed_program_nor_cgroup(sandbox):
    """The host is SIGKILLed while a program sleeps in the sandbox: the program dies within seconds,
    and the cgroup is removed by the next process of ours that starts a sandbox worker."""
    from ecoptigen.sandbox import _backends

    host = subprocess.Popen([sys.executable, "-c", HOST], stdout=subprocess.PIPE, text=True)
    groups: list[Path] = []
    try:
        line = host.stdout.readline()  # type: ignore[union-attr]
        groups = [_pids_root() / name.lstrip("/") for name in json.loads(line)]
        assert groups and _any_process_in(groups)
        host.kill()
        host.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _any_process_in(groups):
            time.sleep(0.1)
        assert not _any_process_in(groups), f"the program outlived its host: {_processes_in(groups)}"
        pool = _backends.bubblewrap_pool(size=1)
        try:
            assert pool.run("pass", timeout=5).passed  # a new worker: stale cgroups are removed first
        finally:
            pool.close()
        assert not any(group.exists() for group in groups)
    finally:
        host.kill()
        host.wait()
        host.stdout.close()  # type: ignore[union-attr]
        for group in groups:  # on failure: leave nothing behind
            for pid in (group / "cgroup.procs").read_text().split() if group.exists() else []:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                time.sleep(0.5)
                group.rmdir()


def test_big_values_cross_whole(sandbox):
    """A string over 64 KiB and an integer of 5,000 digits come back equal (strict mode)."""
    from ecoptigen.sandbox import strict_test

    expected_int = 10**4999 + 12345
    strict = strict_test(
        f"def check(candidate):\n    assert candidate('x', 100000) == {'x' * 100000!r}\n"
        f"    assert candidate('', 0) == ''\n",
        "repeat",
    )
    program = "def repeat(text, times):\n    return text * times\n\n\ndef huge():\n    return 10**4999 + 12345\n"
    strings = sandbox.run(program, timeout=10, calls=list(strict.calls))
    assert strict.judge(strings), strings.output[-500:]
    integer = sandbox.run(program, timeout=10, calls=["huge()"])
    assert integer.passed, integer.output[-500:]
    assert decode(integer.values[0]["value"]) == expected_int
