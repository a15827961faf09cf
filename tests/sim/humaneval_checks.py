"""Run simulated completions against HumanEval's real tests, in ecoptigen's sandbox (never in-process)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim._humaneval import Problem

_FENCE = re.compile(r"```(?:python)?\n(.*?)```", re.DOTALL)


def program(problem: Problem, completion: str) -> str:
    """The program to test: a chat answer's code block, or the prompt followed by the completion."""
    fenced = _FENCE.findall(completion)
    code = fenced[0] if fenced else problem.prompt + completion
    return f"{code}\n\n{problem.test}\n\ncheck({problem.entry_point})\n"


def passes(problem: Problem, completion: str, timeout: float = 3.0) -> bool:
    return get_sandbox().run(program(problem, completion), timeout=timeout).passed


def check_all(pairs: list[tuple[Problem, str]], workers: int = 6) -> list[bool]:
    """Whether each completion passes its problem's tests, checked in parallel in the sandbox."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda pair: passes(*pair), pairs))


def pass_rate(pairs: list[tuple[Problem, str]]) -> float:
    results = check_all(pairs)
    return sum(results) / len(results)
