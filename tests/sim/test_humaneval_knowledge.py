"""What the simulated models know about HumanEval, checked problem by problem (generated code runs in the sandbox)."""

import ast
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecoptigen.code_utils import GENERATE_ASSERTIONS_PROMPT
from ecoptigen.datasets import load_humaneval
from ecoptigen.sandbox import get_sandbox
from ecoptigen.sim import _humaneval as he
from ecoptigen.sim._behaviour import answer
from ecoptigen.sim._humaneval import find_problem

ROWS = list(load_humaneval()["test"])
CONTESTED = ["HumanEval/47", "HumanEval/67", "HumanEval/80", "HumanEval/130"]
WRAPPINGS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:\n{definition}\n"]


@pytest.mark.parametrize("wrapping", WRAPPINGS)
def test_every_problem_is_recognised_from_its_own_prompt(wrapping):
    missed = []
    for row in ROWS:
        found = find_problem(wrapping.format(definition=row["prompt"]))
        if found is None or found.task_id != row["task_id"]:
            missed.append(row["task_id"])
    assert len(ROWS) == 164
    assert missed == []


def test_a_docstring_with_an_escape_sequence_is_recognised():
    # HumanEval/51's docstring holds a backslash-n; the prompt spells it as two characters.
    row = next(r for r in ROWS if r["task_id"] == "HumanEval/51")
    assert "\\n" in row["prompt"]
    assert find_problem(row["prompt"]).task_id == "HumanEval/51"


def test_a_bare_signature_is_not_a_problem():
    assert find_problem("def max_fill(grid, capacity):\n    pass\n") is None


def _assertion_answer(row, model="gpt-4o-mini", temperature=0.0, seed=0):
    prompt = GENERATE_ASSERTIONS_PROMPT.format(definition=row["prompt"])
    return answer(model, prompt, temperature, True, 256, random.Random(seed)).text


@pytest.mark.parametrize("model", ["gpt-4.1", "text-ada-001"])  # few and many wrong expected values
def test_assertion_answers_are_python_for_every_problem(model):
    invalid = []
    for row in ROWS:
        for seed in range(3):
            text = _assertion_answer(row, model, temperature=0.7, seed=seed)
            try:
                ast.parse(text)
            except SyntaxError:
                invalid.append(row["task_id"])
    assert invalid == []


def test_canonical_solutions_pass_their_docstring_assertions():
    problems = list(he.problems().values())
    programs = {}
    for problem in problems:
        assertions = he.docstring_assertions(problem, random.Random(0), error_rate=0.0)
        if assertions:
            programs[problem.task_id] = f"{problem.prompt}{problem.canonical_solution}\n{assertions}\n"
    sandbox = get_sandbox()
    with ThreadPoolExecutor(8) as pool:
        runs = pool.map(lambda code: sandbox.run(code, timeout=20), programs.values())
        results = dict(zip(programs, runs, strict=True))
    failed = {task_id: r.output[-300:] for task_id, r in results.items() if not r.passed}
    assert failed == {}
    # decode_cyclic and decode_shift give no example; every other problem gets at least one assertion.
    assert set(he.problems()) - set(programs) == {"HumanEval/38", "HumanEval/50"}


@pytest.mark.parametrize(
    ("task_id", "line"),
    [
        ("HumanEval/12", "assert longest([]) == None"),  # a doctest that prints nothing returned None
        ("HumanEval/113", "assert odd_count(['3', '11111111']) == ["),  # a value over two lines
        ("HumanEval/117", "assert select_words('Mary had a little lamb', 4) == ['little']"),  # ==>
        ("HumanEval/125", "assert split_words('Hello world!') == ['Hello', 'world!']"),  # ➞
        ("HumanEval/156", "assert int_to_mini_roman(19) == 'xix'"),  # >>> f(x) == y
        ("HumanEval/51", "assert remove_vowels('abcdef\\nghijklm') == 'bcdf\\nghjklm'"),  # an escape
    ],
)
def test_examples_in_other_formats_become_assertions(task_id, line):
    row = next(r for r in ROWS if r["task_id"] == task_id)
    assert line in _assertion_answer(row, "gpt-4.1")


def test_examples_that_are_workings_or_prose_are_left_out():
    answers = {t: _assertion_answer(next(r for r in ROWS if r["task_id"] == t), "gpt-4.1") for t in CONTESTED}
    assert "== 19" not in answers["HumanEval/67"]  # "...", 19) -> 19 - 5 - 6 = 8
    assert "is_happy(a)" not in answers["HumanEval/80"]  # is_happy(a) => False: a is prose, not a name
    assert "tri(1) == 3" not in answers["HumanEval/130"]  # the definition, not an example
    assert "15.0" not in answers["HumanEval/47"]  # HumanEval's own docstring is wrong here
