"""Run simulated completions against HumanEval's real tests, in ecoptigen's sandbox (never in-process)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim._humaneval import Problem, without_comments

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


_KNOWN: dict[tuple[str, str], bool] = {}


def check_unique(pairs: list[tuple[Problem, str]], workers: int = 6) -> list[bool]:
    """Like :func:`check_all`, running each distinct program once per test session: at temperature
    > 0 the same few programs come back again and again, often differing only in their comments."""
    keys = [(p.task_id, without_comments(t)) for p, t in pairs]
    todo = list(dict.fromkeys(k for k in keys if k not in _KNOWN))
    by_id = {p.task_id: p for p, _ in pairs}
    verdicts = check_all([(by_id[task_id], text) for task_id, text in todo], workers)
    _KNOWN.update(zip(todo, verdicts, strict=True))
    return [_KNOWN[k] for k in keys]


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of Chen et al. (2021): 1 - C(n - c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    result = 1.0
    for i in range(n - c + 1, n + 1):
        result *= 1.0 - k / i
    return 1.0 - result
