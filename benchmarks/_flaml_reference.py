"""The references of ``tune_vs_flaml.py``: FLAML's ``oai.Completion.tune`` (1.2.4 or 2.7.0) on openai 0.28.1.

Runs in a peer's virtualenv (built from ``benchmarks/peers/flaml-*.txt`` by ``_peers.py``), pointed at
the same simulated endpoint through ``openai.api_base``. It is FLAML's own tuner and evaluation function;
the only change is where generated code runs: FLAML's ``execute_code`` runs it on the host with our
environment, which our rules forbid, so it is replaced by a subprocess with an empty environment in a
throw-away directory (the same cost as FLAML's own subprocess, fewer privileges).

FLAML 2.x formats ``{definition}``-style templates only when asked (``allow_format_str_template=True``;
without it the prompt is sent as written, and so is ``generate_assertions``'s), so with FLAML 2 the
reference asks for it in the tuning, the test and the generation of assertions, as FLAML 2's HumanEval
notebook does for the tuning.

For the time-to-quality figures, each configuration FLAML evaluates is recorded as it finishes: the
wall-clock time, its metric, whether it counts (fully evaluated, within the inference budget), its
inference cost and its ``create`` arguments (``search_quality.py`` measures them on held-out rows).

Usage: <peer python> benchmarks/_flaml_reference.py tune|test --base-url URL --data data.json --out out.json ...
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial


def isolated_execute_code(code=None, timeout=600, filename=None, work_dir=None, use_docker=True, **_):
    """FLAML's execute_code contract -- ``(exit code, output)`` -- without our environment or directory."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "candidate.py")
        with open(path, "w") as file:
            file.write(code)
        try:
            done = subprocess.run(
                [sys.executable, "-I", path], cwd=folder, env={}, capture_output=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return 1, "Timeout"
    return done.returncode, done.stderr if done.returncode else done.stdout


def finite(value):
    """``value`` as a float, or ``None`` when it is not a finite number (JSON has no infinity)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def record_evaluations(oai, metric: str, inference_budget: float) -> list:
    """Wrap FLAML's per-configuration evaluation so each one is recorded as it finishes."""
    evaluations = []
    evaluate = oai.Completion._eval.__func__

    def recorded(cls, config, prune=True, eval_only=False):
        result = evaluate(cls, config, prune=prune, eval_only=eval_only)
        cost = finite(result.get("inference_cost"))
        evaluations.append(
            {
                "at": time.time(),
                "metric": finite(result.get(metric)),
                # What FLAML's search can pick as its best: evaluated to the end, within the budget.
                "eligible": cost is not None and cost <= inference_budget * (1 + 1e-9),
                "inference_cost": cost,
                # The create() arguments of the configuration, so its held-out success can be measured.
                "params": {
                    k: v for k, v in oai.Completion._get_params_for_create(config).items() if k != "config_list"
                },
            }
        )
        return result

    oai.Completion._eval = classmethod(recorded)
    return evaluations


def seed_the_search(seed: int) -> None:
    """Make FLAML's tune build its BlendSearch with ``seed`` (it passes none, so BlendSearch's default 20)."""
    from flaml.autogen.oai import completion

    class SeededBlendSearch(completion.BlendSearch):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("seed", seed)
            super().__init__(*args, **kwargs)

    completion.BlendSearch = SeededBlendSearch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["tune", "test"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--data", required=True, help="JSON with 'tune' and 'test' lists")
    parser.add_argument("--out", required=True, help="tune: writes the result here; test: reads the config here")
    parser.add_argument("--cache", required=True)
    parser.add_argument("--inference-budget", type=float, default=0.05)
    parser.add_argument("--optimization-budget", type=float, default=3.0)
    parser.add_argument("--models", default="", help="comma-separated; empty: FLAML's default space")
    parser.add_argument("--n-max", type=int, default=0, help="upper bound of n (0: FLAML's default)")
    parser.add_argument("--num-samples", type=int, default=-1, help="-1 (the seed's): until the budget is spent")
    parser.add_argument("--eval-func", choices=["seed", "tests"], default="seed")
    parser.add_argument("--search-seed", type=int, default=20, help="BlendSearch's seed (FLAML's tune leaves it at 20)")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    import flaml
    import openai
    from flaml import tune
    from flaml.autogen import code_utils, oai

    openai.api_base = args.base_url
    openai.api_key = "sk-sim-reference"
    code_utils.execute_code = isolated_execute_code
    seed_the_search(args.search_seed)
    oai.Completion.set_cache(seed=41, cache_path_root=args.cache)
    with open(args.data) as file:
        data = json.load(file)
    templates = {"allow_format_str_template": True} if int(flaml.__version__.split(".")[0]) >= 2 else {}
    assertions = partial(code_utils.generate_assertions, **templates) if args.eval_func == "seed" else None
    evaluate = partial(code_utils.eval_function_completions, assertions=assertions)
    if args.phase == "test":
        with open(args.out) as file:
            tuned = json.load(file)
        started = time.perf_counter()
        result = oai.Completion.test(data["test"], eval_func=evaluate, **{**templates, **tuned["config"]})
        tuned["test"] = {k: float(v) for k, v in result.items()}
        tuned["test_seconds"] = time.perf_counter() - started
        with open(args.out, "w") as file:
            json.dump(tuned, file)
        return
    space = {
        "prompt": ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"],
        "stop": [["\nclass", "\ndef", "\nif", "\nprint"], None],
        **templates,
    }
    if args.models:
        space["model"] = tune.choice(args.models.split(","))
    if args.n_max:
        space["n"] = tune.randint(1, args.n_max)
    evaluations = record_evaluations(oai, "success", args.inference_budget)
    started_at, started = time.time(), time.perf_counter()
    config, analysis = oai.Completion.tune(
        data=data["tune"],
        metric="success",
        mode="max",
        eval_func=evaluate,
        inference_budget=args.inference_budget,
        optimization_budget=args.optimization_budget,
        num_samples=args.num_samples,
        **space,
    )
    tune_seconds = time.perf_counter() - started
    best = {k: finite(v) for k, v in (analysis.best_result or {}).items() if isinstance(v, (int, float))}
    with open(args.out, "w") as file:
        json.dump(
            {
                "flaml": flaml.__version__,
                "tune_seconds": tune_seconds,
                "started_at": started_at,
                "config": config,
                "best_result": best,
                "trials": len(analysis.trials),
                "evaluations": evaluations,
                "own_total_cost": oai.Completion._total_cost,
            },
            file,
            default=str,
        )


if __name__ == "__main__":
    main()
