"""The OpenAI protocol, simulated: validate a request, draw faults, generate choices, bill usage.

:class:`Simulator` knows nothing about sockets: ``handle(method, path, headers, body)`` returns a
:class:`Reply`. The HTTP plumbing lives in :mod:`ecoptigen.sim._http`.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models
from ecoptigen.money import tokens
from ecoptigen.sim import _behaviour, _billing, _capabilities
from ecoptigen.sim._prices import PRICES_1K
from ecoptigen.sim._prompt_cache import CachePolicy, PromptCache, prompt_token_ids

__all__ = ["BILLED_FAULTS", "FAULT_KINDS", "Reply", "Simulator"]

FAULT_KINDS = ("429", "500", "503", "hang", "disconnect", "malformed", "truncated")
# Faults that strike after the answer was generated: billed, as a real provider bills them, and lost.
BILLED_FAULTS = frozenset({"hang", "malformed", "truncated"})
_FAULT_RETRY_AFTER = 0.05  # seconds a simulated 429 fault asks the client to wait


@dataclass
class Reply:
    """What to send back: a JSON body, or one of the transport faults ``hang`` / ``disconnect``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    transport_fault: str | None = None
    raw: bytes | None = None
    billed: float = 0.0  # dollars the answer was billed
    sample: tuple[str, int] | None = None  # (request, occurrence) of a seeded answer, to draw again if it is lost


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message)
        self.reply = Reply(status, {"error": {"message": message, "type": type_, "param": param, "code": code}})


class _RateWindow:
    """Requests and tokens of one model in the last 60 seconds."""

    def __init__(self) -> None:
        self.events: deque[tuple[float, int]] = deque()

    def usage(self, now: float) -> tuple[int, int]:
        while self.events and now - self.events[0][0] >= 60:
            self.events.popleft()
        return len(self.events), sum(t for _, t in self.events)

    def wait(self, now: float) -> float:
        return max(0.0, 60 - (now - self.events[0][0])) if self.events else 0.0


def _served_models() -> dict[str, models.ModelInfo]:
    return {name: info for name, info in models.MODELS.items() if name in PRICES_1K}


