"""The seed's HumanEval tuning: ecoptigen vs FLAML 1.2.4 (the reference), same simulated server and latency.

Measured in the same run, against one simulated endpoint (in its own process, ``--latency`` seconds per
request), for each repeat and each peer, with fresh caches:

* wall time of the documented ``oai.Completion.tune`` call (20 tuning problems, the seed's prompts and
  stops, ``eval_function_completions`` with ``generate_assertions``, ``num_samples=-1``), and per trial
  tried (the same budget buys ecoptigen more trials); ``--num-samples k`` compares the first ``k``
  trials instead, which are the same configurations for both when ``k`` is at most the number of models;
* dollars billed by the server during the tuning, as a multiple of ``optimization_budget``;
* success on held-out problems of the tuned config (``oai.Completion.test``).

Both peers search the same space (``--models``, FLAML's default model list, which both price), so the
comparison is at equal budget. The reference runs in its own virtualenv (``--ref-python``) with
``flaml==1.2.4 openai==0.28.1 diskcache optuna==2.8.0 "numpy<2" "pandas<2.3" "scikit-learn<1.6"`` and is
pointed at the server through ``openai.api_base`` (see ``_flaml_reference.py``).

Run: python benchmarks/tune_vs_flaml.py [--repeats 3] [--latency 0.5] [--optimization-budget 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from _common import write_results
from _sim_stats import SimWithStats

HERE = Path(__file__).parent
LEGACY_MODELS = "text-ada-001,text-babbage-001,text-davinci-003,gpt-3.5-turbo,gpt-4"
PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]


def load_problems(n_tune: int, n_test: int) -> dict:
    """The seed's split: HumanEval shuffled with seed 41, the first ``n_tune`` for tuning, the next ``n_test``
    held out (``ecoptigen.datasets`` rebuilds the hub's copy offline)."""
    from ecoptigen.datasets import load_humaneval

    shuffled = load_humaneval()["test"].shuffle(seed=41)
    rows = [{"definition": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]} for p in shuffled]
    return {"tune": rows[:n_tune], "test": rows[n_tune : n_tune + n_test]}


def billed(stats_of) -> float:
    """Dollars the simulated provider has billed so far (the ground truth)."""
    return float(stats_of()["total_billed_usd"])


def our_eval_func() -> tuple[object, str]:
    """The seed's eval_func, from ecoptigen.code_utils."""
    from ecoptigen.code_utils import eval_function_completions, generate_assertions

    return partial(eval_function_completions, assertions=generate_assertions), "ecoptigen.code_utils"


def run_ours(base_url: str, data: dict, args: argparse.Namespace, stats_of) -> dict:
    from ecoptigen import oai

    evaluate, eval_name = our_eval_func()
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = base_url, "sk-sim-ecoptigen"
    with tempfile.TemporaryDirectory() as cache:
        oai.Completion.set_cache(seed=41, cache_path_root=cache)
        before, started = billed(stats_of), time.perf_counter()
        config, analysis = oai.Completion.tune(
            data=data["tune"],
            metric="success",
            mode="max",
            eval_func=evaluate,
            inference_budget=args.inference_budget,
            optimization_budget=args.optimization_budget,
            num_samples=args.num_samples,
            prompt=PROMPTS,
            stop=STOPS,
            model=args.models.split(","),
            show_progress=False,
            **({"parallel_trials": args.parallel_trials} if args.parallel_trials else {}),
        )
        seconds, paid = time.perf_counter() - started, billed(stats_of) - before
        started = time.perf_counter()
        result = oai.Completion.test(data["test"], config)
        test_seconds = time.perf_counter() - started
    return {
        "tune_seconds": seconds,
        "billed": paid,
        "paid_over_budget": paid / args.optimization_budget,
        "own_total_cost": analysis.total_cost,
        "trials": len(analysis.trials),
        "stopped_because": analysis.stopped_because,
        "best_result": {k: v for k, v in analysis.best_result.items() if isinstance(v, (int, float))},
        "config": {k: v for k, v in config.items() if isinstance(v, (str, int, float, list, type(None)))},
        "test": {k: float(v) for k, v in result.items()},
        "test_seconds": test_seconds,
        "eval_func": eval_name,
    }


