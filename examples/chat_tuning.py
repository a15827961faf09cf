"""Tuning a chat model on your own task: ``messages`` templates and a custom ``eval_func``.

The task: say whether a number is prime, answering "Yes." or "No."; the metric is the accuracy of
the majority vote over the ``n`` answers. The data is generated here. On the simulated endpoint
(used when no OPENAI_API_KEY is set) the answers to yes/no questions are coin flips, so the numbers
show the mechanics, not a model's skill; with a key, the same script tunes a real model.

    python examples/chat_tuning.py [--optimization-budget 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from ecoptigen import oai, sim


def is_prime(number: int) -> bool:
    return number > 1 and all(number % d for d in range(2, int(number**0.5) + 1))


def make_data(count: int, start: int) -> list[dict]:
    return [{"number": n, "answer": "Yes." if is_prime(n) else "No."} for n in range(start, start + count)]


def majority_vote(responses: list[str], number: int, answer: str) -> dict:
    """The eval_func: called with the responses and the instance's fields; returns the metrics."""
    votes = Counter(r.strip() for r in responses)
    top = votes.most_common(1)[0][0] if votes else ""
    return {"accuracy": float(top == answer), "agreement": votes[top] / max(len(responses), 1)}


MESSAGES = [
    [{"role": "user", "content": "Is {number} a prime number? Answer Yes or No."}],
    [
        {"role": "system", "content": "You are a careful mathematician. Answer with Yes. or No. only."},
        {"role": "user", "content": "Is {number} prime? Answer Yes or No."},
    ],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--optimization-budget", type=float, default=0.05)
    parser.add_argument("--num-samples", type=int, default=8)
    args = parser.parse_args()
    tune_data, test_data = make_data(16, 2), make_data(16, 100)
    server = None
    if not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        server = sim.serve(seed=7)
        os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-simulated")
        print(f"No OPENAI_API_KEY: using the SIMULATED endpoint at {server.base_url} (answers are coin flips).")
    try:
        config, analysis = oai.ChatCompletion.tune(
            data=tune_data,
            metric="accuracy",
            mode="max",
            eval_func=majority_vote,
            optimization_budget=args.optimization_budget,
            num_samples=args.num_samples,
            model=["gpt-4.1-nano", "gpt-4o-mini"],
            messages=MESSAGES,
            max_tokens=4,
            show_progress=False,
        )
        print("tuned config:", config)
        print("best accuracy on the tuning data:", analysis.best_result["accuracy"])
        print(f"paid for the tuning: ${analysis.total_cost:.5f}")
        print("test:", oai.ChatCompletion.test(test_data, config, eval_func=majority_vote))
    finally:
        if server is not None:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
