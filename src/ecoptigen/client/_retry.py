"""ecoptigen's one retry policy: exponential backoff with jitter, honouring ``Retry-After``.

Waits are never silent: :class:`RetryLog` logs each one (a WARNING for the first of a burst, INFO for
the rest) and announces it to progress displays (:mod:`ecoptigen.run_context._waiting`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ecoptigen import run_context
from ecoptigen.client._errors import Failure
from ecoptigen.client._io import Sleep, Steps

__all__ = ["RetryLog", "RetryPolicy", "call_with_retries", "retrying"]

logger = logging.getLogger("ecoptigen.oai")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry.

    Attributes:
        retry_timeout: seconds after the first attempt during which new attempts may start.
        retry_time: the longest single wait between attempts (FLAML's ``retry_time``).
        first_wait: the wait after the first failure; it doubles after each further failure.
    """

    retry_timeout: float = 120.0
    retry_time: float = 10.0
    first_wait: float = 0.5

    def wait_before(self, attempt: int, failure: Failure, rng: random.Random) -> float:
        """Seconds to wait before attempt number ``attempt`` (2 is the first retry)."""
        if failure.retry_after is not None:
            return min(failure.retry_after, max(self.retry_timeout, 0.0))
        backoff = min(self.retry_time, self.first_wait * 2 ** (attempt - 2))
        return rng.uniform(backoff / 2, backoff)  # jitter spreads out clients that failed together


def retrying(
    attempt: Callable[[], Steps[T]],
    on_failure: Callable[[BaseException], Failure],
    policy: RetryPolicy,
    on_wait: Callable[[Failure, float, int], None] | None = None,
) -> Steps[T]:
    """Steps (see :mod:`ecoptigen.client._io`) that run ``attempt`` until it succeeds, a failure is not
    retryable, or ``retry_timeout`` is used up.

    ``on_failure`` translates an exception into a :class:`Failure` (and may settle money); exceptions it
    does not handle propagate unchanged. ``on_wait(failure, seconds, next_attempt)`` is called before
    every wait, so the wait can be logged and shown.

    Raises:
        EcoptigenError: the translated error of the last failed attempt.
    """
    start = time.monotonic()
    rng: random.Random | None = None
    number = 1
    while True:
        try:
            return (yield from attempt())
        except Exception as exc:
            failure = on_failure(exc)
            if not failure.retryable:
                raise failure.error from exc
            number += 1
            rng = rng or random.Random()
            wait = policy.wait_before(number, failure, rng)
            if time.monotonic() - start + wait > policy.retry_timeout:
                raise failure.error from exc
            if on_wait is not None:
                on_wait(failure, wait, number)
            yield Sleep(wait)


def call_with_retries(
    attempt: Callable[[], T],
    on_failure: Callable[[BaseException], Failure],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[Failure, float, int], None] | None = None,
) -> T:
    """:func:`retrying` for a plain function ``attempt``, waiting with ``sleep``.

    Raises:
        EcoptigenError: the translated error of the last failed attempt.
    """

    def steps() -> Steps[T]:
        return attempt()
        yield  # a generator that asks for nothing: the only steps left are the waits

    waits = retrying(steps, on_failure, policy, on_wait)
    try:
        while True:
            sleep(next(waits).seconds)
    except StopIteration as done:
        return done.value


class RetryLog:
    """Logs and announces retry waits: a WARNING for the first wait of a burst, INFO for each one after.

    A burst ends after ``quiet`` seconds without a wait. One per engine; thread-safe.

    Example:
        >>> from ecoptigen.errors import RateLimitError
        >>> log = RetryLog()
        >>> log(Failure(RateLimitError("429"), True, cause="rate limit"), 2.0, 2, "api.openai.com")
    """

    def __init__(self, quiet: float = 60.0):
        self.quiet = quiet
        self._last_wait = -float("inf")
        self._lock = threading.Lock()

    def __call__(self, failure: Failure, seconds: float, attempt: int, where: str) -> None:
        now = time.monotonic()
        with self._lock:
            first_of_burst = now - self._last_wait > self.quiet
            self._last_wait = now
        level = logging.WARNING if first_of_burst else logging.INFO
        more = " (further retries of this burst are logged at INFO)" if first_of_burst else ""
        logger.log(
            level, "%s from %s; waiting %.3g s before attempt %d%s", failure.cause, where, seconds, attempt, more
        )
        run_context.announce(failure.cause, seconds)
