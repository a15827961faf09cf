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
from ecoptigen.sim import _math, _styles
from ecoptigen.sim import math_problems as mp
from ecoptigen.sim._difficulty import DEFAULT_PASS_AT_1, PASS_AT_1, effective_temperature

__all__ = ["PASS_AT_1", "Answer", "answer", "effective_temperature"]

# Samples at low temperature often repeat the greedy answer word for word (the FLAML notebook's 27
# text-davinci-003 samples at top_p 0.755 hold a handful of distinct programs); at T~1 hardly ever.
_REPEAT_SCALE = 0.35


def greedy_share(tau: float) -> float:
    """Probability that a sample repeats the greedy answer's text, given it is as right as that one."""
    return math.exp(-tau / _REPEAT_SCALE)


# Comment lines per statement (at T=0): real answers are longer than HumanEval's terse canonical
# solutions. Set so that completion tokens per sample match FLAML's logged runs (docs/sim.md).
_VERBOSITY = {"codex": 0.5, "gpt3": 0.5, "chat": 0.2, "modern": 0.3}


# Words of junk a very small model writes per answer (FLAML's logs: text-ada-001 about 6-38 tokens
# per sample with the seed's stops, text-babbage-001 about 30-180).
_JUNK_WORDS = {"text-ada-001": 8, "text-babbage-001": 60}


def verbosity(model: str, tau: float) -> float:
    """Share of statements a sample precedes with a comment; hotter samples ramble more."""
    return min(0.9, _VERBOSITY[dif.family(model)] * (0.7 + 0.5 * tau))


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
    skill = PASS_AT_1.get(model, DEFAULT_PASS_AT_1)
    if correct:
        body = he.correct_variant(problem, local)
    elif skill < 0.05:
        body = he.junk(problem, local, _JUNK_WORDS.get(model, 30))
    else:
        body = he.mutant(problem, local, 0.8 if skill < 0.1 else 0.12)
    body = he.annotate(body, local, verbosity(model, temperature))
    if chat:
        form = _styles.choose_style(model, problem.task_id, template, 0.0 if local is greedy_text else temperature, rng)
        return Answer(_styles.chat_answer(model, problem, body, form, template, local), correct)
    return Answer(body + he.run_on(problem, local), correct)


# Words a generic answer is made of, besides the prompt's own.
_GENERIC_WORDS = (
    "answer",
    "the",
    "question",
    "simulated",
    "model",
    "endpoint",
    "idea",
    "option",
    "example",
    "detail",
    "point",
    "result",
    "way",
    "reason",
    "case",
    "approach",
    "first",
    "next",
    "also",
    "simply",
    "clear",
    "short",
    "good",
    "new",
    "bright",
    "quiet",
    "golden",
    "little",
    "north",
    "river",
    "stone",
)
# How many different answers a model gives to an unknown prompt, relative to one another (estimates):
# later models vary their wording more.
_GENERIC_VARIETY = {"codex": 0.6, "gpt3": 0.8, "chat": 1.0, "modern": 1.4}
_GENERIC_WORDS_MEAN = {"codex": 14, "gpt3": 18, "chat": 24, "modern": 30}


def generic_variant(model: str, prompt: str, temperature: float, rng: random.Random) -> int:
    """Which of a model's answers to an unknown prompt a sample is: 0 is the greedy one.

    At temperature 0 always 0. Hotter, a sample repeats the greedy answer with probability
    ``greedy_share(T)``, else it is answer ``k >= 1`` with ``k - 1`` exponentially distributed with
    mean ``8 T variety(model)``: so the number of different answers among ``n`` samples grows with
    ``n`` and with the temperature, and differs between models.
    """
    if temperature <= 1e-6 or rng.random() < greedy_share(temperature):
        return 0
    variety = _GENERIC_VARIETY[dif.family(model)] * (0.8 + 0.4 * dif._unit("generic-variety", model))
    return 1 + int(rng.expovariate(1.0) * 8 * min(temperature, 2.0) * variety)


def generic_answer(model: str, prompt: str, temperature: float, rng: random.Random) -> str:
    """An answer for text the simulated models know nothing about: not a constant.

    A yes/no question gets "Yes." or "No.": a coin flip fixed per model and question at temperature 0,
    flipped with probability ``min(0.5, T / 2)`` by a hotter sample. Anything else gets one of the model's
    answers to that prompt (:func:`generic_variant`), each a deterministic sentence of the prompt's words
    and neutral ones, about 14-30 words long depending on the model (``max_tokens`` cuts it). Everything
    is seeded by the model, the prompt and the request's randomness, so a seeded server gives the same
    answers in every run, and a tuning over models, temperatures and ``n`` sees them differ.
    """
    if re.search(r"\b(yes|no)\b.*\?|answer (with )?[\"']?(yes|no)\b", prompt, re.IGNORECASE | re.DOTALL):
        greedy = "Yes." if dif._unit("generic-yes-no", model, prompt) < 0.5 else "No."
        if temperature > 1e-6 and rng.random() < min(0.5, temperature / 2):
            return "No." if greedy == "Yes." else "Yes."
        return greedy
    variant = generic_variant(model, prompt, temperature, rng)
    local = random.Random(f"generic|{model}|{prompt}|{variant}")
    own = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", prompt)][:40]
    vocabulary = own + list(_GENERIC_WORDS)
    mean = _GENERIC_WORDS_MEAN[dif.family(model)]
    count = max(3, round(mean * math.exp(local.gauss(0.0, 0.3))))
    words = [local.choice(vocabulary) for _ in range(count)]
    return " ".join(words).capitalize() + "."


# Copying a docstring's examples into asserts is easy: an expected value comes out wrong this often
# per line, more for weaker models. Set so that FLAML's published selection with gpt-3.5-turbo's
# assertions is reproduced (text-davinci-003, n=27: 0.84-0.90 of problems have a candidate passing
# them); 0.5 * (1 - pass@1), used before, made gpt-3.5-turbo's wrong one line in four; now one in forty.
def assertion_error_rate(model: str) -> float:
    """Probability that one generated assertion has a wrong expected value."""
    return max(0.01, 0.05 * (1 - PASS_AT_1.get(model, DEFAULT_PASS_AT_1)))


def prepare() -> None:
    """Parse and load everything the answers need, once, in the calling thread.

    The server calls this before it serves: CPython 3.11's ``ast.parse`` is not safe to run in two
    threads at once, so nothing the request threads do should parse Python for the first time.
    """
    for problem in he.problems().values():
        he.entry_def(problem)
        he.example_pairs(problem)
        he.find_problem(problem.prompt)
        he.mutant(problem, random.Random(0))
    dif.base_difficulty()


def answer(model: str, prompt: str, temperature: float, chat: bool, rng: random.Random) -> Answer:
    """One sample of ``model`` for ``prompt`` (the completion prompt, or the last user message)."""
    problem = he.find_problem(prompt)
    if problem is None:
        math_problem = mp.find_problem(prompt)
        if math_problem is not None:
            return Answer(*_math.math_answer(model, math_problem, prompt, temperature, chat, rng))
        return Answer(generic_answer(model, prompt, temperature, rng))
    if "assertion" in prompt.lower() and "docstring" in prompt.lower():
        local = rng if temperature > 1e-6 else random.Random(f"{model}|{problem.task_id}|assert")
        return Answer(he.docstring_assertions(problem, local, assertion_error_rate(model)))
    template = prompt.replace(problem.prompt, "", 1) if problem.prompt in prompt else ""
    return humaneval_answer(model, problem, template, temperature, chat, rng)
