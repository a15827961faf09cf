"""Where a request goes, and the one place that builds ``openai`` SDK clients.

An :class:`Endpoint` is resolved for every request from, in order of precedence: the keys of the
request's config (``api_key``, ``base_url`` / ``api_base``, ``api_type``, ``api_version``,
``azure_deployment`` / ``deployment_id`` / ``engine``), the settings on the ``openai`` module that the
legacy SDK used (``openai.api_type = "azure"``, ``openai.api_base = ...``, ``openai.api_version``,
``openai.api_key``), and the environment (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
``AZURE_OPENAI_API_KEY``, ``AZURE_OPENAI_ENDPOINT``, ``OPENAI_API_VERSION``). Azure also takes
Microsoft Entra ID instead of a key, as the SDK's ``AzureOpenAI`` does: ``azure_ad_token`` (a token)
or ``azure_ad_token_provider`` (a callable returning a fresh one, e.g. ``azure.identity``'s
``get_bearer_token_provider(...)``).

Clients are built with the SDK's own retries off (``max_retries=0``): ecoptigen retries once, in
:mod:`ecoptigen.client._retry`, so retries never multiply. A :class:`ClientCache` keeps one client per
endpoint, at most ``size`` of them; the least recently used is closed when it is no longer in use.
The SDK's clients are safe to share between threads.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import openai

from ecoptigen.client._keywords import ENDPOINT_KEYS
from ecoptigen.errors import ConfigurationError

__all__ = ["ENDPOINT_KEYS", "ClientCache", "Endpoint", "resolve_endpoint"]

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
    azure_ad_token: str | None = None
    azure_ad_token_provider: Callable[[], str] | None = None

    @property
    def is_azure(self) -> bool:
        return self.api_type in _AZURE_TYPES

    @property
    def credentials_hint(self) -> str:
        """Where this endpoint's credentials come from, for an error message."""
        if self.is_azure:
            return "AZURE_OPENAI_API_KEY, 'api_key', or 'azure_ad_token_provider' in the config"
        return "OPENAI_API_KEY, or 'api_key' in the config list"

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
        token, provider = config.get("azure_ad_token"), config.get("azure_ad_token_provider")
        if provider is not None and not callable(provider):
            raise ConfigurationError(
                "azure_ad_token_provider must be a callable returning a token, e.g. azure.identity's "
                "get_bearer_token_provider(DefaultAzureCredential(), 'https://cognitiveservices.azure.com/.default')."
            )
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
            api_key=None if (token or provider) and not api_key else _require_key(api_key, "AZURE_OPENAI_API_KEY"),
            api_version=api_version,
            deployment=deployment or azure_deployment_name(model or ""),
            azure_ad_token=token,
            azure_ad_token_provider=provider,
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
        entra = ", or 'azure_ad_token_provider' for Microsoft Entra ID" if variable.startswith("AZURE") else ""
        raise ConfigurationError(
            f"no API key: set the {variable} environment variable, or give 'api_key' in the config "
            f"(or config_list){entra}. To try ecoptigen without a key, start the simulated endpoint: "
            "python -m ecoptigen.sim, then export the OPENAI_BASE_URL it prints."
        )
    return api_key


class ClientCache:
    """SDK clients by endpoint, built once and shared (SDK retries off); at most ``size`` are kept.

    The least recently used client beyond ``size`` is closed as soon as no request holds it. Thread-safe.

    Args:
        size: the most clients kept open at once.

    Example:
        >>> cache = ClientCache(size=2)
        >>> with cache.lease(Endpoint("openai", "http://127.0.0.1:9/v1", "k")) as client:
        ...     client.base_url.host
        '127.0.0.1'
        >>> cache.close()
    """

    def __init__(self, size: int = 32):
        self.size = size
        self._clients: OrderedDict[Endpoint, openai.OpenAI] = OrderedDict()
        self._users: dict[int, int] = {}  # id(client) -> requests holding it
        self._retired: dict[int, openai.OpenAI] = {}  # evicted while in use: closed by the last user
        self._lock = threading.Lock()

    @contextmanager
    def lease(self, endpoint: Endpoint) -> Iterator[openai.OpenAI]:
        """The client for ``endpoint``, held for the duration of the ``with`` block."""
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                client = self._clients[endpoint] = _build_client(endpoint)
            self._clients.move_to_end(endpoint)
            self._users[id(client)] = self._users.get(id(client), 0) + 1
            evicted = self._evict()
        _close(evicted)
        try:
            yield client
        finally:
            with self._lock:
                self._users[id(client)] -= 1
                idle = self._users[id(client)] == 0
                if idle:
                    del self._users[id(client)]
                done = [self._retired.pop(id(client))] if idle and id(client) in self._retired else []
            _close(done)

    def _evict(self) -> list[openai.OpenAI]:
        closable = []
        while len(self._clients) > self.size:
            _, client = self._clients.popitem(last=False)
            if self._users.get(id(client)):
                self._retired[id(client)] = client
            else:
                closable.append(client)
        return closable

    def __len__(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        """Close every client no request holds (the others when their last request ends)."""
        with self._lock:
            self.size, clients = 0, list(self._clients.values())
            self._clients.clear()
            idle = [c for c in clients if not self._users.get(id(c))]
            self._retired.update({id(c): c for c in clients if self._users.get(id(c))})
        _close(idle)


def _close(clients: list[openai.OpenAI]) -> None:
    for client in clients:
        client.close()


def _build_client(endpoint: Endpoint) -> openai.OpenAI:
    if endpoint.is_azure:
        return openai.AzureOpenAI(
            api_key=endpoint.api_key,
            azure_ad_token=endpoint.azure_ad_token,
            azure_ad_token_provider=endpoint.azure_ad_token_provider,
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
