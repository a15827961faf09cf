"""Where a request goes, and the one place that builds ``openai`` SDK clients.

An :class:`Endpoint` is resolved for every request from, in order of precedence: the keys of the
request's config (``api_key``, ``base_url`` / ``api_base``, ``api_type``, ``api_version``,
``azure_deployment`` / ``deployment_id`` / ``engine``), the settings on the ``openai`` module that the
legacy SDK used (``openai.api_type = "azure"``, ``openai.api_base = ...``, ``openai.api_version``,
``openai.api_key``), and the environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
``AZURE_OPENAI_API_KEY``, ``AZURE_OPENAI_ENDPOINT``, ``OPENAI_API_VERSION``).

Clients are built with the SDK's own retries off (``max_retries=0``): ecoptigen retries once, in
:mod:`ecoptigen.oai._retry`, so retries never multiply. One client is kept per endpoint; the SDK's
clients are safe to share between threads.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import openai

from ecoptigen.errors import ConfigurationError

__all__ = ["ENDPOINT_KEYS", "Endpoint", "client_for", "resolve_endpoint"]

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
    }
)
_AZURE_TYPES = {"azure", "azure_ad", "azuread"}
# A local OpenAI-compatible server usually ignores the key, but the SDK insists on one.
_NO_KEY_NEEDED = "no-key-needed"


@dataclass(frozen=True)
class Endpoint:
    """Everything that decides which server a request goes to and how it authenticates."""

    api_type: str
    base_url: str | None
    api_key: str | None
    api_version: str | None = None
    deployment: str | None = None
    organization: str | None = None

    @property
    def is_azure(self) -> bool:
        return self.api_type in _AZURE_TYPES

    def describe(self) -> str:
        """A human-readable name of the endpoint, never including the key."""
        if self.is_azure:
            return f"Azure OpenAI at {self.base_url} (deployment {self.deployment})"
        return f"OpenAI-compatible endpoint at {self.base_url or 'https://api.openai.com/v1'}"


def azure_deployment_name(model: str) -> str:
    """Azure's default deployment name for ``model`` (Azure does not allow dots in names).

    Example:
        >>> azure_deployment_name("gpt-3.5-turbo")
        'gpt-35-turbo'
    """
    return model.replace("gpt-3.5", "gpt-35").replace(".", "")


def _module_setting(name: str) -> str | None:
    value = getattr(openai, name, None)
    return value if isinstance(value, str) and value else None


def resolve_endpoint(config: dict, model: str | None) -> Endpoint:
    """The endpoint a request with ``config`` goes to.

    Raises:
        ConfigurationError: no API key can be found for an endpoint that needs one, or an Azure
            endpoint has no base URL.
    """
    api_type = (config.get("api_type") or _module_setting("api_type") or "openai").lower()
    base_url = config.get("base_url") or config.get("api_base")
    if api_type in _AZURE_TYPES:
        # openai.api_base is only ever set by the user's code; openai.azure_endpoint may have been copied
        # from AZURE_OPENAI_ENDPOINT when openai was imported, so the explicit setting comes first.
        base_url = base_url or _module_setting("api_base") or _module_setting("azure_endpoint")
        base_url = base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        api_key = config.get("api_key") or _module_setting("api_key") or os.environ.get("AZURE_OPENAI_API_KEY")
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        api_version = config.get("api_version") or _module_setting("api_version")
        api_version = api_version or os.environ.get("OPENAI_API_VERSION")
        deployment = config.get("azure_deployment") or config.get("deployment_id") or config.get("engine")
        if not base_url:
            raise ConfigurationError(
                "api_type is 'azure' but no endpoint is set: give 'base_url' in the config, set "
                "openai.api_base, or set AZURE_OPENAI_ENDPOINT."
            )
        if not api_version:
            raise ConfigurationError(
                "Azure OpenAI needs an api_version: give 'api_version' in the config, set "
                "openai.api_version, or set OPENAI_API_VERSION."
            )
        return Endpoint(
            api_type="azure",
            base_url=base_url.rstrip("/"),
            api_key=_require_key(api_key, "AZURE_OPENAI_API_KEY"),
            api_version=api_version,
            deployment=deployment or azure_deployment_name(model or ""),
        )
    base_url = base_url or _module_setting("base_url") or _module_setting("api_base")
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    api_key = config.get("api_key") or _module_setting("api_key") or os.environ.get("OPENAI_API_KEY")
    if not api_key and base_url:
        api_key = _NO_KEY_NEEDED
    return Endpoint(
        api_type="openai",
        base_url=base_url.rstrip("/") if base_url else None,
        api_key=_require_key(api_key, "OPENAI_API_KEY"),
        organization=config.get("organization") or _module_setting("organization"),
    )


def _require_key(api_key: str | None, variable: str) -> str:
    if not api_key:
        raise ConfigurationError(
            f"no API key: set the {variable} environment variable, or give 'api_key' in the config "
            "(or config_list). To try ecoptigen without a key, start the simulated endpoint: "
            "python -m ecoptigen.sim, then export the OPENAI_BASE_URL it prints."
        )
    return api_key


_clients: dict[Endpoint, openai.OpenAI] = {}
_clients_lock = threading.Lock()


def client_for(endpoint: Endpoint) -> openai.OpenAI:
    """The SDK client for ``endpoint``, built once and shared (SDK retries off)."""
    client = _clients.get(endpoint)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(endpoint)
        if client is None:
            client = _build_client(endpoint)
            _clients[endpoint] = client
    return client


def _build_client(endpoint: Endpoint) -> openai.OpenAI:
    if endpoint.is_azure:
        return openai.AzureOpenAI(
            api_key=endpoint.api_key,
            azure_endpoint=endpoint.base_url or "",  # resolve_endpoint requires one for Azure
            azure_deployment=endpoint.deployment,
            api_version=endpoint.api_version,
            max_retries=0,
        )
    return openai.OpenAI(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        organization=endpoint.organization,
        max_retries=0,
    )
