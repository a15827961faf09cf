"""Which keyword arguments ``create``, ``tune`` and ``test`` take, and the error for one they do not.

A misspelled option (``inference_buget=0.01``, ``max_token=20``) must never reach an endpoint as a
request field, nor be silently ignored: it is refused before anything is sent, with the closest
known name. The request fields are read from the ``openai`` SDK's own ``create`` signatures, so
every field the SDK knows is accepted; a provider-specific field goes in ``extra_body={...}``, the
SDK's convention for fields it does not know.

Example:
    >>> check_known({"max_token": 20}, create_options(), "create")
    Traceback (most recent call last):
    ...
    ecoptigen.errors.ConfigurationError: create() got an unknown option 'max_token'; did you mean 'max_tokens'? ...
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Iterable

from ecoptigen.errors import ConfigurationError

__all__ = [
    "CONTROL_KEYS",
    "ENDPOINT_KEYS",
    "RUN_OPTIONS",
    "check_known",
    "config_options",
    "create_options",
    "request_fields",
    "tune_options",
]

# Keys of a config that steer ecoptigen and are never sent to the endpoint.
CONTROL_KEYS = frozenset(
    {
        "seed",  # FLAML: the cache namespace, not the API's sampling seed
        "price",
        "request_timeout",
        "retry_timeout",
        "retry_time",
        "allow_format_str_template",
        "cache_path_root",
        "failure_billing",  # what a failed attempt that may have been billed counts as (docs/tuning.md)
    }
)
# Config keys that say where and how to send a request; they never go into a request body or a cache key.
ENDPOINT_KEYS = frozenset(
    {
        "api_key",
        "api_base",
        "base_url",
        "api_type",
        "api_version",
        "azure_deployment",
        "deployment_id",
        "engine",
        "organization",
        "azure_ad_token",
        "azure_ad_token_provider",
    }
)
# create()'s own arguments, which FLAML users also pass inside a config dict.
_CREATE_ARGUMENTS = frozenset({"use_cache", "config_list", "filter_func", "raise_on_ratelimit_or_timeout"})
# How tune runs (not what it searches).
RUN_OPTIONS = frozenset(
    {"concurrency", "parallel_trials", "serial_eval_func", "show_progress", "use_ray", "ray_options", "search_seed"}
)
# tune's named arguments: never in **config, but what a misspelling most likely meant.
_TUNE_ARGUMENTS = frozenset(
    {"data", "metric", "mode", "eval_func", "log_file_name", "inference_budget", "optimization_budget", "num_samples"}
    | {"logging_level"}
)
# Search-space keys that are not request fields.
_SPACE_KEYS = frozenset({"temperature_or_top_p"})
# SDK arguments ecoptigen cannot honour, with what to do instead.
_UNSUPPORTED = {
    "stream": "streaming is not supported: remove 'stream' (responses come back whole)",
    "stream_options": "streaming is not supported: remove 'stream_options'",
    "timeout": "ecoptigen's name for the SDK's per-request timeout is 'request_timeout'",
}
# Names from FLAML or the SDK that difflib would not find.
_RENAMED = {
    "api_key_path": "api_key",
    "deployment": "azure_deployment",
    "deployment_name": "azure_deployment",
    "azure_endpoint": "base_url",
}


@functools.cache
def request_fields(chat: bool) -> frozenset[str]:
    """The request fields the ``openai`` SDK's ``create`` takes for the chat or completions endpoint.

    Example:
        >>> {"messages", "tools"} <= request_fields(chat=True), "best_of" in request_fields(chat=False)
        (True, True)
    """
    from openai.resources.chat.completions import Completions as ChatCompletions
    from openai.resources.completions import Completions

    create = ChatCompletions.create if chat else Completions.create
    return frozenset(inspect.signature(create).parameters) - {"self"} - set(_UNSUPPORTED)


@functools.cache
def config_options() -> frozenset[str]:
    """Every key one request's config may hold: request fields of either endpoint (``prompt`` and
    ``messages`` may be templates), ecoptigen's control keys and the endpoint keys."""
    return request_fields(True) | request_fields(False) | CONTROL_KEYS | ENDPOINT_KEYS


@functools.cache
def create_options() -> frozenset[str]:
    """Every keyword ``create`` takes: :func:`config_options` and create's own arguments."""
    return config_options() | _CREATE_ARGUMENTS


@functools.cache
def tune_options() -> frozenset[str]:
    """Every key ``tune(**config)`` takes: what ``create`` takes (searched or constant), the search-space
    key ``temperature_or_top_p``, and the run options."""
    return create_options() | _SPACE_KEYS | RUN_OPTIONS | _TUNE_ARGUMENTS


def check_known(config: Iterable[str], known: Iterable[str], where: str) -> None:
    """Refuse the first key of ``config`` that is not in ``known``, naming the closest known one.

    Raises:
        ConfigurationError: a key is unknown; the message suggests a fix.
    """
    known = frozenset(known)
    for key in config:
        if key in known:
            continue
        if key in _UNSUPPORTED:
            raise ConfigurationError(f"{where}() got {key!r}: {_UNSUPPORTED[key]}.")
        guess = _RENAMED.get(key) or next(iter(difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)), None)
        hint = f"did you mean {guess!r}? " if guess else ""
        raise ConfigurationError(
            f"{where}() got an unknown option {key!r}; {hint}Nothing was sent. A provider-specific request "
            f"field goes in extra_body={{{key!r}: ...}}, the openai SDK's convention."
        )
