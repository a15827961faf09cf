"""How a simulated model answers: skill, problem difficulty, temperature, prompt wording, style.

The probability that a sample is correct is ``sigmoid(skill(model) + wording(model, template) -
difficulty(problem))``, lowered as temperature rises; see ``docs/sim.md`` for the calibration and
its sources. Everything random comes from the ``random.Random`` the server passes in, so a seeded
server answers the same way in every run.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import re
from dataclasses import dataclass

from ecoptigen.sim import _humaneval as he

__all__ = ["PASS_AT_1", "Answer", "answer"]

# Target pass@1 at temperature 0 with the prompt "{definition}" over all 164 problems.
# Sources: GPT-4 technical report (gpt-4 0.67, gpt-3.5-turbo 0.48); Chen et al. 2021 and the CodeT
# paper (code-davinci-002 0.47, code-cushman-001 0.33); text-davinci-003 as reported in the
# EcoOptiGen paper's setting (~0.6); openai/simple-evals README (gpt-4o 0.90, gpt-4o-mini 0.87,
# gpt-4.1 0.94, gpt-4.1-mini 0.94, gpt-4.1-nano 0.87). Models without a public figure get a value
# between their neighbours in price and generation (marked "estimate" in docs/sim.md).
PASS_AT_1: dict[str, float] = {
    "text-ada-001": 0.0,
    "text-babbage-001": 0.01,
    "text-curie-001": 0.08,
    "text-davinci-002": 0.45,
    "text-davinci-003": 0.60,
    "code-cushman-001": 0.33,
    "code-davinci-002": 0.47,
    "gpt-3.5-turbo-instruct": 0.50,
    "davinci-002": 0.25,
    "babbage-002": 0.08,
    "gpt-3.5-turbo": 0.48,
    "gpt-3.5-turbo-0301": 0.48,
    "gpt-3.5-turbo-16k": 0.48,
    "gpt-4": 0.67,
    "gpt-4-32k": 0.67,
    "gpt-4-turbo": 0.86,
    "gpt-4o": 0.90,
    "gpt-4o-mini": 0.87,
    "gpt-4.1": 0.94,
    "gpt-4.1-mini": 0.94,
    "gpt-4.1-nano": 0.87,
    "o1": 0.92,
    "o3": 0.95,
    "o3-mini": 0.93,
    "o4-mini": 0.95,
    "gpt-5": 0.95,
    "gpt-5-mini": 0.94,
    "gpt-5-nano": 0.90,
}
_DEFAULT_PASS_AT_1 = 0.5
_WORDING_SPREAD = 0.45  # logits; about +-10 points of accuracy around the middle of the range
_DIFFICULTY_SPREAD = 1.6  # logits between an easy and a hard problem (one standard deviation)


def _unit(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``: the same in every run and on every machine."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@functools.cache
def difficulty(task_id: str) -> float:
    """A problem's difficulty in logits: longer canonical solutions are harder, plus fixed noise."""
    problem = he.problems()[task_id]
    length = len(problem.canonical_solution.strip().splitlines())
    noise = _unit("difficulty", task_id) * 2 - 1
    return _DIFFICULTY_SPREAD * (0.35 * math.log(max(length, 1)) + 0.9 * noise)


@functools.cache
def skill(model: str) -> float:
    """The logit offset that makes greedy pass@1 over all problems equal the model's target."""
    target = PASS_AT_1.get(model, _DEFAULT_PASS_AT_1)
    difficulties = [difficulty(t) for t in he.problems()]
    low, high = -20.0, 20.0
    for _ in range(60):  # bisection on a monotone function
        middle = (low + high) / 2
        solved = [_greedy_correct(middle, d, t) for d, t in zip(difficulties, he.problems(), strict=True)]
        mean = sum(solved) / len(solved)
        low, high = (middle, high) if mean < target else (low, middle)
    return (low + high) / 2


def _greedy_correct(offset: float, difficulty_: float, task_id: str) -> float:
    # The greedy answer is right when the problem's fixed draw falls under its probability.
    return float(_unit("greedy", task_id) < _sigmoid(offset - difficulty_))


def wording(model: str, template: str) -> float:
    """The fixed effect (logits) of the text around the problem on ``model``; zero for the bare problem."""
    normalized = re.sub(r"\s+", " ", template).strip()
    if not normalized:
        return 0.0
    return (_unit("wording", model, normalized) * 2 - 1) * _WORDING_SPREAD


