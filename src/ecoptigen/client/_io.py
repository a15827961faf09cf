"""The request pipeline's I/O, asked for and performed: one pipeline for ``create`` and ``acreate``.

The steps of a request (engine, quirks, retries) are generators that never touch the network or the
clock themselves: they ``yield`` what they need done and get the result back::

    Send(request, sending)   one SDK call; the endpoint's HTTP response comes back (or the SDK's error
                             is thrown into the generator)
    Sleep(seconds)           a wait before a retry, or while money held by other requests settles
    Together(parts, limit)   several step generators run at once (at most ``limit``); the outcome of each,
                             its result or its exception, comes back when all have ended

:func:`drive` performs them blocking (``OpenAI`` clients, ``time.sleep``, threads), :func:`adrive` on
the running event loop (``AsyncOpenAI`` clients, ``asyncio.sleep``, tasks). Everything else -- the cache,
the money, the failover, the translation of errors -- is the same code for both. An exception raised
while performing (``KeyboardInterrupt`` and task cancellation included) is thrown into the steps, so
they settle their money exactly as they would for an SDK error.

Example:
    >>> def steps():
    ...     yield Sleep(0.0)
    ...     return "done"
    >>> drive(steps(), BlockingIO(ClientCache()))
    'done'
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import httpx2

from ecoptigen.client._endpoints import AsyncClientCache, ClientCache
from ecoptigen.client._request import PreparedRequest
from ecoptigen.money import ledger as spend

__all__ = ["AsyncIO", "BlockingIO", "Outcome", "Send", "Sleep", "Steps", "Together", "adrive", "drive"]

T = TypeVar("T")
Steps = Generator[Any, Any, T]
"""A generator of pipeline steps: it yields :class:`Send`, :class:`Sleep` or :class:`Together` and returns a ``T``."""


@dataclass(frozen=True)
class Send:
    """One SDK call for ``request``; ``sending()`` runs just before it goes out (after the client is ready)."""

    request: PreparedRequest
    sending: Callable[[], None]


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Together:
    """Run ``parts`` at once, at most ``limit`` at a time, each in a copy of the current context."""

    parts: list[Steps[Any]]
    limit: int


@dataclass(frozen=True)
class Outcome:
    """How one part of a :class:`Together` ended: ``error`` is ``None`` when it returned ``value``."""

    value: Any = None
    error: BaseException | None = None


class BlockingIO:
    """Performs steps in the calling thread: ``OpenAI`` clients from ``clients``, ``time.sleep``."""

    def __init__(self, clients: ClientCache, sleep: Callable[[float], None] = time.sleep):
        self.clients = clients
        self.sleep = sleep

    def send(self, step: Send) -> httpx2.Response:
        with self.clients.lease(step.request.endpoint) as client:
            api = client.chat.completions if step.request.chat else client.completions
            arguments = sdk_arguments(api.create, step.request)
            step.sending()
            # The raw response skips building pydantic objects only to turn them back into a dict; the SDK
            # still builds the request, authenticates, and raises its errors for bad statuses.
            return api.with_raw_response.create(**arguments).http_response


class AsyncIO:
    """Performs steps on the running event loop: ``AsyncOpenAI`` clients from ``clients``, ``asyncio.sleep``."""

    def __init__(self, clients: AsyncClientCache):
        self.clients = clients

    async def send(self, step: Send) -> httpx2.Response:
        async with self.clients.lease(step.request.endpoint) as client:
            api = client.chat.completions if step.request.chat else client.completions
            arguments = sdk_arguments(api.create, step.request)
            step.sending()
            raw = await api.with_raw_response.create(**arguments)
            return raw.http_response


def sdk_arguments(create: Callable, request: PreparedRequest) -> dict[str, Any]:
    """The keyword arguments of the SDK's ``create`` that send ``request.body`` as it is."""
    known = _parameters(create)
    arguments = {k: v for k, v in request.body.items() if k in known}
    # Fields of the other endpoint kind (checked against both before sending) and the caller's own
    # extra_body travel in the body, as the SDK sends fields it does not know.
    extra = {k: v for k, v in request.body.items() if k not in known}
    extra.update(arguments.pop("extra_body", None) or {})
    return {**arguments, "extra_body": extra or None, "timeout": request.timeout}


@lru_cache(maxsize=8)
def _parameters(create: Callable) -> frozenset[str]:
    return frozenset(inspect.signature(create).parameters)


def drive(steps: Steps[T], io: BlockingIO) -> T:
    """Run ``steps`` to the end, performing what they ask for with ``io``; returns what they return."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value
        value, error = None, None
        try:
            if isinstance(step, Send):
                value = io.send(step)
            elif isinstance(step, Sleep):
                io.sleep(step.seconds)
            else:
                value = _together(step, io)
        except BaseException as exc:  # thrown into the steps, which settle their money and re-raise
            error = exc


def _together(step: Together, io: BlockingIO) -> list[Outcome]:
    def run(part: Steps[Any]) -> Outcome:
        try:
            return Outcome(drive(part, io))
        except Exception as exc:
            return Outcome(error=exc)

    if len(step.parts) == 1:
        return [run(step.parts[0])]
    in_this_context = spend.run_in_context(run)  # wrapped here: a pool thread's own context has no ledgers
    with ThreadPoolExecutor(max_workers=min(len(step.parts), step.limit)) as pool:
        return list(pool.map(in_this_context, step.parts))


async def adrive(steps: Steps[T], io: AsyncIO) -> T:
    """:func:`drive` on the running event loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.send(value) if error is None else steps.throw(error)
        except StopIteration as done:
            return done.value
        value, error = None, None
        try:
            if isinstance(step, Send):
                value = await io.send(step)
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                value = await _atogether(step, io)
        except BaseException as exc:  # cancellation too: the steps keep a hold for an attempt in flight
            error = exc


async def _atogether(step: Together, io: AsyncIO) -> list[Outcome]:
    slots = asyncio.Semaphore(step.limit)

    async def run(part: Steps[Any]) -> Outcome:
        async with slots:
            try:
                return Outcome(await adrive(part, io))
            except Exception as exc:
                return Outcome(error=exc)

    # gather wraps each in a task, which runs in a copy of the current context
    return list(await asyncio.gather(*(run(part) for part in step.parts)))
