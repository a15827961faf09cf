"""How likely a simulated model is to solve a HumanEval problem: per-problem difficulty and skill.

Every problem ``i`` has a latent difficulty ``d_i`` that all models share, so a problem that is hard
for one model is usually hard for the next. A model ``m`` of family ``f`` meets the problem with the
*margin*

    z = skill(m) - d_i + SIGMA_FAMILY * e(f, i) + SIGMA_MODEL * e(m, i) + wording(m, template)

where the ``e`` are fixed standard-normal draws (a family's own strengths and weaknesses, a model's
own), and ``wording`` is the fixed effect of the text around the problem. Greedy decoding is right
exactly when ``z > 0``. A sample at effective temperature ``tau`` is right with probability

    q = Phi(z / (WIDTH * (s * tau) ** ALPHA) - DRIFT * tau)        (Phi: the standard normal CDF)

(``s``: the model's sampling sharpness). ``q`` tends to the greedy verdict as ``tau`` goes to 0 (all
samples alike), spreads towards the middle as ``tau`` rises (problems the greedy answer misses get
solved now and then, which is what makes pass@100 high) and loses accuracy overall (``DRIFT``: the
sampler picks unlikely tokens), so pass@1 is best at low temperature and pass@k for large k at a
higher one.

``skill(m)`` is set so that greedy pass@1 with the bare prompt over the 164 problems equals the
model's published figure (``PASS_AT_1``). The latent difficulties are standard-normal quantiles,
reshaped by fitted powers (the hard side is compressed: with enough samples most problems fall;
the easy side stretched: some are solved by nearly every sample), assigned in the order of the problems'
published success over three chat models (``data/humaneval_task_success.json.gz``, from
jamesmurdza/humaneval-results; ties broken by the length of the canonical solution and a fixed
draw). ``WIDTH``, ``ALPHA``, ``DRIFT``,
``HARD_POWER``, ``EASY_POWER`` and Codex-12B's skill were fitted by
``python -m ecoptigen.sim._calibrate`` to the pass@1/10/100 of three Codex models (see
``docs/sim.md``). Nothing here is random at run time: the numbers are pure functions of their inputs.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import re
from importlib import resources
from statistics import NormalDist

from ecoptigen.sim import _humaneval as he

__all__ = ["PASS_AT_1", "effective_temperature", "family", "greedy_correct", "margin", "p_correct"]

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
DEFAULT_PASS_AT_1 = 0.5

# -- fitted constants (python -m ecoptigen.sim._calibrate; targets and fit in docs/sim.md) -------
WIDTH = 0.7917
ALPHA = 0.3203
DRIFT = 0.6308
HARD_POWER = 0.05
EASY_POWER = 1.5672
# Codex-12B (Chen et al. 2021) is not served; its skill is fitted to its pass@1/10/100 and it is
# simulated only by the calibration and its tests.
REFERENCE_SKILL: dict[str, float] = {"codex-12b": -0.6168}
# A model whose greedy pass@1 is zero is this far below the easiest problem: with many samples it
# still solves next to nothing (estimate; small GPT-3 models solve ~0% of HumanEval).
_BELOW_EASIEST = 2.5

# The served Codex models sample more narrowly than the Codex paper's research model at the same
# temperature (fitted with the constants above; Codex-12B is the reference, 1).
MODEL_SHARPNESS: dict[str, float] = {"code-cushman-001": 0.4532, "code-davinci-002": 0.6006}

# -- estimates ----------------------------------------------------------------------------------
SIGMA_FAMILY = 0.35  # a family's own view of a problem; within a family problems rank alike
SIGMA_MODEL = 0.25  # a model's own view, within its family
WORDING_SPREAD = 0.25  # margin units; about +-10 points of greedy pass@1 around the middle
# Instruction-tuned and chat models sample less diversely than the base Codex models at the same
# temperature (the FLAML notebook's 27 text-davinci-003 samples at top_p 0.755 are nearly all alike).
_SHARPNESS = {"codex": 1.0, "gpt3": 0.7, "chat": 0.7, "modern": 0.7}
_UNIT = NormalDist()
_TOP_P_POWER = 2.5
TASK_SUCCESS_FILE = "humaneval_task_success.json.gz"


def _unit(*parts: object) -> float:
    """A number in (0, 1) fixed by ``parts``: the same in every run and on every machine."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def _normal(*parts: object) -> float:
    return _UNIT.inv_cdf(_unit(*parts))


def family(model: str) -> str:
    """The model family whose view of problem difficulty ``model`` shares."""
    if model.startswith("code-") or model.startswith("codex"):
        return "codex"
    if model.startswith(("text-", "davinci", "babbage", "curie", "ada")) or model == "gpt-3.5-turbo-instruct":
        return "gpt3"
    if model.startswith(("gpt-3.5", "gpt-4-", "gpt-4")) and not model.startswith(("gpt-4o", "gpt-4.1")):
        return "chat"
    return "modern"


