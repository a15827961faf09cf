"""Evaluating on a Ray cluster: eval_func runs as Ray tasks; the key, the money, the cache and the journal stay here.

``oai.Completion.tune(..., use_ray=True)`` and ``oai.Completion.test(..., use_ray=True)`` send every
eval_func call -- and with it the sandboxed checks of :mod:`ecoptigen.code_utils` -- to a Ray task on
some node of the cluster. Everything that holds a secret or money stays in the driver process::

    driver process (API key, cache, spend ledgers, journal, searcher)          Ray nodes (no key)
    ------------------------------------------------------------------         -----------------------
    tuner: ask -> requests to the model -> responses ---- eval task ------->    eval_func(responses)
                                                                                 |  sandbox (bubblewrap)
           tell <- metrics <----------------------------- result -----------    |
                                                                                 v  create() inside eval_func
    relay pump: create() for the worker <--- take --- [relay actor] <-- call ---
                 cache / ledger / key    ---- answer --> (driver's node)  -- answer -->

The cluster: the one this process is connected to (``ray.init(address=...)``), else the one
``RAY_ADDRESS`` names, else a local one started for the run (:func:`start_local_cluster`). Before the
first task, every node is checked: bubblewrap works there (no weaker fallback), and its workers have no
API key in their environment. See ``docs/distributed.md``.
"""

from __future__ import annotations

from typing import Any

from ecoptigen.distributed._cluster import CREDENTIAL_NAME, credentials_in, require_ray, start_local_cluster

__all__ = ["CREDENTIAL_NAME", "RayEvalExecutor", "credentials_in", "require_ray", "start_local_cluster"]


def __getattr__(name: str) -> Any:
    # The executor imports the tuning package; importing it lazily keeps this package light for the check
    # that Ray is installed.
    if name == "RayEvalExecutor":
        from ecoptigen.distributed._executor import RayEvalExecutor

        return RayEvalExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
