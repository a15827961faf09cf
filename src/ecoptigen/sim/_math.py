"""How a simulated model answers a math problem: which answer it reaches, and the reasoning before it.

A problem ``p`` of level ``L`` (:mod:`ecoptigen.sim.math_problems`) meets model ``m`` with the margin

    z = ability(m, L) - LEVEL_OFFSET[L] - difficulty(p, family(m)) + wording(m, template)

(``difficulty``: a fixed standard-normal draw per problem, mostly shared by all models, partly the
family's own). The greedy answer (temperature 0) reasons right exactly when ``z > 0``. A sample at
effective temperature ``tau`` (top_p folded in) reasons right with probability
``Phi(z / (SPREAD * tau ** SPREAD_POWER))``: hotter samples solve some problems the greedy answer
misses and miss some it solves. A right line of reasoning still ends wrong when an arithmetic step
slips, with probability ``1 - exp(-SLIP[m] * HAZARD[L] * tau ** SLIP_POWER)``: long level-5 chains
slip far more often than level-1 ones, greedy decoding never does.

Wrong answers cluster the way real ones do, which is what decides how much voting over ``n``
samples helps: a slip lands on one of the problem's near misses (many, so slips rarely agree); a
line of reasoning that goes wrong lands, with probability ``FAVOURITE``, on the misconception this
model favours for this problem (the answer its greedy decoding gives), else on another one. Voting
fixes slips and the occasional wrong turn, never a model's settled misconception. The constants
are fitted to FLAML's MATH case study and checked against self-consistency (``docs/sim.md``;
``python -m ecoptigen.sim._calibrate_math``).

Every sample is a chain of reasoning ending in ``\\boxed{answer}``, as long as the model's answers
to a problem of that level are (``COMPLETION_TOKENS``), so ``n`` and ``max_tokens`` drive cost and a
``max_tokens`` too small cuts the boxed answer off. Some samples forget the box (more when the prompt
does not ask for it).
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from ecoptigen.sim import _difficulty as dif
from ecoptigen.sim import math_problems as mp

__all__ = ["ABILITY", "MathDraw", "draw", "math_answer", "p_right"]

_UNIT = NormalDist()

# -- set on FLAML's case study (python -m ecoptigen.sim._calibrate_math prints the fit; docs/sim.md) ---
# Minus the margin of the average problem of each level for gpt-4 (ability 0). Level 1 has no published
# figure: it continues the step from level 3 to level 2 (an estimate).
LEVEL_OFFSET = {1: -1.55, 2: -1.0, 3: -0.45, 4: 0.094, 5: 0.25}
HAZARD = {1: 0.05, 2: 0.077, 3: 0.10, 4: 0.19, 5: 0.64}  # slips per unit of SLIP at temperature 1
SPREAD = 1.0
SPREAD_POWER = 0.5
SLIP_POWER = 1.0
FAVOURITE = 0.2
# Ability on MATH against gpt-4's (0). gpt-4 and gpt-3.5-turbo: fitted to FLAML's case study; the
# others: estimates from their published MATH scores relative to gpt-4's (docs/sim.md).
ABILITY: dict[str, float] = {
    "gpt-4": 0.0,
    "gpt-4-32k": 0.0,
    "gpt-3.5-turbo": -0.05,
    "gpt-3.5-turbo-0301": -0.05,
    "gpt-3.5-turbo-16k": -0.05,
    "gpt-3.5-turbo-instruct": -0.6,
    "text-davinci-003": -0.9,
    "text-davinci-002": -1.2,
    "code-davinci-002": -1.0,
    "code-cushman-001": -1.8,
    "davinci-002": -2.0,
    "babbage-002": -3.0,
    "text-curie-001": -3.0,
    "text-babbage-001": -3.5,
    "text-ada-001": -4.0,
    "gpt-4-turbo": 0.9,
    "gpt-4o": 1.0,
    "gpt-4o-mini": 0.8,
    "gpt-4.1": 1.2,
    "gpt-4.1-mini": 1.2,
    "gpt-4.1-nano": 0.6,
    "o1": 2.4,
    "o3": 2.8,
    "o3-mini": 2.5,
    "o4-mini": 2.8,
    "gpt-5": 2.8,
    "gpt-5-mini": 2.6,
    "gpt-5-nano": 2.0,
}
DEFAULT_ABILITY = -0.5
# Where a model falls further behind on hard problems than its ability says. gpt-3.5-turbo: the case
# study tuned it (with many votes) above gpt-4 on levels 2 and 3 and chose gpt-4 (n=1) on levels 4 and
# 5, which with one ability for every level it would not (set by hand on that selection).
ABILITY_BY_LEVEL: dict[str, dict[int, float]] = {
    name: {4: -0.5, 5: -0.75} for name in ("gpt-3.5-turbo", "gpt-3.5-turbo-0301", "gpt-3.5-turbo-16k")
}
# Slip rate at temperature 1 (gpt-4: 1); weaker models slip more.
SLIP: dict[str, float] = {"gpt-3.5-turbo": 1.5, "gpt-3.5-turbo-0301": 1.5, "gpt-3.5-turbo-16k": 1.5}
_SLIP_BY_FAMILY = {"codex": 1.6, "gpt3": 1.6, "chat": 1.0, "modern": 0.7}

# -- estimates ----------------------------------------------------------------------------------
# Completion tokens of an answer to a level-2 problem at temperature 1, before its log-normal spread;
# gpt-4 and gpt-3.5-turbo from FLAML's logged inference costs (docs/sim.md), the rest estimates.
COMPLETION_TOKENS = {"gpt-4": 115, "gpt-3.5-turbo": 150, "chat": 140, "gpt3": 120, "codex": 120, "modern": 220}
LEVEL_LENGTH = {1: 0.7, 2: 1.0, 3: 1.25, 4: 1.5, 5: 1.9}
_LENGTH_SPREAD = 0.3
_FAMILY_SHARE = 0.4  # of a problem's difficulty, the part that is the family's own view
WORDING_SPREAD = 0.2
# A sample ends without a boxed answer this often when asked for one; when not asked, half the time.
_UNBOXED = {"chat": 0.01, "modern": 0.005, "gpt3": 0.05, "codex": 0.05}
_UNBOXED_UNASKED = 0.5
_STRAY = 0.25  # share of slips that land on a number no other sample reaches


@dataclass(frozen=True)
class MathDraw:
    """What one sample concludes: its answer as written (``None``: no boxed answer) and whether it is right."""

    answer: str | None
    correct: bool
    slipped: bool = False


def ability(model: str, level: int) -> float:
    """The model's ability on MATH problems of ``level``, gpt-4's being 0."""
    return ABILITY_BY_LEVEL.get(model, {}).get(level, ABILITY.get(model, DEFAULT_ABILITY))


def _template(prompt: str, problem: mp.MathProblem) -> str:
    return " ".join(prompt.replace(problem.problem, " ").split())


@functools.lru_cache(maxsize=4096)
def wording(model: str, template: str) -> float:
    """The fixed effect of the text around the problem; 0 for FLAML's math prompt (and for none)."""
    reference = " ".join(mp.REFERENCE_PROMPT.replace("{problem}", " ").replace("{{}}", "{}").split())
    if not template or template == reference:
        return 0.0
    return (dif._unit("math-wording", model, template) * 2 - 1) * WORDING_SPREAD


