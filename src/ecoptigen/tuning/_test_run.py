"""``test``: evaluate one config on a data set (FLAML's ``Completion.test``), requests in parallel."""

from __future__ import annotations

import statistics
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ecoptigen.client import extract_text_or_function_call
from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._executors import EvalExecutor
from ecoptigen.tuning._logs import RunLogger
from ecoptigen.tuning._scores import did_you_mean
from ecoptigen.tuning._steps import call_all

__all__ = ["TEST_OPTIONS", "aggregate", "remember_eval_func", "resolve_test_call", "run_test"]

logger = RunLogger("ecoptigen.tuning")

TEST_OPTIONS = (
    "use_cache",
    "agg_method",
    "return_responses_and_per_instance_result",
    "logging_level",
    "concurrency",
    "use_ray",
    "ray_options",
)
# The eval_func of the last tune per engine: FLAML's test() falls back to it. Weak keys, so an engine
# that goes away takes its entry along; nothing else of a tuning outlives it.
_LAST_EVAL_FUNC: weakref.WeakKeyDictionary[Any, Callable] = weakref.WeakKeyDictionary()


def remember_eval_func(engine: Any, eval_func: Callable) -> None:
    """Record ``eval_func`` as the one ``test`` uses on ``engine`` when given none."""
    _LAST_EVAL_FUNC[engine] = eval_func


def resolve_test_call(
    engine: Any, config: Any, eval_func: Any, kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Callable, dict[str, Any]]:
    """Sort out the two documented call styles of ``test``.

    The seed's ``test(test_data, config)`` passes the config dict second; FLAML's later
    ``test(data, eval_func=None, use_cache=True, ..., **config)`` passes eval_func second (so a callable
    in the config position is the eval_func) and the config as keyword arguments.

    Returns:
        ``(config, eval_func, test options)``.

    Raises:
        ConfigurationError: no eval_func given and no tune ran before on this engine.

    Example:
        >>> def ev(responses, **data): return {"success": True}
        >>> cfg, fn, opts = resolve_test_call(None, ev, None, {"model": "gpt-4o-mini", "use_cache": False})
        >>> cfg, fn is ev, opts
        ({'model': 'gpt-4o-mini'}, True, {'use_cache': False})
    """
    if callable(config) and eval_func is None:
        config, eval_func = None, config
    if config is not None and not isinstance(config, dict):
        raise ConfigurationError(f"config must be a dict of create() arguments; got {type(config).__name__}.")
    options = {k: kwargs.pop(k) for k in TEST_OPTIONS if k in kwargs}
    merged = {**(config or {}), **kwargs}
    if eval_func is None:
        eval_func = _LAST_EVAL_FUNC.get(engine) if engine is not None else None
    if eval_func is None:
        raise ConfigurationError("test() needs an eval_func: pass eval_func=..., or call tune() with one first.")
    if not callable(eval_func):
        raise ConfigurationError(f"eval_func must be callable; got {eval_func!r}.")
    return merged, eval_func, options


def aggregate(results: list[dict[str, Any]], agg_method: Any = "avg") -> dict[str, float]:
    """Aggregate the numeric metrics of per-instance results across instances.

    Args:
        results: eval_func's result for each instance.
        agg_method: ``"avg"``/``"average"``, ``"median"``, a callable of a list, or a dict of callables by metric.

    Raises:
        ConfigurationError: an unknown agg_method.

    Example:
        >>> aggregate([{"success": 1}, {"success": 0}, {"success": 1}], "median")
        {'success': 1.0}
    """
    keys = [k for k, v in results[0].items() if _is_number(v)] if results else []
    if isinstance(agg_method, str):
        functions: dict[str, Callable[[list[float]], float]] = {
            "avg": statistics.fmean,
            "average": statistics.fmean,
            "median": statistics.median,
        }
        if agg_method not in functions:
            raise ConfigurationError(f"agg_method {agg_method!r} is unknown: use 'avg', 'median' or a callable.")
        return {k: functions[agg_method]([float(r[k]) for r in results]) for k in keys}
    if callable(agg_method):
        return {k: agg_method([r[k] for r in results]) for k in keys}
    if isinstance(agg_method, dict) and all(callable(f) for f in agg_method.values()):
        for name in agg_method:
            if results and name not in results[0]:
                raise ConfigurationError(
                    f"agg_method names the metric {name!r}, which eval_func did not return (it returned "
                    f"{sorted(map(str, results[0]))}).{did_you_mean(name, results[0])}"
                )
        return {k: f([r[k] for r in results]) for k, f in agg_method.items()}
    raise ConfigurationError("agg_method must be 'avg', 'median', a callable, or a dict of callables by metric.")


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def run_test(
    create: Callable[..., dict],
    data: list[dict],
    config: dict[str, Any],
    eval_func: Callable,
    use_cache: bool = True,
    agg_method: Any = "avg",
    return_responses_and_per_instance_result: bool = False,
    concurrency: int = 8,
    executor: EvalExecutor | None = None,
) -> dict | tuple:
    """One ``create`` per instance with ``config``, eval_func on each, aggregated; see :func:`ecoptigen.tuning.test`.

    With an ``executor`` (e.g. Ray's), the requests are made here first and eval_func runs there.
    """
    if not isinstance(data, list) or not data:
        raise ConfigurationError("data is empty: give at least one data instance to test on.")

    def one(i: int) -> tuple[dict | None, list, float]:
        response = create(data[i], use_cache=use_cache, **config)
        responses = extract_text_or_function_call(response)
        result = eval_func(responses, **data[i]) if executor is None else None
        return result, responses, float(response.get("cost") or 0.0)

    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="ecoptigen-test") as pool:
        outcomes = call_all(pool, one, list(range(len(data))))
    if executor is None:
        results = [o[0] for o in outcomes]
    else:
        results = executor.map(eval_func, [(o[1], instance) for o, instance in zip(outcomes, data, strict=True)])
    cost = sum(o[2] for o in outcomes)
    summary: dict[str, Any] = aggregate(results, agg_method)
    summary.setdefault("cost", cost)
    summary.setdefault("inference_cost", cost / len(data))
    if return_responses_and_per_instance_result:
        return summary, results, [o[1] for o in outcomes]
    return summary
