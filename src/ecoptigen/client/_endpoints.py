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

Clients are built in one place, :func:`build_client`, with the SDK's own retries off (``max_retries=0``):
ecoptigen retries once, in :mod:`ecoptigen.client._retry`, so retries never multiply. A :class:`ClientCache`
keeps one client per endpoint, at most ``size`` of them; the least recently used is closed when it is no
longer in use. The SDK's clients are safe to share between threads. ``acreate`` uses ``AsyncOpenAI``
clients, kept the same way by an :class:`AsyncClientCache` per event loop (:class:`AsyncClientCaches`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar, overload

import openai

from ecoptigen.client._keywords import ENDPOINT_KEYS
from ecoptigen.errors import ConfigurationError

__all__ = [
    "ENDPOINT_KEYS",
    "AsyncClientCache",
    "AsyncClientCaches",
    "ClientCache",
    "Endpoint",
    "build_client",
    "resolve_endpoint",
]

C = TypeVar("C", openai.OpenAI, openai.AsyncOpenAI)

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


class _Leases(Generic[C]):
    """The bookkeeping of a client cache, without I/O: which client serves an endpoint, who holds it, and
    which clients may be closed now. :class:`ClientCache` and :class:`AsyncClientCache` add the closing."""

    def __init__(self, size: int, build: Callable[[Endpoint], C]):
        self.size = size
        self._build: Callable[[Endpoint], C] = build
        self._clients: OrderedDict[Endpoint, C] = OrderedDict()
        self._users: dict[int, int] = {}  # id(client) -> requests holding it
        self._retired: dict[int, C] = {}  # evicted while in use: closed by the last user
        self._lock = threading.Lock()

    def _acquire(self, endpoint: Endpoint) -> tuple[C, list[C]]:
        """The client for ``endpoint``, now held, and the clients evicted to make room (to close)."""
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                client = self._clients[endpoint] = self._build(endpoint)
            self._clients.move_to_end(endpoint)
            self._users[id(client)] = self._users.get(id(client), 0) + 1
            return client, self._evict()

    def _release(self, client: C) -> list[C]:
        """Let go of ``client``; returns it (to close) if it was evicted and this was its last user."""
        with self._lock:
            self._users[id(client)] -= 1
            idle = self._users[id(client)] == 0
            if idle:
                del self._users[id(client)]
            return [self._retired.pop(id(client))] if idle and id(client) in self._retired else []

    def _evict(self) -> list[C]:
        closable = []
        while len(self._clients) > self.size:
            _, client = self._clients.popitem(last=False)
            if self._users.get(id(client)):
                self._retired[id(client)] = client
            else:
                closable.append(client)
        return closable

    def _forget_all(self) -> list[C]:
        """Stop caching; returns the clients no request holds (the others close when their last request ends)."""
        with self._lock:
            self.size, clients = 0, list(self._clients.values())
            self._clients.clear()
            self._retired.update({id(c): c for c in clients if self._users.get(id(c))})
            return [c for c in clients if not self._users.get(id(c))]

    def __len__(self) -> int:
        return len(self._clients)


class ClientCache(_Leases[openai.OpenAI]):
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
        super().__init__(size, lambda endpoint: build_client(endpoint, asynchronous=False))

    @contextmanager
    def lease(self, endpoint: Endpoint) -> Iterator[openai.OpenAI]:
        """The client for ``endpoint``, held for the duration of the ``with`` block."""
        client, evicted = self._acquire(endpoint)
        _close(evicted)
        try:
            yield client
        finally:
            _close(self._release(client))

    def close(self) -> None:
        """Close every client no request holds (the others when their last request ends)."""
        _close(self._forget_all())


class AsyncClientCache(_Leases[openai.AsyncOpenAI]):
    """:class:`ClientCache` for ``AsyncOpenAI`` clients, used from one event loop (an async client's
    connections belong to the loop that opened them).

    Example:
        >>> import asyncio
        >>> async def host():
        ...     cache = AsyncClientCache(size=2)
        ...     async with cache.lease(Endpoint("openai", "http://127.0.0.1:9/v1", "k")) as client:
        ...         host = client.base_url.host
        ...     await cache.aclose()
        ...     return host
        >>> asyncio.run(host())
        '127.0.0.1'
    """

    def __init__(self, size: int = 32):
        super().__init__(size, lambda endpoint: build_client(endpoint, asynchronous=True))

    @asynccontextmanager
    async def lease(self, endpoint: Endpoint) -> AsyncIterator[openai.AsyncOpenAI]:
        """The client for ``endpoint``, held for the duration of the ``async with`` block."""
        client, evicted = self._acquire(endpoint)
        await _aclose(evicted)
        try:
            yield client
        finally:
            await _aclose(self._release(client))

    async def aclose(self) -> None:
        """Close every client no request holds (the others when their last request ends)."""
        await _aclose(self._forget_all())


class AsyncClientCaches:
    """One :class:`AsyncClientCache` per event loop, each closed when ``asyncio.run`` ends its loop.

    The closing rides on the loop's shutdown of async generators (``loop.shutdown_asyncgens()``, which
    ``asyncio.run`` calls before closing the loop), so a service never has to close ecoptigen's clients
    itself. Thread-safe: several threads may each run a loop.
    """

    def __init__(self, size: int = 32):
        self.size = size
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopEntry] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    async def current(self) -> AsyncClientCache:
        """The cache of the running event loop (made on its first use)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._by_loop.get(loop)
            fresh = entry is None
            if entry is None:
                cache = AsyncClientCache(self.size)
                entry = self._by_loop[loop] = _LoopEntry(cache, _close_at_loop_end(cache))
        if fresh:
            await entry.closer.__anext__()  # the loop now knows the generator, and closes it at its end
        return entry.cache

    async def aclose(self) -> None:
        """Close the running loop's clients now."""
        with self._lock:
            entry = self._by_loop.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.closer.aclose()

    def forget(self) -> None:
        """Start afresh; the clients made so far are closed when their loops end."""
        with self._lock:
            for entry in self._by_loop.values():
                entry.cache.size = 0
            self._by_loop = weakref.WeakKeyDictionary()


