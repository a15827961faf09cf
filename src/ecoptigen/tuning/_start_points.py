"""Where the search starts: one point per model, scaled to the model's price, cheapest model first.

FLAML starts every model at one shared point drawn by the search seed (``n`` 27 with seed 20, 57 or
34 with others). How good a tuning's result is then depends on that draw: a point too large for the
budget cannot be finished, a small ``n`` hides what a model can do with more samples, and measured on
the seed's HumanEval tuning most of the money went to whatever the first draw happened to be (see
docs/tuning.md, "How the search spends the budget"). ecoptigen's default start points do not depend
on the seed:

* **Cheapest model first.** Cheap models cost little to try and set the best-so-far that lets the
  race (:mod:`~ecoptigen.tuning._racing`) stop the dear ones' poor configurations early, and lets the
  model race (:mod:`~ecoptigen.tuning._models_race`) drop the cheap ones that show nothing.
* **``n`` scaled to each model's price.** For a metric over sampled completions (a pass rate with
  selection by assertions, a vote) more samples help up to what the inference budget allows, so a
  model starts at the largest ``n`` whose estimated cost per instance fits the inference budget and
  whose estimated evaluation on all the data fits :data:`OPTIMIZATION_SHARE` of the optimization
  budget (divided among the trials evaluated at the same time), and at most :data:`START_N_MOST`.
  Both estimates count every prompt as the engine counts it and each completion at half the start
  point's ``max_tokens`` (measured on the seed's HumanEval tuning, text-davinci-003's start point
  really paid less than half of that estimate, thanks to stop sequences and the prefix rule). With
  ``parallel_trials`` above 1 the start points run at the same time and cannot learn from one another
  whether the estimate holds, so each gets its part of the share at the worst case (every completion
  ``max_tokens`` long).
* **A cap on ``n``, and a refit to what is left.** Without the cap the cheapest models started at the
  space's largest ``n`` (99): on the seed's tuning text-ada-001 and text-babbage-001, which score
  nothing there, took $0.11 (37% of a $0.3 budget) before the model race could drop them, and
  gpt-3.5-turbo's ``n`` 99 start point on the MATH tuning went over the inference budget. At 32 they
  cost $0.04. The money saved lets the share be 0.8 instead of 0.5, which starts text-davinci-003 at
  ``n`` 16 instead of 9 at $1. A start point is planned before anything is known, so when its turn
  comes the tuner lowers its ``n``, if need be, to what the cheaper models' start points left
  (:func:`fit_start_point`, estimating completions at least as long as the shortest seen): it is then
  tried with fewer completions instead of being refused as unaffordable (at $0.3, in one of the 8 seeds
  measured, text-davinci-003 started at ``n`` 3 instead of the planned 4). Measured
  (``benchmarks/search_quality.py``, 8 search seeds, held-out success, against the same seeds with a
  share of 0.5 and no cap): 0.685 vs 0.632 at $0.3, 0.797 vs 0.767 at $1, 0.815 vs 0.817 at $3 (where
  the inference budget, not the share, sets text-davinci-003's ``n``).
* **Moderate settings elsewhere**: temperature :data:`START_TEMPERATURE` (sampling several
  completions needs some diversity; the Codex paper's best temperature for pass@10 to pass@100 is 0.6
  to 0.8, for pass@1 0.2), ``max_tokens`` in the middle of its range (geometric for a log domain), the
  first prompt, messages and stop the user listed. Settings these rules do not cover are left to
  BlendSearch to fill, as it fills FLAML's.
* **A chat model starts without stop sequences** when the user listed that choice (``None`` among the
  stops). A chat model answers in markdown, its code after a fence line, so stop sequences written for
  bare code (FLAML's ``"\ndef"``, ``"\nclass"``, ...) end its answer after the fence. Measured on the
  default search space's frontier (``benchmarks/results/search_quality_frontier_default_space.json``,
  144 held-out HumanEval rows): with those stops gpt-4o-mini, gpt-4.1-mini, gpt-4.1-nano and gpt-4o
  score 0.05-0.24, without them 0.91-0.98. Started with the stops, they scored 0.1 on the tuning rows
  and the model race dropped them after their start points in favour of gpt-3.5-turbo-instruct (a
  completion model: 0.55-0.65). Held-out success at $0.3 was 0.718 (5 search seeds; 0.934 on the same
  seeds with this rule, against 0.965 for the best configuration the inference budget allows).

BlendSearch then searches from the best of them, as from FLAML's. ``search_order="flaml"`` keeps
FLAML's shared start point and order (:func:`ecoptigen.tuning.space.make_searcher`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from ecoptigen.money import prices as pricing
from ecoptigen.tuning._flaml import Categorical, Domain, Integer
from ecoptigen.tuning._space import SearchSpace

__all__ = ["OPTIMIZATION_SHARE", "START_N_MOST", "START_TEMPERATURE", "budgeted_start_points", "fit_start_point"]

# The most of the optimization budget one start point is planned to cost on all the data.
OPTIMIZATION_SHARE = 0.8
# The most completions a start point asks for, however cheap its model.
START_N_MOST = 32
START_TEMPERATURE = 0.5
START_TOP_P = 0.9
# A completion is estimated at this share of max_tokens before any has been seen.
_COMPLETION_SHARE = 0.5

PromptTokens = Callable[[dict[str, Any], tuple], list[int]]


def budgeted_start_points(
    space: SearchSpace,
    prices: Callable[[dict[str, Any]], pricing.Price],
    prompt_tokens: PromptTokens,
    default_limit: Callable[[dict[str, Any]], float],
    inference_budget: float | None,
    optimization_budget: float | None,
    parallel_trials: int = 1,
    chat: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """One start point per model of ``space``, cheapest model first (see the module docstring).

    Args:
        space: the normalised search space.
        prices: the price of a config's ``create`` arguments.
        prompt_tokens: each data instance's prompt tokens for ``(params, region)``.
        default_limit: the completion-length limit of ``params`` that set no ``max_tokens``.
        inference_budget: dollars per instance (``None``: no limit from it).
        optimization_budget: dollars for the tuning (``None``: no limit from it).
        parallel_trials: start points evaluated at the same time, which share the planned share.
        chat: whether a config's ``create`` arguments go to the chat endpoint (``None``: none do).

    Returns:
        Search configs for BlendSearch's ``points_to_evaluate``.
    """
    top = {key: _start_value(key, value) for key, value in space.searched.items() if key != "subspace"}
    top = {key: value for key, value in top.items() if value is not None}
    if "subspace" in space.searched:
        choices = space.searched["subspace"].categories
        points = [{**top, "subspace": _subspace_point(choice)} for choice in choices]
    else:
        points = [top]
    no_stop = _no_stop_choice(space)
    if chat is not None and no_stop is not None:
        for point in points:
            if chat(space.params(point)):
                point["stop"] = no_stop
    share = None if optimization_budget is None else OPTIMIZATION_SHARE * optimization_budget / parallel_trials
    costs = [  # each point's n is scaled in place
        _scale(point, space, prices, prompt_tokens, default_limit, inference_budget, share, parallel_trials)
        for point in points
    ]
    order = sorted(range(len(points)), key=lambda i: (costs[i], i))
    return [points[i] for i in order]


def _no_stop_choice(space: SearchSpace) -> int | None:
    """The index of the searched stop choice with no stop sequence (``None`` or empty), if there is one."""
    if "stop" not in space.searched or not space.stops:
        return None
    return next((i for i, choice in enumerate(space.stops) if not choice), None)


def _subspace_point(choice: dict[str, Any]) -> dict[str, Any]:
    point = {key: _start_value(key, value) for key, value in choice.items()}
    return {key: value for key, value in point.items() if value is not None}


def _start_value(key: str, value: Any) -> Any:
    """The start value of one searched setting, or ``None`` to leave it to BlendSearch."""
    if key in ("prompt", "messages", "stop") and isinstance(value, Categorical):
        return value.categories[0]
    if key == "temperature_or_top_p":
        return _sampling_point(value)
    if isinstance(value, Domain) and hasattr(value, "lower") and hasattr(value, "upper"):
        return _middle(value)
    if isinstance(value, (Domain, dict)):
        return None
    return value  # a constant of a model's subspace, e.g. its name


def _sampling_point(value: Any) -> dict[str, Any] | None:
    """Temperature :data:`START_TEMPERATURE` when the space can search it, else top_p :data:`START_TOP_P`."""
    choices = value.categories if isinstance(value, Categorical) else [value]
    for wanted, start in (("temperature", START_TEMPERATURE), ("top_p", START_TOP_P)):
        for choice in choices:
            if isinstance(choice, dict) and wanted in choice:
                inner = choice[wanted]
                return {wanted: _clip(inner, start) if isinstance(inner, Domain) else inner}
    return None


def _clip(domain: Any, value: float) -> float:
    lower, upper = getattr(domain, "lower", value), getattr(domain, "upper", value)
    return min(max(value, lower), upper)


def _middle(domain: Any) -> float | int:
    lower, upper = float(domain.lower), float(domain.upper)
    integer = isinstance(domain, Integer)
    quantized = getattr(domain.get_sampler(), "q", None) is not None
    if integer and not quantized:
        upper -= 1  # flaml's randint and lograndint exclude the upper bound
    log = "LogUniform" in type(domain.get_sampler()).__name__ and lower > 0
    middle = math.sqrt(lower * upper) if log else (lower + upper) / 2
    return round(middle) if integer else middle


def _scale(
    point: dict[str, Any],
    space: SearchSpace,
    prices: Callable[[dict[str, Any]], pricing.Price],
    prompt_tokens: PromptTokens,
    default_limit: Callable[[dict[str, Any]], float],
    inference_budget: float | None,
    share: float | None,
    parallel_trials: int,
    shortest: float | None = None,
) -> float:
    """Set the point's ``n`` (or ``best_of``) to the largest the budgets allow; return the estimated
    cost of one instance's prompt plus one completion (what orders the models). ``shortest``: the
    shortest average completion (tokens) a trial has seen, a floor for the estimate."""
    params = space.params(point)
    price = prices(params)
    prompts = prompt_tokens(params, space.region_key(point))
    prompt = sum(prompts) / len(prompts)
    limit = pricing.requested_limit(params) or default_limit(params)
    longest = min(limit, pricing.UNKNOWN_CHAT_MAX_TOKENS) * price.output / 1000
    per_prompt, per_completion = prompt * price.input / 1000, _COMPLETION_SHARE * longest
    if shortest is not None:
        per_completion = max(per_completion, min(shortest, limit) * price.output / 1000)
    holder = point.get("subspace", point)
    domain = _grown_domain(space, holder)
    if domain is not None and per_completion > 0:
        most = min(_largest_integer(domain), max(START_N_MOST, int(domain.lower)))
        if inference_budget is not None:
            most = min(most, math.floor((inference_budget - per_prompt) / per_completion))
        if share is not None:
            # Trials run at the same time cannot learn from one another: their plan is bounded by the worst case.
            planned = longest if parallel_trials > 1 else per_completion
            most = min(most, math.floor((share / len(prompts) - per_prompt) / planned))
        holder[space.prune_hp] = max(most, int(domain.lower))
    return per_prompt + per_completion


def fit_start_point(
    point: dict[str, Any],
    space: SearchSpace,
    prices: Callable[[dict[str, Any]], pricing.Price],
    prompt_tokens: PromptTokens,
    default_limit: Callable[[dict[str, Any]], float],
    left: float,
    parallel_trials: int = 1,
    shortest: float | None = None,
) -> dict[str, Any]:
    """``point`` (a start point, as BlendSearch completed it) with its ``n`` lowered, if need be, so that its
    estimated evaluation fits in the ``left`` dollars of the optimization budget; ``point`` itself when it
    fits. Start points are planned before anything is known, so the cheaper models' ones may leave less
    than planned for the dearer ones': a smaller ``n`` still tries the model, where the planned one
    would be refused as unaffordable and the model never tried.

    Args:
        point: the start point as BlendSearch suggested it (left unchanged).
        space, prices, prompt_tokens, default_limit: as for :func:`budgeted_start_points`.
        left: dollars of the optimization budget left for it (``inf``: no budget).
        parallel_trials: trials evaluated at the same time, which share what is left.
        shortest: the shortest average completion (tokens) seen so far; completions are estimated at
            least that long, as the evaluator's check before a trial starts does.

    Returns:
        ``point`` when it fits (never grown), else a copy with a smaller ``n`` (at least its domain's
        lower bound).
    """
    if math.isinf(left):
        return point
    fitted = copy.deepcopy(point)
    holder = fitted.get("subspace", fitted)
    planned = holder.get(space.prune_hp)
    if not isinstance(planned, int):
        return point
    share = max(left, 0.0) / parallel_trials
    _scale(fitted, space, prices, prompt_tokens, default_limit, None, share, parallel_trials, shortest)
    holder[space.prune_hp] = min(planned, holder[space.prune_hp])
    return point if holder[space.prune_hp] == planned else fitted


def _grown_domain(space: SearchSpace, holder: dict[str, Any]) -> Any:
    """The domain of the setting grown by doubling (``n`` or ``best_of``) in this point's part of the space."""
    if "subspace" in space.searched:
        model = holder.get("model")
        for choice in space.searched["subspace"].categories:
            if choice.get("model") == model:
                domain = choice.get(space.prune_hp)
                return domain if isinstance(domain, Integer) else None
        return None
    domain = space.searched.get(space.prune_hp)
    return domain if isinstance(domain, Integer) else None


def _largest_integer(domain: Any) -> int:
    quantized = getattr(domain.get_sampler(), "q", None) is not None
    return int(domain.upper) if quantized else int(domain.upper) - 1
