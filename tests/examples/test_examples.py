"""Each example runs as a user would run it, against the simulated endpoint, and so does the notebook."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_example(name, *args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    return subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / name), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_humaneval_workflow_quick(tmp_path):
    out = tmp_path / "out"
    done = run_example("humaneval_tune.py", "--quick", "--no-progress", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SIMULATED endpoint" in done.stdout
    assert "optimized config" in done.stdout and "performance on test data with the tuned config" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["endpoint"] == "simulated" and summary["trials"] >= 1
    assert summary["tuning_dollars_paid"] <= 0.1  # --quick's optimization budget is never exceeded
    assert 0 <= summary["test_success"] <= 1
    assert (out / "tuning.png").stat().st_size > 10_000
    assert (out / "tune.jsonl").read_text().count("\n") >= 2


def test_a_quick_run_never_shares_its_folder_with_a_full_one_unless_asked(monkeypatch):
    spec = importlib.util.spec_from_file_location("humaneval_tune", ROOT / "examples" / "humaneval_tune.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    folders = {}
    for args in ([], ["--quick"], ["--quick", "--out", "mine"]):
        monkeypatch.setattr(sys, "argv", ["humaneval_tune.py", *args])
        folders[" ".join(args)] = example.parse_args().out
    assert folders == {"": "out/humaneval", "--quick": "out/humaneval-quick", "--quick --out mine": "mine"}


def test_chat_tuning_example(tmp_path):
    done = run_example("chat_tuning.py", "--optimization-budget", "0.02", "--num-samples", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tuned config:" in done.stdout and "test:" in done.stdout
    paid = float(done.stdout.split("paid for the tuning: $")[1].split()[0])
    assert paid <= 0.02


def test_endpoints_example(tmp_path):
    done = run_example("endpoints.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "answered by config 1 (gpt-4o-mini)" in done.stdout
    assert "passed the filter: True" in done.stdout


def test_notebook_executes(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / "humaneval_tune.ipynb", as_version=4)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("ECOPTIGEN_QUICK", "1")
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources)
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    assert "SIMULATED endpoint" in text and "performance on test data" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_local_model_example_on_the_simulated_llama_cpp(tmp_path):
    done = run_example("local_model_tune.py", "--optimization-budget", "0.002", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SIMULATED endpoint" in done.stdout and "ignores or caps n" in done.stderr
    assert "tuned config:" in done.stdout and "test:" in done.stdout
    assert float(done.stdout.split("paid for the tuning: $")[1].split()[0]) <= 0.002
