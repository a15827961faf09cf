"""FLAML's MATH workflow (its math notebook and case study), step for step, on ecoptigen.

Tune ``ChatCompletion`` over models, ``n``, temperature or top_p and ``max_tokens`` for level-2 algebra
problems under an inference budget of $0.02 per instance (FLAML's case study), score the answers with
``ecoptigen.math_utils.eval_math_responses`` (the voted ``\\boxed{}`` answer), then compare the tuned
configuration with untuned gpt-4 on held-out problems.

With ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``) set, it talks to that endpoint and spends real money
within the budgets below. Without either, it starts ecoptigen's *simulated* endpoint and says so: the run
is free and offline, and its numbers describe the simulator, not any real model. The problems: with
``--hub``, MATH itself from the Hugging Face hub (``datasets.load_dataset("competition_math")``, needs
the network; only a real endpoint can answer them); without, the simulator's own MATH-style problems
(``ecoptigen.datasets.load_math``), which the simulated models answer at MATH's published accuracies.

    python examples/math_tune.py                  # the case study's budgets
    python examples/math_tune.py --quick          # small budgets, for a smoke test
    python examples/math_tune.py --hub            # MATH from the hub (with a real endpoint)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from ecoptigen import oai, sim
from ecoptigen.math_utils import MATH_PROMPT, eval_math_responses, math_task

UNTUNED = {"model": "gpt-4", "prompt": MATH_PROMPT, "allow_format_str_template": True}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=int, default=2, help="MATH difficulty level, 1-5 (default 2)")
    parser.add_argument("--inference-budget", type=float, default=0.02, help="dollars per instance (default 0.02)")
    parser.add_argument("--optimization-budget", type=float, default=1.0, help="dollars for the tuning (default 1)")
    parser.add_argument("--num-samples", type=int, default=20, help="configurations to try at most (default 20)")
    parser.add_argument("--models", default="gpt-3.5-turbo,gpt-4", help="comma-separated models to search")
    parser.add_argument("--test-size", type=int, default=None, help="evaluate on this many held-out problems")
    parser.add_argument("--hub", action="store_true", help="load MATH from the Hugging Face hub (network)")
    parser.add_argument("--out", default="out/math", help="folder for the log and the summary")
    parser.add_argument("--seed", type=int, default=41, help="data shuffle and cache seed (FLAML's 41)")
    parser.add_argument("--quick", action="store_true", help="small budgets and test set: a smoke test")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args()
    if args.quick:
        args.optimization_budget = min(args.optimization_budget, 0.3)
        args.num_samples = min(args.num_samples, 6)
        args.test_size = args.test_size or 20
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
        print(f"({server.base_url}). Results describe the simulator, not real models.")
        print("=" * 78)
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-simulated"
        try:
            yield True
        finally:
            del os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"]


def load_data(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """The notebook's split: both splits shuffled with the seed, 20 problems of the level to tune on."""
    data = None
    if args.hub:
        import datasets

        data = datasets.load_dataset("competition_math", trust_remote_code=True)
    tune_data, test_data, _ = math_task(level=args.level, seed=args.seed, data=data)
    return tune_data, test_data[: args.test_size] if args.test_size else test_data


def main() -> int:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tune_data, test_data = load_data(args)
    print(f"{len(tune_data)} problems to tune on, {len(test_data)} to test on (level {args.level})")
    started = time.monotonic()
    with endpoint(args.seed) as simulated:
        oai.ChatCompletion.set_cache(args.seed, cache_path_root=str(out / "cache"))
        config, analysis = oai.ChatCompletion.tune(
            data=tune_data,
            metric="success_vote",
            mode="max",
            eval_func=eval_math_responses,
            log_file_name=str(out / "tune.jsonl"),
            inference_budget=args.inference_budget,
            optimization_budget=args.optimization_budget,
            num_samples=args.num_samples,
            model=args.models.split(","),
            prompt=[MATH_PROMPT],
            allow_format_str_template=True,
            show_progress=not args.no_progress,
        )
        print("optimized config", {k: v for k, v in config.items() if k != "prompt"})
        print("best result on tuning data", {k: v for k, v in analysis.best_result.items() if k != "voted_answer"})
        tuned = oai.ChatCompletion.test(test_data, config)
        untuned = oai.ChatCompletion.test(test_data, UNTUNED, eval_math_responses)
    print("performance on test data with the tuned config:", tuned)
    print("performance on test data from gpt-4 with a default config:", untuned)
    print("tuned config succeeds in {:.1f}% test cases".format(tuned["success_vote"] * 100))
    print("untuned config succeeds in {:.1f}% test cases".format(untuned["success_vote"] * 100))
    summary = {
        "endpoint": "simulated" if simulated else "real",
        "data": "MATH (hub)" if args.hub else "ecoptigen.datasets.load_math (simulated problems)",
        "level": args.level,
        "tuned_config": {k: v for k, v in config.items() if k != "prompt"},
        "trials": len(analysis.trials),
        "tuning_dollars_paid": analysis.total_cost,
        "tuned": {k: tuned[k] for k in ("success_vote", "votes", "inference_cost")},
        "untuned_gpt4": {k: untuned[k] for k in ("success_vote", "votes", "inference_cost")},
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
