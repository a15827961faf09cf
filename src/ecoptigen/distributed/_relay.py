"""The driver makes the requests of eval_funcs running on workers: a relay actor between the two.

A worker has no API key. A ``create`` called by eval_func on a worker is a *call* to the relay, an
actor placed on the driver's node that holds no key either: it queues the request and waits. A pump
thread in the driver takes queued requests, makes each with ``oai.Completion.create`` /
``oai.ChatCompletion.create`` -- through the driver's cache, charged to the ledgers of the trial that
submitted the eval_func call -- and hands the answer back to the relay, which returns it to the worker::

    worker: eval_func -> create -> relay.call(key, ...) ........ waits ........ answer
                                        |                                         ^
    driver node:                    [relay actor]  <- take --  pump thread  -- answer
                                                                  |
                                                   create(...) in the trial's context (key, cache, ledger)

Exactly once: each request is named by the eval_func call it belongs to (a fresh id per call the
driver submits), a digest of its arguments and how many identical requests that call made before it.
When Ray runs a call again (its node was lost), the repeated requests get the first answers, so
nothing is paid twice and the ledger sees each request once, as in a local run.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import pickle
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ecoptigen.errors import BudgetExceededError
from ecoptigen.money import ledger as spend
from ecoptigen.run_context import receive

__all__ = ["Answer", "RelayClient", "RelayPump", "RequestRelay", "portable"]

logger = logging.getLogger("ecoptigen.distributed")

_TAKE_WAIT = 0.2  # seconds the pump's long poll waits for requests before checking whether to stop


@dataclass
class Answer:
    """What a request (or an eval_func call) produced: a value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (to cross to another process), else a RuntimeError that describes it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    return exc


class RequestRelay:
    """The relay actor (made a Ray actor by the executor): requests queued by workers, answers from the driver."""

    def __init__(self) -> None:
        self._answers: dict[str, dict[str, asyncio.Future]] = {}
        self._queued: list[tuple[str, str, Any]] = []
        self._arrived = asyncio.Event()

    async def call(self, call_id: str, key: str, payload: Any) -> Answer:
        """Queue a request for the driver (once per ``(call_id, key)``) and wait for its answer."""
        answers = self._answers.setdefault(call_id, {})
        future = answers.get(key)
        if future is None:
            future = answers[key] = asyncio.get_running_loop().create_future()
            self._queued.append((call_id, key, payload))
            self._arrived.set()
        return await asyncio.shield(future)

    async def take(self, wait: float) -> list[tuple[str, str, Any]]:
        """The requests queued since the last take (waiting up to ``wait`` seconds for one)."""
        if not self._queued:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        queued, self._queued = self._queued, []
        self._arrived.clear()
        return queued

    async def answer(self, call_id: str, key: str, answer: Answer) -> None:
        future = self._answers.get(call_id, {}).get(key)
        if future is not None and not future.done():
            future.set_result(answer)

    async def forget(self, call_ids: list[str]) -> None:
        """Drop the answers of finished eval_func calls."""
        for call_id in call_ids:
            self._answers.pop(call_id, None)


def _describe(value: Any) -> str:
    """A name for values JSON cannot hold (callables), the same in every process."""
    return f"<{type(value).__module__}.{getattr(value, '__qualname__', type(value).__qualname__)}>"


class RelayClient:
    """The worker's ``create`` while an eval_func call runs there (see :mod:`ecoptigen.run_context._forwarding`)."""

    def __init__(self, ray: Any, relay: Any, call_id: str):
        self._ray, self._relay, self._call_id = ray, relay, call_id
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, chat: bool, context: Any, kwargs: dict[str, Any]) -> Any:
        payload = (chat, context, kwargs)
        text = json.dumps(payload, sort_keys=True, default=_describe)
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        with self._lock:
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        answer = self._ray.get(self._relay.call.remote(self._call_id, f"{digest}/{occurrence}", payload))
        return answer.unwrap()


def _send(payload: Any) -> Answer:
    """Make a relayed request. One refused only because requests in flight hold money for their worst
    case waits here for them to settle and tries again, as the tuner's own requests do: refused at once,
    it would fail its eval_func call, and with it the tuning, for money that is not spent."""
    chat, context, kwargs = payload
    while True:
        try:
            return Answer(receive(chat, context, kwargs))
        except BudgetExceededError as exc:
            if not spend.wait_for_held_money():
                return Answer(error=portable(exc))
        except Exception as exc:
            return Answer(error=portable(exc))


class RelayPump:
    """The driver's side: takes requests from the relay and makes them in the submitting trial's context.

    Thread safety: :meth:`open_calls` and :meth:`close_calls` may be called from any thread.
    """

    def __init__(self, ray: Any, relay: Any, concurrency: int):
        self._ray, self._relay = ray, relay
        self._contexts: dict[str, contextvars.Context] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ecoptigen-relay")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecoptigen-relay-pump", daemon=True)
        self._thread.start()

    def open_calls(self, call_ids: list[str], context: contextvars.Context) -> None:
        """Requests of these eval_func calls are made in ``context`` (the ledgers active in it pay)."""
        with self._lock:
            self._contexts.update(dict.fromkeys(call_ids, context))

    def close_calls(self, call_ids: list[str]) -> None:
        with self._lock:
            for call_id in call_ids:
                self._contexts.pop(call_id, None)
        self._relay.forget.remote(call_ids)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                queued = self._ray.get(self._relay.take.remote(_TAKE_WAIT))
            except self._ray.exceptions.RayActorError:
                # The relay is gone (its node with it): the calls waiting on it fail, and so does the run.
                logger.error("the request relay actor died; eval_func calls that make requests will fail")
                return
            except Exception:
                if not self._stop.is_set():
                    logger.exception("taking requests from the relay failed; trying again")
                    time.sleep(_TAKE_WAIT)
                continue
            for call_id, key, payload in queued:
                self._pool.submit(self._serve, call_id, key, payload)

    def _serve(self, call_id: str, key: str, payload: Any) -> None:
        with self._lock:
            context = self._contexts.get(call_id)
        if context is None:  # the call was given up (its trial ended): nothing may be charged for it now
            answer = Answer(error=RuntimeError("this eval_func call was abandoned by the tuning"))
        else:
            answer = context.copy().run(_send, payload)
        self._relay.answer.remote(call_id, key, answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)
