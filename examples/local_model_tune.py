"""Tuning a model behind a local OpenAI-compatible server (llama.cpp, Ollama, vLLM) at your own price.

A local model costs GPU time, not API dollars. Give it a price per 1K tokens -- for example what an
hour of your GPU costs divided by the thousands of tokens it processes in that hour -- and ecoptigen
tunes under an inference budget and an optimization budget in those dollars, as it does for OpenAI.
The price goes in the config (``price=[input, output]``, as here) or in the price table
(``oai.Completion.price1K["my-model"] = (input, output)``).

The task: brainstorm names for a thing; the metric is how many different names the ``n`` answers
give, so more samples help, and each costs money. llama.cpp and Ollama ignore ``n`` and answer with
one choice: ecoptigen notices and tops the answer up with further requests, so ``n`` means n.

    python examples/local_model_tune.py --base-url http://127.0.0.1:8080/v1 --model my-model --price 0.0001 0.0002

Without ``--base-url`` the simulated endpoint stands in, made to ignore ``n`` as llama.cpp does. It
knows no names: its answers to a prompt it has no task for are sentences that vary with the model and
the temperature, a fresh one per sample more often than not at 0.9 (``docs/sim.md``), so there too more
samples give more different names.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from ecoptigen import oai, sim

with warnings.catch_warnings():  # flaml's __init__ warns that its AutoML extra is not installed
    warnings.filterwarnings("ignore", message="flaml.automl is not available")
    from flaml import tune

MESSAGES = [{"role": "user", "content": "Suggest a name for {thing}. Answer with the name only."}]
TUNE_DATA = [{"thing": thing} for thing in ("a bakery", "a cat", "a boat", "a band", "a robot", "a river")]
TEST_DATA = [{"thing": thing} for thing in ("a garden", "a horse", "a comet", "a bridge")]


def distinct_names(responses: list[str], thing: str) -> dict:
    """The eval_func: how many different non-empty answers the responses hold."""
    names = {r.strip().lower() for r in responses if r.strip()}
    return {"names": len(names)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="the server's OpenAI-compatible URL, ending in /v1")
    parser.add_argument("--model", default=None, help="the model name the server answers to")
    parser.add_argument("--price", type=float, nargs=2, default=[0.0001, 0.0002], metavar=("IN", "OUT"),
                        help="your dollars per 1K input and per 1K output tokens")  # fmt: skip
    parser.add_argument("--inference-budget", type=float, default=0.0002, help="dollars per instance")
    parser.add_argument("--optimization-budget", type=float, default=0.005, help="dollars for the tuning")
    parser.add_argument("--num-samples", type=int, default=6, help="configurations to try at most")
    args = parser.parse_args()
    server = None
    if args.base_url is None:
        server = sim.serve(seed=5, quirks={"ignore_n"})
        args.base_url, args.model = server.base_url, args.model or "gpt-4o-mini"
        print(f"No --base-url: using the SIMULATED endpoint at {server.base_url}, which ignores n like llama.cpp.")
    # A local server's URL is no secret, so it can go straight into the config tune returns.
    local = {"model": args.model or "local-model", "base_url": args.base_url}
    try:
        config, analysis = oai.ChatCompletion.tune(
            data=TUNE_DATA,
            metric="names",
            mode="max",
            eval_func=distinct_names,
            inference_budget=args.inference_budget,
            optimization_budget=args.optimization_budget,
            num_samples=args.num_samples,
            messages=[MESSAGES],
            n=tune.choice([1, 2, 4]),
            max_tokens=tune.choice([8, 16]),
            temperature=0.9,
            price=args.price,
            show_progress=False,
            **local,
        )
        print("tuned config:", json.dumps({k: v for k, v in config.items() if k != "messages"}, sort_keys=True))
        print("best result on the tuning data:", analysis.best_result)
        print(f"paid for the tuning: ${analysis.total_cost:.6f} (budget ${args.optimization_budget})")
        result = oai.ChatCompletion.test(TEST_DATA, config, distinct_names)
        print("test:", json.dumps(result, sort_keys=True))
    finally:
        if server is not None:
            server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
