"""``python -m ecoptigen.sim``, run as a user runs it."""

import os
import subprocess
import sys

from ecoptigen import sim


def test_a_busy_port_gives_one_clear_line_and_no_traceback():
    with sim.serve() as running:
        port = running.base_url.split(":")[2].split("/")[0]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        run = subprocess.run(
            [sys.executable, "-m", "ecoptigen.sim", "--port", port],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert f"port {port}" in lines[0] and "already in use" in lines[0] and "--port 0" in lines[0]
