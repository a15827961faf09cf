"""Where a tuning's money goes: per trial, per doubling step, per ``n``, per model, per status.

Runs ecoptigen's tuning of ``tune_vs_flaml.py`` (the same 20 HumanEval problems, prompts, stops, models,
budgets and eval_func) against a seeded simulated endpoint per seed, and records every paid request with
the trial and the doubling step it belongs to (``n`` asked for, instances in the step), what eval_func
paid (``generate_assertions``), and what cache hits saved. Money does not depend on latency, so the
endpoint answers at once.

With ``--reference FILE`` (a ``tune_vs_flaml`` results file of the same settings), it also says what
ecoptigen had paid when it first reached each reference's final best, per seed.

Run: python benchmarks/tune_money.py [--seeds 41,42,43,44,45] [--eval-func tests] [--reference FILE]
"""

from __future__ import annotations

import argparse
import contextvars
import json
import logging
import statistics
import tempfile
import threading
from collections import defaultdict
from functools import partial
from typing import Any

from _common import add_common_args, write_results
from tune_vs_flaml import LEGACY_MODELS, METRIC, PROMPTS, STOPS, key_of, load_problems

TRIAL: contextvars.ContextVar[int | None] = contextvars.ContextVar("trial", default=None)
STEP: contextvars.ContextVar[tuple[int, int, int] | None] = contextvars.ContextVar("step", default=None)