@functools.lru_cache(maxsize=65536)
def difficulty(family: str, problem_id: str) -> float:
    """A problem's difficulty as a model family sees it: mostly shared by all families, partly its own."""
    shared = dif._normal("math-difficulty", problem_id)
    own = dif._normal("math-family", family, problem_id)
    return math.sqrt(1 - _FAMILY_SHARE**2) * shared + _FAMILY_SHARE * own


def margin(model: str, problem: mp.MathProblem, template: str = "") -> float:
    """How far ``model`` is above (positive) or below the problem."""
    seen_as = difficulty(dif.family(model), problem.problem_id)
    return ability(model, problem.level) - LEVEL_OFFSET[problem.level] - seen_as + wording(model, template)


def keep(model: str, level: int, tau: float) -> float:
    """Probability that a right line of reasoning reaches the right answer (no step slips)."""
    rate = SLIP.get(model, _SLIP_BY_FAMILY[dif.family(model)])
    return math.exp(-rate * HAZARD[level] * max(tau, 0.0) ** SLIP_POWER)


def p_right(model: str, problem: mp.MathProblem, template: str, tau: float) -> float:
    """Probability that one sample at effective temperature ``tau`` reasons right (before slips)."""
    z = margin(model, problem, template)
    if tau <= 1e-6:
        return 1.0 if z > 0 else 0.0
    return _UNIT.cdf(z / (SPREAD * tau**SPREAD_POWER))


@functools.lru_cache(maxsize=65536)
def favourite(model: str, problem: mp.MathProblem) -> str:
    """The misconception ``model`` settles on for ``problem`` (its greedy answer when that is wrong)."""
    options = problem.misconceptions
    return options[int(dif._unit("math-favourite", model, problem.problem_id) * len(options))]