def temperature_factor(temperature: float) -> float:
    """How much less likely a sampled answer is right than a greedy one (1 at T=0, ~0 at T=2)."""
    return max(0.0, 1 - (temperature / 2) ** 2)


def greedy_share(temperature: float) -> float:
    """Probability that a sample repeats the greedy answer: high near T=0, gone by T~1."""
    return math.exp(-temperature / 0.15)


@dataclass
class Answer:
    """One sample of a simulated model: its text and whether it is a correct solution."""

    text: str
    correct: bool | None = None


def p_correct(model: str, problem: he.Problem, template: str, temperature: float) -> float:
    """Probability that one sample of ``model`` solves ``problem`` at ``temperature``."""
    logit = skill(model) + wording(model, template) - difficulty(problem.task_id)
    return _sigmoid(logit) * temperature_factor(temperature)


def humaneval_answer(
    model: str, problem: he.Problem, template: str, temperature: float, chat: bool, rng: random.Random
) -> Answer:
    """A sample for a prompt that holds ``problem``, as ``model`` would write it."""
    greedy = temperature <= 1e-6 or rng.random() < greedy_share(temperature)
    if greedy:
        correct = _unit("greedy", problem.task_id) < _sigmoid(
            skill(model) + wording(model, template) - difficulty(problem.task_id)
        )
        local = random.Random(f"{model}|{problem.task_id}|{template}")
    else:
        correct = rng.random() < p_correct(model, problem, template, temperature)
        local = rng
    if temperature > 1.3 and local.random() < (temperature - 1.3) / 0.7:
        correct = False  # near 2 the sampler wanders off: most programs break
    # Very weak models mostly write code that does not run; the others make plausible mistakes.
    broken_share = 0.8 if PASS_AT_1.get(model, _DEFAULT_PASS_AT_1) < 0.1 else 0.12
    body = he.correct_variant(problem, local) if correct else he.mutant(problem, local, broken_share)
    if chat:
        return Answer(_chat_style(problem, body, template, local), correct)
    return Answer(body + he.run_on(problem, local), correct)


def _chat_style(problem: he.Problem, body: str, template: str, rng: random.Random) -> str:
    code = problem.full_solution(body).strip("\n")
    asked_for_code = "complete the following python function" in template.lower()
    if rng.random() < (0.7 if asked_for_code else 0.25):
        return f"```python\n{code}\n```"
    return (
        f"Here is an implementation of `{problem.entry_point}`:\n\n```python\n{code}\n```\n\n"
        "It follows the examples in the docstring."
    )


def generic_answer(prompt: str, max_tokens: int | None, rng: random.Random) -> str:
    """A deterministic answer for text the simulated models know nothing about."""
    if re.search(r"\b(yes|no)\b.*\?|answer (with )?[\"']?(yes|no)\b", prompt, re.IGNORECASE | re.DOTALL):
        return rng.choice(["Yes.", "No."])
    words = ["This", "is", "a", "simulated", "answer", "from", "the", "ecoptigen", "test", "endpoint."]
    length = min(max_tokens or 64, 64)
    return " ".join(words[i % len(words)] for i in range(max(1, length)))


# Weaker models get an expected value in a generated assertion wrong this often.
def _assertion_error_rate(model: str) -> float:
    return max(0.02, 0.5 * (1 - PASS_AT_1.get(model, _DEFAULT_PASS_AT_1)))


def answer(
    model: str, prompt: str, temperature: float, chat: bool, max_tokens: int | None, rng: random.Random
) -> Answer:
    """One sample of ``model`` for ``prompt`` (the completion prompt, or the last user message)."""
    problem = he.find_problem(prompt)
    if problem is None:
        # Greedy decoding is deterministic: the same prompt gets the same answer, seed or no seed.
        local = rng if temperature > 1e-6 else random.Random(f"{model}|{prompt}|generic")
        return Answer(generic_answer(prompt, max_tokens, local))
    if "assertion" in prompt.lower() and "docstring" in prompt.lower():
        local = rng if temperature > 1e-6 else random.Random(f"{model}|{problem.task_id}|assert")
        return Answer(he.docstring_assertions(problem, local, _assertion_error_rate(model)))
    template = prompt.replace(problem.prompt, "", 1) if problem.prompt in prompt else ""
    return humaneval_answer(model, problem, template, temperature, chat, rng)
