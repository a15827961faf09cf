"""eval_func as Ray tasks: :class:`RayEvalExecutor`, the driver's side (the workers' side: ``_worker.py``).

The calls of one ``map`` are dealt round-robin into as many chunks as the cluster has task slots, one
Ray task each; a task runs its chunk's calls on up to ``concurrency / slots`` threads. An eval_func call
mostly waits (on sandboxed programs, or on a request the driver makes for it), so one call per slot
would leave most of the cluster idle -- and the requests eval_func makes would go out a few at a time,
where the default executor sends up to ``concurrency`` of them at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ecoptigen.distributed._cluster import connected
from ecoptigen.distributed._relay import Answer, RelayPump, RequestRelay
from ecoptigen.distributed._worker import evaluate_remotely, probe_node, warm_up
from ecoptigen.errors import BudgetExceededError, ConfigurationError, SandboxError
from ecoptigen.money import ledger as spend

__all__ = ["DEFAULT_TASK_OPTIONS", "RayEvalExecutor", "deal"]

logger = logging.getLogger("ecoptigen.distributed")

# One CPU per call: Ray keeps that many workers per node alive, while with a fraction of a CPU it starts
# extra workers for each trial (seconds each) and stops them between trials; eval_func parallelises its
# own sandbox checks. Ray runs a call again when its worker or node died (not when eval_func raised).
DEFAULT_TASK_OPTIONS: dict[str, Any] = {"num_cpus": 1, "max_retries": 3}


# One eval_func call: the responses of one data instance, and the instance (tuning.executors.EvalCall).
EvalCall = tuple[list[Any], dict[str, Any]]


class RayEvalExecutor:
    """Runs eval_func calls as Ray tasks; a context manager that connects (or starts) and checks the cluster.

    Args:
        concurrency: eval_func calls in flight at once over the cluster, and requests made for them that
            the driver sends at once.
        task_options: options of the eval_func tasks, over :data:`DEFAULT_TASK_OPTIONS`.
        preload: modules the workers import while they wait for their first call (eval_func's).
        serial: run one eval_func call at a time in each worker (for eval_funcs that are not thread-safe).

    Raises:
        ConfigurationError: Ray is not installed; a worker has an API key in its environment; the
            cluster has no node that can run the tasks.
        SandboxError: a node cannot run bubblewrap (found on entering).
    """

    def __init__(
        self,
        concurrency: int = 16,
        task_options: dict[str, Any] | None = None,
        preload: tuple[str, ...] = (),
        serial: bool = False,
    ):
        self.concurrency, self.preload, self.serial = concurrency, preload, serial
        self.task_options = {**DEFAULT_TASK_OPTIONS, **(task_options or {})}
        self._stack = contextlib.ExitStack()
        self._ids = itertools.count()
        self._run_id = uuid.uuid4().hex[:12]
        self._shared: dict[int, tuple[Callable, Any]] = {}
        self._warming: list[Any] = []
        self._slots = 1
        self.nodes: list[dict[str, Any]] = []

    def __enter__(self) -> RayEvalExecutor:
        try:
            self._ray = ray = self._stack.enter_context(connected())
            self.nodes = self._check_nodes()
            here = ray.get_runtime_context().get_node_id()
            pinned = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(here, soft=False)
            # An async actor: each waiting call is a coroutine, so many thousands may wait at once.
            options = {"num_cpus": 0, "max_restarts": 0, "max_concurrency": 100_000, "scheduling_strategy": pinned}
            actor = ray.remote(**options)(RequestRelay)
            self._relay = actor.remote()
            self._stack.callback(ray.kill, self._relay)
            self._pump = RelayPump(ray, self._relay, self.concurrency)
            self._stack.callback(self._pump.close)
            self._task = ray.remote(evaluate_remotely).options(**self.task_options)
            # Workers import ecoptigen while the driver sends the first trial's requests, not after.
            cpus = sum(n["Resources"]["CPU"] for n in self._usable_nodes())
            self._slots = max(1, int(cpus // self._cpus_per_task))
            warm = ray.remote(warm_up).options(**self.task_options)
            self._warming = [warm.remote(self._cpus_per_task, self.preload) for _ in range(self._slots)]
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._shared.clear()
        with contextlib.suppress(Exception):
            self._ray.wait(self._warming, num_returns=len(self._warming), timeout=60)
        self._stack.close()

    def _check_nodes(self) -> list[dict[str, Any]]:
        """Probe every node that can run the tasks: bubblewrap works, no API key in the environment."""
        ray = self._ray
        nodes = self._usable_nodes()
        if not nodes:
            raise ConfigurationError(
                f"no node of the Ray cluster has the {self._cpus_per_task} CPU an eval_func task asks for: add "
                "CPUs, or lower num_cpus in ray_options."
            )
        strategy = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy
        probe = ray.remote(probe_node)
        reports = ray.get(
            [probe.options(num_cpus=0, scheduling_strategy=strategy(n["NodeID"], soft=False)).remote() for n in nodes]
        )
        without_sandbox = [f"{r['host']}: {r['sandbox']}" for r in reports if r["sandbox"]]
        if without_sandbox:
            raise SandboxError(
                "generated code is checked in bubblewrap on every node, and these nodes cannot run it: "
                + "; ".join(without_sandbox)
                + ". Install bubblewrap there (Debian/Ubuntu: apt-get install bubblewrap), or remove the nodes."
            )
        with_keys = [f"{r['host']}: {', '.join(r['credentials'])}" for r in reports if r["credentials"]]
        if with_keys:
            raise ConfigurationError(
                "the driver keeps the API keys, but Ray workers have some in their environment ("
                + "; ".join(with_keys)
                + "). Start the Ray nodes without them (env -u OPENAI_API_KEY ray start ...), or let "
                "ecoptigen start the local cluster (ecoptigen.distributed.start_local_cluster() instead of "
                "ray.init())."
            )
        logger.info("evaluating on %d Ray node(s)", len(reports))
        return reports

    @property
    def _cpus_per_task(self) -> float:
        return float(self.task_options.get("num_cpus", 1) or 0) or 1.0

    def _usable_nodes(self) -> list[dict[str, Any]]:
        """The live nodes with CPUs enough for an eval_func task."""
        return [
            n
            for n in self._ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= self._cpus_per_task
        ]

    def _function_ref(self, eval_func: Callable) -> Any:
        """eval_func in the object store, put there once per run (the entry keeps it alive)."""
        entry = self._shared.get(id(eval_func))
        if entry is None or entry[0] is not eval_func:
            entry = self._shared[id(eval_func)] = (eval_func, self._ray.put(eval_func))
        return entry[1]

    def map(self, eval_func: Callable[..., dict], calls: Sequence[EvalCall]) -> list[dict]:
        """See :meth:`EvalExecutor.map`: every call a Ray task, results in order."""
        if not calls:
            return []
        function = self._function_ref(eval_func)
        context = contextvars.copy_context()
        answers: dict[int, Answer] = {}
        todo = list(range(len(calls)))
        while todo:
            answers.update(self._run(function, calls, todo, context))
            refused = [i for i in todo if isinstance(answers[i].error, BudgetExceededError)]
            # Refused only because requests in flight held money: once they settle, try those again.
            if not refused or not spend.wait_for_held_money():
                break
            todo = refused
        errors: list[tuple[int, BaseException]] = [
            (i, error) for i in sorted(answers) if (error := answers[i].error) is not None
        ]
        if errors:
            error = spend.first_error([e for _, e in errors])
            if isinstance(error, BudgetExceededError):
                raise error
            index = next(i for i, e in errors if e is error)
            with contextlib.suppress(AttributeError, TypeError):  # the executor contract: which call raised
                error.call_index = index  # type: ignore[attr-defined]
            raise error
        return [answers[i].value for i in range(len(calls))]

    def _run(
        self, function: Any, calls: Sequence[EvalCall], todo: list[int], context: contextvars.Context
    ) -> dict[int, Answer]:
        call_ids = {i: f"{self._run_id}-{next(self._ids)}" for i in todo}
        chunks = deal(todo, self._slots)
        chunk_ids = [f"{self._run_id}-{next(self._ids)}" for _ in chunks]
        threads = 1 if self.serial else math.ceil(self.concurrency / self._slots)
        self._pump.open_calls([*call_ids.values(), *chunk_ids], context)
        try:
            refs = [
                self._task.remote(
                    function,
                    [(*calls[i], call_ids[i]) for i in chunk],
                    chunk_id,
                    self._relay,
                    self._cpus_per_task,
                    threads,
                )
                for chunk, chunk_id in zip(chunks, chunk_ids, strict=True)
            ]
            self._ray.wait(refs, num_returns=len(refs))
            answers: dict[int, Answer] = {}
            for chunk, ref in zip(chunks, refs, strict=True):
                try:
                    answers.update(zip(chunk, self._ray.get(ref), strict=True))
                except Exception as exc:  # the task itself failed (its retries used up): Ray's error
                    answers.update((i, Answer(error=exc)) for i in chunk)
            return answers
        finally:
            self._pump.close_calls([*call_ids.values(), *chunk_ids])


def deal(indices: list[int], parts: int) -> list[list[int]]:
    """``indices`` dealt round-robin into at most ``parts`` chunks (neighbouring data instances, often
    alike in cost, go to different chunks).

    Example:
        >>> deal([0, 1, 2, 3, 4], 2)
        [[0, 2, 4], [1, 3]]
        >>> deal([7], 4)
        [[7]]
    """
    count = max(1, min(parts, len(indices)))
    return [indices[k::count] for k in range(count)]
