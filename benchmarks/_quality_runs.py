"""The runs of ``search_quality.py``: both tuners over seeds and budgets, judged on the held-out rows.

For seed index ``i`` both tuners meet a simulated endpoint seeded ``41 + i`` (a fresh one per tuner, in
its own process) and search with seed ``20 + i``; the order of the tuners rotates from seed to seed.
ecoptigen is driven through its public API (``oai.Completion.tune``, or ``oai.ChatCompletion.tune`` for
the math setting; the ``Analysis`` it returns, the
per-trial INFO records of the ``ecoptigen.tuning`` logger); FLAML 2.7.0 runs its own tuner in its
virtualenv (``_flaml_reference.py``). The dollars of a run are what the endpoint billed.

Held-out success (the setting's metric) is measured with ecoptigen's ``test()`` and the setting's eval_func for
both tuners' configurations (``_held_out.py``, on a simulated endpoint seeded like the run's), so the
two are judged with the same generated assertions. Each tuner's *incumbent* -- the configuration of
best tuning score among those it had evaluated within the inference budget (ties: the earliest), as
FLAML picks -- is measured at checkpoints: when the endpoint had billed a given share of the budget
(``--checkpoints``), in the runs of the largest budget; the final point is the configuration returned.

Finished runs are kept on disk (keyed by a fingerprint of the code that ran them), so an interrupted
benchmark resumes where it stopped; a FLAML run depends on the simulated endpoint only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from _held_out import HeldOut, fingerprint
from _peers import peer_python
from _quality_settings import Setting
from _sim_stats import SimWithStats, billed_at
from tune_vs_flaml import TrialTimes, key_of, quietly, to_reference_best

HERE = Path(__file__).parent
ECOPTIGEN = "ecoptigen"
# The create() arguments that decide a configuration's requests in these settings.
REQUEST_KEYS = ("model", "prompt", "messages", "stop", "temperature", "top_p", "max_tokens", "n", "best_of")
CHECKPOINTS = (0.1, 0.3)


def request_config(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a tuned configuration that decide its requests (so both tuners' forms compare equal)."""
    return {k: config[k] for k in REQUEST_KEYS if k in config}


def run_ecoptigen(setting: Setting, rows: dict, budget: float, seeds: dict, args: argparse.Namespace) -> dict:
    """One ``tune`` of the setting; the bill, the trials as they were told, the config."""
    api, metric = setting.task.api(), setting.task.metric
    space: dict[str, Any] = {"prompt": setting.prompts}
    if setting.stops is not None:
        space["stop"] = setting.stops
    if setting.models is not None:
        space["model"] = setting.models
    if args.quick:
        space["num_samples"] = 4
    times = TrialTimes()
    logging.getLogger("ecoptigen.tuning").addHandler(times)
    try:
        with SimWithStats(latency=args.latency, seed=seeds["sim_seed"]) as sim, tempfile.TemporaryDirectory() as cache:
            os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = sim.base_url, "sk-sim-ecoptigen"
            api.set_cache(seed=41, cache_path_root=cache)
            before = float(sim.stats()["total_billed_usd"])
            started_at, started = time.time(), time.perf_counter()
            config, analysis = api.tune(
                data=rows["tune"],
                metric=metric,
                mode="max",
                eval_func=setting.task.eval_func(),
                inference_budget=setting.inference_budget,
                optimization_budget=budget,
                logging_level=logging.INFO,
                show_progress=False,
                search_seed=seeds["search_seed"],
                **{"num_samples": -1, **space},
            )
            seconds = time.perf_counter() - started
            billing = sim.billing()
            billed = float(sim.stats()["total_billed_usd"]) - before
    finally:
        logging.getLogger("ecoptigen.tuning").removeHandler(times)
    trials = [t for t in analysis.trials if t.status == "ok"]
    missing = [t.index for t in trials if t.index not in times.told]
    if missing:
        raise RuntimeError(
            f"no INFO record of the ecoptigen.tuning logger for trials {missing}: update TrialTimes in "
            "benchmarks/tune_vs_flaml.py to the new log format"
        )
    evaluations = [
        {
            "at": times.told[t.index],
            "metric": t.metrics.get(metric),
            "eligible": True,
            "inference_cost": t.inference_cost,
            "params": request_config(t.params),
        }
        for t in trials
    ]
    return {
        "tune_seconds": seconds,
        "billed": billed,
        "trials": len(analysis.trials),
        "stopped_because": getattr(analysis, "stopped_because", None),
        "tuning_score": (analysis.best_result or {}).get(metric),
        "config": request_config(config),
        "timeline": _timeline(evaluations, started_at, billing, before),
    }


