"""A stand-in for ``ecoptigen.code_utils.eval_function_completions`` with generated assertions.

Used by ``tune_vs_flaml.py`` only when ``ecoptigen.code_utils`` is not available. Same contract as the
documented function: generate assertions from the problem's docstring (one request, only when there is
more than one response to choose from), select the first response whose program passes them, and
report whether the selected one passes the problem's unit test. Generated code runs in a child process
with an empty environment in a throw-away directory, never in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from ecoptigen import oai

ASSERTION_PROMPT = (
    "Given the function signature and docstring below, write one assertion for each example in the "
    "docstring, with no assertion messages.\n\n{definition}\nassertions:"
)


def run_isolated(code: str, timeout: float = 3.0) -> bool:
    """Whether ``code`` exits with status 0 in an isolated child Python within ``timeout`` seconds."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "candidate.py")
        with open(path, "w") as file:
            file.write(code)
        try:
            done = subprocess.run(
                [sys.executable, "-I", path], cwd=folder, env={}, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


def _program(definition: str, response: str) -> str:
    head = response.split("def check(", 1)[0]
    return head if head.lstrip().startswith("def") else definition + head


def eval_with_generated_assertions(responses: list, definition: str, test: str, entry_point: str) -> dict:
    """Select a response with generated assertions and test it: ``{"success", "succeed_assertions", ...}``."""
    responses = [str(r) for r in responses]
    chosen, passed, gen_cost = len(responses) - 1, False, 0.0
    if len(responses) > 1:
        reply = oai.ChatCompletion.create(
            {"definition": definition}, model="gpt-3.5-turbo", prompt=ASSERTION_PROMPT, max_tokens=256, stop="\n\n"
        )
        assertions, gen_cost = oai.ChatCompletion.extract_text(reply)[0], float(reply["cost"])
        for index, response in enumerate(responses):
            if run_isolated(f"{_program(definition, response)}\n{assertions}"):
                chosen, passed = index, True
                break
    else:
        chosen = 0
    program = f"{_program(definition, responses[chosen])}\n{test}\ncheck({entry_point})"
    return {
        "success": run_isolated(program),
        "succeed_assertions": passed,
        "index_selected": chosen,
        "gen_cost": gen_cost,
    }
