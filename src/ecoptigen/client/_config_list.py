"""A ``config_list``: its entries merged over the call's arguments, ``filter_func`` called on an answer, and
the error when none of its endpoints can be reached. The failover itself is a step of the engine."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ecoptigen.client._responses import Response
from ecoptigen.errors import ConfigurationError, EcoptigenError, EndpointUnreachableError

__all__ = ["call_filter", "merged_configs", "none_reachable"]


def merged_configs(config: dict, config_list: list[dict]) -> list[dict]:
    """Each entry of ``config_list`` merged over ``config`` (the entry wins).

    Raises:
        ConfigurationError: ``config_list`` is not a non-empty list of dicts.
    """
    if not isinstance(config_list, list) or not config_list:
        raise ConfigurationError("config_list must be a non-empty list of dicts (one per endpoint/model).")
    merged = []
    for index, entry in enumerate(config_list):
        if not isinstance(entry, dict):
            raise ConfigurationError(f"config_list[{index}] is {type(entry).__name__}, expected a dict.")
        merged.append({**config, **entry})
    return merged


def call_filter(filter_func: Callable[..., bool], context: dict | None, config: dict, response: Response) -> bool:
    """``filter_func(context=..., response=...)``, also given ``config`` / ``base_config`` when it takes them.

    Raises:
        ConfigurationError: ``filter_func`` raised (its error named).
    """
    parameters = inspect.signature(filter_func).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    kwargs: dict[str, Any] = {"context": context, "response": response}
    for name in ("base_config", "config"):
        if accepts_any or name in parameters:
            kwargs[name] = config
    try:
        return bool(filter_func(**kwargs))
    except EcoptigenError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"filter_func raised {type(exc).__name__}: {exc}") from exc


def none_reachable(errors: list[EndpointUnreachableError]) -> EndpointUnreachableError:
    """The error when every endpoint of a ``config_list`` is unreachable, listing each one's."""
    listed = "\n".join(f"  - {error}" for error in errors)
    return EndpointUnreachableError(f"none of the {len(errors)} endpoints of the config_list can be reached:\n{listed}")