def run_flaml(
    peer: str, setting: Setting, data_file: str, budget: float, seeds: dict, args: argparse.Namespace
) -> dict:
    """One FLAML ``oai.Completion.tune`` of the setting in the peer's virtualenv (its tune phase only)."""
    python = peer_python(peer)
    with SimWithStats(latency=args.latency, seed=seeds["sim_seed"]) as sim, tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "reference.json")
        command = [
            python,
            str(HERE / "_flaml_reference.py"),
            "tune",
            "--base-url",
            sim.base_url,
            "--data",
            data_file,
            "--out",
            out,
            "--cache",
            os.path.join(folder, "cache"),
            "--inference-budget",
            str(setting.inference_budget),
            "--optimization-budget",
            str(budget),
            "--models",
            ",".join(setting.models or []),
            "--num-samples",
            "4" if args.quick else "-1",
            "--eval-func",
            "seed",
            "--search-seed",
            str(seeds["search_seed"]),
        ]
        before = float(sim.stats()["total_billed_usd"])
        quietly(command, log=os.path.join(folder, "reference.log"), timeout=args.timeout, cwd=folder)
        billed = float(sim.stats()["total_billed_usd"]) - before
        billing = sim.billing()
        with open(out) as file:
            result = json.load(file)
    return {
        "tune_seconds": result["tune_seconds"],
        "billed": billed,
        "trials": result["trials"],
        "tuning_score": result["best_result"].get("success"),
        "config": request_config(result["config"]),
        "timeline": _timeline(result["evaluations"], result["started_at"], billing, before),
    }


def _timeline(evaluations: list[dict], started_at: float, billing: list, before: float) -> list[dict]:
    """Each evaluated configuration: seconds into the tuning, dollars billed by then, its score, its params."""
    return [
        {
            "seconds": e["at"] - started_at,
            "billed": billed_at(billing, e["at"]) - before,
            "metric": e["metric"],
            "eligible": e["eligible"],
            "inference_cost": e.get("inference_cost"),
            "params": request_config(e.get("params") or {}),
        }
        for e in sorted(evaluations, key=lambda e: e["at"])
    ]


def incumbents(timeline: list[dict]) -> list[dict]:
    """The incumbent changes: each configuration of best tuning score so far (ties: the earliest)."""
    changes: list[dict] = []
    for point in timeline:
        if not point["eligible"] or point["metric"] is None:
            continue
        if not changes or point["metric"] > changes[-1]["metric"] + 1e-12:
            changes.append(point)
    return changes


def incumbent_at(changes: list[dict], dollars: float) -> dict | None:
    """The incumbent once the endpoint had billed ``dollars`` (``None``: no configuration yet)."""
    found = None
    for change in changes:
        if change["billed"] <= dollars + 1e-12:
            found = change
    return found