def run_reference(base_url: str, data_file: str, args: argparse.Namespace, stats_of) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "reference.json")
        common = [
            "--base-url", base_url, "--data", data_file, "--out", out, "--cache", os.path.join(folder, "cache"),
            "--inference-budget", str(args.inference_budget), "--optimization-budget", str(args.optimization_budget),
            "--models", args.models, "--num-samples", str(args.num_samples),
        ]  # fmt: skip
        script = str(HERE / "_flaml_reference.py")
        before = billed(stats_of)
        # cwd: FLAML 1.2.4's create() resets the cache root to "./.cache" after its first call, so each
        # reference run gets a fresh working directory or it would reuse an earlier run's answers.
        run = partial(subprocess.run, check=True, timeout=args.timeout, cwd=folder)
        run([args.ref_python, script, "tune", *common])
        paid = billed(stats_of) - before
        run([args.ref_python, script, "test", *common])
        with open(out) as file:
            result = json.load(file)
    result.update(billed=paid, paid_over_budget=paid / args.optimization_budget)
    result["config"] = {k: v for k, v in result["config"].items() if k != "config_list"}
    return result


def summarize(runs: list[dict]) -> dict:
    ours = [r["ecoptigen"] for r in runs]
    ref = [r["flaml_1_2_4"] for r in runs]
    speedups = [r["flaml_1_2_4"]["tune_seconds"] / r["ecoptigen"]["tune_seconds"] for r in runs]
    per_trial = [
        (r["flaml_1_2_4"]["tune_seconds"] / r["flaml_1_2_4"]["trials"])
        / (r["ecoptigen"]["tune_seconds"] / r["ecoptigen"]["trials"])
        for r in runs
    ]
    return {
        "speedup_wall_time_median": statistics.median(speedups),
        "speedup_wall_time_min": min(speedups),
        # The same budget buys ecoptigen more trials (it stops doomed ones early); this is per trial tried.
        "speedup_per_trial_median": statistics.median(per_trial),
        "ecoptigen_trials_mean": statistics.fmean(r["trials"] for r in ours),
        "flaml_trials_mean": statistics.fmean(r["trials"] for r in ref),
        "ecoptigen_tune_seconds_median": statistics.median(r["tune_seconds"] for r in ours),
        "flaml_tune_seconds_median": statistics.median(r["tune_seconds"] for r in ref),
        "ecoptigen_paid_over_budget_max": max(r["paid_over_budget"] for r in ours),
        "flaml_paid_over_budget_max": max(r["paid_over_budget"] for r in ref),
        "ecoptigen_test_success_mean": statistics.fmean(r["test"]["success"] for r in ours),
        "flaml_test_success_mean": statistics.fmean(r["test"]["success"] for r in ref),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.5, help="simulated seconds per request")
    parser.add_argument("--inference-budget", type=float, default=0.05)
    parser.add_argument("--optimization-budget", type=float, default=3.0)
    parser.add_argument("--n-tune", type=int, default=20)
    parser.add_argument("--n-test", type=int, default=144)
    parser.add_argument("--models", default=LEGACY_MODELS)
    parser.add_argument("--parallel-trials", type=int, default=0, help="0: ecoptigen's default")
    parser.add_argument(
        "--num-samples", type=int, default=-1, help="-1 (the seed's): until the budget is spent; k: the first k trials"
    )
    parser.add_argument("--ref-python", default="/tmp/flaml_ref_venv/bin/python")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--name", default="tune_vs_flaml")
    args = parser.parse_args()

    data = load_problems(args.n_tune, args.n_test)
    runs = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data_file:
        json.dump(data, data_file)
    for repeat in range(args.repeats):
        order = ["ecoptigen", "flaml_1_2_4"] if repeat % 2 == 0 else ["flaml_1_2_4", "ecoptigen"]
        run = {}
        for peer in order:
            # A fresh server with the same seed per peer and repeat: both meet the same simulated models.
            with SimWithStats(latency=args.latency, seed=41 + repeat) as sim:
                if peer == "ecoptigen":
                    run[peer] = run_ours(sim.base_url, data, args, sim.stats)
                else:
                    run[peer] = run_reference(sim.base_url, data_file.name, args, sim.stats)
            print(repeat, peer, json.dumps({k: run[peer][k] for k in ("tune_seconds", "billed", "trials")}), flush=True)
        runs.append(run)
    os.unlink(data_file.name)
    settings = {k: v for k, v in vars(args).items() if k not in ("ref_python", "timeout", "name")}
    path = write_results(args.name, {"settings": settings, "summary": summarize(runs), "runs": runs})
    print(json.dumps(summarize(runs), indent=2))
    print("written to", path)


if __name__ == "__main__":
    main()