class Simulator:
    """A simulated OpenAI-compatible provider. Thread-safe."""

    def __init__(
        self,
        seed: int | None = None,
        latency: float = 0.0,
        per_token_latency: float = 0.0,
        faults: dict[str, float] | None = None,
        rate_limits: dict[str, dict[str, int]] | None = None,
        api_key: str | None = None,
        fault_plan: list[str | None] | None = None,
        prompt_cache: CachePolicy | bool = True,
    ):
        self.seed = seed
        self.latency = float(latency)
        self.per_token_latency = float(per_token_latency)
        self.faults = _validate_faults(faults or {})
        self.fault_plan = list(fault_plan or [])
        unknown = {f for f in self.fault_plan if f is not None} - set(FAULT_KINDS)
        if unknown:
            raise ConfigurationError(
                f"unknown fault kinds {sorted(unknown)} in fault_plan; use some of {list(FAULT_KINDS)}"
            )
        self.rate_limits = rate_limits or {}
        self.api_key = api_key
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._occurrences: dict[str, int] = defaultdict(int)  # identical requests sampled so far
        self._lost: dict[str, list[int]] = {}  # their samples whose answers were lost, to draw again
        self._fault_occurrences: dict[str, int] = defaultdict(int)
        self._windows: dict[str, _RateWindow] = defaultdict(_RateWindow)
        self._fault_rng = random.Random(None if seed is None else f"faults|{seed}")
        policy = prompt_cache if isinstance(prompt_cache, CachePolicy) else CachePolicy()
        self.prompt_cache = PromptCache(policy, seed) if prompt_cache else None
        _behaviour.prepare()
        self.reset_stats()

    # -- statistics ------------------------------------------------------------------------
    def reset_stats(self) -> None:
        with self._lock:
            self._stats: dict[str, Any] = {
                "requests": 0,
                "errors": 0,
                "billed_but_lost": 0,
                "billed_but_lost_usd": 0.0,
                "repeated_requests": 0,
                "total_billed_usd": 0.0,
                "models": {},
            }

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._stats))

    def _count(self, model: str | None, error: bool, usage: dict | None = None, billed: float = 0.0) -> None:
        with self._lock:
            self._stats["requests"] += 1
            self._stats["errors"] += int(error)
            if model is None or error:
                return
            entry = self._stats["models"].setdefault(model, _billing.new_model_stats())
            entry["requests"] += 1
            _billing.add_to_stats(entry, usage)
            entry["billed_usd"] += billed
            self._stats["total_billed_usd"] += billed

    # -- request handling ------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (``headers`` with lower-case names)."""
        model = None
        try:
            self._authenticate(headers)
            route, model = self._route(method, target)
            if route == "models":
                return Reply(200, {"object": "list", "data": [_model_card(m) for m in _served_models()]})
            request = _parse_json(body)
            model = model or request.get("model")
            reply = self._complete(route, model, request, _caller_key(headers))
        except _ApiError as error:
            self._count(model, error=True)
            return error.reply
        return reply

    def _authenticate(self, headers: dict[str, str]) -> None:
        if self.api_key is None:
            return
        given = headers.get("api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if given != self.api_key:
            raise _ApiError(401, "Incorrect API key provided (simulated endpoint).", code="invalid_api_key")

    def _route(self, method: str, target: str) -> tuple[str, str | None]:
        path = urlsplit(target).path.rstrip("/")
        if method == "GET" and path.endswith("/models"):
            return "models", None
        if method != "POST":
            raise _ApiError(405, f"{method} {path} is not supported by the simulated endpoint.")
        parts = path.split("/")
        if "deployments" in parts:  # Azure: /openai/deployments/{name}/(chat/)completions?api-version=
            if "api-version" not in parse_qs(urlsplit(target).query):
                raise _ApiError(404, "Resource not found (Azure requests need ?api-version=).")
            model = _deployed_model(parts[parts.index("deployments") + 1])
        else:
            model = None
        if path.endswith("/chat/completions"):
            return "chat", model
        if path.endswith("/completions"):
            return "completions", model
        raise _ApiError(404, f"Unknown path {path} (simulated endpoint).")

    def _complete(self, route: str, model: Any, request: dict, caller: str = "") -> Reply:
        info = _served_models().get(models.base_model_name(str(model))) if model else None
        if info is None:
            raise _ApiError(404, f"The model `{model}` does not exist (simulated endpoint).", code="model_not_found")
        chat = route == "chat"
        if chat and info.kind != "chat":
            raise _ApiError(404, f"{info.name} is not a chat model; use v1/completions.", code="model_not_found")
        if not chat and info.kind == "chat":
            raise _ApiError(400, f"{info.name} is a chat model and not supported in the v1/completions endpoint.")
        refused = _capabilities.refusal(info.name, request, chat)
        if refused is not None:
            raise _ApiError(400, refused.message, code=refused.code, param=refused.param)
        params = _validate(request, chat, info)
        params["temperature"] = _capabilities.temperature(info.name, params["temperature"])
        fault = self._draw_fault(request)
        if fault is not None and fault not in BILLED_FAULTS:
            self._count(info.name, error=True)
            return _fault_reply(fault)
        self._check_rate_limit(info.name, params["prompt_tokens"] + params["max_tokens"] * params["generate"])
        reply = self._generate(info, request, params, chat, caller)
        if fault is None:
            return reply
        self.lost(reply)
        lost = _fault_reply(fault)
        if fault == "truncated":
            lost.raw = json.dumps(reply.body).encode()
        return lost

    def _draw_fault(self, request: dict) -> str | None:
        """The fault of this attempt, if any. Seeded, it depends only on the request and how many identical
        requests came before (as answers do), so concurrent clients meet the same faults in every run."""
        with self._lock:
            if self.fault_plan:
                return self.fault_plan.pop(0)
        if not self.faults:
            return None
        if self.seed is None:
            with self._lock:
                roll = self._fault_rng.random()
        else:
            canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
            with self._lock:
                attempt = self._fault_occurrences[canonical]
                self._fault_occurrences[canonical] += 1
            roll = random.Random(f"faults|{self.seed}|{attempt}|{canonical}").random()
        for kind, probability in self.faults.items():
            if roll < probability:
                return kind
            roll -= probability
        return None

    def _check_rate_limit(self, model: str, tokens_requested: int) -> None:
        limits = self.rate_limits.get(model)
        if not limits:
            return
        with self._lock:
            window = self._windows[model]
            now = time.monotonic()
            requests, used = window.usage(now)
            rpm, tpm = limits.get("rpm"), limits.get("tpm")
            if (rpm is not None and requests >= rpm) or (tpm is not None and used + tokens_requested > tpm):
                wait = window.wait(now)
                message = f"Rate limit reached for {model} (simulated)."
                error = _ApiError(429, message, "requests", "rate_limit_exceeded")
                error.reply.headers.update(_rate_headers(limits, requests, used, wait))
                raise error
            window.events.append((now, tokens_requested))

    def lost(self, reply: Reply) -> None:
        """``reply`` was billed and never reached the client (a fault, or a client that went away)."""
        with self._lock:
            self._stats["billed_but_lost"] += 1
            self._stats["billed_but_lost_usd"] += reply.billed
            if reply.sample is not None:
                canonical, occurrence = reply.sample
                heapq.heappush(self._lost.setdefault(canonical, []), occurrence)

    def _generate(self, info: models.ModelInfo, request: dict, params: dict, chat: bool, caller: str = "") -> Reply:
        rng, drawn = self._rng(request)
        prompt_text = params["prompt_text"]
        choices, completion_tokens, reasoning = [], 0, 0
        for index in range(params["generate"]):
            sample = _behaviour.answer(info.name, prompt_text, params["temperature"], chat, params["max_tokens"], rng)
            # Reasoning comes first and shares the limit with the answer.
            effort, coding = request.get("reasoning_effort"), sample.correct is not None
            thought = min(_capabilities.reasoning_tokens(info.name, effort, coding, rng), params["max_tokens"])
            text, finish = _apply_stop(sample.text, params["stop"])
            text, used, truncated = _truncate(text, info.name, params["max_tokens"] - thought)
            completion_tokens += used + thought
            reasoning += thought
            choices.append(_choice(index, text, "length" if truncated else finish, chat))
        choices = choices[: params["n"]]
        cached = self._cached_tokens(caller, info, request, chat, params["prompt_tokens"])
        usage = _billing.usage(params["prompt_tokens"], completion_tokens, cached, reasoning, chat)
        billed = _billing.bill(info.name, usage)
        self._delay(max((_count(c, info.name, chat) for c in choices), default=0))
        self._count(info.name, error=False, usage=usage, billed=billed)
        body = {
            "id": ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24],
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": info.name,
            "choices": choices,
            "usage": usage,
            "system_fingerprint": "ecoptigen-sim",
        }
        limits = self.rate_limits.get(info.name)
        headers = _rate_headers(limits, *self._windows[info.name].usage(time.monotonic()), 0.0) if limits else {}
        return Reply(200, body, headers, billed=billed, sample=drawn)

    def _cached_tokens(self, caller: str, info: models.ModelInfo, request: dict, chat: bool, prompt_tokens: int) -> int:
        if self.prompt_cache is None or not self.prompt_cache.applies(info.name, prompt_tokens):
            return 0
        ids = prompt_token_ids(request, chat, info.name)
        return self.prompt_cache.serve(caller, info.name, ids, request.get("prompt_cache_key"))

    def _rng(self, request: dict) -> tuple[random.Random, tuple[str, int] | None]:
        """The randomness of one answer, and which sample it is. Seeded, the k-th identical request draws the
        k-th sample, and a sample whose answer was :meth:`lost` is drawn again by the next identical request:
        the retry gets the answer the client never saw. So a run with faults, or killed and resumed, sees the
        samples of a run without them, and comparing the two measures what the faults cost, not which samples
        each run happened to draw (common random numbers). Either way the retry is a draw from the same
        distribution, as a real model's would be."""
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        if request.get("seed") is not None:
            return random.Random(f"request-seed|{request['seed']}|{canonical}"), None
        if self.seed is None:
            return random.Random(), None
        with self._lock:
            lost_before = self._lost.get(canonical)
            if lost_before:
                occurrence = heapq.heappop(lost_before)
                if not lost_before:
                    del self._lost[canonical]
            else:
                occurrence = self._occurrences[canonical]
                self._occurrences[canonical] += 1
            self._stats["repeated_requests"] += bool(lost_before is not None or occurrence > 0)
        return random.Random(f"{self.seed}|{occurrence}|{canonical}"), (canonical, occurrence)

    def _delay(self, output_tokens: int) -> None:
        if self.latency <= 0 and self.per_token_latency <= 0:
            return
        jitter = random.uniform(0.9, 1.1)
        self.closing.wait((self.latency + self.per_token_latency * output_tokens) * jitter)


