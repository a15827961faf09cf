"""One request, prepared: templates filled, endpoint chosen, body split from ecoptigen's own keys.

Preparing every request of a ``config_list`` before sending any of them means a template key that a
later config needs, or a missing price under a budget, is reported before any money is spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecoptigen import models, spend, tokens
from ecoptigen.errors import ConfigurationError, UnknownPriceError
from ecoptigen.oai._endpoints import Endpoint, resolve_endpoint
from ecoptigen.options import CONTROL_KEYS, ENDPOINT_KEYS
from ecoptigen.prompts import instantiate, instantiate_messages

__all__ = ["CONTROL_KEYS", "PreparedRequest", "prepare"]

# Models that take max_completion_tokens instead of max_tokens.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
# What the legacy completions endpoint generates when max_tokens is not given.
_COMPLETIONS_DEFAULT_MAX_TOKENS = 16


@dataclass
class PreparedRequest:
    """A request ready to send: ``body`` is exactly what goes to the endpoint."""

    chat: bool
    body: dict[str, Any]
    endpoint: Endpoint
    config: dict[str, Any]
    price: tuple[float, float] | None
    timeout: float
    cache_seed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.body["model"])

    def cache_request(self) -> dict[str, Any]:
        """What identifies the request in the cache: the endpoint kind and the body, no credentials."""
        return {"endpoint": "chat" if self.chat else "completions", **self.body}

    def cost(self, usage: dict | None) -> float:
        """Dollars for ``usage``; ``nan`` when the model has no price (unknown, never free)."""
        if self.price is None:
            return math.nan
        usage = usage or {}
        return (
            int(usage.get("prompt_tokens", 0) or 0) * self.price[0]
            + int(usage.get("completion_tokens", 0) or 0) * self.price[1]
        ) / 1000

    def worst_case_cost(self) -> float:
        """The most this request can cost: its prompt, and every completion running to its token limit.

        Raises:
            UnknownPriceError: the model has no price, so no budget can be enforced for it.
        """
        if self.price is None:
            raise UnknownPriceError(_no_price_message(self.model))
        prompt_tokens = _prompt_tokens(self.body, self.chat)
        generated = max(int(self.body.get("n") or 1), int(self.body.get("best_of") or 1))
        limit = self.body.get("max_tokens") or self.body.get("max_completion_tokens")
        if not limit:
            window = models.context_window(self.model)
            limit = (
                max(window - prompt_tokens, 1) if window else (4096 if self.chat else _COMPLETIONS_DEFAULT_MAX_TOKENS)
            )
            if not self.chat:
                limit = min(limit, _COMPLETIONS_DEFAULT_MAX_TOKENS)
        return (prompt_tokens * self.price[0] + generated * int(limit) * self.price[1]) / 1000


def _no_price_message(model: str) -> str:
    return (
        f"model {model!r} has no price, so a budget cannot be enforced for it. Add one: "
        f"oai.Completion.price1K[{model!r}] = (input_usd_per_1k, output_usd_per_1k), or give "
        "'price': [input, output] in its config."
    )


def _prompt_tokens(body: dict, chat: bool) -> int:
    model = str(body["model"])
    if chat:
        return tokens.count_message_tokens(body.get("messages") or [], model)
    prompt = body.get("prompt") or ""
    prompts = prompt if isinstance(prompt, list) else [prompt]
    return sum(tokens.count_tokens(p, model) if isinstance(p, str) else len(p) for p in prompts)


def prepare(
    context: dict | None,
    config: dict[str, Any],
    *,
    chat: bool,
    chat_models: set[str],
    price_table: dict,
    allow_format_str_template: bool,
) -> PreparedRequest:
    """Fill the templates of ``config`` from ``context`` and decide where and how to send it.

    Raises:
        ConfigurationError: no model, no prompt/messages, messages for a completion model.
        TemplateError: a template names a key ``context`` lacks.
        UnknownPriceError: a budget is active and the model has no price.
    """
    model = config.get("model")
    if not model or not isinstance(model, str):
        raise ConfigurationError("no 'model' in the config: give model='gpt-4o-mini' (or another model name).")
    use_chat = chat or models.endpoint_kind(model, chat_models) == "chat"
    body = {k: v for k, v in config.items() if k not in CONTROL_KEYS and k not in ENDPOINT_KEYS}
    allow = config.get("allow_format_str_template", allow_format_str_template)
    _fill_prompt(body, context, use_chat, allow, model)
    if use_chat and model.startswith(_REASONING_PREFIXES) and "max_tokens" in body:
        body["max_completion_tokens"] = body.pop("max_tokens")
    price = _price(config, model, price_table)
    if price is None and spend.budget_enforced():
        raise UnknownPriceError(_no_price_message(model))
    return PreparedRequest(
        chat=use_chat,
        body=body,
        endpoint=resolve_endpoint(config, model),
        config=config,
        price=price,
        timeout=float(config["request_timeout"]),
        cache_seed=config.get("seed"),
    )


def _fill_prompt(body: dict, context: dict | None, chat: bool, allow: bool, model: str) -> None:
    prompt, messages = body.pop("prompt", None), body.pop("messages", None)
    if chat:
        if messages is not None:
            body["messages"] = instantiate_messages(messages, context, allow)
        elif prompt is not None:
            body["messages"] = [{"role": "user", "content": instantiate(prompt, context, allow)}]
        else:
            raise ConfigurationError(f"no 'messages' or 'prompt' for chat model {model!r}.")
        return
    if prompt is None:
        if messages is not None:
            raise ConfigurationError(
                f"{model!r} is served by the legacy completions endpoint, which takes a 'prompt', not "
                "'messages'. Give a prompt, use ChatCompletion, or add the model to "
                "oai.Completion.chat_models if your server serves it as a chat model."
            )
        raise ConfigurationError(f"no 'prompt' for completion model {model!r}.")
    body["prompt"] = instantiate(prompt, context, allow)


def _price(config: dict, model: str, price_table: dict) -> tuple[float, float] | None:
    custom = config.get("price")
    if custom is None:
        return models.price_of(model, price_table)
    if isinstance(custom, (int, float)):
        return float(custom), float(custom)
    try:
        prompt_price, completion_price = custom
        return float(prompt_price), float(completion_price)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"'price' must be a number or [input, output] USD per 1K tokens, got {custom!r}."
        ) from None
