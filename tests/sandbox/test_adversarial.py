"""Hostile programs, each run in the sandbox with a fake API key in our environment; afterwards the
host is checked (the ``sandbox`` fixture, in conftest.py): nothing leaked, nothing changed, nothing left
running, the evaluator still works."""

import textwrap
import uuid
from pathlib import Path

import pytest

from ecoptigen.sandbox import weak_sandbox

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
