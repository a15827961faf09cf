"""The seed's HumanEval tuning: ecoptigen vs FLAML 1.2.4 and FLAML 2.7.0, same simulated server and latency.

Measured in the same run, against one simulated endpoint per peer and repeat (in its own process,
``--latency`` seconds per request, seeded with ``41 + repeat``, so every peer meets the same simulated
models), with fresh caches, the peers' order rotating from repeat to repeat. Each repeat also has its
own search seed, ``--search-seed + repeat`` (BlendSearch's seed, 20 in FLAML; every peer gets the same),
so the repeats start the search from different points (``--fixed-search-seed``: all from FLAML's):

* wall time of the documented ``oai.Completion.tune`` call (20 tuning problems, the seed's prompts and
  stops, ``eval_function_completions`` with ``generate_assertions`` -- or, with ``--eval-func tests``,
  without them: each answer checked against the real tests --, ``num_samples=-1``), and per trial tried
  (the same budget buys ecoptigen more trials); ``--num-samples k`` compares the first ``k`` trials;
* dollars billed by the server during the tuning, as a multiple of ``optimization_budget``;
* success on held-out problems of the tuned config (``oai.Completion.test``);
* time and dollars to each reference's final best: how long each tuner took until a configuration it
  had fully evaluated (within the inference budget) scored at least the reference's final best, and
  what the server had billed by then (``time_to_reference_best``, per repeat, median and worst).

All peers search the same space (``--models``, FLAML's default model list, which all price), so the
comparison is at equal budget. The references run FLAML's own tuner in their own virtualenvs, built
from ``benchmarks/peers/flaml-*.txt`` on first use, pointed at the server through ``openai.api_base``
(see ``_flaml_reference.py``). ecoptigen is driven through its public API only (``oai.Completion``, the
``Analysis`` it returns and the per-trial INFO records of the ``ecoptigen.tuning`` logger, which say
when each trial was known).

Run: python benchmarks/tune_vs_flaml.py [--repeats 3] [--latency 0.5] [--optimization-budget 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import tempfile
import time
from functools import partial
from pathlib import Path

from _common import add_common_args, write_results
from _peers import peer_python
from _sim_stats import SimWithStats, billed_at

HERE = Path(__file__).parent
LEGACY_MODELS = "text-ada-001,text-babbage-001,text-davinci-003,gpt-3.5-turbo,gpt-4"
PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]
METRIC = "success"
REFERENCES = ("flaml-1.2.4", "flaml-2.7.0")


def key_of(peer: str) -> str:
    """``flaml-1.2.4`` -> ``flaml_1_2_4`` (the peer's key in the results)."""
    return re.sub(r"[-.]", "_", peer)


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


class TrialTimes(logging.Handler):
    """When each trial was told to the search: the time of its INFO record in the ``ecoptigen.tuning`` log."""

    PATTERN = re.compile(r"trial t(\d+) \w+:")

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.told: dict[int, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = self.PATTERN.match(record.getMessage())
        if match:
            self.told.setdefault(int(match[1]), record.created)


def run_ours(sim: SimWithStats, data: dict, args: argparse.Namespace) -> dict:
    from ecoptigen import oai
    from ecoptigen.code_utils import eval_function_completions, generate_assertions

    assertions = generate_assertions if args.eval_func in ("seed", "seed-all-n") else None
    evaluate = partial(eval_function_completions, assertions=assertions)
    if args.eval_func == "seed-all-n":  # the same eval_func, without the rule by which a prefix decides it
        evaluate = partial(_every_response, evaluate)
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = sim.base_url, "sk-sim-ecoptigen"
    times = TrialTimes()
    logging.getLogger("ecoptigen.tuning").addHandler(times)
    try:
        with tempfile.TemporaryDirectory() as cache:
            oai.Completion.set_cache(seed=41, cache_path_root=cache)
            before, started_at, started = billed(sim.stats), time.time(), time.perf_counter()
            config, analysis = oai.Completion.tune(
                data=data["tune"],
                metric=METRIC,
                mode="max",
                eval_func=evaluate,
                inference_budget=args.inference_budget,
                optimization_budget=args.optimization_budget,
                num_samples=args.num_samples,
                logging_level=logging.INFO,
                prompt=PROMPTS,
                stop=STOPS,
                model=args.models.split(","),
                show_progress=False,
                search_seed=args.search_seed_of_repeat,
                **({"parallel_trials": args.parallel_trials} if args.parallel_trials else {}),
            )
            seconds, paid = time.perf_counter() - started, billed(sim.stats) - before
            started = time.perf_counter()
            result = oai.Completion.test(data["test"], config)
            test_seconds = time.perf_counter() - started
    finally:
        logging.getLogger("ecoptigen.tuning").removeHandler(times)
    ok = [t for t in analysis.trials if t.status == "ok"]
    missing = [t.index for t in ok if t.index not in times.told]
    if missing:
        raise RuntimeError(
            f"no INFO record of the ecoptigen.tuning logger for trials {missing}: the benchmark reads the trials' "
            "times from those records; update TrialTimes in benchmarks/tune_vs_flaml.py to the new log format"
        )
    evaluations = [
        {"at": times.told[t.index], "metric": t.metrics.get(METRIC), "eligible": True, "trial": t.index} for t in ok
    ]
    return {
        "tune_seconds": seconds,
        "billed": paid,
        "paid_over_budget": paid / args.optimization_budget,
        "own_total_cost": analysis.total_cost,
        "trials": len(analysis.trials),
        "stopped_because": analysis.stopped_because,
        "best_result": {k: v for k, v in (analysis.best_result or {}).items() if isinstance(v, (int, float))},
        "config": {k: v for k, v in config.items() if isinstance(v, (str, int, float, list, type(None)))},
        "test": {k: float(v) for k, v in result.items()},
        "test_seconds": test_seconds,
        "timeline": timeline(evaluations, started_at, sim.billing(), before),
    }


def _every_response(evaluate, responses, **row):
    """``evaluate`` under a name that declares no prefix rule: every trial buys all ``n`` completions."""
    return evaluate(responses, **row)


def run_reference(peer: str, sim: SimWithStats, data_file: str, args: argparse.Namespace) -> dict:
    python = peer_python(peer)
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "reference.json")
        common = [
            "--base-url", sim.base_url, "--data", data_file, "--out", out, "--cache", os.path.join(folder, "cache"),
            "--inference-budget", str(args.inference_budget), "--optimization-budget", str(args.optimization_budget),
            "--models", args.models, "--num-samples", str(args.num_samples),
            "--eval-func", "tests" if args.eval_func == "tests" else "seed",  # FLAML buys all n either way
            "--search-seed", str(args.search_seed_of_repeat),
        ]  # fmt: skip
        script = str(HERE / "_flaml_reference.py")
        before = billed(sim.stats)
        # cwd: FLAML 1.2.4's create() resets the cache root to "./.cache" after its first call, so each
        # reference run gets a fresh working directory or it would reuse an earlier run's answers.
        log = os.path.join(folder, "reference.log")
        run = partial(quietly, log=log, timeout=args.timeout, cwd=folder)
        run([python, script, "tune", *common])
        paid = billed(sim.stats) - before
        billing = sim.billing()
        run([python, script, "test", *common])
        with open(out) as file:
            result = json.load(file)
    result.update(billed=paid, paid_over_budget=paid / args.optimization_budget)
    result["config"] = {k: v for k, v in result["config"].items() if k != "config_list"}
    result["timeline"] = timeline(result.pop("evaluations"), result.pop("started_at"), billing, before)
    return result


def quietly(command: list[str], log: str, **kwargs) -> None:
    """Run a reference with its (verbose) output in ``log``; show the end of it if the reference fails."""
    with open(log, "a") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs)
    if done.returncode:
        with open(log) as out:
            print(out.read()[-5000:], flush=True)
        raise subprocess.CalledProcessError(done.returncode, command)