def draw(
    model: str, problem: mp.MathProblem, template: str, tau: float, asked_box: bool, rng: random.Random
) -> MathDraw:
    """The answer one sample of ``model`` reaches (``tau``: the effective temperature)."""
    unboxed = _UNBOXED[dif.family(model)] if asked_box else _UNBOXED_UNASKED
    if tau > 1.3 and rng.random() < (tau - 1.3) / 0.7:
        return MathDraw(None, False)  # near 2 the sampler wanders off and never concludes
    if tau > 1e-6 and rng.random() < unboxed:
        return MathDraw(None, False)
    right = rng.random() < p_right(model, problem, template, tau)
    if right and rng.random() < keep(model, problem.level, tau):
        forms = problem.forms
        form = forms[0] if tau <= 1e-6 or rng.random() < 0.7 else rng.choice(forms)
        return MathDraw(form, True)
    if right:
        if rng.random() < _STRAY or not problem.slips:
            return MathDraw(f"{rng.randint(-99, 999)}", False, slipped=True)
        return MathDraw(rng.choice(problem.slips), False, slipped=True)
    if tau <= 1e-6 or rng.random() < FAVOURITE:
        return MathDraw(favourite(model, problem), False)
    return MathDraw(rng.choice(problem.misconceptions + problem.slips[:2]), False)


# -- the text of a sample -------------------------------------------------------------------------
_OPENINGS = [
    "Let's work through this step by step.",
    "We need to be careful with each step here.",
    "To solve this, we set up the problem and simplify.",
    "First, let's understand what the problem is asking.",
]
_FILLER = [
    "Let me double-check this step before moving on.",
    "We can simplify this expression further.",
    "It helps to write every term out explicitly.",
    "Next, we combine like terms on each side.",
    "We keep track of the signs carefully here.",
    "Checking the arithmetic once more, the value is consistent.",
    "This follows directly from the previous line.",
    "Now we substitute the value we found back in.",
]
_SLIP_LINE = "Carrying out the arithmetic, we get a slightly different value here."
_WRONG_TURN = "Reading the question this way, we set up the equations accordingly."


def _target_tokens(model: str, level: int, tau: float, rng: random.Random) -> int:
    base = COMPLETION_TOKENS.get(model, COMPLETION_TOKENS[dif.family(model)])
    spread = math.exp(rng.gauss(0.0, _LENGTH_SPREAD) - _LENGTH_SPREAD**2 / 2) if tau > 1e-6 else 1.0
    return max(20, round(base * LEVEL_LENGTH[level] * (0.85 + 0.15 * min(tau, 2.0)) * spread))


def reasoning_text(model: str, problem: mp.MathProblem, drawn: MathDraw, tau: float, rng: random.Random) -> str:
    """A chain of reasoning about ``problem`` ending in the drawn answer, about as long as the model writes."""
    target_chars = 4 * _target_tokens(model, problem.level, tau, rng)
    # A wrong answer's reasoning never states the right result: its last step is the one that went wrong.
    if drawn.correct or drawn.answer is None:
        lines = [rng.choice(_OPENINGS), *problem.steps]
    elif drawn.slipped:
        lines = [rng.choice(_OPENINGS), *problem.steps[:-1], _SLIP_LINE]
    else:
        lines = [rng.choice(_OPENINGS), _WRONG_TURN, *problem.steps[:-1]]
    ending = (
        f"Therefore, the final answer is $\\boxed{{{drawn.answer}}}$."
        if drawn.answer is not None
        else f"So the answer is {problem.answer if drawn.correct else 'what we found above'}."
    )
    body = " ".join(lines)
    while len(body) + len(ending) < target_chars:
        position = rng.randrange(1, len(lines) + 1)
        lines.insert(position, rng.choice(_FILLER))
        body = " ".join(lines)
    return body + "\n\n" + ending


def math_answer(
    model: str, problem: mp.MathProblem, prompt: str, tau: float, chat: bool, rng: random.Random
) -> tuple[str, bool]:
    """One sample for a prompt holding ``problem``: its text and whether its answer is right."""
    template = _template(prompt, problem)
    local = rng if tau > 1e-6 else random.Random(f"{model}|{problem.problem_id}|{template}|math")
    drawn = draw(model, problem, template, tau, "boxed" in prompt or "\\fbox" in prompt, local)
    text = reasoning_text(model, problem, drawn, tau, local)
    if not chat and local.random() < 0.5:
        text += "\n\n###\n\nProblem: " + local.choice(_FILLER)  # a completion model runs on to a next problem
    return text, drawn.correct
