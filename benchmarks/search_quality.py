"""Does the search find what the budget can buy? Regret to the best configuration, against FLAML (issue 24).

Two parts, each writing a results file:

1. **The frontier** (``search_quality_frontier[_<setting>].json``): the space's configurations measured
   directly on the held-out rows (latency 0; see ``_frontier.py`` for the grid and how one request at the
   largest ``n`` and ``max_tokens`` scores every smaller one exactly), the frontier of held-out success
   against dollars per instance, and the best configuration within the inference budget: the best
   candidates confirmed with ``test()`` on two simulator seeds. Computed once and reused
   (``--part runs`` reads it; ``--part frontier`` recomputes what is not cached on disk).
2. **The runs** (``search_quality.json``, or ``--name``): both tuners -- ecoptigen's
   ``oai.Completion.tune`` (``ChatCompletion`` for math; whatever ``ecoptigen`` is on the path) and FLAML 2.7.0
   in its own virtualenv (``_flaml_reference.py``) -- over search seeds and budgets, each pair on a simulated
   endpoint with the same seed (``41 + seed index``; search seed ``20 + seed index``). Per run: the tuned
   config's held-out success by ``test()`` (``_held_out.py``: one endpoint per simulator seed, the same
   for both tuners), regret to the frontier's best, dollars billed / budget, wall time, and the incumbent's
   held-out success against dollars billed (``_quality_runs.py``). Summaries per budget: mean and worst
   regret, mean held-out success against FLAML's, dollars to FLAML's final best (median, worst), wall-time
   ratio. A plot (``--plot``, docs/search_quality.png by default) draws the mean incumbent curves and the
   frontier.

Settings (``--setting``): ``legacy-space`` (default: the seed's, paired with FLAML), ``default-space``
(today's models, another shuffle; ecoptigen alone, FLAML cannot price them), ``math`` (issue 26: FLAML's
MATH case study with ``ChatCompletion``, ``success_vote``, $0.02 per problem; ecoptigen alone; held-out
"success" is ``success_vote`` there). ``--quick``: a few rows, configurations and trials, one seed and
one budget, for CI.

Intermediate results (screened arms, held-out measurements, finished runs) are kept under ``--work``
(default: the benchmarks' cache folder), keyed by a fingerprint of the code that produced them, so an
interrupted run resumes where it stopped.

Run: python benchmarks/search_quality.py [--setting legacy-space] [--part all|frontier|runs] [--seeds 8]
     [--budgets 0.3,1,3] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from _common import QUICK_RESULTS, RESULTS, add_common_args, write_results
from _frontier import CONFIRM_SEEDS, SCREEN_SEED, Screen, best_within, confirm, curves, pareto, plan, prefix_checks
from _held_out import HeldOut, fingerprint
from _peers import cache_root
from _quality_settings import SETTINGS, Grid, Setting, get_setting

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs"


def log(message: str) -> None:
    """A progress line with the time."""
    print(time.strftime("%H:%M:%S"), message, flush=True)


def quick_setting(setting: Setting) -> Setting:
    """A tiny version of ``setting``: two models, one prompt and stop, small ``n``."""
    models: list[str] = [m for m in ("text-davinci-003", "gpt-3.5-turbo") if m in setting.grid_models]
    models = models if len(models) == 2 else setting.grid_models[:2]
    checks = tuple(n for n in setting.grid.prefix_checks if n < 4)
    grid = Grid(n_max=dict.fromkeys(models, 4), screen_n=4, max_tokens=(100, 400), confirm=2, prefix_checks=checks)
    return dataclasses.replace(setting, grid_models=models, grid=grid, n_tune=4)


def frontier_name(args: argparse.Namespace) -> str:
    """The frontier's results name for the setting."""
    return "search_quality_frontier" + ("" if args.setting == "legacy-space" else "_" + args.setting.replace("-", "_"))


