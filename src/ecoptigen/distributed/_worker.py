"""What runs on the Ray workers: the node probe, the warm-up, and one eval_func call.

Kept apart from the driver's side so that a worker imports only what an eval_func call needs (not the
tuning package, its searcher and their dependencies: seconds and hundreds of MB per worker process).
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import socket
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ecoptigen.distributed._cluster import credentials_in
from ecoptigen.distributed._relay import Answer, RelayClient, portable
from ecoptigen.errors import SandboxError
from ecoptigen.memory import RunMemory

__all__ = ["evaluate_remotely", "probe_node", "warm_up"]

logger = logging.getLogger("ecoptigen.distributed")


def _where() -> str:
    return f"{socket.gethostname()} (pid {os.getpid()})"


@functools.cache
def _sandbox_problem() -> str | None:
    """Why generated code cannot be checked in bubblewrap on this node (checked once per worker process)."""
    from ecoptigen.sandbox import bubblewrap_usable

    return bubblewrap_usable()


def probe_node() -> dict[str, Any]:
    """What the driver checks on every node before a run (runs on the node)."""
    return {"host": _where(), "sandbox": _sandbox_problem(), "credentials": credentials_in(os.environ)}


@functools.cache
def _prepare(cpus_per_task: float) -> None:
    """Check the sandbox, and size it so that this node's workers together run as many programs at once
    as one process would (twice the cores): each worker gets its share. Once per worker process."""
    import ray

    from ecoptigen.sandbox import get_sandbox

    problem = _sandbox_problem()
    if problem is not None:
        raise SandboxError(f"the Ray node {_where()} cannot check generated code in bubblewrap: {problem}")
    here = ray.get_runtime_context().get_node_id()
    node_cpus = next((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n["NodeID"] == here), 0.0)
    workers = max(1, int(node_cpus // max(cpus_per_task, 1e-3)))
    get_sandbox(slots=max(1, 2 * (os.cpu_count() or 1) // workers))


def warm_up(cpus_per_task: float, modules: tuple[str, ...] = ()) -> None:
    """Import ``modules`` (those of the run's eval_func), and prepare the sandbox, in one worker process."""
    for module in modules:
        importlib.import_module(module)
    _prepare(cpus_per_task)


# The memories of the runs this worker served last (ecoptigen.memory): what a run remembers, e.g. the
# sandbox verdicts of code_utils, serves its later calls on this worker and no other run's.
_MEMORIES: OrderedDict[str, RunMemory] = OrderedDict()
_MEMORIES_KEPT = 4
_MEMORIES_LOCK = threading.Lock()


def _memory_of(run: str) -> RunMemory:
    with _MEMORIES_LOCK:
        memory = _MEMORIES.pop(run, None) or RunMemory()
        _MEMORIES[run] = memory
        while len(_MEMORIES) > _MEMORIES_KEPT:
            _MEMORIES.popitem(last=False)
        return memory


def evaluate_remotely(
    function: Callable[..., dict], responses: list, instance: dict, call_id: str, relay: Any, cpus_per_task: float
) -> Answer:
    """One eval_func call, on a worker: requests it makes go to the driver through the relay."""
    import ray

    from ecoptigen.forwarding import forwarding_to

    try:
        _prepare(cpus_per_task)
        run = call_id.rsplit("-", 1)[0]
        with _memory_of(run).activate(), forwarding_to(RelayClient(ray, relay, call_id)):
            return Answer(function(responses, **instance))
    except Exception as exc:
        logger.debug("eval_func failed on %s:\n%s", _where(), traceback.format_exc())
        return Answer(error=portable(exc))
