"""eval_func's results: checking each one, and averaging them into a trial's metrics."""

from __future__ import annotations

import difflib
import functools
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ecoptigen.errors import ConfigurationError, EvalFuncError
from ecoptigen.tuning.analysis import CREDENTIAL_KEYS

__all__ = ["aggregate_metrics", "check_metric_names", "check_result", "did_you_mean", "number", "public", "short"]


def aggregate_metrics(results: list[dict[str, Any]], metric: str) -> dict[str, float]:
    """Average every numeric value of the per-instance eval_func results (checked by :func:`check_result`).

    Example:
        >>> aggregate_metrics([{"success": True, "note": "x"}, {"success": False}], "success")
        {'success': 0.5}
    """
    numeric = [k for k, v in results[0].items() if number(v) is not None]
    return {k: sum(number(r.get(k, 0)) or 0.0 for r in results) / len(results) for k in numeric}


def check_result(result: Any, metric: str, row: int, params: dict[str, Any]) -> dict[str, Any]:
    """``result`` if it is a dict whose ``metric`` is a number (bools and numpy numbers included), not NaN.

    Raises:
        EvalFuncError: it is not, naming the data row and the config.

    Example:
        >>> check_result({"success": float("nan")}, "success", 3, {"model": "m"})
        Traceback (most recent call last):
        ...
        ecoptigen.errors.EvalFuncError: eval_func returned {'success': nan} on data row 3 ...
    """
    if isinstance(result, dict) and metric in result:
        value = number(result[metric])
        if value is not None and not math.isnan(value):
            return result
        problem = f"{metric!r} is {result[metric]!r}, not a number" if value is None else f"{metric!r} is NaN"
    elif isinstance(result, dict):
        problem = f"it has no {metric!r} (its keys: {sorted(map(str, result))})"
    else:
        problem = f"it is a {type(result).__name__}, not a dict"
    hint = did_you_mean(metric, result) if isinstance(result, dict) else ""
    raise EvalFuncError(
        f"eval_func returned {short(result)} on data row {row} with config {short(public(params))}: {problem}."
        f"{hint} Return a dict whose {metric!r} is a number (or pass the name of one of its numeric keys as "
        "metric); nothing more is spent on this tuning until it does.",
        row,
        public(params),
    )


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the choice closest to a mistyped ``name``, or ``""`` when none is close.

    Example:
        >>> did_you_mean("sucess", ["success", "gen_cost"])
        " Did you mean 'success'?"
    """
    close = difflib.get_close_matches(name, [str(c) for c in choices], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def declared_metrics(eval_func: Callable) -> frozenset[str] | None:
    """The names of the metrics ``eval_func`` returns, if it declares them (a ``metrics`` attribute, as
    :func:`ecoptigen.code_utils.eval_function_completions` has; ``functools.partial`` looked through)."""
    while isinstance(eval_func, functools.partial):
        eval_func = eval_func.func
    names = getattr(eval_func, "metrics", None)
    return frozenset(names) if isinstance(names, (set, frozenset, tuple, list)) else None


def check_metric_names(names: Iterable[str], eval_func: Callable, what: str) -> None:
    """Refuse, before anything is spent, a metric name that ``eval_func`` declares it never returns.

    Raises:
        ConfigurationError: ``names`` holds a name missing from ``eval_func``'s declared metrics, with the
            closest declared one.

    Example:
        >>> def ev(responses, **instance): return {"success": 1.0}
        >>> ev.metrics = ("success",)
        >>> check_metric_names(["sucess"], ev, "metric")
        Traceback (most recent call last):
        ...
        ecoptigen.errors.ConfigurationError: metric 'sucess' is not among ... Did you mean 'success'?
    """
    known = declared_metrics(eval_func)
    if known is None:
        return
    for name in names:
        if name not in known:
            while isinstance(eval_func, functools.partial):
                eval_func = eval_func.func
            owner = getattr(eval_func, "__name__", "eval_func")
            raise ConfigurationError(
                f"{what} {name!r} is not among the metrics {owner} returns ({sorted(known)})."
                + did_you_mean(name, known)
            )


def number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (bools and numpy numbers included), else ``None``.

    Example:
        >>> number(True), number("1")
        (1.0, None)
    """
    if isinstance(value, (numbers.Real, np.bool_)):  # numpy's bool is not a numbers.Real
        return float(value)
    return None


def public(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without credentials (for messages)."""
    return {k: v for k, v in params.items() if k not in CREDENTIAL_KEYS}


def short(value: Any, limit: int = 240) -> str:
    """``repr(value)``, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