def timeline(evaluations: list[dict], started_at: float, billing: list[tuple[float, float]], before: float) -> list:
    """Each evaluated configuration: seconds into the tuning, its metric, whether it counts, dollars billed by then."""
    return [
        {
            **{k: v for k, v in e.items() if k != "at"},
            "seconds": e["at"] - started_at,
            "billed": billed_at(billing, e["at"]) - before,
        }
        for e in sorted(evaluations, key=lambda e: e["at"])
    ]


def reached(run: dict, target: float) -> dict | None:
    """When (seconds, dollars billed) a peer first had a counted configuration scoring ``target`` or more."""
    for point in run["timeline"]:
        if point["eligible"] and point["metric"] is not None and point["metric"] >= target - 1e-9:
            return {"seconds": point["seconds"], "billed": point["billed"]}
    return None


def to_reference_best(run: dict, reference: str) -> dict:
    """Time and dollars for ecoptigen and for the reference to reach the reference's final best, one repeat.

    The final best is the best configuration the reference evaluated within the inference budget; a
    reference that found none (it returns a configuration over the budget) sets no target.
    """
    eligible = [p["metric"] for p in run[key_of(reference)]["timeline"] if p["eligible"] and p["metric"] is not None]
    if not eligible:
        return {"target": None, "reference_found_nothing_within_the_inference_budget": True}
    target = max(eligible)
    ours, theirs = reached(run["ecoptigen"], target), reached(run[key_of(reference)], target)
    figures: dict = {"target": target, "ecoptigen": ours, "reference": theirs}
    if ours and theirs:
        figures["sooner"] = theirs["seconds"] / max(ours["seconds"], 1e-9)
        figures["dollars_ratio"] = ours["billed"] / theirs["billed"] if theirs["billed"] else None
    return figures


