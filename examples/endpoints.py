"""Choosing endpoints with ``config_list``: OpenAI, Azure OpenAI and a local OpenAI-compatible server.

``create`` tries the configs in order and returns the first answer (that passes ``filter_func``, if
given), summing the cost of every config it tried. Here all three "providers" are the simulated
endpoint, so the script runs anywhere; with real keys, only the dicts change:

    {"model": "gpt-4o-mini", "api_key": os.environ["OPENAI_API_KEY"]}                       # OpenAI
    {"model": "gpt-4o-mini", "api_type": "azure", "base_url": "https://NAME.openai.azure.com",
     "api_version": "2024-06-01", "api_key": os.environ["AZURE_OPENAI_API_KEY"]}           # Azure
    {"model": "llama3.1", "base_url": "http://localhost:11434/v1", "price": [0, 0]}         # Ollama

    python examples/endpoints.py
"""

from __future__ import annotations

import sys

from ecoptigen import oai, sim


def main() -> int:
    with sim.serve(seed=3) as server:
        print(f"All endpoints below are the SIMULATED one at {server.base_url}.")
        azure_base = server.base_url.removesuffix("/v1")  # Azure clients add /openai/deployments/...
        config_list = [
            {"model": "gpt-nonexistent", "base_url": server.base_url, "api_key": "sk-openai"},  # fails: 404
            {"model": "gpt-4o-mini", "api_type": "azure", "base_url": azure_base, "api_version": "2024-06-01",
             "api_key": "azure-key"},
            {"model": "gpt-4.1-nano", "base_url": server.base_url, "api_key": "not-needed-locally"},
        ]  # fmt: skip
        response = oai.Completion.create(
            context={"question": "Is 7 a prime number? Answer Yes or No."},
            prompt="{question}",
            max_tokens=4,
            config_list=config_list,
            use_cache=False,
        )
        print("answered by config", response["config_id"], f"({config_list[response['config_id']]['model']})")
        print("answer:", oai.Completion.extract_text(response)[0])
        print(f"cost: ${response['cost']:.6f}; the server billed ${server.stats()['total_billed_usd']:.6f}")

        wanted_yes = oai.Completion.create(
            context={"question": "Is 9 a prime number? Answer Yes or No."},
            prompt="{question}",
            max_tokens=4,
            config_list=config_list[1:],
            filter_func=lambda context, response: oai.Completion.extract_text(response)[0] == "Yes.",
            use_cache=False,
        )
        print("with a filter: config", wanted_yes["config_id"], "passed the filter:", wanted_yes["pass_filter"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
