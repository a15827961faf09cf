"""Every number in README's results table is read from a committed results file: the table and the
files cannot drift apart.

:data:`QUOTES` says where each quoted figure comes from: the text as the README quotes it, with ``{}``
where the figure stands, the results file, the path to the value in it, and how it is formatted. A figure
changed in the README, or a results file re-measured, fails the test until the other follows; a number
added to the table without an entry here fails it too.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TABLE_START = "<!-- results table:"
TABLE_END = "<!-- end of results table -->"

TUNING = "tune_vs_flaml_real_tests_fixed_search_seed.json"
SEARCH = "search_quality.json"

# (quoted text with {} for the figure, results file, path to the value, format of the figure)
QUOTES = [
    ("success {}, FLAML", TUNING, "summary/ecoptigen_test_success_mean", ".2f"),
    ("FLAML {} (mean of 5 runs)", TUNING,
     "summary/vs_flaml_2_7_0/reference_test_success_mean", ".2f"),
    ("{}× sooner than FLAML 2.7.0", TUNING,
     "summary/vs_flaml_2_7_0/time_to_reference_best/sooner_median", ".1f"),
    ("worst {}×)", TUNING,
     "summary/vs_flaml_2_7_0/time_to_reference_best/sooner_worst", ".1f"),
    ("median of {} runs", TUNING, "runs#", "d"),
    ("mean of {} runs", TUNING, "runs#", "d"),
    ("{} checks per second on 2 cores", "sandbox_throughput.json", "rows/ecoptigen_parallel/checks_per_s", ".0f"),
    ("on {} cores", "sandbox_throughput.json", "machine/cores", "d"),
    ("{}× FLAML's", "sandbox_throughput.json", "ratios/parallel_vs_flaml", ".1f"),
    ("{} ms vs", "create_overhead.json", "create_no_cache_median_ms", ".2f"),
    ("vs {} ms per call", "create_overhead.json", "raw_sdk_median_ms", ".2f"),
    ("{} ms per cache hit", "create_overhead.json", "cache_hit_median_ms", ".2f"),
    ("{} requests per second", "sim_throughput.json", "sim_requests_per_s", ".0f"),
    ("({} search seeds)", SEARCH, "settings/seeds", "d"),
    ("$1: held-out {}", SEARCH, "summary/budget_1/ecoptigen/held_out_success/mean", ".3f"),
    ("$3: held-out {}", SEARCH, "summary/budget_3/ecoptigen/held_out_success/mean", ".3f"),
    ("(FLAML 2.7.0: {} on", SEARCH, "summary/budget_1/flaml_2_7_0/held_out_success/mean", ".3f"),
    ("(FLAML 2.7.0: {} on", SEARCH, "summary/budget_3/flaml_2_7_0/held_out_success/mean", ".3f"),
    ("on {} seeds), regret", SEARCH, "summary/budget_1/flaml_2_7_0/seeds#", "d"),
    ("on {} seeds), regret", SEARCH, "summary/budget_3/flaml_2_7_0/seeds#", "d"),
    ("regret {}, worst seed", SEARCH, "summary/budget_1/ecoptigen/regret/mean", ".3f"),
    ("regret {}, worst seed", SEARCH, "summary/budget_3/ecoptigen/regret/mean", ".3f"),
    ("worst seed {}", SEARCH, "summary/budget_1/ecoptigen/regret/worst", ".3f"),
    ("worst seed {}", SEARCH, "summary/budget_3/ecoptigen/regret/worst", ".3f"),
]  # fmt: skip
# Numbers in the table that are names, not measurements.
NAMES = {"2.7.0", "2", "1", "5"}


def value_at(data, path):
    """The value at ``path`` (``/``-separated keys; a trailing ``#`` counts the items of a list)."""
    counting = path.endswith("#")
    for key in path.rstrip("#").split("/"):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return len(data) if counting else data


def rendered(quote):
    text, file, path, form = quote
    data = json.loads((RESULTS / file).read_text())
    return text.format(format(value_at(data, path), form))


def results_table(document="README.md"):
    text = (ROOT / document).read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    return text[start:end]


@pytest.mark.parametrize("quote", QUOTES, ids=[q[0] for q in QUOTES])
def test_each_quoted_figure_is_the_one_in_its_results_file(quote):
    table = results_table()
    assert rendered(quote) in table, f"README quotes another figure than {quote[1]} holds at {quote[2]}"


def test_every_number_in_the_table_is_registered():
    table = results_table()
    covered = " ".join(rendered(q) for q in QUOTES)
    quoted = set(re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?", table.split("| --- |", 1)[1]))
    unregistered = {n for n in quoted if n not in NAMES and n not in covered}
    assert not unregistered, f"numbers in README's results table with no entry in QUOTES: {sorted(unregistered)}"