class RunStore:
    """Finished runs on disk, keyed by what decides them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, **key: Any) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        return self.folder / f"{key['tuner']}-{digest}.json"

    def get_or_run(self, run: Callable[[], dict], stored_only: bool = False, **key: Any) -> dict | None:
        """The stored run, else ``run()`` stored (``stored_only``: else ``None``)."""
        path = self.path(**key)
        if path.exists():
            return json.loads(path.read_text())
        if stored_only:
            return None
        found = run()
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(found))
        temporary.replace(path)
        return found


def _held_out_of(held_out: HeldOut, config: dict, sim_seed: int, setting: Setting) -> dict:
    measured = held_out.measure(config, sim_seed)
    return {
        "success": measured[setting.task.metric],
        "inference_cost": measured["inference_cost"],
        "within_inference_budget": measured["inference_cost"] <= setting.inference_budget * (1 + 1e-9),
    }


def collect_runs(setting: Setting, rows: dict, args: argparse.Namespace, log: Callable) -> list[dict]:
    """Run both tuners over the seeds and budgets (or read the runs back) and measure their configurations
    on the held-out rows."""
    budgets = [float(b) for b in args.budgets.split(",")]
    tuners = [ECOPTIGEN, *references_of(setting, args)]
    if args.tuners:
        wanted = args.tuners.split(",")
        unknown = sorted(set(wanted) - set(tuners))
        if unknown:
            raise SystemExit(f"--tuners {','.join(unknown)}: not a tuner of this setting (use {','.join(tuners)})")
        tuners = [t for t in tuners if t in wanted]
    checkpoints = [float(c) for c in args.checkpoints.split(",") if c]
    store = RunStore(args.work / "runs")
    code = {t: fingerprint(include_search=t == ECOPTIGEN) for t in tuners}
    for reference in (t for t in tuners if t != ECOPTIGEN):
        peer_python(reference)  # built or checked now, and its versions recorded, even when every run is stored
    runs: list[dict] = []
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data_file:
        json.dump(rows, data_file)
    try:
        with HeldOut(rows["test"], setting.task.eval_func(), args.work, chat=setting.task.chat) as held_out:
            for index in range(args.first_seed, args.first_seed + args.seeds):
                seeds = {"seed_index": index, "sim_seed": 41 + index, "search_seed": 20 + index}
                order = tuners[index % len(tuners) :] + tuners[: index % len(tuners)]
                for budget in budgets:
                    for tuner in order:
                        key = {
                            "tuner": tuner,
                            "code": code[tuner],
                            "setting": setting.name,
                            "budget": budget,
                            "n_tune": len(rows["tune"]),
                            "latency": args.latency,
                            "quick": args.quick,
                            **seeds,
                        }
                        if tuner == ECOPTIGEN:
                            go = partial(run_ecoptigen, setting, rows, budget, seeds, args)
                        else:
                            go = partial(run_flaml, tuner, setting, data_file.name, budget, seeds, args)
                        found = store.get_or_run(go, stored_only=args.stored_only, **key)
                        if found is None:
                            log(f"seed {index} ${budget:g} {tuner}: not run yet, left out (--stored-only)")
                            continue
                        run = {"tuner": tuner, "budget": budget, **seeds, **found}
                        run["billed_over_budget"] = run["billed"] / budget
                        run["held_out"] = _held_out_of(held_out, run["config"], seeds["sim_seed"], setting)
                        if budget == max(budgets):
                            run["incumbents"] = _checkpoints(run, checkpoints, held_out, seeds, setting)
                        log(
                            f"seed {index} ${budget:g} {tuner}: {run['trials']} trials, {run['tune_seconds']:.0f} s, "
                            f"billed {run['billed_over_budget']:.3f} of the budget, held-out "
                            f"{run['held_out']['success']:.3f}"
                        )
                        runs.append(run)
    finally:
        os.unlink(data_file.name)
    return runs


def references_of(setting: Setting, args: argparse.Namespace) -> list[str]:
    """The peers to pair with: ``--references``, else those that can tune the setting."""
    return list(setting.references if args.references is None else [r for r in args.references.split(",") if r])


def report(setting: Setting, rows: dict, runs: list[dict], frontier: dict, args: argparse.Namespace) -> dict:
    """The results: regret to the frontier's best per run, per budget and against each reference."""
    best = frontier["best"]["test_success_mean"]
    for run in runs:
        for measured in [run["held_out"]] + [p["held_out"] for p in run.get("incumbents", []) if p["held_out"]]:
            measured["regret"] = best - measured["success"]
    budgets = sorted({run["budget"] for run in runs})
    references = references_of(setting, args)
    tuners = [ECOPTIGEN, *references]
    return {
        "benchmark": "the search's regret to the best configuration within the inference budget, "
        "ecoptigen vs FLAML (issue 24)",
        "setting": setting.name,
        "settings": {
            "budgets": budgets,
            "seeds": args.seeds,
            "first_seed": args.first_seed,
            "latency": args.latency,
            "checkpoints": args.checkpoints,
            "references": references,
            "tune_rows": len(rows["tune"]),
            "held_out_rows": len(rows["test"]),
        },
        "frontier_best": {
            "config": frontier["best"]["config"],
            "test_success_mean": best,
            "fingerprint": frontier.get("fingerprint"),
            "same_simulator_as_now": frontier.get("fingerprint") == fingerprint(include_search=False),
        },
        "summary": summarize(runs, tuners, budgets, references),
        "plot_data": plot_data(runs, tuners, budgets),
        "runs": [_compact(run) for run in runs],
    }


def _checkpoints(run: dict, checkpoints: list, held_out: HeldOut, seeds: dict, setting: Setting) -> list:
    changes = incumbents(run["timeline"])
    points = []
    for share in checkpoints:
        incumbent = incumbent_at(changes, share * run["budget"])
        held = None
        if incumbent is not None:
            held = _held_out_of(held_out, incumbent["params"], seeds["sim_seed"], setting)
        points.append(
            {
                "share_of_budget": share,
                "dollars": share * run["budget"],
                "config": incumbent["params"] if incumbent else None,
                "held_out": held,
            }
        )
    points.append(
        {
            "share_of_budget": 1.0,
            "dollars": run["billed"],
            "config": run["config"],
            "held_out": run["held_out"],
            "returned": True,
        }
    )
    return points


def _compact(run: dict) -> dict:
    """A run for the results file: the timeline without each trial's params, the incumbent changes with them."""
    compact = {k: v for k, v in run.items() if k != "timeline"}
    compact["timeline"] = [{k: v for k, v in p.items() if k != "params"} for p in run["timeline"]]
    compact["incumbent_changes"] = [
        {"billed": c["billed"], "seconds": c["seconds"], "metric": c["metric"], "params": c["params"]}
        for c in incumbents(run["timeline"])
    ]
    return compact


