"""Issue 17's two acceptance scenarios on the simulated endpoint, with the numbers written down.

1. ``reasoning``: ChatCompletion.tune over ``model=["gpt-4o-mini", "o4-mini", "gpt-5-mini"]`` with the
   default temperature space: 400s (errors) at the endpoint, reasoning trials sent temperature/top_p,
   reported cost vs the endpoint's bill.
2. ``cached_few_shot``: a tuning whose prompt starts with ~2,000 tokens of few-shot examples on
   gpt-4.1-nano: prompt tokens served from the provider's cache, reported cost vs the bill, and what the
   same tokens would have cost without the cache discount.

Run: python benchmarks/models_billing.py
"""

from __future__ import annotations

import argparse
import os
import tempfile

from _common import add_common_args, write_results

from ecoptigen import oai, sim
from ecoptigen.money import prices as pricing

QUESTIONS = [{"question": f"Is {i} an even number? Answer yes or no."} for i in range(4)]
FEW_SHOT = "".join(
    f"Q: Is {i} an even number? Answer yes or no.\nA: {'Yes' if i % 2 == 0 else 'No'}.\n\n" for i in range(130)
)
MODELS = ["gpt-4o-mini", "o4-mini", "gpt-5-mini"]
REASONING = {"o4-mini", "gpt-5-mini"}


def answered(responses, **instance):
    return {"success": any(str(r).strip() for r in responses)}


def reasoning_scenario(server: sim.SimServer) -> dict:
    server.reset_stats()
    _, analysis = oai.ChatCompletion.tune(
        data=QUESTIONS, metric="success", mode="max", eval_func=answered, optimization_budget=2.0,
        num_samples=9, model=MODELS, prompt="{question}", show_progress=False,
    )  # fmt: skip
    stats = server.stats()
    sent_sampling = sum(
        bool({"temperature", "top_p"} & set(t.params)) for t in analysis.trials if t.params["model"] in REASONING
    )
    return {
        "trials": len(analysis.trials),
        "trials_per_model": {m: sum(t.params["model"] == m for t in analysis.trials) for m in MODELS},
        "endpoint_errors": stats["errors"],
        "reasoning_trials_with_temperature_or_top_p": sent_sampling,
        "reasoning_tokens": {m: stats["models"][m]["reasoning_tokens"] for m in REASONING},
        "reported_usd": analysis.total_cost,
        "billed_usd": stats["total_billed_usd"],
    }


def cached_scenario(server: sim.SimServer) -> dict:
    server.reset_stats()
    _, analysis = oai.ChatCompletion.tune(
        data=QUESTIONS * 2, metric="success", mode="max", eval_func=answered, optimization_budget=0.5,
        num_samples=4, model="gpt-4.1-nano", prompt=FEW_SHOT + "Q: {question}\nA:", n=1, max_tokens=16,
        show_progress=False,
    )  # fmt: skip
    stats = server.stats()
    used = stats["models"]["gpt-4.1-nano"]
    price = pricing.resolve_price("gpt-4.1-nano")
    uncached = (used["prompt_tokens"] * price.input + used["completion_tokens"] * price.output) / 1000
    billed = stats["total_billed_usd"]
    return {
        "requests": used["requests"],
        "prompt_tokens_per_request": used["prompt_tokens"] / used["requests"],
        "cached_share_of_prompt_tokens": used["cached_tokens"] / used["prompt_tokens"],
        "reported_usd": analysis.total_cost,
        "billed_usd": billed,
        "reported_vs_billed_relative_difference": abs(analysis.total_cost - billed) / billed,
        "same_tokens_without_cache_discount_usd": uncached,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)  # both scenarios are small: --quick runs them whole
    args = parser.parse_args()
    with sim.serve(seed=1234) as server, tempfile.TemporaryDirectory() as cache:
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-benchmark"
        oai.Completion.set_cache(seed=7, cache_path_root=cache)
        results = {"reasoning": reasoning_scenario(server), "cached_few_shot": cached_scenario(server)}
    benchmark = "issue 17's acceptance scenarios: reasoning models in the default space; a cached few-shot tuning"
    write_results("models_billing", {"benchmark": benchmark, **results}, args)


if __name__ == "__main__":
    main()
