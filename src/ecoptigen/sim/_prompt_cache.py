"""Automatic prompt caching, simulated as OpenAI's prompt-caching guide describes it.

The rules (OpenAI, "Prompt caching", developers.openai.com/docs/guides/prompt-caching):

* Caching is automatic for models gpt-4o and newer (:attr:`ecoptigen.money.catalog.Capabilities.prompt_caching`)
  and for prompts of at least 1,024 tokens. A hit is the longest cached *exact prefix* of the prompt,
  counted in steps of 128 tokens (1,024, 1,152, 1,280, ...), and reported in
  ``usage.prompt_tokens_details.cached_tokens``.
* Caches are not shared between organizations; here, between API keys.
* Requests are routed by a hash of the prompt's start (about its first 256 tokens, and the
  ``prompt_cache_key`` if given) to a machine that keeps the cache. Above roughly 15 requests per minute
  for the same start, requests overflow to more machines, whose caches are cold at first: this is what
  keeps the hit rate of a busy tuning below 100%.
* A cached prefix stays for 5 to 10 minutes without use (drawn per prefix here), and never more than
  an hour after it was written.

The simulation keeps, per (API key, model, machine), the hash of every 128-token step of the prompts
it served, with its expiry. Nothing is cached for a request that failed.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ecoptigen.money import catalog as models
from ecoptigen.money import tokens

__all__ = ["CachePolicy", "PromptCache", "prompt_token_ids"]

# Sentinel ids for the chat framing tokens: prefix matching needs a sequence, not only a count.
_MESSAGE_START, _NAME_MARK, _REPLY_PRIMER = -1, -2, -3
# Expired prefixes are dropped once a cache holds this many, so a long-running server stays small.
_PURGE_ABOVE = 50_000


@dataclass(frozen=True)
class CachePolicy:
    """The numbers of the simulated prompt cache (defaults: OpenAI's guide).

    Attributes:
        min_tokens: the shortest prompt that can hit.
        step: cached prefixes are counted in steps of this many tokens.
        route_tokens: the prompt start that picks the machine.
        machine_rpm: requests per minute one machine takes for one prompt start before overflowing.
        idle_seconds: a cached prefix expires after this many unused seconds (drawn in this range).
        max_age_seconds: and in any case this long after it was written.
    """

    min_tokens: int = 1024
    step: int = 128
    route_tokens: int = 256
    machine_rpm: int = 15
    idle_seconds: tuple[float, float] = (300.0, 600.0)
    max_age_seconds: float = 3600.0


@dataclass
class _Entry:
    written: float
    expires: float


@dataclass
class _Route:
    recent: deque[float] = field(default_factory=deque)


class PromptCache:
    """The provider's prompt caches, for every API key. Thread-safe.

    Args:
        policy: the caching rules.
        seed: seeds the overflow routing and the expiry draws (``None``: fresh randomness).
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self, policy: CachePolicy | None = None, seed: int | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.policy = policy or CachePolicy()
        self._clock = clock
        self._rng = random.Random(None if seed is None else f"prompt-cache|{seed}")
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str, int], dict[bytes, _Entry]] = defaultdict(dict)
        self._routes: dict[tuple[str, str, bytes], _Route] = defaultdict(_Route)

    def applies(self, model: str, prompt_tokens: int) -> bool:
        """Whether a prompt of ``prompt_tokens`` tokens to ``model`` can be served from the cache at all."""
        caps = models.capabilities(model)
        return caps is not None and caps.prompt_caching and prompt_tokens >= self.policy.min_tokens

    def serve(self, api_key: str, model: str, token_ids: Sequence[int], cache_key: str | None = None) -> int:
        """Serve a prompt: how many of its tokens came from the cache; its prefixes are cached afterwards.

        Args:
            api_key: the caller's key (caches are per organization).
            model: the model served.
            token_ids: the prompt as a token sequence (:func:`prompt_token_ids`).
            cache_key: the request's ``prompt_cache_key``.

        Returns:
            The cached prefix length: 0, or a multiple of ``policy.step`` of at least ``policy.min_tokens``.
        """
        if not self.applies(model, len(token_ids)):
            return 0
        digests = _prefix_digests(token_ids, self.policy)
        now = self._clock()
        with self._lock:
            machine = self._route(api_key, model, token_ids, cache_key, now)
            store = self._entries[(api_key, model, machine)]
            cached = 0
            for length, digest in digests:
                entry = store.get(digest)
                if entry is None or entry.expires <= now:
                    break
                cached = length
            for _, digest in digests:
                self._touch(store, digest, now)
            if len(store) > _PURGE_ABOVE:
                for digest in [d for d, e in store.items() if e.expires <= now]:
                    del store[digest]
        return cached

    def _route(self, api_key: str, model: str, token_ids: Sequence[int], cache_key: str | None, now: float) -> int:
        start = hashlib.blake2b(repr((list(token_ids[: self.policy.route_tokens]), cache_key)).encode(), digest_size=16)
        route = self._routes[(api_key, model, start.digest())]
        while route.recent and now - route.recent[0] >= 60:
            route.recent.popleft()
        route.recent.append(now)
        busy = len(route.recent)
        if busy <= self.policy.machine_rpm:
            return 0
        # Overflow: one more machine for every machine_rpm requests a minute beyond the first machine's.
        return self._rng.randrange(1, 1 + -(-(busy - self.policy.machine_rpm) // self.policy.machine_rpm))

    def _touch(self, store: dict[bytes, _Entry], digest: bytes, now: float) -> None:
        entry = store.get(digest)
        if entry is None or entry.expires <= now:
            entry = store[digest] = _Entry(written=now, expires=now)
        idle = self._rng.uniform(*self.policy.idle_seconds)
        entry.expires = min(now + idle, entry.written + self.policy.max_age_seconds)


def _prefix_digests(token_ids: Sequence[int], policy: CachePolicy) -> list[tuple[int, bytes]]:
    """A digest of every cacheable prefix (min_tokens, min_tokens + step, ...), shortest first."""
    digest = hashlib.blake2b(digest_size=16)
    out: list[tuple[int, bytes]] = []
    done = 0
    for length in range(policy.min_tokens, len(token_ids) + 1, policy.step):
        digest.update(repr(list(token_ids[done:length])).encode())
        done = length
        out.append((length, digest.copy().digest()))
    return out


def prompt_token_ids(request: dict, chat: bool, model: str) -> list[int]:
    """The prompt of ``request`` as one token sequence, as long as the prompt tokens it is billed for.

    Chat framing tokens (per message, per name, and the reply primer that
    :func:`ecoptigen.money.tokens.count_message_tokens` counts) are negative sentinel ids.
    """
    encoding = tokens.encoding_for(model)
    if not chat:
        prompt = request.get("prompt")
        prompt = prompt[0] if isinstance(prompt, list) and len(prompt) == 1 else prompt
        return list(encoding.encode(str(prompt or ""), disallowed_special=()))
    ids: list[int] = []
    for message in request.get("messages") or []:
        ids += [_MESSAGE_START] * 3
        for key, value in message.items():
            if value is not None:
                ids += encoding.encode(value if isinstance(value, str) else str(value), disallowed_special=())
            if key == "name":
                ids.append(_NAME_MARK)
    return ids + [_REPLY_PRIMER] * 3
