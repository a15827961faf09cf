"""What the simulated models know about HumanEval, checked problem by problem (no HTTP needed)."""

import pytest

from ecoptigen.datasets import load_humaneval
from ecoptigen.sim._humaneval import find_problem

ROWS = list(load_humaneval()["test"])
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
