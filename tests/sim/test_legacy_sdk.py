"""FLAML's reference implementation talks to the simulated endpoint through the legacy openai==0.28
SDK; this checks that SDK works against it unchanged, in its own virtualenv.

The virtualenv is built from the package registry on first use (or taken from
``ECOPTIGEN_LEGACY_OPENAI_PYTHON``, a python that has openai==0.28.1 installed).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ecoptigen import sim

LEGACY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import openai
    assert openai.version.VERSION.startswith("0.28"), openai.version.VERSION
    base = sys.argv[1]
    openai.api_key = "sk-legacy"
    openai.api_base = base + "/v1"
    out = {}
    r = openai.Completion.create(model="text-davinci-003", prompt="def f(x):", max_tokens=8, n=2, stop=["\\n\\n"])
    out["completion"] = [len(r["choices"]), r["usage"]["prompt_tokens"] > 0, r["object"]]
    r = openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
    out["chat"] = [r["choices"][0]["message"]["role"], r["model"]]
    try:
        openai.Completion.create(model="gpt-4", prompt="x")
    except openai.error.InvalidRequestError as e:
        out["error"] = e.http_status
    openai.api_type = "azure"
    openai.api_base = base
    openai.api_version = "2023-03-15-preview"
    r = openai.ChatCompletion.create(engine="gpt-35-turbo", messages=[{"role": "user", "content": "hi"}])
    out["azure"] = r["model"]
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="session")
def legacy_python(tmp_path_factory):
    given = os.environ.get("ECOPTIGEN_LEGACY_OPENAI_PYTHON")
    if given:
        return given
    venv = tmp_path_factory.mktemp("legacy-openai") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "openai==0.28.1"], check=True, timeout=600, capture_output=True
    )
    return python


def test_legacy_openai_sdk_works_unchanged(legacy_python):
    with sim.serve(seed=1) as server:
        base = server.base_url.removesuffix("/v1")
        result = subprocess.run(
            [legacy_python, "-c", LEGACY_SCRIPT, base],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=Path(__file__).parent,
        )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["completion"] == [2, True, "text_completion"]
    assert out["chat"] == ["assistant", "gpt-3.5-turbo"]
    assert out["error"] == 400
    assert out["azure"] == "gpt-3.5-turbo"
