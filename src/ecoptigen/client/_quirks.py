"""Parameters real servers ignore: noticed per endpoint, remembered, and made good.

OpenAI honours every parameter; OpenAI-compatible servers often do not. What ecoptigen does about it:

- **``n`` ignored** (llama.cpp, Ollama) or capped: an answer with fewer choices than asked is topped up
  with further requests, each a paid request of its own (it reserves its worst case and settles like
  any other), carrying distinct ``seed`` values so the extra samples differ. The answers are merged into
  one response (choices re-indexed, ``usage`` and ``cost`` added up), which the engine caches under the
  original request's key. The endpoint's limit is remembered, so later requests to it go out as
  parallel requests of at most that many choices from the start.
- **``n`` refused** (llama.cpp's own ``llama-server`` answers ``n`` other than 1 with an error): the
  request is asked again as single requests; if they are answered, the endpoint gets single requests
  from then on, and if they fail too, their error is raised.
- **``usage`` missing**: the tokens are counted with :mod:`ecoptigen.money.tokens` and the response is
  marked ``cost_estimated``.
- **``seed`` ignored**: when the same seeded extra request is sent again (``use_cache=False``, a cleared
  cache, another cache namespace) and answered differently, the server's sampling does not repeat;
  this is logged once per endpoint. ecoptigen never relies on a server's seed for reproducibility: its
  cache is what makes runs repeat.

Memory is per endpoint and model, lives in a :class:`EndpointQuirks` owned by the engine, and is
safe to use from many threads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import threading
from collections.abc import Callable

from ecoptigen.client._cache import cache_key
from ecoptigen.client._io import Sleep, Steps, Together
from ecoptigen.client._request import PreparedRequest
from ecoptigen.client._responses import Response, extract_text
from ecoptigen.client._retry import RetryPolicy
from ecoptigen.errors import (
    AuthenticationError,
    BudgetExceededError,
    RateLimitError,
    RequestError,
    RequestTimeout,
)
from ecoptigen.money import ledger as spend
from ecoptigen.money import tokens

__all__ = ["EndpointQuirks", "merge_responses", "split_n"]

logger = logging.getLogger("ecoptigen.oai")

SendPaid = Callable[[PreparedRequest, RetryPolicy], Steps[Response]]
# Extra requests of one top-up in flight at once (local servers mostly answer one at a time anyway).
_MAX_PARALLEL = 8
_SEED_RANGE = 2**31  # llama.cpp takes an unsigned 32-bit seed, OpenAI a signed 64-bit one
_MONEY_POLL = 0.005  # seconds between looks at the money held by requests in flight
# Answers to seeded requests remembered per endpoint, to notice a server whose seed does not repeat.
_SEEDED_ANSWERS_KEPT = 1024


@dataclasses.dataclass
class _Known:
    """What one endpoint (and model) has shown it ignores."""

    max_n: int | None = None
    no_usage: bool = False
    ignores_seed: bool = False
    seeded_answers: dict[str, str] = dataclasses.field(default_factory=dict)


def split_n(n: int, cap: int) -> list[int]:
    """Choices to ask for in each request when one request gives at most ``cap`` of them.

    Example:
        >>> split_n(5, 2)
        [2, 2, 1]
    """
    return [min(cap, n - start) for start in range(0, n, cap)]


def merge_responses(parts: list[Response]) -> Response:
    """One response holding every choice of ``parts`` (re-indexed), their usage and cost added up.

    Example:
        >>> a = Response(choices=[{"index": 0, "text": "x"}], usage={"prompt_tokens": 2}, cost=0.1)
        >>> b = Response(choices=[{"index": 0, "text": "y"}], usage={"prompt_tokens": 2}, cost=0.2)
        >>> m = merge_responses([a, b])
        >>> [c["index"] for c in m["choices"]], m["usage"]["prompt_tokens"], round(m["cost"], 3)
        ([0, 1], 4, 0.3)
    """
    choices = [{**choice, "index": i} for i, choice in enumerate(c for p in parts for c in p["choices"])]
    usage = {
        key: sum(int((p.get("usage") or {}).get(key) or 0) for p in parts)
        for key in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    merged = Response({**parts[0], "choices": choices, "usage": usage})
    merged["cost"] = math.fsum(float(p.get("cost", 0.0)) for p in parts)
    if any(p.get("cost_estimated") for p in parts):
        merged["cost_estimated"] = True
    return merged


class EndpointQuirks:
    """Per endpoint and model: how many choices one request gives, and whether usage and seed are honoured."""

    def __init__(self) -> None:
        self._known: dict[tuple, _Known] = {}
        self._lock = threading.Lock()

    def _entry(self, request: PreparedRequest) -> _Known:
        key = (request.endpoint, request.model, request.chat)
        with self._lock:
            return self._known.setdefault(key, _Known())

    def max_n(self, request: PreparedRequest) -> int | None:
        """The most choices one request to this endpoint gave when more were asked (``None``: no limit seen)."""
        return self._entry(request).max_n

    # -- n -------------------------------------------------------------------------------------
    def send(
        self, request: PreparedRequest, policy: RetryPolicy, send_paid: SendPaid, salt: str | None
    ) -> Steps[Response]:
        """Send ``request`` with ``send_paid``, topping its answer up to the ``n`` choices it asks for (steps of
        :mod:`ecoptigen.client._io`).

        Raises:
            RequestError: the endpoint answered a request for one choice with none.
            EcoptigenError: what ``send_paid`` raises for any of the requests (after all have ended).
        """
        n = int(request.body.get("n") or 1)
        known = self._entry(request)
        cap = known.max_n
        parts: list[Response] = []
        if n <= 1 or cap is None or cap >= n:
            try:
                first = yield from send_paid(request, policy)
            except RequestError as refusal:
                if n <= 1 or cap is not None or not _refuses_n(refusal):
                    raise
                return (yield from self._after_refusal(request, policy, send_paid, salt, refusal))
            if len(first["choices"]) >= n:
                return first
            cap = self._learn_cap(request, n, len(first["choices"]))
            parts.append(first)
        return (yield from self._top_up(request, policy, send_paid, salt, parts, cap))

    def _after_refusal(
        self, request: PreparedRequest, policy: RetryPolicy, send_paid: SendPaid, salt: str | None, refusal: Exception
    ) -> Steps[Response]:
        """Ask an endpoint that refused ``n`` > 1 for single choices; if it answers, remember it wants those.

        Raises:
            EcoptigenError: the single requests failed too (their error: the refusal had another cause).
        """
        merged = yield from self._top_up(request, policy, send_paid, salt, [], 1)
        known = self._entry(request)
        with self._lock:
            known.max_n = 1
        logger.warning(
            "%s refused n=%s for %r (%s) but answers n=1: ecoptigen sends it single requests from now on, each "
            "paying for the prompt again.",
            request.endpoint.describe(),
            request.body["n"],
            request.model,
            refusal,
        )
        return merged

    def _top_up(
        self,
        request: PreparedRequest,
        policy: RetryPolicy,
        send_paid: SendPaid,
        salt: str | None,
        parts: list[Response],
        cap: int,
    ) -> Steps[Response]:
        """``parts`` completed to the request's ``n`` choices with extra requests of at most ``cap`` choices."""
        n = int(request.body.get("n") or 1)
        seeds = _seeds(request, salt)
        missing = n - sum(len(p["choices"]) for p in parts)
        while missing > 0:
            sizes = split_n(missing, cap)
            extra = [_part(request, size, next(seeds)) for size in sizes]
            answers = yield from _send_together(extra, policy, send_paid)
            for size, part, answer in zip(sizes, extra, answers, strict=True):
                self._note_seeded(part, answer)
                if len(answer["choices"]) < size:
                    cap = self._learn_cap(request, size, len(answer["choices"]))
            parts += answers
            missing = n - sum(len(p["choices"]) for p in parts)
        return merge_responses(parts)

    def _learn_cap(self, request: PreparedRequest, asked: int, got: int) -> int:
        if got < 1:
            raise RequestError(
                f"{request.endpoint.describe()} answered a request for {asked} choice(s) of {request.model!r} "
                "with none; ecoptigen cannot top that up. Check the server's logs."
            )
        known = self._entry(request)
        with self._lock:
            first_time = known.max_n is None
            known.max_n = got if known.max_n is None else min(known.max_n, got)
        if first_time:
            logger.warning(
                "%s gave %d choice(s) of %r when %d were asked (it ignores or caps n): ecoptigen tops answers "
                "up with further requests, each paying for the prompt again, and sends at most %d per "
                "request to it from now on.",
                request.endpoint.describe(),
                got,
                request.model,
                asked,
                got,
            )
        return got

    # -- seed ----------------------------------------------------------------------------------
    def _note_seeded(self, part: PreparedRequest, answer: Response) -> None:
        """Compare the answer to a seeded request with the answer the same request got before, if any."""
        request_id = cache_key(part.cache_request())
        answer_id = cache_key({"texts": extract_text(answer)})
        known = self._entry(part)
        with self._lock:
            before = known.seeded_answers.get(request_id)
            if before is None and len(known.seeded_answers) < _SEEDED_ANSWERS_KEPT:
                known.seeded_answers[request_id] = answer_id
            if before is None or before == answer_id or known.ignores_seed:
                return
            known.ignores_seed = True
        logger.warning(
            "%s answered the same request for %r with the same seed differently: its sampling does not repeat "
            "(it ignores seed, or is not deterministic), so ecoptigen's cache is the only way to repeat its "
            "answers.",
            part.endpoint.describe(),
            part.model,
        )

    # -- usage ---------------------------------------------------------------------------------
    def with_usage(self, request: PreparedRequest, data: dict) -> dict:
        """``data`` with ``usage`` counted by ecoptigen's tokenizer (and ``cost_estimated``) if it had none."""
        usage = data.get("usage")
        if isinstance(usage, dict) and usage.get("completion_tokens") is not None:
            return data
        prompt = request.prompt_tokens()
        completion = sum(tokens.count_tokens(text, request.model) for text in extract_text(data))
        data["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        data["cost_estimated"] = True
        known = self._entry(request)
        with self._lock:
            first_time, known.no_usage = not known.no_usage, True
        if first_time:
            logger.warning(
                "%s sends no usage for %r: ecoptigen counts the tokens itself with %s, so costs are estimates "
                "(response['cost_estimated'] is True).",
                request.endpoint.describe(),
                request.model,
                tokens.encoding_name_for(request.model),
            )
        return data


def _seeds(request: PreparedRequest, salt: str | None):
    """Distinct seeds for the extra requests, derived from the request so a repeat asks for the same samples."""
    start = int(hashlib.sha256(cache_key(request.cache_request(), salt).encode()).hexdigest()[:8], 16)
    count = 0
    while True:
        yield (start + count) % _SEED_RANGE
        count += 1


def _refuses_n(error: RequestError) -> bool:
    """Whether ``error`` may be a refusal of ``n`` > 1 (llama.cpp's llama-server: "Only one completion choice
    is allowed", a 400 in recent versions, a 500 in some older ones)."""
    if isinstance(error, (AuthenticationError, RateLimitError, RequestTimeout)):
        return False
    return error.status_code in (400, 422) or ((error.status_code or 0) >= 500 and "choice" in str(error).lower())


def _part(request: PreparedRequest, n: int, seed: int) -> PreparedRequest:
    return dataclasses.replace(request, body={**request.body, "n": n, "seed": seed})


def _send_together(parts: list[PreparedRequest], policy: RetryPolicy, send_paid: SendPaid) -> Steps[list[Response]]:
    """Send ``parts`` in parallel; every one has ended (paid or failed) before this returns or raises.

    The choices already paid for would be lost if one part failed for want of money that other
    requests (its siblings first of all) only hold for their worst case, so a refused part waits until
    some of that money is settled and tries again. It gives up when nothing else holds money.
    """

    def send(part: PreparedRequest) -> Steps[Response]:
        while True:
            try:
                return (yield from send_paid(part, policy))
            except BudgetExceededError:
                still_held = spend.held_money_watch(some=True)
                if still_held is None:
                    raise
                while still_held():
                    yield Sleep(_MONEY_POLL)

    outcomes = yield Together([send(part) for part in parts], _MAX_PARALLEL)
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if errors:
        raise spend.first_error(errors)
    return [outcome.value for outcome in outcomes]
