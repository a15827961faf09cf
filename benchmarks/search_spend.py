"""Where a tuning's money goes by model and status, and the held-out success it buys (issue 24).

The seed's HumanEval tuning (README's workflow: 20 tuning problems, the seed's prompts and stops, FLAML's
five legacy models, ``eval_function_completions`` with ``generate_assertions``, ``inference_budget=0.05``),
run with ecoptigen on a simulated endpoint at latency 0 (money does not depend on latency), one per
simulator seed ``41 + i`` with search seed ``20 + i``. Per run: the dollars billed, the trials and the
dollars paid per model and status (``ok``, ``beaten``, ``unaffordable``, ...), the models dropped, the
tuned configuration and its success on the 144 held-out problems by ``oai.Completion.test`` on the same
simulator seed. ``--search-order flaml`` runs FLAML's order (what ecoptigen did before issue 24).

The paired comparison with FLAML itself, and regret to the frontier, are ``search_quality.py``'s.

``--from-runs FILE ...`` summarizes runs written earlier by ``--runs-file`` instead of running.

Run: python benchmarks/search_spend.py [--seeds 0,1,2,3] [--budget 1] [--search-order budgeted|flaml]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

from _common import add_common_args, write_results
from _sim_stats import SimWithStats
from tune_vs_flaml import LEGACY_MODELS, PROMPTS, STOPS, load_problems

# The best configuration within the inference budget, by test() on two simulator seeds (issue 24's study).
BEST_HELD_OUT = 0.819


def one(sim_seed: int, search_seed: int, budget: float, search_order: str, data: dict) -> dict:
    """One tuning and the held-out success of what it returned."""
    from ecoptigen import oai
    from ecoptigen.code_utils import eval_function_completions, generate_assertions

    evaluate = partial(eval_function_completions, assertions=generate_assertions)
    with SimWithStats(latency=0.0, seed=sim_seed) as sim, tempfile.TemporaryDirectory() as cache:
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = sim.base_url, "sk-sim"
        oai.Completion.set_cache(seed=41, cache_path_root=cache)
        started, before = time.perf_counter(), sim.stats()["total_billed_usd"]
        config, analysis = oai.Completion.tune(
            data=data["tune"], metric="success", mode="max", eval_func=evaluate, inference_budget=0.05,
            optimization_budget=budget, num_samples=-1, prompt=PROMPTS, stop=STOPS,
            model=LEGACY_MODELS.split(","), show_progress=False, search_seed=search_seed, search_order=search_order,
        )  # fmt: skip
        seconds, billed = time.perf_counter() - started, sim.stats()["total_billed_usd"] - before
        held_out = oai.Completion.test(data["test"], config)
    by_model: dict = defaultdict(lambda: defaultdict(float))
    for trial in analysis.trials:
        model = by_model[str(trial.params.get("model"))]
        model[trial.status] += trial.paid
        model["trials"] += 1
    confidence = analysis.choice_confidence()
    return {
        "sim_seed": sim_seed, "search_seed": search_seed, "budget": budget, "search_order": search_order,
        "seconds": seconds, "billed": billed, "trials": len(analysis.trials), "stopped": analysis.stopped_because,
        "tune_best": (analysis.best_result or {}).get("success"),
        "config": {k: config.get(k) for k in ("model", "n", "max_tokens", "temperature", "top_p", "prompt", "stop")},
        "held_out": {"success": float(held_out["success"]), "inference_cost": float(held_out["inference_cost"])},
        "dropped_models": analysis.dropped_models, "choice_confidence": str(confidence) if confidence else None,
        "by_model": {k: dict(v) for k, v in by_model.items()},
        "trial_list": [_trial_line(trial) for trial in analysis.trials],
    }  # fmt: skip


def _trial_line(trial) -> str:
    """One trial in a line: what was asked, what it scored, what it paid."""
    params = trial.params
    return (
        f"t{trial.index} {params.get('model')} n={params.get('n')} max_tokens={params.get('max_tokens')} "
        f"{trial.status} success={trial.metrics.get('success')} inference_cost={trial.inference_cost:.5f} "
        f"paid={trial.paid:.4f} cost={trial.cost:.4f}" + (f" rechecked={trial.recheck}" if trial.recheck else "")
    )


def summarize(runs: list[dict]) -> dict:
    """Money shares per model and status, trials per run, held-out success and regret."""
    paid = sum(v for r in runs for m in r["by_model"].values() for k, v in m.items() if k != "trials")
    per_model: dict = defaultdict(float)
    per_status: dict = defaultdict(float)
    trials: dict = defaultdict(float)
    for run in runs:
        for model, spent in run["by_model"].items():
            trials[model] += spent["trials"] / len(runs)
            for status, dollars in spent.items():
                if status != "trials":
                    per_model[model] += dollars / paid
                    per_status[status] += dollars / paid
    held_out = [r["held_out"]["success"] for r in runs]
    return {
        "runs": len(runs),
        "paid_share_by_model": dict(per_model),
        "paid_share_by_status": dict(per_status),
        "trials_per_run_by_model": dict(trials),
        "billed_over_budget_max": max(r["billed"] / r["budget"] for r in runs),
        "held_out_success": held_out,
        "held_out_success_mean": statistics.fmean(held_out),
        "regret_to_best_mean": BEST_HELD_OUT - statistics.fmean(held_out),
        "regret_to_best_worst": BEST_HELD_OUT - min(held_out),
        "tune_seconds_median": statistics.median(r["seconds"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3", help="run i: simulator seed 41 + i, search seed 20 + i")
    parser.add_argument("--budget", type=float, default=1.0)
    parser.add_argument("--search-order", default="budgeted", choices=["budgeted", "flaml"])
    parser.add_argument("--runs-file", type=Path, default=None, help="also write each run here as it ends")
    parser.add_argument("--from-runs", type=Path, nargs="*", default=None, help="summarize these runs files")
    parser.add_argument("--name", default=None)
    add_common_args(parser)
    args = parser.parse_args()
    if args.from_runs:
        runs = [run for path in args.from_runs for run in json.loads(path.read_text())]
    else:
        data = load_problems(4 if args.quick else 20, 4 if args.quick else 144)
        runs = []
        for i in [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]:
            runs.append(one(41 + i, 20 + i, 0.1 if args.quick else args.budget, args.search_order, data))
            if args.runs_file:
                args.runs_file.write_text(json.dumps(runs, indent=1))
    by_setting: dict = defaultdict(list)
    for run in runs:
        by_setting[f"{run['search_order']}_{run['budget']:g}"].append(run)
    summary = {key: summarize(group) for key, group in sorted(by_setting.items())}
    name = args.name or "search_spend"
    write_results(name, {"benchmark": "where the seed's tuning's money goes, and held-out success (issue 24)",
                         "best_held_out": BEST_HELD_OUT, "summary": summary, "runs": runs}, args)  # fmt: skip


if __name__ == "__main__":
    main()
