"""The ``math`` section of ``sim_fidelity.py``: the simulated models on MATH-style problems, against
FLAML's case study and the shape of self-consistency's voting curve.

Every figure is measured as a user would: chat requests through the ``openai`` SDK to the simulated
endpoint, FLAML's math prompt, answers scored with ``ecoptigen.math_utils.eval_math_responses`` on the
200 test problems of each level (``ecoptigen.datasets.load_math``).

* ``flaml_case_study``: each figure of ``ecoptigen.sim._calibrate_math.FLAML_MATH`` (gpt-4 untuned,
  i.e. the API's default temperature 1, at n = 1, 2, 5; "tuned" gpt-4 at n = 1, the best of the
  temperatures 0, 0.2, 0.5, 1; gpt-3.5-turbo with the notebook's tuned n and temperature), with the
  published value, the measured one and whether it was calibrated on.
* ``voting_curve``: accuracy of the majority vote over the first k of 40 samples (k = 1, 5, 10, 20,
  40), for a configuration whose greedy accuracy is near the 60% of the self-consistency paper's
  code-davinci-002 on GSM8K, against that paper's figures (Wang et al. 2022: greedy chain of thought
  60.1%, majority of 40 sampled paths 78.0%).
* ``completion_tokens_per_sample``: against the lengths implied by FLAML's logged inference costs.
"""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor

import openai

from ecoptigen.datasets import load_math
from ecoptigen.math_utils import MATH_PROMPT, eval_math_responses
from ecoptigen.sim._calibrate_math import CALIBRATED, FLAML_MATH

PROMPT = MATH_PROMPT
TUNED_TEMPERATURES = (0.0, 0.2, 0.5, 1.0)
# Self-consistency (Wang et al. 2022, arXiv:2203.11171), GSM8K, code-davinci-002: greedy chain of thought
# and the majority vote over 40 sampled reasoning paths; the paper's curves flatten by 10-20 paths.
SELF_CONSISTENCY = {"greedy": 0.601, "majority_of_40": 0.780}
# Completion tokens per sample implied by FLAML's logged inference costs (notebook run of 2023-08-01,
# level-2 algebra): untuned gpt-4, $0.009584 per instance at $0.03/$0.06 per 1K tokens, n=1; tuned
# gpt-3.5-turbo's first trial, $0.0032123 per instance for n=10 at $0.0015/$0.002 (the prices of the
# time); the prompt tokens are the simulated ones (the same prompt and problems of the same length).
# gpt-3.5-turbo's trial sampled with top_p 0.3628.
LOGGED_COSTS = {
    "gpt-4": (0.009584, 1, (0.03, 0.06), {}),
    "gpt-3.5-turbo": (0.0032123, 10, (0.0015, 0.002), {"top_p": 0.3628}),
}


def problems(level: int) -> list[dict]:
    return [row for row in load_math()["test"] if row["level"] == f"Level {level}"]


def ask(client: openai.OpenAI, model: str, row: dict, n: int, sampling: dict) -> tuple[list[str], dict]:
    response = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT.format(problem=row["problem"])}], n=n, **sampling
    )
    usage = response.usage
    counts = {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens} if usage else {}
    return [choice.message.content or "" for choice in response.choices], counts


def answers(client: openai.OpenAI, model: str, level: int, n: int, temperature: float | None, **sampling) -> list:
    """Every test problem of the level asked once (``temperature`` None: the API's default, 1)."""
    if temperature is not None:
        sampling["temperature"] = temperature
    rows = problems(level)
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda row: ask(client, model, row, n, sampling), rows))
    return [(row, texts, counts) for row, (texts, counts) in zip(rows, replies, strict=True)]


def vote_accuracy(replies: list[tuple], k: int | None = None) -> float:
    return statistics.fmean(
        eval_math_responses(texts[:k], row["solution"])["success_vote"] for row, texts, _ in replies
    )


def section_math(client: openai.OpenAI) -> dict:
    rows = []
    for target in FLAML_MATH:
        model, level, temperature, n, published = target
        if temperature is None:
            by_temperature = {t: vote_accuracy(answers(client, model, level, n, t)) for t in TUNED_TEMPERATURES}
            best = max(by_temperature, key=lambda t: by_temperature[t])
            measured, detail = by_temperature[best], {"best_temperature": best, "by_temperature": by_temperature}
        else:
            request_t = None if temperature == 1.0 else temperature  # untuned: the API's default
            measured, detail = vote_accuracy(answers(client, model, level, n, request_t)), {}
        row = {
            "model": model,
            "level": level,
            "temperature": "tuned" if temperature is None else temperature,
            "n": n,
            "published": published,
            "simulated": round(measured, 4),
            "difference": round(measured - published, 4),
            "role": "calibrated" if target in CALIBRATED else "check",
            **detail,
        }
        rows.append(row)
        print(row)
    calibrated = [r for r in rows if r["role"] == "calibrated"]
    return {
        "flaml_case_study": rows,
        "calibrated_max_abs_difference": round(max(abs(r["difference"]) for r in calibrated), 4),
        "voting_curve": voting_curve(client),
        "completion_tokens_per_sample": tokens_per_sample(client),
    }


def voting_curve(client: openai.OpenAI) -> dict:
    model, level, temperature = "gpt-3.5-turbo", 3, 0.7
    greedy = vote_accuracy(answers(client, model, level, 1, 0.0))
    sampled = answers(client, model, level, 40, temperature)
    curve = {k: round(vote_accuracy(sampled, k), 4) for k in (1, 5, 10, 20, 40)}
    gain = curve[40] - greedy
    published_gain = SELF_CONSISTENCY["majority_of_40"] - SELF_CONSISTENCY["greedy"]
    return {
        "config": {"model": model, "level": level, "temperature": temperature},
        "greedy": round(greedy, 4),
        "majority_of_k": curve,
        "gain_of_40_over_greedy": round(gain, 4),
        "share_of_the_40_sample_gain_by_10": round((curve[10] - curve[1]) / (curve[40] - curve[1]), 3),
        "share_of_the_40_sample_gain_by_20": round((curve[20] - curve[1]) / (curve[40] - curve[1]), 3),
        "published": {**SELF_CONSISTENCY, "gain_of_40_over_greedy": round(published_gain, 4)},
    }


def tokens_per_sample(client: openai.OpenAI) -> dict:
    out = {}
    for model, (cost, n, (prompt_price, completion_price), sampling) in LOGGED_COSTS.items():
        replies = answers(client, model, 2, n, None, **sampling)
        prompt = statistics.fmean(counts["prompt"] for _, _, counts in replies)
        completion = statistics.fmean(counts["completion"] for _, _, counts in replies) / n
        implied = (cost * 1000 - prompt * prompt_price) / completion_price / n
        out[model] = {"published_implied": round(implied, 1), "simulated": round(completion, 1), "n": n}
    return out
