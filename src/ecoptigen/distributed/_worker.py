"""What runs on the Ray workers: the node probe, the warm-up, and a chunk of eval_func calls.

Kept apart from the driver's side so that a worker imports only what an eval_func call needs (not the
tuning package, its searcher and their dependencies: seconds and hundreds of MB per worker process).
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import os
import socket
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ecoptigen.distributed._cluster import credentials_in
from ecoptigen.distributed._relay import Answer, RelayClient, portable
from ecoptigen.errors import SandboxError
from ecoptigen.run_context import RunMemory, activated

__all__ = ["evaluate_remotely", "probe_node", "run_chunk", "warm_up"]

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


# The memories of the runs this worker served last (ecoptigen.run_context): what a run remembers, e.g. the
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
    function: Callable[..., dict],
    calls: list[tuple[list, dict, str]],
    chunk_id: str,
    relay: Any,
    cpus_per_task: float,
    threads: int,
) -> list[Answer]:
    """A chunk of eval_func calls as a Ray task: see :func:`run_chunk`."""
    import ray

    try:
        _prepare(cpus_per_task)
    except Exception as exc:
        return [Answer(error=portable(exc))] * len(calls)
    return run_chunk(ray, relay, function, calls, chunk_id, threads)


def run_chunk(
    ray: Any,
    relay: Any,
    function: Callable[..., dict],
    calls: list[tuple[list, dict, str]],
    chunk_id: str,
    threads: int,
) -> list[Answer]:
    """Several eval_func calls ``(responses, instance, call_id)``, up to ``threads`` at a time (each in a
    copy of this context, as the default executor runs them on its pool); answers in order.

    Requests a call makes go to the driver through ``relay``, named by the call's id; requests from a
    thread that eval_func starts without its context are named by ``chunk_id``.
    """
    from ecoptigen.run_context import forwarding_to

    run = chunk_id.rsplit("-", 1)[0]
    with activated(memory=_memory_of(run)), forwarding_to(RelayClient(ray, relay, chunk_id)):
        if threads <= 1 or len(calls) <= 1:
            return [_evaluate_one(ray, relay, function, call) for call in calls]
        with ThreadPoolExecutor(min(threads, len(calls)), thread_name_prefix="ecoptigen-eval") as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, _evaluate_one, ray, relay, function, call) for call in calls
            ]
            return [future.result() for future in futures]


def _evaluate_one(ray: Any, relay: Any, function: Callable[..., dict], call: tuple[list, dict, str]) -> Answer:
    from ecoptigen.run_context import forwarding_in_context

    responses, instance, call_id = call
    try:
        with forwarding_in_context(RelayClient(ray, relay, call_id)):
            return Answer(function(responses, **instance))
    except Exception as exc:
        logger.debug("eval_func failed on %s:\n%s", _where(), traceback.format_exc())
        return Answer(error=portable(exc))