def _figures(values: list[float], worst: Callable) -> dict:
    return {"mean": statistics.fmean(values), "worst": worst(values), "per_seed": values} if values else {}


def summarize(runs: list[dict], tuners: list[str], budgets: list[float], references: list[str]) -> dict:
    """Per budget and tuner: held-out success and regret (mean, worst), billed / budget, wall time; against
    each reference: held-out difference, wall-time ratio, dollars and time to its final best."""
    summary: dict = {}
    for budget in budgets:
        at = [r for r in runs if r["budget"] == budget]
        entry: dict = {}
        for tuner in tuners:
            mine = sorted((r for r in at if r["tuner"] == tuner), key=lambda r: r["seed_index"])
            if not mine:
                continue
            entry[key_of(tuner)] = {
                "seeds": [r["seed_index"] for r in mine],
                "held_out_success": _figures([r["held_out"]["success"] for r in mine], min),
                "regret": _figures([r["held_out"]["regret"] for r in mine], max),
                "returned_over_inference_budget": sum(not r["held_out"]["within_inference_budget"] for r in mine),
                "billed_over_budget_max": max(r["billed_over_budget"] for r in mine),
                "tune_seconds_median": statistics.median(r["tune_seconds"] for r in mine),
                "trials_mean": statistics.fmean(r["trials"] for r in mine),
            }
        for reference in references:
            entry[f"vs_{key_of(reference)}"] = _versus(at, reference)
        summary[f"budget_{budget:g}"] = entry
    return summary


def _versus(runs: list[dict], reference: str) -> dict:
    by_seed: dict[int, dict] = {}
    for run in runs:
        by_seed.setdefault(run["seed_index"], {})[key_of(run["tuner"])] = run
    pairs = [p for p in by_seed.values() if ECOPTIGEN in p and key_of(reference) in p]
    if not pairs:
        return {}
    ratios = [p[ECOPTIGEN]["tune_seconds"] / p[key_of(reference)]["tune_seconds"] for p in pairs]
    reach = [to_reference_best(p, reference) for p in pairs]
    dollars = [x["dollars_ratio"] for x in reach if x.get("dollars_ratio") is not None]
    ours = [p[ECOPTIGEN]["held_out"]["success"] for p in pairs]
    theirs = [p[key_of(reference)]["held_out"]["success"] for p in pairs]
    return {
        "paired_seeds": sorted(p[ECOPTIGEN]["seed_index"] for p in pairs),
        "held_out_success_mean": {"ecoptigen": statistics.fmean(ours), "reference": statistics.fmean(theirs)},
        "held_out_success_at_least_reference": statistics.fmean(ours) >= statistics.fmean(theirs),
        "wall_time_ratio_median": statistics.median(ratios),
        "wall_time_ratio_worst": max(ratios),
        "dollars_to_reference_best": {
            "per_seed": [{k: x.get(k) for k in ("target", "dollars_ratio", "sooner")} for x in reach],
            "seeds_with_a_target": sum(1 for x in reach if x["target"] is not None),
            "seeds_reached_by_ecoptigen": sum(1 for x in reach if x.get("ecoptigen")),
            "dollars_ratio_median": statistics.median(dollars) if dollars else None,
            "dollars_ratio_worst": max(dollars) if dollars else None,
        },
    }


def plot_data(runs: list[dict], tuners: list[str], budgets: list[float]) -> dict:
    """Per tuner: the mean held-out success of the incumbent at each checkpoint of the largest budget's runs
    (x: dollars billed), and the mean held-out success of the configuration returned at each budget."""
    data: dict = {}
    for tuner in tuners:
        mine = [r for r in runs if r["tuner"] == tuner]
        curve = []
        largest = [r for r in mine if r["budget"] == max(budgets) and r.get("incumbents")]
        for position in range(len(largest[0]["incumbents"]) if largest else 0):
            points = [r["incumbents"][position] for r in largest]
            scores = [p["held_out"]["success"] if p["held_out"] else 0.0 for p in points]
            curve.append(
                {
                    "dollars": statistics.fmean(p["dollars"] for p in points),
                    "held_out_success_mean": statistics.fmean(scores),
                    "without_incumbent": sum(p["held_out"] is None for p in points),
                }
            )
        finals = []
        for budget in budgets:
            at = [r for r in mine if r["budget"] == budget]
            if at:
                finals.append(
                    {"budget": budget, "held_out_success_mean": statistics.fmean(r["held_out"]["success"] for r in at)}
                )
        data[key_of(tuner)] = {"incumbent_curve": curve, "curve_seeds": len(largest), "returned": finals}
    return data
