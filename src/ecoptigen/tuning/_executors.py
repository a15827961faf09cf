"""Where eval_func runs: an :class:`EvalExecutor` calls it on many data instances, results in order.

Requests to the model are always sent by the tuner (and ``test``) in this process; only the eval_func
calls go through an executor. The default, :class:`ThreadEvalExecutor`, calls eval_func on the tuner's
thread pool (or inline, one instance after another). With ``use_ray=True``,
:mod:`ecoptigen.distributed` runs each call as a Ray task somewhere on a cluster.

Contract of :meth:`EvalExecutor.map`, whatever the executor:

* results come back in the order of the calls;
* every call has ended before an error is raised, so no call is left spending unwatched, and a
  :class:`~ecoptigen.errors.BudgetExceededError` is raised in preference to other errors;
* a call whose request was refused only because money is held for requests still in flight waits for
  them to settle and is made again (:func:`~ecoptigen.tuning._steps.waiting_for_money`);
* requests that eval_func makes are charged to the ledgers active where ``map`` was called;
* an exception eval_func raised carries ``call_index``, the position of its call in ``calls`` (the first
  failing call's, in call order), so the caller can name the data instance.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, Protocol

from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._steps import call_all, waiting_for_money

__all__ = ["EvalCall", "EvalExecutor", "ThreadEvalExecutor", "check_use_ray", "eval_executor", "mark_call"]

# One eval_func call: the responses of one data instance, and the instance (its keyword arguments).
EvalCall = tuple[list[Any], dict[str, Any]]


class EvalExecutor(Protocol):
    """Calls ``eval_func(responses, **instance)`` for many instances; see the module docstring. A protocol,
    so that executors elsewhere (:mod:`ecoptigen.distributed`) need not import the tuning package."""

    def map(self, eval_func: Callable[..., dict], calls: Sequence[EvalCall]) -> list[dict]:
        """``[eval_func(responses, **instance) for responses, instance in calls]``.

        Raises:
            BudgetExceededError: a request made by eval_func cannot be paid for.
            Exception: whatever eval_func raised.
        """


class ThreadEvalExecutor:
    """eval_func on ``pool`` (in copies of the caller's context), or inline one call after another.

    Example:
        >>> ThreadEvalExecutor(None).map(lambda responses, q: {"n": len(responses), "q": q}, [(["a"], {"q": 1})])
        [{'n': 1, 'q': 1}]
    """

    def __init__(self, pool: Executor | None):
        self.pool = pool

    def map(self, eval_func: Callable[..., dict], calls: Sequence[EvalCall]) -> list[dict]:
        def one(i: int) -> dict:
            responses, instance = calls[i]
            try:
                return eval_func(responses, **instance)
            except Exception as exc:
                mark_call(exc, i)
                raise

        return call_all(self.pool, waiting_for_money(one), list(range(len(calls))))


def mark_call(error: BaseException, index: int) -> None:
    """Record on ``error`` the position of the eval_func call that raised it (see the module docstring)."""
    with contextlib.suppress(AttributeError, TypeError):  # a few built-in exceptions take no attributes
        error.call_index = index  # type: ignore[attr-defined]


def check_use_ray(use_ray: Any, ray_options: Any = None) -> bool:
    """Validate the ``use_ray`` and ``ray_options`` options, before anything is spent.

    Raises:
        ConfigurationError: a bad value, ``ray_options`` without ``use_ray``, or Ray is not installed
            (the message names the extra to install).

    Example:
        >>> check_use_ray(False)
        False
    """
    if not isinstance(use_ray, bool):
        raise ConfigurationError(f"use_ray must be True or False; got {use_ray!r}.")
    if ray_options is not None and not (use_ray and isinstance(ray_options, dict)):
        raise ConfigurationError(
            f"ray_options must be a dict of Ray task options (e.g. {{'num_cpus': 1}}), given with use_ray=True; "
            f"got {ray_options!r} with use_ray={use_ray}."
        )
    if use_ray:
        from ecoptigen.distributed import require_ray

        require_ray()
    return use_ray


@contextlib.contextmanager
def eval_executor(
    use_ray: bool,
    concurrency: int,
    ray_options: dict | None = None,
    eval_func: Callable | None = None,
    serial: bool = False,
) -> Iterator[EvalExecutor | None]:
    """The executor a run asked for: ``None`` (the caller's own thread pool), or Ray's.

    Args:
        use_ray: run eval_func as Ray tasks (the cluster is connected to, or started, and checked here).
        concurrency: eval_func calls in flight at once on the cluster, and requests that they make sent at
            once from this process.
        ray_options: options of the eval_func tasks (``num_cpus``, ...), as Ray's ``.options()`` takes them.
        eval_func: the run's eval_func (the workers import its module while they wait for their first call).
        serial: on the cluster, each worker runs one eval_func call at a time (``serial_eval_func``).

    Raises:
        ConfigurationError: Ray is missing, or a worker has an API key in its environment.
        SandboxError: a node cannot run bubblewrap.
    """
    if not use_ray:
        yield None
        return
    from ecoptigen.distributed import RayEvalExecutor

    with RayEvalExecutor(concurrency, ray_options, preload=modules_of(eval_func), serial=serial) as executor:
        yield executor


def modules_of(function: Callable | None) -> tuple[str, ...]:
    """The module that defines ``function`` (seen through ``functools.partial``), if it can be imported
    by name elsewhere.

    Example:
        >>> import functools, json
        >>> modules_of(functools.partial(json.dumps, indent=2))
        ('json',)
    """
    while isinstance(function, functools.partial):
        function = function.func
    module = getattr(function, "__module__", None)
    return () if module in (None, "__main__", "builtins") else (str(module),)