def measure_frontier(setting: Setting, rows: list[dict], args: argparse.Namespace) -> dict:
    """Screen the grid, build the frontier, confirm the best candidates; the frontier's results."""
    started = time.perf_counter()
    screen = Screen(setting, rows, args.work)
    try:
        arms = plan(setting, screen.arm, log, args.quick)
    finally:
        screen.close()
    points = [point for found in arms for point in curves(setting, found)]
    with HeldOut(rows, setting.task.eval_func(), args.work, chat=setting.task.chat) as held_out:
        confirmed = confirm(setting, arms, held_out, setting.grid.confirm, log)
        checks = prefix_checks(setting, arms, held_out, log)
    screened_best = best_within(points, setting.inference_budget)
    per_arm = []
    for found in arms:
        arm_points = curves(setting, found)
        best = best_within(arm_points, setting.inference_budget)
        cheapest = min(arm_points, key=lambda p: p["dollars"])
        per_arm.append(
            {
                "arm": found["arm"],
                "seconds": round(found["seconds"], 1),
                "best_within_budget": best,
                "cheapest": cheapest,
            }
        )
    best = confirmed["best"]
    return {
        "benchmark": "the frontier of held-out success vs dollars per instance, configurations measured directly "
        "on the held-out rows (issue 24)",
        "setting": {
            "name": setting.name,
            "what": setting.what,
            "held_out_rows": len(rows),
            "inference_budget": setting.inference_budget,
            "models": setting.grid_models,
            "shuffle_seed": setting.shuffle_seed,
            "n_tune": setting.n_tune,
            "task": setting.task.name,
            "metric": setting.task.metric,
        },
        "grid": dataclasses.asdict(setting.grid),
        "screen_seed": SCREEN_SEED,
        "confirm_seeds": list(CONFIRM_SEEDS),
        "fingerprint": fingerprint(include_search=False),
        "arms_screened": len(arms),
        "configurations_scored": len(points),
        "screen_seconds_measured_now": round(screen.measured_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "best": {
            "config": best["config"],
            "screened_success": best["success"],
            "screened_dollars": best["dollars"],
            "test_success": {seed: t[setting.task.metric] for seed, t in best["test"].items()},
            "test_inference_cost": {seed: t["inference_cost"] for seed, t in best["test"].items()},
            "test_success_mean": best["test_success_mean"],
        }
        if best
        else None,
        "best_screened_within_budget": screened_best,
        "confirmed": confirmed["candidates"],
        "prefix_checks": checks,
        "frontier": pareto(points),
        "arms": per_arm,
    }


def best_now(setting: Setting, rows: dict, frontier: dict, args: argparse.Namespace) -> dict[str, float]:
    """The frontier's best configuration measured again with the code of this run, on the confirm seeds:
    the yardstick still holds when the simulator or ``test()`` changed since the frontier was measured
    (``same_simulator_as_now`` false) only if these match the frontier's ``test_success``."""
    metric = setting.task.metric
    with HeldOut(rows["test"], setting.task.eval_func(), args.work, chat=setting.task.chat) as held_out:
        return {str(seed): held_out.measure(frontier["best"]["config"], seed)[metric] for seed in CONFIRM_SEEDS}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=SETTINGS, default="legacy-space")
    parser.add_argument("--part", choices=["all", "frontier", "runs"], default="all")
    parser.add_argument("--seeds", type=int, default=8, help="search seeds (each paired with FLAML)")
    parser.add_argument("--first-seed", type=int, default=0, help="index of the first seed")
    parser.add_argument("--budgets", default="0.3,1,3", help="optimization budgets, comma-separated")
    parser.add_argument("--latency", type=float, default=0.0, help="simulated seconds per request in the runs")
    parser.add_argument("--references", default=None, help="comma-separated peers (default: the setting's)")
    parser.add_argument(
        "--tuners",
        default=None,
        help="run only these tuners (comma-separated, e.g. flaml-2.7.0), to split the runs between processes; "
        "the report of a later run without it reads them back",
    )
    parser.add_argument("--frontier", type=Path, default=None, help="the frontier file to read (default: results)")
    parser.add_argument("--work", type=Path, default=None, help="intermediate results (default: the cache folder)")
    parser.add_argument("--plot", type=Path, default=None, help="the plot (default: docs/search_quality*.png)")
    parser.add_argument(
        "--checkpoints",
        default="0.1,0.3",
        help="shares of the budget at which incumbents are measured (largest budget)",
    )
    parser.add_argument(
        "--stored-only", action="store_true", help="report the runs kept under --work; run none (a partial result)"
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--name", default="search_quality")
    add_common_args(parser)
    args = parser.parse_args()
    args.work = args.work or cache_root() / "search_quality" / args.setting
    if args.quick:
        args.seeds, args.budgets = 1, "0.1"
        args.work = args.work.parent / (args.work.name + "-quick")
    return args


def main() -> None:
    args = parse_args()
    setting = get_setting(args.setting)
    if args.quick:
        setting = quick_setting(setting)
    rows = setting.rows(n_test=6 if args.quick else None)
    out = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    frontier_path = args.frontier or out / f"{frontier_name(args)}.json"
    # A quick pass measures its own tiny frontier (it must exercise everything); a full one reuses the file.
    remeasure = args.part == "frontier" or (args.quick and args.frontier is None)
    if remeasure or (args.part == "all" and not frontier_path.exists()):
        frontier_path = write_results(frontier_name(args), measure_frontier(setting, rows["test"], args), args)
    if args.part == "frontier":
        return
    from _quality_plot import draw
    from _quality_runs import collect_runs, report

    runs = collect_runs(setting, rows, args, log)
    if not frontier_path.exists():
        raise SystemExit(
            f"the runs are done and kept under {args.work}, but there is no frontier at {frontier_path}: run "
            "--part frontier (or give --frontier FILE), then this command again to write the results"
        )
    frontier = json.loads(frontier_path.read_text())
    results = report(setting, rows, runs, frontier, args)
    results["frontier_best"]["test_success_now"] = best_now(setting, rows, frontier, args)
    write_results(args.name, results, args)
    partial_run = args.quick or args.tuners  # a plot of part of the tuners stays beside its results
    plot = args.plot or (out / f"{args.name}.png" if partial_run else DOCS / f"{args.name}.png")
    draw(results, frontier, plot)
    log(f"plot written to {plot}")


if __name__ == "__main__":
    main()
