"""Finding Ray, and the cluster to use: one already initialised, ``RAY_ADDRESS``, or a local one we start.

A local cluster is started with the API keys taken out of the environment (its processes, and the
workers they fork, copy the environment of the process that starts them), listening on 127.0.0.1 only
(a Ray cluster has no authentication: nothing on the network should reach one started for a laptop
run), and without the dashboard.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

from ecoptigen.errors import ConfigurationError

__all__ = ["CREDENTIAL_NAME", "connected", "credentials_in", "require_ray", "start_local_cluster"]

logger = logging.getLogger("ecoptigen.distributed")

# Environment variables that hold a model provider's credentials (OPENAI_API_KEY, AZURE_OPENAI_API_KEY,
# AZURE_OPENAI_AD_TOKEN, OAI_CONFIG_LIST, ...): they stay in the driver's process.
CREDENTIAL_NAME = re.compile(r"API_KEY|_AD_TOKEN$|^OAI_CONFIG_LIST$")
INSTALL_HINT = 'pip install -e ".[ray]" in your ecoptigen clone (or pip install "ray==2.58.0")'
_environ_lock = threading.Lock()


def require_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ConfigurationError: Ray is not installed (the message names the extra to install).
    """
    try:
        import ray
    except ImportError as exc:
        raise ConfigurationError(f"use_ray=True needs Ray, which is not installed: {INSTALL_HINT}") from exc
    if not hasattr(ray, "remote"):  # a folder named "ray" on sys.path, not the package
        raise ConfigurationError(f"use_ray=True needs Ray, but 'ray' here is {ray!r}: {INSTALL_HINT}")
    return ray


def credentials_in(environ: dict[str, str] | os._Environ[str]) -> list[str]:
    """The names of the credential variables set in ``environ``.

    Example:
        >>> credentials_in({"OPENAI_API_KEY": "sk-...", "PATH": "/bin", "AZURE_OPENAI_AD_TOKEN": "t"})
        ['AZURE_OPENAI_AD_TOKEN', 'OPENAI_API_KEY']
    """
    return sorted(name for name, value in environ.items() if value and CREDENTIAL_NAME.search(name))


@contextlib.contextmanager
def _environment_without_credentials() -> Iterator[None]:
    """Processes started in this block do not inherit the credential variables."""
    with _environ_lock:
        removed = {name: os.environ.pop(name) for name in credentials_in(os.environ)}
        try:
            yield
        finally:
            os.environ.update(removed)


def start_local_cluster(**init_args: Any) -> None:
    """Start a Ray cluster on this machine for ecoptigen: API keys left out of its environment, on
    127.0.0.1, no dashboard, two eval_func slots per core. Call it instead of ``ray.init()`` to keep one
    cluster over several tunings.

    Args:
        init_args: more ``ray.init`` arguments (``num_cpus``, ``_temp_dir``, ...). ``num_cpus`` defaults to
            twice the cores: an eval_func task asks for one CPU, and spends part of its time waiting on
            sandboxed processes or on a request the driver makes for it (the sandbox, too, runs twice as
            many programs as there are cores).

    Raises:
        ConfigurationError: Ray is not installed.

    Example:
        >>> start_local_cluster(num_cpus=2)  # doctest: +SKIP
    """
    ray = require_ray()
    settings: dict[str, Any] = {
        "_node_ip_address": "127.0.0.1",
        "include_dashboard": False,
        "num_cpus": 2 * (os.cpu_count() or 1),
    }
    settings.update(init_args)
    with _environment_without_credentials():
        ray.init(address="local", **settings)
    logger.info("started a local Ray cluster (API keys left out of its environment)")


@contextlib.contextmanager
def connected() -> Iterator[Any]:
    """Use the Ray cluster this process is connected to, else the one ``RAY_ADDRESS`` names, else a
    local one started here; disconnect at the end from a cluster connected to (or started) here."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address)
        logger.info("connected to the Ray cluster at %s", address)
    else:
        start_local_cluster()
    try:
        yield ray
    finally:
        ray.shutdown()
