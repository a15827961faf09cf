"""An in-process stand-in for the completion engine: deterministic answers, real spend accounting."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from ecoptigen import tuning
from ecoptigen.client._prompts import instantiate, instantiate_messages
from ecoptigen.money import catalog as models
from ecoptigen.money import ledger as spend
from ecoptigen.tuning._flaml import tune as flaml_tune


class FakeEngine:
    """Answers ``create`` as the real engine does (choices, usage, cost) without HTTP.

    Completion lengths are a deterministic function of the request, the choice index and the cache
    salt, so an identical request always gets the identical answer. Paid requests reserve their worst
    case on the active ledgers and settle their real cost, as the real engine does; with ``use_cache``
    an earlier identical request is answered again for free.

    Args:
        tokens_per_choice: the typical completion length; each choice adds 0-7 tokens to it.
    """

    def __init__(self, tokens_per_choice: int = 40):
        self.price_table = models.PRICE_1K
        self.tokens_per_choice = tokens_per_choice
        self.requests: list[dict] = []
        self.cache: dict[str, dict] = {}
        self.cache_hits = 0
        self._lock = threading.Lock()

    @property
    def paid(self) -> float:
        return sum(r["cost"] for r in self.requests)

    def create(self, context=None, *, chat, cache_salt=None, use_cache=True, **config: Any) -> dict:
        model = config["model"]
        if "messages" in config:
            content = str(instantiate_messages(config["messages"], context))
        else:
            content = str(instantiate(config["prompt"], context))
        n = int(config.get("best_of") or config.get("n") or 1)
        max_tokens = int(config.get("max_tokens") or 16)
        fields = (model, content, n, max_tokens, config.get("stop"), config.get("temperature"), config.get("top_p"))
        key = hashlib.sha256(repr((*fields, cache_salt)).encode()).hexdigest()
        with self._lock:
            cached = self.cache.get(key) if use_cache else None
        if cached is not None:
            self.cache_hits += 1
            for ledger in spend.active_ledgers():
                ledger.record_cache_hit(model, cached["cost"])
            return dict(cached)
        price = models.price_of(model, self.price_table)
        prompt_tokens = len(content.split()) + 3
        lengths = [min(max_tokens, self.tokens_per_choice + int(key[i % 64], 16) % 8) for i in range(n)]
        hold = spend.reserve((prompt_tokens * price[0] + n * max_tokens * price[1]) / 1000)
        cost = (prompt_tokens * price[0] + sum(lengths) * price[1]) / 1000
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": sum(lengths)}
        hold.settle(cost, model, usage)
        response = {
            "model": model,
            "choices": [{"text": f"{content}#{key[:8]}#{i}", "index": i} for i in range(n)],
            "usage": usage,
            "cost": cost,
        }
        with self._lock:
            self.requests.append({"model": model, "n": n, "salt": cache_salt, "context": context, "cost": cost})
            if use_cache:
                self.cache[key] = dict(response)
        return response


# A small chat tuning on the fake engine, shared by the tuner and journal tests.
DATA = [{"q": f"question {i}", "answer": i} for i in range(8)]


def success(responses, **instance):
    return {"success": len(responses) >= 3, "n": len(responses)}


def run(engine, **kwargs):
    settings = {
        "chat": True,
        "data": DATA,
        "metric": "success",
        "mode": "max",
        "eval_func": success,
        "inference_budget": 0.002,
        "optimization_budget": 0.02,
        "num_samples": -1,
        "model": ["gpt-4o-mini", "gpt-4.1-nano"],
        "prompt": ["{q}", "Answer: {q}"],
        "max_tokens": flaml_tune.lograndint(20, 200),
        "show_progress": False,
    }
    settings.update(kwargs)
    return tuning.tune(engine, **settings)