def reshape(x: float, hard_power: float = HARD_POWER, easy_power: float = EASY_POWER) -> float:
    """A standard-normal quantile with the hard side compressed and the easy side stretched."""
    return abs(x) ** hard_power if x > 0 else -(abs(x) ** easy_power)


@functools.cache
def published_success() -> dict[str, float]:
    """Each problem's mean success over three chat models, 10 runs each (jamesmurdza/humaneval-results)."""
    raw = resources.files("ecoptigen.sim").joinpath("data").joinpath(TASK_SUCCESS_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    return {task_id: sum(rates) / len(rates) for task_id, rates in data["success"].items()}


@functools.cache
def base_difficulty() -> dict[str, float]:
    """The latent difficulty of every problem, shared by all models.

    Problems are ordered by their published success over three models; ties (most problems every
    model always solves) are broken by the length of the canonical solution plus a fixed draw.
    """
    problems = he.problems()
    success = published_success()

    def score(task_id: str) -> tuple[float, float]:
        length = len(problems[task_id].canonical_solution.strip().splitlines())
        return -success.get(task_id, 0.5), 0.35 * math.log(max(length, 1)) + 0.9 * (
            2 * _unit("difficulty", task_id) - 1
        )

    order = sorted(problems, key=score)
    count = len(order)
    return {task_id: reshape(_UNIT.inv_cdf((rank + 0.5) / count)) for rank, task_id in enumerate(order)}


@functools.cache
def _offsets(model: str) -> dict[str, float]:
    """``d_i`` minus the family's and the model's own view: the margin is ``skill - offset``."""
    fam = family(model)
    return {
        task_id: d - SIGMA_FAMILY * _normal("family", fam, task_id) - SIGMA_MODEL * _normal("model", model, task_id)
        for task_id, d in base_difficulty().items()
    }


@functools.cache
def skill(model: str) -> float:
    """The skill that makes greedy pass@1 with the bare prompt equal the model's target."""
    if model in REFERENCE_SKILL:
        return REFERENCE_SKILL[model]
    target = PASS_AT_1.get(model, DEFAULT_PASS_AT_1)
    offsets = sorted(_offsets(model).values())
    solved = round(target * len(offsets))
    if solved <= 0:
        return offsets[0] - _BELOW_EASIEST
    if solved >= len(offsets):
        return offsets[-1] + 1.0
    return (offsets[solved - 1] + offsets[solved]) / 2  # exactly ``solved`` offsets lie below it


def wording(model: str, template: str) -> float:
    """The fixed effect of the text around the problem on ``model``; zero for the bare problem."""
    normalized = re.sub(r"\s+", " ", template).strip()
    if not normalized:
        return 0.0
    return (_unit("wording", model, normalized) * 2 - 1) * WORDING_SPREAD


@functools.cache
def margin(model: str, task_id: str, template: str = "") -> float:
    """How far ``model`` is above (positive) or below the problem's difficulty with this prompt."""
    return skill(model) - _offsets(model)[task_id] + wording(model, template)


def greedy_correct(model: str, task_id: str, template: str = "") -> bool:
    """Whether the greedy (temperature 0) answer of ``model`` is right."""
    return margin(model, task_id, template) > 0


def sample_probability(z: float, tau: float, sharpness: float = 1.0) -> float:
    """Probability that a sample at effective temperature ``tau`` is right, for margin ``z``.

    ``sharpness`` narrows the spread of the samples (the first term), not the loss of accuracy the
    temperature causes (the second), so every model's pass@100 peaks where the Codex paper's does.
    """
    if tau <= 1e-6:
        return 1.0 if z > 0 else 0.0
    return _UNIT.cdf(z / (WIDTH * (sharpness * tau) ** ALPHA) - DRIFT * tau)


def sharpness(model: str) -> float:
    """How much narrower than a base Codex model's the model's samples are at the same temperature."""
    return MODEL_SHARPNESS.get(model, _SHARPNESS[family(model)])


def p_correct(model: str, task_id: str, template: str, tau: float) -> float:
    """Probability that one sample of ``model`` at effective temperature ``tau`` solves the problem."""
    return sample_probability(margin(model, task_id, template), tau, sharpness(model))


def effective_temperature(temperature: float, top_p: float) -> float:
    """One temperature for a (temperature, top_p) pair: nucleus sampling cuts the unlikely tail,
    which narrows the samples as a lower temperature would, and above all removes the unlikely
    tokens that make hot samples wrong. ``top_p`` 0.95 (the papers' setting) counts as no cut;
    below 0.05 sampling is greedy. The power is set so that FLAML's logged text-davinci-003 runs at
    top_p 0.70-0.76 come out as measured (estimate: no paper maps one onto the other)."""
    if top_p < 0.05:
        return 0.0
    return temperature * min(1.0, top_p / 0.95) ** _TOP_P_POWER
