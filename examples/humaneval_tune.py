"""The documented HumanEval workflow (FLAML's "AutoGen - OpenAI" example), step for step, on ecoptigen.

With ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``) set, it talks to that endpoint and spends real
money within the budgets below. Without either, it starts ecoptigen's *simulated* endpoint and says so:
the run is free and offline, and its numbers describe ecoptigen, not any real model.

    python examples/humaneval_tune.py                 # the documented budgets, in out/humaneval
    python examples/humaneval_tune.py --quick         # small budgets, for a smoke test, in out/humaneval-quick

Each folder holds the tuning's resume journal: running the same command again resumes it (with a larger
``--optimization-budget`` too). A quick run has a folder of its own, so a full run never resumes from a
quick one's journal and hands back its result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

from ecoptigen import oai, sim
from ecoptigen.code_utils import eval_function_completions, generate_assertions
from ecoptigen.datasets import load_humaneval
from ecoptigen.errors import ConfigurationError

PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inference-budget", type=float, default=0.05, help="dollars per instance (default 0.05)")
    parser.add_argument("--optimization-budget", type=float, default=3.0, help="dollars for the tuning (default 3)")
    parser.add_argument("--num-samples", type=int, default=-1, help="configurations to try; -1: until the budget")
    parser.add_argument("--models", default=None, help="comma-separated models to search (default: ecoptigen's)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    parser.add_argument(
        "--out", default=None, help="folder for the log, summary and plots (out/humaneval, or out/humaneval-quick)"
    )
    parser.add_argument("--seed", type=int, default=41, help="data shuffle and cache seed (the documented 41)")
    parser.add_argument("--test-size", type=int, default=None, help="evaluate on this many held-out problems")
    parser.add_argument("--quick", action="store_true", help="small budgets and test set: a smoke test")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    if args.quick:
        args.optimization_budget = min(args.optimization_budget, 0.1)
        args.test_size = args.test_size or 10
    if args.out is None:  # never the same journal for a smoke test and a real tuning, unless asked
        args.out = "out/humaneval-quick" if args.quick else "out/humaneval"
    return args


@contextlib.contextmanager
def endpoint(seed: int):
    """The real API when a key or server is configured; otherwise the simulated endpoint."""
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        print(f"Using the endpoint from your environment ({os.environ.get('OPENAI_BASE_URL') or 'api.openai.com'}).")
        yield False
        return
    with sim.serve(seed=seed) as server:
        print("=" * 78)
        print("No OPENAI_API_KEY is set: running against ecoptigen's SIMULATED endpoint")
        print(f"({server.base_url}). Results describe ecoptigen's behaviour, not real models.")
        print("=" * 78)
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["OPENAI_API_KEY"] = "sk-simulated"
        try:
            yield True
        finally:
            del os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]


def split(seed: int) -> tuple[list[dict], list[dict]]:
    """The documented split: shuffle with seed 41, 20 problems for tuning, 144 for testing."""
    data = load_humaneval()["test"].shuffle(seed=seed)
    rows = [{"definition": d["prompt"], "test": d["test"], "entry_point": d["entry_point"]} for d in data]
    return rows[:20], rows[20:]


def main() -> int:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tune_data, test_data = split(args.seed)
    if args.test_size:
        test_data = test_data[: args.test_size]
    eval_with_generated_assertions = partial(eval_function_completions, assertions=generate_assertions)
    extra = {"model": args.models.split(",")} if args.models else {}
    started = time.monotonic()
    with endpoint(args.seed) as simulated:
        oai.Completion.set_cache(args.seed, cache_path_root=str(out / "cache"))
        config, analysis = oai.Completion.tune(
            data=tune_data,
            metric="success",
            mode="max",
            eval_func=eval_with_generated_assertions,
            log_file_name=str(out / "tune.jsonl"),
            inference_budget=args.inference_budget,
            optimization_budget=args.optimization_budget,
            num_samples=args.num_samples,
            prompt=PROMPTS,
            stop=STOPS,
            concurrency=args.concurrency,
            show_progress=not args.no_progress,
            **extra,
        )
        print("optimized config", config)
        print("best result on tuning data", analysis.best_result)

        responses = oai.Completion.create(context=tune_data[1], **config)
        print(responses)
        print(eval_with_generated_assertions(oai.Completion.extract_text(responses), **tune_data[1]))

        result = oai.Completion.test(test_data, config)
        print("performance on test data with the tuned config:", result)
    write_report(out, config, analysis, result, simulated, time.monotonic() - started)
    return 0


def write_report(out: Path, config: dict, analysis, result: dict, simulated: bool, seconds: float) -> None:
    """A short summary table, the summary as JSON, and the two plots."""
    summary = {
        "endpoint": "simulated" if simulated else "real",
        "tuned_config": config,
        "trials": len(analysis.trials),
        "tuning_dollars_paid": analysis.total_cost,
        "tuning_dollars_unconfirmed": analysis.unconfirmed_cost,
        "best_success_on_tuning_data": analysis.best_result.get("success"),
        "test_success": result.get("success"),
        "test_inference_cost_per_instance": result.get("inference_cost"),
        "wall_seconds": round(seconds, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print("\nsummary")
    for key, value in summary.items():
        print(f"  {key:<36} {value}")
    try:
        path = analysis.plot(str(out / "tuning.png"))
    except ConfigurationError as exc:  # matplotlib is an optional extra
        print(f"plots skipped: {exc}", file=sys.stderr)
        return
    print(f"  plots (best success vs dollars spent; inference cost vs success): {path}")


if __name__ == "__main__":
    sys.exit(main())