@dataclass
class _LoopEntry:
    cache: AsyncClientCache
    closer: AsyncGenerator[None, None]


async def _close_at_loop_end(cache: AsyncClientCache) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await cache.aclose()


def _close(clients: list[openai.OpenAI]) -> None:
    for client in clients:
        client.close()


async def _aclose(clients: list[openai.AsyncOpenAI]) -> None:
    for client in clients:
        await client.close()


@overload
def build_client(endpoint: Endpoint, asynchronous: Literal[False] = ...) -> openai.OpenAI: ...
@overload
def build_client(endpoint: Endpoint, asynchronous: Literal[True]) -> openai.AsyncOpenAI: ...
def build_client(endpoint: Endpoint, asynchronous: bool = False) -> openai.OpenAI | openai.AsyncOpenAI:
    """The SDK client for ``endpoint`` (``AsyncOpenAI`` / ``AsyncAzureOpenAI`` when ``asynchronous``), with
    the SDK's own retries off: ecoptigen retries, once (:mod:`ecoptigen.client._retry`)."""
    if endpoint.is_azure:
        azure = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        return azure(
            api_key=endpoint.api_key,
            azure_ad_token=endpoint.azure_ad_token,
            azure_ad_token_provider=endpoint.azure_ad_token_provider,
            azure_endpoint=endpoint.base_url or "",  # resolve_endpoint requires one for Azure
            azure_deployment=endpoint.deployment,
            api_version=endpoint.api_version,
            max_retries=0,
        )
    plain = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return plain(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        organization=endpoint.organization,
        max_retries=0,
    )
