"""Building ``config_list``s: the endpoints and models ``create`` tries in order.

Same names, arguments and results as FLAML's ``flaml.autogen.oai`` helpers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ecoptigen.errors import ConfigurationError

__all__ = [
    "config_list_from_json",
    "config_list_from_models",
    "config_list_gpt4_gpt35",
    "config_list_openai_aoai",
    "filter_config_list",
    "get_config_list",
]

DEFAULT_AZURE_API_VERSION = "2024-06-01"


def get_config_list(
    api_keys: list[str],
    api_bases: list[str] | None = None,
    api_type: str | None = None,
    api_version: str | None = None,
) -> list[dict[str, Any]]:
    """One config per API key (with the base URL of the same position, if given).

    Raises:
        ConfigurationError: ``api_bases`` is given with a different length than ``api_keys``.

    Example:
        >>> get_config_list(["k1"], ["http://localhost:8000/v1"])
        [{'api_key': 'k1', 'base_url': 'http://localhost:8000/v1'}]
    """
    if api_bases is not None and len(api_bases) != len(api_keys):
        raise ConfigurationError("api_bases must have one base URL per API key.")
    configs = []
    for index, key in enumerate(api_keys):
        if not key.strip():
            continue
        config: dict[str, Any] = {"api_key": key.strip()}
        if api_bases is not None:
            config["base_url"] = api_bases[index]
        if api_type:
            config["api_type"] = api_type
        if api_version:
            config["api_version"] = api_version
        configs.append(config)
    return configs


def _lines_from_env_or_file(variable: str, directory: str, filename: str) -> list[str]:
    value = os.environ.get(variable)
    if value is None:
        path = Path(directory, filename)
        if not path.is_file():
            return []
        value = path.read_text()
    return [line.strip() for line in value.splitlines() if line.strip()]


def config_list_openai_aoai(
    key_file_path: str = ".",
    openai_api_key_file: str = "key_openai.txt",
    aoai_api_key_file: str = "key_aoai.txt",
    aoai_api_base_file: str = "base_aoai.txt",
    exclude: str | None = None,
) -> list[dict[str, Any]]:
    """Configs for Azure OpenAI and OpenAI from environment variables or key files.

    Azure keys come from ``AZURE_OPENAI_API_KEY`` (one per line) or ``aoai_api_key_file``, with their
    endpoints from ``AZURE_OPENAI_API_BASE`` or ``aoai_api_base_file``; OpenAI keys from
    ``OPENAI_API_KEY`` or ``openai_api_key_file``, with ``OPENAI_BASE_URL`` when set. Azure comes first.

    Args:
        exclude: ``"openai"`` or ``"aoai"`` to leave that provider out.
    """
    configs: list[dict[str, Any]] = []
    if exclude != "aoai":
        keys = _lines_from_env_or_file("AZURE_OPENAI_API_KEY", key_file_path, aoai_api_key_file)
        bases = _lines_from_env_or_file("AZURE_OPENAI_API_BASE", key_file_path, aoai_api_base_file)
        if keys and len(bases) != len(keys):
            raise ConfigurationError(
                f"{len(keys)} Azure OpenAI keys but {len(bases)} endpoints: give one endpoint per key in "
                f"AZURE_OPENAI_API_BASE or {aoai_api_base_file}."
            )
        configs += get_config_list(keys, bases, api_type="azure", api_version=DEFAULT_AZURE_API_VERSION)
    if exclude != "openai":
        keys = _lines_from_env_or_file("OPENAI_API_KEY", key_file_path, openai_api_key_file)
        base = os.environ.get("OPENAI_BASE_URL")
        configs += get_config_list(keys, [base] * len(keys) if base else None)
    return configs


def config_list_from_models(
    key_file_path: str = ".",
    openai_api_key_file: str = "key_openai.txt",
    aoai_api_key_file: str = "key_aoai.txt",
    aoai_api_base_file: str = "base_aoai.txt",
    exclude: str | None = None,
    model_list: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every endpoint of :func:`config_list_openai_aoai` crossed with every model of ``model_list``."""
    endpoints = config_list_openai_aoai(
        key_file_path, openai_api_key_file, aoai_api_key_file, aoai_api_base_file, exclude
    )
    if not model_list:
        return endpoints
    return [{**endpoint, "model": model} for model in model_list for endpoint in endpoints]


def config_list_gpt4_gpt35(
    key_file_path: str = ".",
    openai_api_key_file: str = "key_openai.txt",
    aoai_api_key_file: str = "key_aoai.txt",
    aoai_api_base_file: str = "base_aoai.txt",
    exclude: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`config_list_from_models` for ``["gpt-4", "gpt-3.5-turbo"]``."""
    return config_list_from_models(
        key_file_path,
        openai_api_key_file,
        aoai_api_key_file,
        aoai_api_base_file,
        exclude,
        model_list=["gpt-4", "gpt-3.5-turbo"],
    )


def filter_config_list(configs: list[dict[str, Any]], filter_dict: dict[str, list] | None) -> list[dict[str, Any]]:
    """The configs whose value for every key of ``filter_dict`` is one of the listed values.

    Example:
        >>> filter_config_list([{"model": "a"}, {"model": "b"}], {"model": ["b"]})
        [{'model': 'b'}]
    """
    if not filter_dict:
        return list(configs)
    return [c for c in configs if all(c.get(key) in values for key, values in filter_dict.items())]


def config_list_from_json(
    env_or_file: str = "OAI_CONFIG_LIST",
    file_location: str = "",
    filter_dict: dict[str, list] | None = None,
) -> list[dict[str, Any]]:
    """A config list from the JSON in environment variable ``env_or_file``, or else in that file.

    Raises:
        ConfigurationError: neither the variable nor the file exists, or the JSON is not a list of dicts.
    """
    text = os.environ.get(env_or_file)
    source = f"environment variable {env_or_file}"
    if text is None:
        path = Path(file_location, env_or_file)
        if not path.is_file():
            raise ConfigurationError(
                f"no config list: set the environment variable {env_or_file} to a JSON list of configs, "
                f"or create the file {path}."
            )
        text, source = path.read_text(), str(path)
    try:
        configs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(configs, list) or not all(isinstance(c, dict) for c in configs):
        raise ConfigurationError(f"{source} must hold a JSON list of objects, one per config.")
    return filter_config_list(configs, filter_dict)
