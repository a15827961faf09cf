"""How a simulated model answers: which sample is right (``_difficulty``), and in what form.

Whether a sample solves a HumanEval problem comes from :mod:`ecoptigen.sim._difficulty` (skill,
per-problem difficulty, temperature, prompt wording; see ``docs/sim.md`` for the calibration and its
sources). Everything random comes from the ``random.Random`` the server passes in, so a seeded
server answers the same way in every run.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from ecoptigen.sim import _difficulty as dif
from ecoptigen.sim import _humaneval as he
from ecoptigen.sim._difficulty import DEFAULT_PASS_AT_1, PASS_AT_1

__all__ = ["PASS_AT_1", "Answer", "answer"]

# Samples at low temperature often repeat the greedy answer word for word (the FLAML notebook's 27
# text-davinci-003 samples at top_p 0.755 hold a handful of distinct programs); at T~1 hardly ever.
_REPEAT_SCALE = 0.35


def greedy_share(tau: float) -> float:
    """Probability that a sample repeats the greedy answer's text, given it is as right as that one."""
    return math.exp(-tau / _REPEAT_SCALE)


@dataclass
class Answer:
    """One sample of a simulated model: its text and whether it is a correct solution."""

    text: str
    correct: bool | None = None


def humaneval_answer(
    model: str, problem: he.Problem, template: str, temperature: float, chat: bool, rng: random.Random
) -> Answer:
    """A sample for a prompt that holds ``problem``, as ``model`` would write it (``temperature`` is
    the effective one: top_p folded in)."""
    greedy_right = dif.greedy_correct(model, problem.task_id, template)
    greedy_text = random.Random(f"{model}|{problem.task_id}|{template}")
    if temperature <= 1e-6:
        correct, local = greedy_right, greedy_text
    else:
        correct = rng.random() < dif.p_correct(model, problem.task_id, template, temperature)
        repeat = correct == greedy_right and rng.random() < greedy_share(temperature * dif.sharpness(model))
        local = greedy_text if repeat else rng
    if temperature > 1.3 and rng.random() < (temperature - 1.3) / 0.7:
        correct = False  # near 2 the sampler wanders off: most programs break
        local = rng
    # Very weak models mostly write code that does not run; the others make plausible mistakes.
    broken_share = 0.8 if PASS_AT_1.get(model, DEFAULT_PASS_AT_1) < 0.1 else 0.12
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
    if re.search(r"\b(yes|no)\b.*\?|answer (with )?(yes|no)", prompt, re.IGNORECASE | re.DOTALL):
        return rng.choice(["Yes.", "No."])
    words = ["This", "is", "a", "simulated", "answer", "from", "the", "ecoptigen", "test", "endpoint."]
    length = min(max_tokens or 64, 64)
    return " ".join(words[i % len(words)] for i in range(max(1, length)))


# Weaker models get an expected value in a generated assertion wrong this often.
def _assertion_error_rate(model: str) -> float:
    return max(0.02, 0.5 * (1 - PASS_AT_1.get(model, DEFAULT_PASS_AT_1)))


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
