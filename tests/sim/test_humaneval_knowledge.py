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
from ecoptigen.sim._build_mutants import candidates, checked_program
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


# -- wrong answers -----------------------------------------------------------------------------
def _fails_its_tests(sandbox, problem, body):
    """Whether the real tests reject ``body``: the verdict ``"failed"``, not merely "not passed" (a sandbox
    that errors or times out on every program must not make a wrong answer look wrong)."""
    return sandbox.run(checked_program(problem, body), timeout=10).verdict == "failed"


def test_every_problem_ships_wrong_answers_that_differ_from_the_canonical_solution():
    shipped = he.shipped_mutants()
    assert set(shipped) == set(he.problems())
    for task_id, problem in he.problems().items():
        canonical = he.render_body(he.entry_def(problem))
        assert shipped[task_id], task_id
        for body in shipped[task_id]:
            assert body not in (canonical, problem.canonical_solution), task_id
            ast.parse(problem.prompt + body)


def test_shipped_wrong_answers_are_what_the_builder_makes():
    # Regenerating the file (python -m ecoptigen.sim._build_mutants) can only keep these programs.
    shipped = he.shipped_mutants()
    for problem in he.problems().values():
        made = {*candidates(problem, (1, 2)), *candidates(problem, (3, 4)), "    return None\n"}
        assert set(shipped[problem.task_id]) <= made, problem.task_id


def test_a_sample_of_shipped_wrong_answers_fails_the_real_tests():
    rng = random.Random(5)
    sample = [(problem, rng.choice(he.shipped_mutants()[problem.task_id])) for problem in he.problems().values()]
    sandbox = get_sandbox()
    with ThreadPoolExecutor(8) as pool:
        failing = list(pool.map(lambda pair: _fails_its_tests(sandbox, *pair), sample))
    assert [p.task_id for (p, _), failed in zip(sample, failing, strict=True) if not failed] == []


@pytest.mark.parametrize("task_id", ["HumanEval/59", "HumanEval/116", "HumanEval/124", "HumanEval/30"])
def test_served_wrong_answers_fail_where_edited_programs_often_pass(task_id):
    # Before wrong answers were verified, most edits of these solutions still passed the tests.
    problem = he.problems()[task_id]
    bodies = {he.mutant(problem, random.Random(i), broken_share=0.0) for i in range(12)}
    sandbox = get_sandbox()
    assert all(_fails_its_tests(sandbox, problem, body) for body in bodies)