def _caller_key(headers: dict[str, str]) -> str:
    """Who is calling: prompt caches are per organization, which the API key stands for here."""
    return headers.get("api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()


def _deployed_model(deployment: str) -> str:
    """The model an Azure deployment serves: deployments named after a model drop its dots (Azure
    allows none), so ``gpt-41-mini`` is ``gpt-4.1-mini`` and ``gpt-35-turbo`` is ``gpt-3.5-turbo``."""
    name = models.base_model_name(deployment)
    if name in _served_models():
        return name
    dotless = {served.replace(".", ""): served for served in _served_models()}
    return dotless.get(name, name)


def _fault_reply(kind: str) -> Reply:
    if kind == "429":
        reply = _ApiError(429, "Rate limit reached (simulated fault).", "requests", "rate_limit_exceeded").reply
        reply.headers["retry-after"] = str(_FAULT_RETRY_AFTER)
        reply.headers["retry-after-ms"] = str(int(_FAULT_RETRY_AFTER * 1000))
        return reply
    if kind in ("500", "503"):
        return _ApiError(int(kind), "The server had an error (simulated fault).", "server_error").reply
    if kind == "malformed":
        return Reply(200, raw=b'{"id": "cmpl-broken", "object": "text_completion", "choices": [')
    return Reply(transport_fault=kind)


def _validate_faults(faults: dict[str, float]) -> dict[str, float]:
    unknown = set(faults) - set(FAULT_KINDS)
    if unknown:
        raise ConfigurationError(f"unknown fault kinds {sorted(unknown)}; use some of {list(FAULT_KINDS)}")
    if any(not 0 <= p <= 1 for p in faults.values()) or sum(faults.values()) > 1 + 1e-9:
        raise ConfigurationError("fault probabilities must be in [0, 1] and add up to at most 1")
    return {k: float(v) for k, v in faults.items()}


def _parse_json(body: bytes) -> dict:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        raise _ApiError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(request, dict):
        raise _ApiError(400, "The request body must be a JSON object.")
    return request


def _number(request: dict, name: str, default: float, low: float, high: float) -> float:
    value = request.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise _ApiError(400, f"{value!r} is not valid for '{name}': expected a number from {low} to {high}.")
    return float(value)


def _validate(request: dict, chat: bool, info: models.ModelInfo) -> dict:
    n = int(_number(request, "n", 1, 1, 128))
    temperature = _number(request, "temperature", 1.0, 0, 2)
    top_p = _number(request, "top_p", 1.0, 0, 1)
    best_of = n if chat else int(_number(request, "best_of", n, 1, 20))
    if best_of < n:
        raise _ApiError(400, "best_of must be greater than or equal to n.")
    stop = request.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
        raise _ApiError(400, "'stop' must be a string or a list of at most 4 strings.")
    prompt_text, prompt_tokens = _prompt(request, chat, info.name)
    limit = request.get("max_completion_tokens") or request.get("max_tokens")
    if limit is None:
        limit = 16 if not chat else max(info.context_window - prompt_tokens, 1)
    limit = int(_number({"max_tokens": limit}, "max_tokens", 16, 1, 10**7))
    if prompt_tokens + limit > info.context_window and (request.get("max_tokens") or not chat):
        raise _ApiError(
            400,
            f"This model's maximum context length is {info.context_window} tokens, however you requested "
            f"{prompt_tokens + limit} tokens ({prompt_tokens} in your prompt; {limit} for the completion).",
            code="context_length_exceeded",
        )
    effective_t = _behaviour.effective_temperature(temperature, top_p)
    return {
        "n": n,
        "generate": max(n, best_of),
        "temperature": effective_t,
        "stop": stop,
        "max_tokens": limit,
        "prompt_text": prompt_text,
        "prompt_tokens": prompt_tokens,
    }


def _prompt(request: dict, chat: bool, model: str) -> tuple[str, int]:
    if chat:
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise _ApiError(400, "'messages' must be a non-empty list of message objects.")
        users = [m for m in messages if m.get("role") == "user"]
        text = str((users or messages)[-1].get("content") or "")
        return text, tokens.count_message_tokens(messages, model)
    prompt = request.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise _ApiError(400, "'prompt' must be a string (the simulated endpoint answers one prompt per request).")
    return prompt, tokens.count_tokens(prompt, model)


def _apply_stop(text: str, stop: list[str] | None) -> tuple[str, str]:
    if not stop:
        return text, "stop"
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], "stop") if cut >= 0 else (text, "stop")