class ProfilingEngine:
    """The engine ``tune`` gets: each request is sent by the real engine and recorded with its trial and step."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    @property
    def price_table(self) -> dict:
        return self.engine.price_table

    def create(self, context: dict | None = None, *, chat: bool, **config: Any) -> Any:
        from ecoptigen.money import ledger as spend

        probe = spend.SpendLedger(name="probe")
        with probe.activate():
            response = self.engine.create(context, chat=chat, **config)
        step = STEP.get()
        record = {
            "trial": TRIAL.get(),
            "step_n": step[0] if step else None,
            "step_instances": step[2] if step else None,
            "model": config.get("model"),
            "n": config.get("n", 1),
            "greedy": config.get("temperature") == 0 or (config.get("top_p") is not None and config["top_p"] < 0.05),
            "salted": config.get("cache_salt") is not None,
            "paid": probe.paid,
            "saved": probe.saved_by_cache,
        }
        with self._lock:
            self.requests.append(record)
        return response


def instrument() -> None:
    """Tag each trial's and each doubling step's requests (patched in this process only)."""
    from ecoptigen.tuning import _evaluate as evaluate
    from ecoptigen.tuning import _tuner as tuner

    run_trial, fill = tuner.Tuner._run_trial, evaluate.TrialEvaluator._fill

    def tagged_trial(self, index, config, knowledge):
        TRIAL.set(index)
        return run_trial(self, index, config, knowledge)

    def tagged_fill(self, params, samples, indices, n, *rest):
        token = STEP.set((n, indices.start, indices.stop))
        try:
            return fill(self, params, samples, indices, n, *rest)
        finally:
            STEP.reset(token)

    tuner.Tuner._run_trial, evaluate.TrialEvaluator._fill = tagged_trial, tagged_fill


def priced_eval_func(eval_func: Any, paid: dict[int | None, float], lock: threading.Lock) -> Any:
    """``eval_func`` with what its own requests pay (generate_assertions) added to ``paid`` by trial."""
    from ecoptigen.money import ledger as spend
    from ecoptigen.tuning._samples import prefix_rule

    def call(responses, **instance):
        ledger = spend.SpendLedger(name="eval_func")
        with ledger.activate():
            result = eval_func(responses, **instance)
        with lock:
            paid[TRIAL.get()] = paid.get(TRIAL.get(), 0.0) + ledger.paid
        return result

    # What eval_func says about deciding by a prefix of the responses holds for the wrapper too.
    rule = prefix_rule(eval_func)
    call.prefix_rule_for = lambda keywords: rule  # type: ignore[attr-defined]
    return call


def run_seed(seed: int, search_seed: int, data: dict, args: argparse.Namespace) -> dict:
    from ecoptigen import oai, sim, tuning
    from ecoptigen.code_utils import eval_function_completions, generate_assertions

    assertions = generate_assertions if args.eval_func == "seed" else None
    eval_paid: dict[int | None, float] = {}
    evaluate = priced_eval_func(partial(eval_function_completions, assertions=assertions), eval_paid, threading.Lock())
    with sim.serve(seed=seed) as server, tempfile.TemporaryDirectory() as cache:
        oai.Completion.set_cache(seed=41, cache_path_root=cache)
        oai.ChatCompletion.set_cache(seed=41, cache_path_root=cache)
        engine = ProfilingEngine(oai.Completion._engine)
        endpoint = {"base_url": server.base_url, "api_key": "sk-sim-money"}
        with _endpoint_env(endpoint):
            _, analysis = tuning.tune(
                engine,
                chat=False,
                data=data["tune"],
                metric=METRIC,
                mode="max",
                eval_func=evaluate,
                inference_budget=args.inference_budget,
                optimization_budget=args.optimization_budget,
                num_samples=-1,
                prompt=PROMPTS,
                stop=STOPS,
                model=args.models.split(","),
                show_progress=False,
                search_seed=search_seed,
                **endpoint,
            )
        billed = float(server.stats()["total_billed_usd"])
    rows = trial_rows(analysis, engine.requests, eval_paid)
    return {"seed": seed, "search_seed": search_seed, "billed": billed, "trials": rows}


class _endpoint_env:
    """Point the global engine (generate_assertions' requests) at the simulated endpoint while tuning."""

    def __init__(self, endpoint: dict):
        self.endpoint = endpoint

    def __enter__(self) -> None:
        import os

        self.saved = {k: os.environ.get(k) for k in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = self.endpoint["base_url"], "sk-sim-money"

    def __exit__(self, *exc: object) -> None:
        import os

        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def trial_rows(analysis: Any, requests: list[dict], eval_paid: dict[int | None, float]) -> list[dict]:
    """One row per trial: its settings, status, metric, money by doubling step and eval_func's money."""
    by_trial: dict[int | None, list[dict]] = defaultdict(list)
    for request in requests:
        by_trial[request["trial"]].append(request)
    rows = []
    for trial in analysis.trials:
        params = trial.params
        steps: dict[tuple[int, int], dict] = {}
        for request in by_trial.get(trial.index, []):
            key = (request["step_n"], request["step_instances"])
            step = steps.setdefault(key, {"n": key[0], "instances": key[1], "requests": 0, "paid": 0.0, "saved": 0.0})
            step["requests"] += 1
            step["paid"] += request["paid"]
            step["saved"] += request["saved"]
        greedy = sum(r["paid"] for r in by_trial.get(trial.index, []) if r["greedy"] and r["n"] > 1)
        rows.append(
            {
                "index": trial.index,
                "model": params.get("model"),
                "prompt": PROMPTS.index(params["prompt"]) if params.get("prompt") in PROMPTS else None,
                "stop": STOPS.index(params.get("stop")) if params.get("stop") in STOPS else None,
                "n": params.get("n"),
                "max_tokens": params.get("max_tokens"),
                "temperature": params.get("temperature"),
                "top_p": params.get("top_p"),
                "status": trial.status,
                "metric": trial.metrics.get(METRIC) if trial.status == "ok" else None,
                "inference_cost": trial.inference_cost if trial.status == "ok" else None,
                "paid": trial.paid,
                "total_paid": trial.total_paid,
                "requests_paid": sum(r["paid"] for r in by_trial.get(trial.index, [])),
                "eval_func_paid": eval_paid.get(trial.index, 0.0),
                "saved_by_cache": sum(r["saved"] for r in by_trial.get(trial.index, [])),
                "paid_on_repeated_greedy_samples": greedy,
                "steps": sorted(steps.values(), key=lambda s: (s["n"] or 0, s["instances"] or 0)),
            }
        )
    return rows


def profile(runs: list[dict]) -> dict:
    """Money totals over all seeds: by status, model, ``n`` bucket, step ``n`` and trial position."""
    totals: dict[str, dict[str, float]] = {k: defaultdict(float) for k in ("status", "model", "n", "step_n", "rank")}
    whole = 0.0
    for run in runs:
        for rank, trial in enumerate(run["trials"]):
            whole += trial["paid"]
            totals["status"][trial["status"]] += trial["paid"]
            totals["model"][trial["model"]] += trial["paid"]
            totals["n"][_bucket(trial["n"])] += trial["paid"]
            totals["rank"][_bucket(rank + 1)] += trial["paid"]
            for step in trial["steps"]:
                totals["step_n"][_bucket(step["n"])] += step["paid"]
    share = {k: {kk: round(vv / whole, 4) for kk, vv in sorted(v.items())} for k, v in totals.items()}
    everything = [t for run in runs for t in run["trials"]]
    return {
        "paid_total": whole,
        "share_of_paid_by": share,
        "eval_func_share": sum(t["eval_func_paid"] for t in everything) / whole,
        "saved_by_cache_over_paid": sum(t["saved_by_cache"] for t in everything) / whole,
        "repeated_greedy_samples_share": sum(t["paid_on_repeated_greedy_samples"] for t in everything) / whole,
        "trials_by_status": _count(t["status"] for t in everything),
    }


def _bucket(value: int | None) -> str:
    if value is None:
        return "none"
    for edge in (1, 2, 4, 8, 16, 32, 64):
        if value <= edge:
            return f"<={edge}"
    return ">64"


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[value] += 1
    return dict(counts)


def to_targets(runs: list[dict], reference_file: str | None) -> dict:
    """Per seed: each reference's final best and what ecoptigen had paid when it first scored that much."""
    if not reference_file:
        return {}
    with open(reference_file) as file:
        reference = json.load(file)
    found: dict = {}
    for peer in reference["settings"]["references"].split(","):
        rows = []
        for repeat, run in enumerate(reference["runs"]):
            seed, search_seed = run.get("sim_seed", 41 + repeat), run.get("search_seed", 20)
            ours = next((r for r in runs if (r["seed"], r["search_seed"]) == (seed, search_seed)), None)
            target = run[key_of(peer)]["best_result"].get(METRIC)
            theirs = next((p for p in run[key_of(peer)]["timeline"] if p["eligible"] and p["metric"] >= target), None)
            if ours is None or target is None or theirs is None:
                continue
            hit = next((t for t in ours["trials"] if t["metric"] is not None and t["metric"] >= target - 1e-9), None)
            paid = hit["total_paid"] if hit else None
            ratio = paid / theirs["billed"] if paid is not None else None
            rows.append(
                {"seed": seed, "search_seed": search_seed, "target": target, "reference_billed": theirs["billed"],
                 "ecoptigen_paid": paid, "ratio": ratio}
            )  # fmt: skip
        ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
        found[key_of(peer)] = {
            "per_seed": rows,
            "ratio_median": statistics.median(ratios) if len(ratios) == len(rows) and rows else None,
            "ratio_worst": max(ratios) if len(ratios) == len(rows) and rows else None,
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="41,42,43,44,45", help="simulator seeds, one run each")
    parser.add_argument("--search-seed", type=int, default=20, help="the first run's search seed; run i: + i")
    parser.add_argument("--fixed-search-seed", action="store_true", help="every run searches with --search-seed")
    parser.add_argument("--inference-budget", type=float, default=0.05)
    parser.add_argument("--optimization-budget", type=float, default=1.0)
    parser.add_argument("--n-tune", type=int, default=20)
    parser.add_argument("--models", default=LEGACY_MODELS)
    parser.add_argument("--eval-func", choices=["seed", "tests"], default="tests")
    parser.add_argument("--reference", default=None, help="a tune_vs_flaml results file (targets per seed)")
    parser.add_argument("--name", default="tune_money")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.n_tune, args.optimization_budget = "41", 4, 0.2
    logging.getLogger("ecoptigen").setLevel(logging.ERROR)
    instrument()
    data = load_problems(args.n_tune, 0)
    runs = []
    for i, seed in enumerate(int(s) for s in args.seeds.split(",")):
        runs.append(run_seed(seed, args.search_seed + (0 if args.fixed_search_seed else i), data, args))
        last = runs[-1]
        print(seed, f"billed ${last['billed']:.4f}", len(last["trials"]), "trials", flush=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("name", "out", "quick")}
    write_results(
        args.name,
        {"benchmark": "where ecoptigen's tuning money goes", "settings": settings, "profile": profile(runs),
         "to_reference_best": to_targets(runs, args.reference), "runs": runs},
        args,
    )  # fmt: skip


if __name__ == "__main__":
    main()