def summarize(runs: list[dict], references: list[str]) -> dict:
    ours = [r["ecoptigen"] for r in runs]
    summary: dict = {
        "ecoptigen_trials_mean": statistics.fmean(r["trials"] for r in ours),
        "ecoptigen_tune_seconds_median": statistics.median(r["tune_seconds"] for r in ours),
        "ecoptigen_paid_over_budget_max": max(r["paid_over_budget"] for r in ours),
        "ecoptigen_test_success_mean": statistics.fmean(r["test"][METRIC] for r in ours),
    }
    for reference in references:
        key = key_of(reference)
        ref = [r[key] for r in runs]
        speedups = [r[key]["tune_seconds"] / r["ecoptigen"]["tune_seconds"] for r in runs]
        per_trial = [
            (r[key]["tune_seconds"] / r[key]["trials"]) / (r["ecoptigen"]["tune_seconds"] / r["ecoptigen"]["trials"])
            for r in runs
        ]
        reach = [to_reference_best(r, reference) for r in runs]
        sooner = [x["sooner"] for x in reach if "sooner" in x]
        dollars = [x["dollars_ratio"] for x in reach if x.get("dollars_ratio") is not None]
        summary[f"vs_{key}"] = {
            "speedup_wall_time_median": statistics.median(speedups),
            "speedup_wall_time_min": min(speedups),
            # The same budget buys ecoptigen more trials (it stops doomed ones early); this is per trial tried.
            "speedup_per_trial_median": statistics.median(per_trial),
            "reference_trials_mean": statistics.fmean(r["trials"] for r in ref),
            "reference_tune_seconds_median": statistics.median(r["tune_seconds"] for r in ref),
            "reference_paid_over_budget_max": max(r["paid_over_budget"] for r in ref),
            "reference_test_success_mean": statistics.fmean(r["test"][METRIC] for r in ref),
            "time_to_reference_best": {
                "per_repeat": reach,
                "repeats_with_a_target": sum(1 for x in reach if x["target"] is not None),
                "repeats_reached_by_ecoptigen": sum(1 for x in reach if x.get("ecoptigen")),
                "sooner_median": statistics.median(sooner) if sooner else None,
                "sooner_worst": min(sooner) if sooner else None,
                "dollars_ratio_median": statistics.median(dollars) if dollars else None,
                "dollars_ratio_worst": max(dollars) if dollars else None,
            },
        }
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.5, help="simulated seconds per request")
    parser.add_argument("--inference-budget", type=float, default=0.05)
    parser.add_argument("--optimization-budget", type=float, default=1.0)
    parser.add_argument("--n-tune", type=int, default=20)
    parser.add_argument("--n-test", type=int, default=20)
    parser.add_argument("--models", default=LEGACY_MODELS)
    parser.add_argument("--parallel-trials", type=int, default=0, help="0: ecoptigen's default")
    parser.add_argument(
        "--num-samples", type=int, default=-1, help="-1 (the seed's): until the budget is spent; k: the first k trials"
    )
    parser.add_argument(
        "--eval-func",
        choices=["seed", "tests", "seed-all-n"],
        default="seed",
        help="seed: with generate_assertions; tests: without; seed-all-n: seed, buying all n completions for every "
        "instance (no deciding by a prefix of the responses, as FLAML)",
    )
    parser.add_argument("--references", default=",".join(REFERENCES), help="comma-separated peers to compare with")
    parser.add_argument("--search-seed", type=int, default=20, help="the first repeat's search seed (FLAML's: 20)")
    parser.add_argument("--fixed-search-seed", action="store_true", help="every repeat searches with --search-seed")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--name", default="tune_vs_flaml")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.latency, args.n_tune, args.n_test = 1, 0.05, 4, 4
        args.optimization_budget, args.num_samples = 0.3, 4
    return args


def main() -> None:
    args = parse_args()
    references = [r for r in args.references.split(",") if r]
    data = load_problems(args.n_tune, args.n_test)
    runs = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data_file:
        json.dump(data, data_file)
    try:
        for repeat in range(args.repeats):
            peers = ["ecoptigen", *references]
            order = peers[repeat % len(peers) :] + peers[: repeat % len(peers)]
            search_seed = args.search_seed + (0 if args.fixed_search_seed else repeat)
            run: dict = {"search_seed": search_seed, "sim_seed": 41 + repeat}
            args.search_seed_of_repeat = run["search_seed"]
            for peer in order:
                # A fresh server with the same seed per peer and repeat: all meet the same simulated models.
                with SimWithStats(latency=args.latency, seed=41 + repeat) as sim:
                    if peer == "ecoptigen":
                        run[peer] = run_ours(sim, data, args)
                    else:
                        run[key_of(peer)] = run_reference(peer, sim, data_file.name, args)
                brief = {k: run[key_of(peer)][k] for k in ("tune_seconds", "billed", "trials")}
                print(repeat, peer, json.dumps(brief), flush=True)
            runs.append(run)
    finally:
        os.unlink(data_file.name)
    hidden = ("timeout", "name", "out", "quick", "search_seed_of_repeat")
    settings = {k: v for k, v in vars(args).items() if k not in hidden}
    summary = summarize(runs, references)
    write_results(
        args.name,
        {"benchmark": "the seed's HumanEval tuning, ecoptigen vs FLAML", "settings": settings, "summary": summary,
         "runs": runs},
        args,
    )  # fmt: skip


if __name__ == "__main__":
    main()
