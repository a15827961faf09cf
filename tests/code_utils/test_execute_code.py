"""``execute_code`` as FLAML's users rely on it, with the sandbox's isolation kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ecoptigen import code_utils
from ecoptigen.code_utils import execute_code
from ecoptigen.errors import SandboxError
from ecoptigen.sandbox import get_sandbox


def test_files_the_program_writes_appear_in_work_dir(tmp_path):
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    (work_dir / "data.csv").write_text("a,b\n1,2\n")
    (work_dir / "secret-link").symlink_to(tmp_path / "outside.txt")
    (tmp_path / "outside.txt").write_text("not yours")
    program = textwrap.dedent(
        """
        import os
        rows = open("data.csv").read().splitlines()
        open("rows.txt", "w").write(str(len(rows)))
        os.makedirs("plots")
        open("plots/figure.png", "wb").write(bytes(range(256)))
        open("../escaped.txt", "w").write("outside the work folder")
        os.symlink("/etc/hostname", "planted-link")
        print(sorted(os.listdir(".")))
        """
    )
    exit_code, logs, image = execute_code(program, work_dir=str(work_dir))
    assert (exit_code, image) == (0, None), logs
    assert "secret-link" not in logs  # symlinks are not copied in
    assert (work_dir / "rows.txt").read_text() == "2"
    assert (work_dir / "plots" / "figure.png").read_bytes() == bytes(range(256))
    assert not (work_dir / "planted-link").exists() and not (work_dir / "planted-link").is_symlink()
    assert not (tmp_path / "escaped.txt").exists()
    assert (work_dir / "data.csv").read_text() == "a,b\n1,2\n"


def test_a_file_given_by_name_runs_and_its_outputs_stay(tmp_path):
    (tmp_path / "make.py").write_text("open('made.txt', 'w').write(__file__)\n")
    exit_code, logs, _ = execute_code(filename="make.py", work_dir=str(tmp_path))
    assert exit_code == 0, logs
    assert (tmp_path / "made.txt").read_text() == "make.py"


def test_sys_exit_reports_its_code_without_a_traceback():
    exit_code, logs, _ = execute_code("import sys\nprint('bye')\nsys.exit(3)")
    assert exit_code == 3 and logs == "bye\n"
    assert execute_code("import sys\nsys.exit('failed: no input')") == (1, "failed: no input\n", None)
    assert execute_code("raise SystemExit")[0] == 0


def test_tracebacks_show_the_program_only(tmp_path):
    code = "def divide(a, b):\n    return a / b\n\nprint(divide(1, 0))\n"
    exit_code, logs, _ = execute_code(code, filename="calc.py", work_dir=str(tmp_path))
    assert exit_code == 1
    frames = [line.strip() for line in logs.splitlines() if line.strip().startswith("File ")]
    assert frames == ['File "calc.py", line 4, in <module>', 'File "calc.py", line 2, in divide']
    assert "return a / b" in logs and logs.rstrip().endswith("ZeroDivisionError: division by zero")


def test_flamls_use_docker_runs_in_the_bubblewrap_sandbox_and_says_so_once(caplog):
    """There is no Docker backend: FLAML's argument is accepted, the code runs isolated under
    bubblewrap, the image returned is None (as FLAML returns when it did not use Docker), and one
    warning says so."""
    code_utils._say_docker_is_not_used.cache_clear()
    with caplog.at_level("WARNING", logger="ecoptigen.code_utils"):
        for use_docker in (True, "python:3.12-slim", ["python:3-alpine", "python:3"]):
            code = "import os\nprint(os.getuid() != 0, 'OPENAI_API_KEY' in os.environ)"
            assert execute_code(code, use_docker=use_docker) == (0, "True False\n", None)
    warnings = [r.getMessage() for r in caplog.records if "Docker" in r.getMessage()]
    assert len(warnings) == 1 and "bubblewrap" in warnings[0]
    assert execute_code("print(1)", use_docker=False) == (0, "1\n", None)


def test_get_sandbox_refuses_docker_and_names_what_to_use():
    with pytest.raises(SandboxError, match=r"Docker is not supported.*Leave use_docker out.*bubblewrap"):
        get_sandbox(use_docker=True)


def test_without_bubblewrap_the_error_suggests_what_execute_code_honours(tmp_path):
    """In a fresh interpreter whose PATH has no bwrap: the error's advice, followed, works."""
    script = "from ecoptigen.code_utils import execute_code\nprint(execute_code('print(6 * 7)'))\n"
    env = {**os.environ, "PATH": str(tmp_path)}
    env.pop("ECOPTIGEN_ALLOW_WEAK_SANDBOX", None)
    refused = subprocess.run([sys.executable, "-W", "error", "-c", script], env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "SandboxError: bubblewrap is not available" in refused.stderr
    assert "ECOPTIGEN_ALLOW_WEAK_SANDBOX=1" in refused.stderr
    assert "allow_weak=True" not in refused.stderr or "get_sandbox(allow_weak=True)" in refused.stderr
    env["ECOPTIGEN_ALLOW_WEAK_SANDBOX"] = "1"
    allowed = subprocess.run([sys.executable, "-W", "error", "-c", script], env=env, capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "(0, '42\\n', None)"
