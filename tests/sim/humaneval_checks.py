"""Run simulated completions against HumanEval's real tests, in subprocesses (never in-process)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ecoptigen.sim._humaneval import Problem

_FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.DOTALL)


def program(problem: Problem, completion: str) -> str:
    """The program to test: a chat answer's code block, or the prompt followed by the completion."""
    fenced = _FENCE.findall(completion)
    code = fenced[0] if fenced else problem.prompt + completion
    return f"{code}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def passes(problem: Problem, completion: str, timeout: float = 3.0) -> bool:
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "candidate.py")
        with open(path, "w") as f:
            f.write(program(problem, completion))
        try:
            result = subprocess.run(
                [sys.executable, "-I", path],
                cwd=work,
                env={"PATH": "/usr/bin:/bin"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return False
    return result.returncode == 0


def check_all(pairs: list[tuple[Problem, str]], workers: int = 6) -> list[bool]:
    """Whether each completion passes its problem's tests, checked in parallel subprocesses."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda pair: passes(*pair), pairs))


def pass_rate(pairs: list[tuple[Problem, str]]) -> float:
    results = check_all(pairs)
    return sum(results) / len(results)
