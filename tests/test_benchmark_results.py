"""Every committed benchmark results file is well-formed: date, machine, load, peers' versions, numbers."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_results_files_pass_the_schema_check():
    files = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert len(files) >= 10
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--check", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("well-formed") == len(files)
