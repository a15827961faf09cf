"""Checks made before a tuning spends anything: every mistake found here costs nothing."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ecoptigen.client import template_keys
from ecoptigen.errors import ConfigurationError, TemplateError, UnknownPriceError
from ecoptigen.money import catalog as models
from ecoptigen.tuning._scores import check_metric_names
from ecoptigen.tuning._space import SearchSpace

__all__ = ["check_arguments", "check_prices", "check_templates"]


def check_arguments(
    data: Any,
    metric: Any,
    mode: Any,
    eval_func: Any,
    inference_budget: Any,
    optimization_budget: Any,
    num_samples: Any,
) -> None:
    """Check tune's plain arguments.

    Raises:
        ConfigurationError: the first argument that cannot be used, with what to do instead.

    Example:
        >>> check_arguments([], "success", "max", print, None, 1.0, 1)
        Traceback (most recent call last):
        ...
        ecoptigen.errors.ConfigurationError: data is empty: give at least one data instance (a dict) to tune on.
    """
    if not isinstance(data, list) or not data:
        raise ConfigurationError("data is empty: give at least one data instance (a dict) to tune on.")
    bad = next((i for i, d in enumerate(data) if not isinstance(d, dict)), None)
    if bad is not None:
        raise ConfigurationError(f"data[{bad}] is a {type(data[bad]).__name__}; every data instance must be a dict.")
    if not isinstance(metric, str) or not metric:
        raise ConfigurationError(f"metric must be the name of a key of eval_func's result; got {metric!r}.")
    if mode not in ("min", "max"):
        raise ConfigurationError(f'mode must be "min" or "max"; got {mode!r}.')
    if not callable(eval_func):
        raise ConfigurationError(
            f"eval_func must be callable as eval_func(responses, **data_instance) -> dict; got {eval_func!r}."
        )
    check_metric_names([metric], eval_func, "metric")
    for name, value in (("inference_budget", inference_budget), ("optimization_budget", optimization_budget)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
        ):
            raise ConfigurationError(f"{name} must be a positive number of dollars or None; got {value!r}.")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or not (num_samples == -1 or num_samples > 0):
        raise ConfigurationError(
            f"num_samples must be a positive integer, or -1 for 'until the budget is spent'; got {num_samples!r}."
        )
    if num_samples == -1 and optimization_budget is None:
        raise ConfigurationError("num_samples=-1 runs until the budget is spent, so give an optimization_budget too.")


def check_prices(space: SearchSpace, price_table: dict) -> None:
    """Every model the space may call must have a price, or no budget can be enforced.

    Raises:
        UnknownPriceError: naming the model and how to price it.
        ConfigurationError: a ``price`` given to tune, or a price-table entry, has a form a price cannot have.
    """
    if space.constants.get("price") is not None:
        models.parse_price(space.constants["price"])
        return
    config_list = space.constants.get("config_list")
    names = list(space.models)
    if isinstance(config_list, list):
        names += [c["model"] for c in config_list if isinstance(c, dict) and c.get("model") and "price" not in c]
    for model in dict.fromkeys(names):
        if models.price_of(model, price_table) is None:
            raise UnknownPriceError(
                f"model {model!r} has no price, so the tuning cannot keep to a budget or compare costs. Add one: "
                f"oai.Completion.price1K[{model!r}] = (input_usd_per_1k, output_usd_per_1k), or give "
                "price=[input, output] to tune."
            )


def check_templates(space: SearchSpace, data: list[dict], chat: bool) -> None:
    """Fill every prompt or message template choice with every data instance, without sending anything.

    Raises:
        TemplateError: a template refers to a key some data instance lacks.
        ConfigurationError: a callable template failed, or messages were given for a completion-only model.
    """
    allow = space.constants.get("allow_format_str_template", True)
    templates: list[Any] = list(space.prompts or [])
    for choice in space.messages or []:
        templates.extend([choice] if callable(choice) else [m.get("content") for m in choice])
    for template in templates:
        for index, instance in enumerate(data):
            _check_one(template, instance, index, allow)
    if space.messages is not None and not chat:
        completion_only = [m for m in space.models if models.endpoint_kind(m) == "completion"]
        if completion_only:
            raise ConfigurationError(
                f"messages were given but {completion_only} only take a prompt: give prompt=..., or tune chat models."
            )


def _check_one(template: Any, instance: dict, index: int, allow: bool) -> None:
    if isinstance(template, str):
        missing = template_keys(template) - set(instance) if allow else set()
        if missing:
            raise TemplateError(
                f"template {template[:60]!r} refers to {sorted(missing)}, which data[{index}] does not have "
                f"(its keys: {sorted(instance)}). Add the keys to every data instance, or fix the template."
            )
        return
    if callable(template):
        _call_template(template, instance, index)


def _call_template(template: Callable, instance: dict, index: int) -> None:
    try:
        template(instance)
    except KeyError as exc:
        raise TemplateError(
            f"template {getattr(template, '__qualname__', template)!r} needs {exc}, which data[{index}] does not have."
        ) from None
    except Exception as exc:
        raise ConfigurationError(
            f"template {getattr(template, '__qualname__', template)!r} failed on data[{index}]: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
