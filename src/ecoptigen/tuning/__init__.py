"""EcoOptiGen: tune LLM inference settings for a metric under an inference and an optimization budget.

``oai.Completion.tune`` / ``oai.ChatCompletion.tune`` and ``test`` call :func:`tune` and
:func:`test_facade` here. The parts:

* :mod:`~ecoptigen.tuning._space` -- ``tune(**config)`` forms to a BlendSearch space and back.
* :mod:`~ecoptigen.tuning._pruning` -- the cost-based pruning rules, pure functions.
* :mod:`~ecoptigen.tuning._evaluate` -- one configuration on the data, requests in parallel.
* :mod:`~ecoptigen.tuning._steps` -- the requests of one step, sent together, admitted as one by one.
* :mod:`~ecoptigen.tuning._tuner` -- the ask/evaluate/tell loop, the budget, the journal.
* :mod:`~ecoptigen.tuning._journal` -- the resume log; :mod:`~ecoptigen.tuning.analysis` -- results and
  the trial table; :mod:`~ecoptigen.tuning._plots` and :mod:`~ecoptigen.tuning._progress` -- visibility.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from typing import Any, Protocol

from ecoptigen import run_context
from ecoptigen.client import check_known, create_options, tune_options
from ecoptigen.errors import (
    BudgetExceededError,
    ConfigurationError,
    EcoptigenError,
    InferenceBudgetWarning,
    StorageError,
    TuningError,
)
from ecoptigen.run_context import RunMemory
from ecoptigen.tuning._executors import check_use_ray, eval_executor
from ecoptigen.tuning._scores import check_metric_names
from ecoptigen.tuning._space import DEFAULT_CHAT_MODELS, DEFAULT_COMPLETION_MODELS, default_space
from ecoptigen.tuning._test_run import TEST_OPTIONS, remember_eval_func, resolve_test_call, run_test
from ecoptigen.tuning._tuner import DEFAULT_CONCURRENCY, Tuner, TunerOptions
from ecoptigen.tuning.analysis import Analysis, Trial

__all__ = [
    "DEFAULT_CHAT_MODELS",
    "DEFAULT_COMPLETION_MODELS",
    "DEFAULT_CONCURRENCY",
    "Analysis",
    "Engine",
    "Trial",
    "default_space",
    "test",
    "test_facade",
    "tune",
]


class Engine(Protocol):
    """What :func:`tune` and :func:`test` need from the object that sends requests;
    :class:`ecoptigen.oai.CompletionEngine` is one.

    Attributes:
        price_table: USD per 1K tokens by model, as ``oai.Completion.price1K``.
    """

    price_table: dict

    def create(self, context: dict | None = None, *, chat: bool, **config: Any) -> Any:
        """Send one request (``oai.Completion.create``'s arguments; ``cache_salt`` too) and return the
        response dict; it must charge the active :mod:`ecoptigen.money.ledger` ledgers."""
        ...


def tune(
    engine: Engine,
    *,
    chat: bool,
    data: list[dict],
    metric: str,
    mode: str,
    eval_func: Callable[..., dict],
    log_file_name: str | None = None,
    inference_budget: float | None = None,
    optimization_budget: float | None = None,
    num_samples: int = 1,
    logging_level: int = logging.WARNING,
    **config: Any,
) -> tuple[dict, Analysis]:
    """Find the inference config that optimizes ``metric`` on ``data`` (EcoOptiGen on FLAML's BlendSearch).

    Args:
        engine: the :class:`~ecoptigen.client._engine.CompletionEngine` that sends (and caches) requests.
        chat: tune chat completions (``ChatCompletion``) rather than completions.
        data: the tuning data, a list of dicts; templates are filled from them.
        metric: the key of eval_func's result to optimize; mode: ``"max"`` or ``"min"``.
        eval_func: ``eval_func(responses, **instance) -> dict`` with ``metric`` among the keys. It may be
            called from worker threads, several at a time; pass ``serial_eval_func=True`` to keep it on
            one thread.
        log_file_name: the resume journal; re-running with the same arguments continues a killed or
            interrupted run (with a larger optimization_budget or num_samples too). One run at a time.
        inference_budget: target average dollars per instance; configs over it are pruned.
        optimization_budget: dollars the whole tuning may pay (requests inside eval_func included);
            never exceeded. Cache hits are free.
        num_samples: the most configurations to try; ``-1``: until the optimization budget is spent.
        logging_level: level of this run's ``ecoptigen.tuning`` log messages (no logger's level is changed).
        **config: the search space over the default one (see :mod:`ecoptigen.tuning._space`), and the
            run options ``concurrency`` (requests in flight, default 16), ``parallel_trials`` (default 1),
            ``serial_eval_func`` (default False), ``show_progress`` (default True), ``search_seed`` (the
            searcher's seed, default 20 as in FLAML), ``use_ray`` (default False: eval_func as Ray tasks on
            a cluster, see :mod:`ecoptigen.distributed`) and ``ray_options`` (the options of those tasks,
            default ``{"num_cpus": 1, "max_retries": 3}``).

    Returns:
        ``(config, analysis)``: ``config`` goes straight into ``create(context, **config)``. Credentials
        given to ``tune`` (``config_list``, as FLAML does, and ``api_key``, ``azure_ad_token``,
        ``organization``) are left out of it, because configs get printed and saved: pass them again.

    Raises:
        ConfigurationError: bad arguments or search space, found before anything is spent
            (:class:`~ecoptigen.errors.TemplateError`, :class:`~ecoptigen.errors.UnknownPriceError`, use_ray
            without Ray installed), or a metric missing from eval_func's first result.
        SandboxError: with use_ray, a node of the cluster cannot run bubblewrap (before anything is spent).
        BudgetExceededError: the budget ran out before any configuration was fully evaluated.
        TuningError: no configuration tried could be evaluated (every one failed or was unaffordable).
        StorageError: the journal could not be written (a full disk) before any configuration was fully
            evaluated; after one was, ``tune`` returns the best so far instead, with
            ``analysis.stopped_because`` naming the file.
        KeyboardInterrupt: Ctrl-C; no request is sent after it, and the journal resumes.

    Warns:
        InferenceBudgetWarning: no configuration fits the inference budget. As FLAML does, ``tune`` then
            returns the best configuration found over it; ``analysis.inference_budget_met`` is ``False``.

    Example:
        >>> import tempfile
        >>> from ecoptigen import oai, sim
        >>> data = [{"q": "1+1"}, {"q": "2+2"}]
        >>> def ev(responses, **instance): return {"success": any(r.strip() for r in responses)}
        >>> with sim.serve() as server, tempfile.TemporaryDirectory() as folder:
        ...     config, analysis = tune(oai.CompletionEngine(cache_path_root=folder), chat=True,
        ...         data=data, metric="success", mode="max", eval_func=ev, optimization_budget=0.01,
        ...         num_samples=2, model="gpt-4o-mini", prompt="{q}", max_tokens=20, n=1,
        ...         base_url=server.base_url, api_key="sk-sim", show_progress=False)
        >>> config["model"], analysis.total_cost <= 0.01
        ('gpt-4o-mini', True)
    """
    check_known(config, tune_options(), "tune")
    _refuse_raise_option(config, "tune")
    options = TunerOptions.pop_from(config)
    create = functools.partial(engine.create, chat=chat)
    with run_context.activated(memory=RunMemory(), log_level=logging_level):
        tuner = Tuner(
            create,
            engine.price_table,
            chat=chat,
            data=data,
            metric=metric,
            mode=mode,
            eval_func=eval_func,
            log_file_name=log_file_name,
            inference_budget=inference_budget,
            optimization_budget=optimization_budget,
            num_samples=num_samples,
            options=options,
            config=config,
        )
        remember_eval_func(engine, eval_func)
        analysis = tuner.run()
    best = analysis.best_config
    if best is None:
        raise _no_result(analysis, tuner.refusal, optimization_budget, tuner.journal.failure)
    if not analysis.inference_budget_met:
        _warn_over_inference_budget(analysis)
    # Credentials are not returned (FLAML leaves out config_list): the seed prints the config.
    return best, analysis


def _no_result(
    analysis: Analysis,
    refusal: BudgetExceededError | None,
    optimization_budget: float | None,
    disk: StorageError | None = None,
) -> EcoptigenError:
    """The error that says why no configuration was measured, and what to change."""
    if disk is not None:
        return StorageError(f"{disk} No configuration was fully evaluated before the failure.", disk.path, analysis)
    statuses = {t.status for t in analysis.trials}
    if statuses == {"error"}:
        failing = next(t for t in analysis.trials if t.status == "error")
        last = (failing.error or "").removeprefix("requests kept failing: ")
        return TuningError(
            f"the requests of every configuration tried kept failing ({last}). Check that the endpoint is up "
            "and answers, or raise retry_timeout.",
            analysis,
        )
    unaffordable = [t for t in analysis.trials if t.status == "unaffordable"]
    if unaffordable or refusal is not None or analysis.stopped_because.startswith("the optimization budget"):
        why = unaffordable[0].error if unaffordable else (str(refusal) if refusal else analysis.stopped_because)
        return BudgetExceededError(
            f"the optimization budget (${optimization_budget}) could not pay for any configuration to be fully "
            f"evaluated: {why}. Raise optimization_budget above that, or narrow the space (smaller n / "
            "max_tokens, cheaper models).",
            analysis,
            worst_case=refusal.worst_case if refusal else None,
        )
    return TuningError(
        f"none of the {len(analysis.trials)} configurations tried could be evaluated (see analysis.trials for "
        "each one's status and error). Raise num_samples, or narrow the space.",
        analysis,
    )


def _refuse_raise_option(config: dict, where: str) -> None:
    if "raise_on_ratelimit_or_timeout" in config or "raise_error" in config:
        raise ConfigurationError(
            f"{where}() needs every response, so raise_on_ratelimit_or_timeout (a create() option) does not "
            f"apply: remove it. A configuration whose requests keep failing is marked 'error' by tune; test "
            "raises RetryableError."
        )


def _warn_over_inference_budget(analysis: Analysis) -> None:
    result = analysis.best_result or {}
    cost = result.get("inference_cost")
    measured = (
        f"costs ${cost:.6f} per instance" if isinstance(cost, float) and cost < float("inf") else "was stopped early"
    )
    warnings.warn(
        f"no configuration fits the inference budget of ${analysis.inference_budget} per instance: returning the "
        f"best of the {len(analysis.trials)} tried, which {measured} (analysis.inference_budget_met is False). "
        "Raise inference_budget or num_samples, or narrow the space (smaller n / max_tokens).",
        InferenceBudgetWarning,
        stacklevel=4,  # the caller of oai.Completion.tune
    )


def test(
    engine: Engine,
    *,
    chat: bool,
    data: list[dict],
    config: dict,
    eval_func: Callable[..., dict] | None = None,
    use_cache: bool = True,
    agg_method: Any = "avg",
    return_responses_and_per_instance_result: bool = False,
    logging_level: int = logging.WARNING,
    concurrency: int = DEFAULT_CONCURRENCY,
    use_ray: bool = False,
    ray_options: dict | None = None,
) -> dict | tuple:
    """Evaluate ``config`` on ``data``: one ``create`` per instance (in parallel), eval_func, aggregation.

    Args:
        engine: the engine that sends requests; chat: use the chat endpoint.
        data: the test data; config: ``create`` arguments (e.g. what :func:`tune` returned).
        eval_func: ``eval_func(responses, **instance) -> dict``; defaults to the last tune's on this engine.
        use_cache: use cached responses.
        agg_method: ``"avg"``, ``"median"``, a callable, or a dict of callables by metric.
        return_responses_and_per_instance_result: also return per-instance results and responses.
        logging_level: level of this run's ``ecoptigen.tuning`` log messages.
        concurrency: requests in flight at once (eval_func runs on the same threads).
        use_ray: run eval_func as Ray tasks (see :mod:`ecoptigen.distributed`); ray_options: their options.

    Returns:
        The aggregated metrics plus ``cost`` (dollars of all responses) and ``inference_cost`` (per
        instance); with ``return_responses_and_per_instance_result``, ``(aggregated, results, responses)``.

    Raises:
        ConfigurationError: no eval_func and no earlier tune, empty data, an unknown agg_method, use_ray
            without Ray installed.
        SandboxError: with use_ray, a node of the cluster cannot run bubblewrap.

    Example:
        >>> import tempfile
        >>> from ecoptigen import oai, sim
        >>> def ev(responses, **instance): return {"success": bool(responses[0])}
        >>> with sim.serve() as server, tempfile.TemporaryDirectory() as folder:
        ...     result = test(oai.CompletionEngine(cache_path_root=folder), chat=True,
        ...                   data=[{"q": "hi"}], eval_func=ev, config={"model": "gpt-4o-mini",
        ...                   "prompt": "{q}", "base_url": server.base_url, "api_key": "sk-sim"})
        >>> sorted(result)
        ['cost', 'inference_cost', 'success']
    """
    config, eval_func, _ = resolve_test_call(engine, config, eval_func, {})
    if isinstance(agg_method, dict):
        check_metric_names(agg_method, eval_func, "agg_method's metric")
    check_known(config, create_options() | set(TEST_OPTIONS), "test")
    _refuse_raise_option(config, "test")
    if not isinstance(data, list) or not data:
        raise ConfigurationError("data is empty: give at least one data instance to test on.")
    check_use_ray(use_ray, ray_options)
    with (
        run_context.activated(memory=RunMemory(), log_level=logging_level),
        eval_executor(use_ray, concurrency, ray_options, eval_func) as executor,
    ):
        return run_test(
            functools.partial(engine.create, chat=chat),
            data,
            config,
            eval_func,
            use_cache=use_cache,
            agg_method=agg_method,
            return_responses_and_per_instance_result=return_responses_and_per_instance_result,
            concurrency=concurrency,
            executor=executor,
        )


def test_facade(
    engine: Engine, *, chat: bool, data: list[dict], config: Any = None, eval_func: Any = None, **kwargs: Any
) -> dict | tuple:
    """What ``oai.Completion.test`` calls: accepts both ``test(data, config)`` and
    ``test(data, eval_func, use_cache=..., **config)``; see :func:`resolve_test_call`.

    Example:
        >>> from ecoptigen.oai import CompletionEngine
        >>> def ev(responses, **instance): return {"success": True}
        >>> test_facade(CompletionEngine(), chat=True, data=[], config=ev)
        Traceback (most recent call last):
        ...
        ecoptigen.errors.ConfigurationError: data is empty: give at least one data instance to test on.
    """
    merged, eval_func, options = resolve_test_call(engine, config, eval_func, dict(kwargs))
    return test(engine, chat=chat, data=data, config=merged, eval_func=eval_func, **options)


test.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into a test module
test_facade.__test__ = False  # type: ignore[attr-defined]
