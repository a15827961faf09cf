"""``CompletionEngine``: the object behind ``oai.Completion``; it sends, caches, retries and accounts.

A request goes through small steps, one concern each::

    create / acreate            drive the steps below, blocking or on the event loop (see _io.py)
     └─ _create_steps           prepare every config before sending; -1 for FLAML's raise=False
         └─ _failover           config_list failover, filter_func, summed cost
             └─ _create_one     cache lookup / store, history
                 └─ quirks.send     n choices even from servers that ignore n (see _quirks.py)
                     └─ _send_paid  hold money on every active ledger, settle on usage; retries;
                                    errors translated by translate_sdk_error; an endpoint that never
                                    answered and cannot be connected to fails at once
                         └─ Send    one SDK call, performed by _io.BlockingIO or _io.AsyncIO

The steps are generators that yield the I/O they need (:mod:`ecoptigen.client._io`), so ``create`` and
``acreate`` share every step and differ only in how a request is sent and how a wait is waited.
Every method may be called from many threads (and ``acreate`` from many tasks) at once. An engine owns
its SDK clients and response caches; :meth:`CompletionEngine.close` (or leaving a ``with`` block) closes
them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2
import openai

from ecoptigen.client._cache import ResponseCache, cache_key
from ecoptigen.client._config_list import call_filter, merged_configs, none_reachable
from ecoptigen.client._endpoints import AsyncClientCaches, ClientCache, Endpoint
from ecoptigen.client._errors import CANNOT_CONNECT, Failure, never_answered, translate_sdk_error
from ecoptigen.client._io import AsyncIO, BlockingIO, Send, Steps, adrive, drive
from ecoptigen.client._keywords import check_known, config_options
from ecoptigen.client._quirks import EndpointQuirks
from ecoptigen.client._request import PreparedRequest, prepare
from ecoptigen.client._responses import Response
from ecoptigen.client._retry import RetryLog, RetryPolicy, retrying
from ecoptigen.errors import (
    AuthenticationError,
    EndpointUnreachableError,
    RequestError,
    RetryableError,
)
from ecoptigen.money import catalog as models
from ecoptigen.money import ledger as spend
from ecoptigen.money import prices as pricing

__all__ = ["DEFAULT_SETTINGS", "CompletionEngine"]

logger = logging.getLogger("ecoptigen.oai")

DEFAULT_SETTINGS = {"request_timeout": 60.0, "retry_timeout": 120.0, "retry_time": 10.0}
# Failing over from a config of a config_list to the next: one attempt, then move on.
_FAILOVER_POLICY = RetryPolicy(retry_timeout=0.0)


class CompletionEngine:
    """Sends completion and chat requests with caching, retries, failover and spend accounting.

    Args:
        cache_seed: the cache namespace used when a request's config has no ``seed``.
        cache_path_root: the folder holding one cache subfolder per seed.
        chat_models: extra model names to send to the chat endpoint.
        price_table: USD per 1K tokens by model, the engine's own (defaults to a fresh copy of
            :data:`ecoptigen.money.catalog.PRICE_1K`).
        settings: defaults for ``request_timeout``, ``retry_timeout`` and ``retry_time`` (see
            :data:`DEFAULT_SETTINGS`) used when a request's config does not give them.
        max_clients: SDK clients kept open at once (one per endpoint).

    Example:
        >>> engine = CompletionEngine(cache_path_root=".cache")
        >>> engine.usage.paid
        0.0
    """

    def __init__(
        self,
        cache_seed: Any = 41,
        cache_path_root: str = ".cache",
        chat_models: set[str] | None = None,
        price_table: dict | None = None,
        settings: dict[str, float] | None = None,
        max_clients: int = 32,
    ):
        self.cache_seed = cache_seed
        self.cache_path_root = cache_path_root
        self.chat_models = chat_models if chat_models is not None else set()
        self.price_table = price_table if price_table is not None else models.price_table()
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self._clients = ClientCache(max_clients)
        self._blocking_io = BlockingIO(self._clients)
        self._async_clients = AsyncClientCaches(max_clients)
        self._answered: set[Endpoint] = set()  # endpoints that answered at least once (any HTTP status)
        self.usage = spend.SpendLedger(name="usage of this engine")
        self.history: dict | None = None
        self._compact_history = True
        self._history_count = 0
        self._caches: dict[str, ResponseCache] = {}
        self._lock = threading.Lock()
        self._warned_unpriced: set[str] = set()
        self._retry_log = RetryLog()
        self._fastest_answer: dict[tuple[str, str], float] = {}
        self.quirks = EndpointQuirks()

    # -- cache -------------------------------------------------------------------------------
    def set_cache(self, seed: Any = 41, cache_path_root: str = ".cache") -> None:
        """Use ``<cache_path_root>/<seed>`` for requests whose config has no ``seed``."""
        self.cache_seed, self.cache_path_root = seed, cache_path_root

    def clear_cache(self, seed: Any = None, cache_path_root: str | None = None) -> None:
        """Delete the cache of ``seed`` (every seed when ``None``) under ``cache_path_root``."""
        root = cache_path_root or self.cache_path_root
        with self._lock:
            for directory in list(self._caches):
                if seed is None or directory == os.path.join(root, str(seed)):
                    self._caches.pop(directory).close()
        target = root if seed is None else os.path.join(root, str(seed))
        shutil.rmtree(target, ignore_errors=True)

    def _cache(self, seed: Any, root: str | None = None) -> ResponseCache:
        directory = os.path.join(root or self.cache_path_root, str(self.cache_seed if seed is None else seed))
        cache = self._caches.get(directory)
        if cache is None:
            with self._lock:
                cache = self._caches.setdefault(directory, ResponseCache(directory))
        return cache

    # -- history -----------------------------------------------------------------------------
    def start_logging(self, history_dict: dict | None = None, compact: bool = True, reset_counter: bool = True):
        """Record every request and response into ``history_dict`` (a new dict when ``None``)."""
        with self._lock:
            self.history = {} if history_dict is None else history_dict
            self._compact_history = compact
            if reset_counter:
                self._history_count = 0

    def stop_logging(self) -> None:
        """Stop recording (as FLAML does, ``logged_history`` is ``None`` afterwards; a dict given to
        :meth:`start_logging` keeps what was recorded)."""
        with self._lock:
            self.history = None

    def _log(self, request: PreparedRequest, response: Response) -> None:
        if self.history is None:
            return
        with self._lock:
            if self.history is None:
                return
            count, self._history_count = self._history_count, self._history_count + 1
            if not self._compact_history:
                self.history[count] = {"request": request.body, "response": dict(response)}
                return
            key = json.dumps(request.body, sort_keys=True, default=str)
            entry = self.history.setdefault(key, {"created_at": [], "cost": [], "responses": []})
            entry["created_at"].append(count)
            entry["cost"].append(response.get("cost"))
            entry["responses"].append(response.get("choices"))

    # -- create ------------------------------------------------------------------------------
    def create(
        self,
        context: dict | None = None,
        *,
        chat: bool = False,
        use_cache: bool = True,
        config_list: list[dict] | None = None,
        filter_func: Callable[..., bool] | None = None,
        raise_on_ratelimit_or_timeout: bool = True,
        allow_format_str_template: bool = True,
        cache_salt: str | None = None,
        **config: Any,
    ) -> Response | int:
        """Send one request (or fail over along ``config_list``) and return the response.

        See :meth:`ecoptigen.oai.Completion.create` for the arguments. ``cache_salt`` is mixed into
        the cache key only, so a tuner can ask again for fresh samples of an identical request.

        Returns:
            The response, or ``-1`` when ``raise_on_ratelimit_or_timeout`` is false and every attempt
            was rate limited or timed out (FLAML's convention, kept for compatibility).
        """
        options = (use_cache, config_list, filter_func, raise_on_ratelimit_or_timeout, allow_format_str_template)
        steps = self._create_steps(context, chat, *options, cache_salt, config)
        return drive(steps, self._blocking_io)

    async def acreate(
        self,
        context: dict | None = None,
        *,
        chat: bool = False,
        use_cache: bool = True,
        config_list: list[dict] | None = None,
        filter_func: Callable[..., bool] | None = None,
        raise_on_ratelimit_or_timeout: bool = True,
        allow_format_str_template: bool = True,
        cache_salt: str | None = None,
        **config: Any,
    ) -> Response | int:
        """:meth:`create` on the running event loop, through ``AsyncOpenAI`` clients.

        The same steps as :meth:`create` (cache, money, retries, failover); only the sending and the
        waiting differ. Cache lookups are local disk reads made on the loop.
        """
        options = (use_cache, config_list, filter_func, raise_on_ratelimit_or_timeout, allow_format_str_template)
        steps = self._create_steps(context, chat, *options, cache_salt, config)
        return await adrive(steps, AsyncIO(await self._async_clients.current()))

    def _create_steps(
        self,
        context: dict | None,
        chat: bool,
        use_cache: bool,
        config_list: list[dict] | None,
        filter_func: Callable[..., bool] | None,
        raise_on_ratelimit_or_timeout: bool,
        allow_format_str_template: bool,
        cache_salt: str | None,
        config: dict[str, Any],
    ) -> Steps[Response | int]:
        for key, value in self.settings.items():
            config.setdefault(key, value)
        configs = [config] if config_list is None else merged_configs(config, config_list)
        for each in configs:
            check_known(each, config_options(), "create")
        prepared = [
            prepare(
                context,
                c,
                chat=chat,
                chat_models=self.chat_models,
                price_table=self.price_table,
                allow_format_str_template=allow_format_str_template,
            )
            for c in configs
        ]
        try:
            if config_list is None:
                return (yield from self._create_one(prepared[0], use_cache, cache_salt, _policy(prepared[0])))
            return (yield from self._failover(prepared, context, use_cache, cache_salt, filter_func))
        except RetryableError:
            if raise_on_ratelimit_or_timeout:
                raise
            return -1

    def _failover(
        self,
        prepared: list[PreparedRequest],
        context: dict | None,
        use_cache: bool,
        cache_salt: str | None,
        filter_func: Callable[..., bool] | None,
    ) -> Steps[Response]:
        total = 0.0
        last = len(prepared) - 1
        unreachable: list[EndpointUnreachableError] = []
        for index, request in enumerate(prepared):
            policy = _policy(request) if index == last else _FAILOVER_POLICY
            try:
                response = yield from self._create_one(request, use_cache, cache_salt, policy)
            except (RetryableError, AuthenticationError, RequestError) as exc:
                if isinstance(exc, EndpointUnreachableError):
                    unreachable.append(exc)
                if index < last:
                    logger.info("config %d of the config_list failed (%s); trying the next", index, exc)
                    continue
                if len(unreachable) == len(prepared) > 1:
                    raise none_reachable(unreachable) from exc
                raise
            total += response["cost"]
            passed = filter_func is None or call_filter(filter_func, context, request.config, response)
            if passed or index == last:
                response["cost"] = total
                response["config_id"] = index
                response["pass_filter"] = passed
                return response
        raise AssertionError("unreachable: the last config either returns or raises")

    def _create_one(
        self, request: PreparedRequest, use_cache: bool, cache_salt: str | None, policy: RetryPolicy
    ) -> Steps[Response]:
        cache = self._cache(request.cache_seed, request.config.get("cache_path_root")) if use_cache else None
        key = cache_key(request.cache_request(), cache_salt) if cache else ""
        cached = cache.get(key) if cache else None
        if cached is not None:
            response = Response(cached)
            response["cost"] = request.cost(response.get("usage"))
            for ledger in (self.usage, *spend.active_ledgers()):
                ledger.record_cache_hit(request.model, response["cost"])
            self._log(request, response)
            return response
        response = yield from self.quirks.send(request, policy, self._send_paid, cache_salt)
        if cache is not None:
            cache.set(key, {k: v for k, v in response.items() if k != "cost"})
        self._log(request, response)
        return response

    def _send_paid(self, request: PreparedRequest, policy: RetryPolicy) -> Steps[Response]:
        """Send with retries, holding the worst case on every active ledger for each attempt.

        A failed attempt's hold is released when the provider cannot have billed it, and otherwise kept
        as an unconfirmed estimate: what answers of this model cost on average until the retry answers,
        then what that retry cost (the same request) -- or nothing, if the retry's answer time shows that
        a dropped connection came too soon to have carried a generation (docs/tuning.md).
        """
        worst_case = request.worst_case_cost() if spend.budget_enforced() else 0.0
        billing = request.config.get("failure_billing", "estimate")
        current: list[spend.Reservations] = []
        lost: list[tuple[spend.Estimates, float | None]] = []  # and when it dropped, if a silent drop
        where = request.endpoint.describe()
        speed_key = (where, request.model)
        started = [0.0]

        def attempt() -> Steps[dict]:
            current[:] = [spend.reserve(worst_case, extra=(self.usage,))]
            started[0] = time.monotonic()
            answer = yield Send(request, sending=lambda: started.__setitem__(0, time.monotonic()))
            self._answered.add(request.endpoint)
            return self.quirks.with_usage(request, _completion_data(answer))

        def on_failure(exc: BaseException) -> Failure:
            if not isinstance(exc, openai.OpenAIError):
                raise exc  # BudgetExceededError from reserve (nothing held), or a bug: see below
            failure = translate_sdk_error(exc, where, request.endpoint.credentials_hint)
            if isinstance(exc, openai.APIStatusError):
                self._answered.add(request.endpoint)
            elif failure.cause == CANNOT_CONNECT and request.endpoint not in self._answered:
                failure = never_answered(failure, request.endpoint)
            hold, seconds = current.pop(), time.monotonic() - started[0]
            silent = failure.billed == "maybe" and failure.cause == "connection dropped"
            if silent and self._too_soon(seconds, speed_key):
                failure = dataclasses.replace(failure, billed="no")
            if failure.billed == "no" or billing == "none":
                hold.release()
            else:
                estimate = worst_case if billing == "worst_case" else self._plausible_cost(request, worst_case)
                lost.append((hold.keep_as_estimate(estimate, request.model), seconds if silent else None))
            return failure

        try:
            data = yield from retrying(
                attempt, on_failure, policy, on_wait=lambda f, s, n: self._retry_log(f, s, n, where)
            )
        except BaseException:
            for hold in current:  # interrupted between sending and answering: the attempt may be billed
                hold.keep_as_estimate(worst_case, request.model)
            raise
        self._note_answer_time(speed_key, time.monotonic() - started[0])
        response = Response(data)
        response["cost"] = request.cost(data.get("usage"))
        choices = data.get("choices")
        current.pop().settle(response["cost"], request.model, data.get("usage"), len(choices or ()))
        if math.isnan(response["cost"]):
            self._warn_unpriced(request.model)
        elif billing == "estimate":
            for estimate, dropped_after in lost:
                # the same request, answered: its answer time and cost are the best figures for a lost one
                too_soon = dropped_after is not None and self._too_soon(dropped_after, speed_key)
                estimate.revise(0.0 if too_soon else min(response["cost"], worst_case))
        return response

    def _note_answer_time(self, key: tuple[str, str], seconds: float) -> None:
        with self._lock:
            if seconds < self._fastest_answer.get(key, math.inf):
                self._fastest_answer[key] = seconds

    def _too_soon(self, seconds: float, key: tuple[str, str]) -> bool:
        """Whether a connection closed before any byte of the answer after ``seconds`` cannot have carried a
        finished generation (providers bill finished ones): it took less than half the time of the fastest
        answer this endpoint gave for this model -- half, because that answer may have included opening
        the connection. ``False`` while no answer time is known."""
        return seconds < 0.5 * self._fastest_answer.get(key, 0.0)

    def _plausible_cost(self, request: PreparedRequest, worst_case: float) -> float:
        """What a lost attempt probably cost: ``n`` completions at this model's average so far, at most
        the worst case (the worst case itself before any answer of the model was paid)."""
        per_completion = self.usage.per_completion(request.model)
        if per_completion is None:
            return worst_case
        return min(worst_case, per_completion * pricing.billed_completions(request.body))

    def _warn_unpriced(self, model: str) -> None:
        with self._lock:
            if model in self._warned_unpriced:
                return
            self._warned_unpriced.add(model)
        logger.warning(
            "model %r has no price: its cost is reported as unknown (nan). Add it with "
            "oai.Completion.price1K[%r] = (input_usd_per_1k, output_usd_per_1k).",
            model,
            model,
        )

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the engine's SDK clients and response caches (they reopen if it is used again).

        ``AsyncOpenAI`` clients belong to their event loop: they are closed when ``asyncio.run`` ends it,
        or now by :meth:`aclose` called on the loop.
        """
        self._clients.close()
        self._async_clients.forget()
        with self._lock:
            caches, self._caches = list(self._caches.values()), {}
        for cache in caches:
            cache.close()

    async def aclose(self) -> None:
        """:meth:`close`, closing the running event loop's ``AsyncOpenAI`` clients now."""
        await self._async_clients.aclose()
        self.close()

    def __enter__(self) -> CompletionEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reporting ---------------------------------------------------------------------------
    def usage_summary(self) -> str:
        """A table of requests, cache hits, tokens and dollars per model, paid vs saved by the cache.

        ``cached`` counts prompt tokens the provider served from its prompt cache (billed at the cached
        price), ``reasoning`` the hidden reasoning tokens among the completion tokens (billed as output).
        """
        snapshot = self.usage.summary()
        lines = [
            f"{'model':<28}{'requests':>9}{'cache hits':>11}{'tokens':>11}{'cached':>9}{'reasoning':>10}"
            f"{'paid $':>12}{'saved $':>11}"
        ]
        for model, u in sorted(snapshot["models"].items()):
            paid = f"{u['paid']:.6f}" + ("+?" if u["unpriced_requests"] else "")
            lines.append(
                f"{model:<28}{u['requests']:>9}{u['cache_hits']:>11}{u['prompt_tokens'] + u['completion_tokens']:>11}"
                f"{u['cached_tokens']:>9}{u['reasoning_tokens']:>10}{paid:>12}{u['saved_by_cache']:>11.6f}"
            )
        unconfirmed = snapshot["unconfirmed"]
        lost = f" (+${unconfirmed:.6f} unconfirmed: answers lost, maybe billed)" if unconfirmed else ""
        lines.append(f"total paid ${snapshot['paid']:.6f}{lost}; cache hits saved ${snapshot['saved_by_cache']:.6f}")
        return "\n".join(lines)


def _completion_data(answer: httpx2.Response) -> dict:
    """The completion in an endpoint's 2xx answer.

    Raises:
        openai.APIResponseValidationError: the answer is not a completion (translated like any SDK error).
    """
    try:
        data = json.loads(answer.content)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise openai.APIResponseValidationError(
            response=answer, body=answer.text, message="the response is not a completion"
        )
    return data


def _policy(request: PreparedRequest) -> RetryPolicy:
    return RetryPolicy(
        retry_timeout=float(request.config["retry_timeout"]), retry_time=float(request.config["retry_time"])
    )
