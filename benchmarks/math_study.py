"""FLAML's MATH case study, replayed on the simulated endpoint: does tuning reproduce its direction and size?

The study (FLAML blog, 2023-04-21, and notebook/autogen_chatgpt_gpt4.ipynb): tune ``ChatCompletion``
over gpt-3.5-turbo and gpt-4, ``n``, temperature or top_p and ``max_tokens`` on 20 algebra problems of
one level, inference budget $0.02 per instance, metric ``success_vote`` (the voted ``\\boxed{}`` answer);
then compare the tuned configuration with untuned gpt-4 (the API's defaults) on the level's test
problems. Published: level 2, tuned gpt-3.5-turbo 0.905 (n=44) against untuned gpt-4 0.697; level 5,
tuned gpt-4 (n=1) 0.352 against untuned 0.205.

Here: the same calls through ``ecoptigen.oai`` against ``ecoptigen.sim`` (its problems, from
``ecoptigen.math_utils.math_task``: 20 to tune on, 200 to test on per level), optimization budget $1 and
at most 20 configurations as in the notebook, one run per seed.

Run: python benchmarks/math_study.py [--levels 2,5] [--seeds 41]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from _common import add_common_args, write_results

from ecoptigen import oai, sim
from ecoptigen.math_utils import MATH_PROMPT, eval_math_responses, math_task

PUBLISHED = {
    2: {"tuned": 0.905, "tuned_model": "gpt-3.5-turbo", "untuned_gpt4": 0.697},
    5: {"tuned": 0.352, "tuned_model": "gpt-4", "untuned_gpt4": 0.205},
}
UNTUNED = {"model": "gpt-4", "prompt": MATH_PROMPT, "allow_format_str_template": True}
SUMMARY_KEYS = ("success_vote", "votes", "inference_cost")


def one_run(level: int, seed: int, budget: float, num_samples: int, test_size: int | None) -> dict:
    tune_data, test_data, _ = math_task(level=level, seed=seed)
    test_data = test_data[:test_size] if test_size else test_data
    started = time.perf_counter()
    with sim.serve(seed=seed) as server, tempfile.TemporaryDirectory() as cache:
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-sim"
        oai.ChatCompletion.set_cache(seed, cache_path_root=cache)
        config, analysis = oai.ChatCompletion.tune(
            data=tune_data,
            metric="success_vote",
            mode="max",
            eval_func=eval_math_responses,
            inference_budget=0.02,
            optimization_budget=budget,
            num_samples=num_samples,
            model=["gpt-3.5-turbo", "gpt-4"],
            prompt=[MATH_PROMPT],
            allow_format_str_template=True,
            show_progress=False,
        )
        tuned = oai.ChatCompletion.test(test_data, config, eval_math_responses)
        untuned = oai.ChatCompletion.test(test_data, UNTUNED, eval_math_responses)
    run = {
        "level": level,
        "seed": seed,
        "tuned_config": {k: v for k, v in config.items() if k not in ("prompt", "allow_format_str_template")},
        "trials": len(analysis.trials),
        "tuning_dollars": round(analysis.total_cost, 4),
        "tuned": {k: round(float(tuned[k]), 5) for k in SUMMARY_KEYS},
        "untuned_gpt4": {k: round(float(untuned[k]), 5) for k in SUMMARY_KEYS},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(run, flush=True)
    return run


def summarize(runs: list[dict], level: int) -> dict:
    mine = [r for r in runs if r["level"] == level]
    tuned = statistics.fmean(r["tuned"]["success_vote"] for r in mine)
    untuned = statistics.fmean(r["untuned_gpt4"]["success_vote"] for r in mine)
    published = PUBLISHED[level]
    return {
        "runs": len(mine),
        "tuned_models": [r["tuned_config"]["model"] for r in mine],
        "tuned_success_vote_mean": round(tuned, 4),
        "untuned_gpt4_success_vote_mean": round(untuned, 4),
        "tuned_minus_untuned": round(tuned - untuned, 4),
        "tuned_inference_cost_mean": round(statistics.fmean(r["tuned"]["inference_cost"] for r in mine), 5),
        "untuned_inference_cost_mean": round(statistics.fmean(r["untuned_gpt4"]["inference_cost"] for r in mine), 5),
        "published": {**published, "tuned_minus_untuned": round(published["tuned"] - published["untuned_gpt4"], 4)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="2,5")
    parser.add_argument("--seeds", default="41")
    parser.add_argument("--optimization-budget", type=float, default=1.0)
    parser.add_argument("--num-samples", type=int, default=20)
    parser.add_argument("--name", default="math_study")
    add_common_args(parser)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    budget, samples, test_size = args.optimization_budget, args.num_samples, None
    if args.quick:
        levels, seeds, budget, samples, test_size = levels[:1], seeds[:1], 0.2, 4, 20
    runs = [one_run(level, seed, budget, samples, test_size) for level in levels for seed in seeds]
    results = {
        "benchmark": "FLAML's MATH case study replayed on the simulated endpoint (issue 26)",
        "setting": {
            "inference_budget": 0.02,
            "optimization_budget": budget,
            "num_samples": samples,
            "models": ["gpt-3.5-turbo", "gpt-4"],
            "tune_problems": 20,
            "test_problems": test_size or 200,
        },
        "summary": {f"level_{level}": summarize(runs, level) for level in levels},
        "runs": runs,
    }
    write_results(args.name, results, args)


if __name__ == "__main__":
    main()