def _truncate(text: str, model: str, max_tokens: int) -> tuple[str, int, bool]:
    encoding = tokens.encoding_for(model)
    ids = encoding.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text, len(ids), False
    return encoding.decode(ids[:max_tokens]), max_tokens, True


def _count(choice: dict, model: str, chat: bool) -> int:
    text = choice["message"]["content"] if chat else choice["text"]
    return tokens.count_tokens(text, model)


def _choice(index: int, text: str, finish_reason: str, chat: bool) -> dict:
    if chat:
        return {
            "index": index,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish_reason,
            "logprobs": None,
        }
    return {"index": index, "text": text, "finish_reason": finish_reason, "logprobs": None}


def _model_card(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "ecoptigen-sim"}


def _rate_headers(limits: dict, requests: int, used_tokens: int, wait: float) -> dict[str, str]:
    headers = {"x-ratelimit-reset-requests": f"{wait:.3f}s", "x-ratelimit-reset-tokens": f"{wait:.3f}s"}
    if limits.get("rpm") is not None:
        headers["x-ratelimit-limit-requests"] = str(limits["rpm"])
        headers["x-ratelimit-remaining-requests"] = str(max(0, limits["rpm"] - requests))
    if limits.get("tpm") is not None:
        headers["x-ratelimit-limit-tokens"] = str(limits["tpm"])
        headers["x-ratelimit-remaining-tokens"] = str(max(0, limits["tpm"] - used_tokens))
    if wait > 0:
        headers["retry-after"] = f"{wait:.3f}"
        headers["retry-after-ms"] = str(int(wait * 1000))
    return headers
