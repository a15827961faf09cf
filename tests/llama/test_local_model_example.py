"""examples/local_model_tune.py tunes the tiny model behind the real llama.cpp server, as a user would run it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llama_config import CHAT_MODEL

pytestmark = pytest.mark.llama

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "local_model_tune.py"


def test_local_model_example_tunes_n_against_llama_cpp(llama_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-url", llama_server.base_url, "--model", CHAT_MODEL,
         "--price", "0.0001", "0.0002"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SIMULATED" not in done.stdout
    assert "ignores or caps n" in done.stderr  # llama.cpp answered n=2 or 4 with one choice, and it was noticed
    config = json.loads(done.stdout.split("tuned config:")[1].splitlines()[0])
    assert config["model"] == CHAT_MODEL and config["price"] == [0.0001, 0.0002]
    assert config["n"] == 4  # random weights: every sample differs, so the most samples name the most things
    paid = float(done.stdout.split("paid for the tuning: $")[1].split()[0])
    assert 0 < paid <= 0.005
    test = json.loads(done.stdout.split("test:")[1].splitlines()[0])
    assert test["names"] == 4
