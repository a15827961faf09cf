"""One request, prepared: templates filled, endpoint chosen, body split from ecoptigen's own keys.

Preparing every request of a ``config_list`` before sending any of them means a template key that a
later config needs, or a missing price under a budget, is reported before any money is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecoptigen.client import _parameter_checks as parameters
from ecoptigen.client._endpoints import Endpoint, resolve_endpoint
from ecoptigen.client._keywords import CONTROL_KEYS, ENDPOINT_KEYS
from ecoptigen.client._prompts import instantiate, instantiate_messages
from ecoptigen.errors import ConfigurationError, UnknownPriceError
from ecoptigen.money import catalog as models
from ecoptigen.money import ledger as spend
from ecoptigen.money import prices as pricing

__all__ = [
    "CONTROL_KEYS",
    "FAILURE_BILLING",
    "PreparedRequest",
    "prepare",
    "request_prompt_tokens",
    "request_worst_case",
]

FAILURE_BILLING = ("estimate", "none", "worst_case")


@dataclass
class PreparedRequest:
    """A request ready to send: ``body`` is exactly what goes to the endpoint."""

    chat: bool
    body: dict[str, Any]
    endpoint: Endpoint
    config: dict[str, Any]
    price: pricing.Price | None
    timeout: float
    cache_seed: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.body["model"])

    def cache_request(self) -> dict[str, Any]:
        """What identifies the request in the cache: the endpoint kind and the body, no credentials."""
        return {"endpoint": "chat" if self.chat else "completions", **self.body}

    def prompt_tokens(self) -> int:
        """The prompt's length in tokens, counted with ecoptigen's tokenizer for the model."""
        return _prompt_tokens(self.body, self.chat)

    def cost(self, usage: dict | None) -> float:
        """Dollars for ``usage`` as the provider bills it (cached prompt tokens at the cached price);
        ``nan`` when the model has no price (unknown, never free)."""
        return pricing.cost_of_usage(self.price, usage)

    def worst_case_cost(self) -> float:
        """The most this request can cost: its prompt, and every completion running to its token limit.

        Raises:
            UnknownPriceError: the model has no price, so no budget can be enforced for it.
        """
        if self.price is None:
            raise UnknownPriceError(_no_price_message(self.model))
        return _worst_case(self.body, self.chat, self.price)


def _worst_case(body: dict[str, Any], chat: bool, price: pricing.Price) -> float:
    model = str(body["model"])
    prompt_tokens = _prompt_tokens(body, chat)
    limit = pricing.completion_limit(model, chat, prompt_tokens, pricing.requested_limit(body))
    return pricing.worst_case_cost(price, prompt_tokens, pricing.billed_completions(body), limit)


def request_worst_case(
    context: dict | None,
    config: dict[str, Any],
    *,
    chat: bool,
    price_table: dict,
    chat_models: set[str] | frozenset[str] = frozenset(),
    allow_format_str_template: bool = True,
) -> float:
    """The most one request can cost, exactly as the engine reserves it before sending it.

    The tuner prices the requests it plans with this, so its plan and the engine's holds always agree.

    Args:
        context: fills the templates of ``config``.
        config: the request's config (``create``'s keywords).
        chat: whether the request goes to the chat endpoint (else the model's kind decides).
        price_table: USD per 1K tokens by model.
        chat_models: names served as chat models besides the catalog's.
        allow_format_str_template: whether ``str.format`` templates are filled.

    Raises:
        ConfigurationError: the config could not be sent (see :func:`prepare`).
        TemplateError: a template names a key ``context`` lacks.
        UnknownPriceError: the model has no price.

    Example:
        >>> from ecoptigen.money.catalog import price_table
        >>> config = {"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 10, "n": 2}
        >>> request_worst_case({"q": "hi"}, config, chat=True, price_table=price_table()) > 0
        True
    """
    model, use_chat, body = _body(context, config, chat, chat_models, allow_format_str_template)
    price = pricing.resolve_price(model, config.get("price"), price_table)
    if price is None:
        raise UnknownPriceError(_no_price_message(model))
    return _worst_case(body, use_chat, price)


def _no_price_message(model: str) -> str:
    return (
        f"model {model!r} has no price, so a budget cannot be enforced for it. Add one: "
        f"oai.Completion.price1K[{model!r}] = (input_usd_per_1k, output_usd_per_1k), or give "
        "'price': [input, output] in its config."
    )


def _prompt_tokens(body: dict, chat: bool) -> int:
    return pricing.prompt_tokens(str(body["model"]), chat, body.get("prompt"), body.get("messages"))


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
        ConfigurationError: no model, no prompt/messages, messages for a completion model, a parameter
            the model does not accept or a value out of range (see :mod:`ecoptigen.client._parameter_checks`).
        TemplateError: a template names a key ``context`` lacks.
        UnknownPriceError: a budget is active and the model has no price.
    """
    model = config.get("model")
    if not model or not isinstance(model, str):
        raise ConfigurationError("no 'model' in the config: give model='gpt-4o-mini' (or another model name).")
    if config.get("failure_billing", "estimate") not in FAILURE_BILLING:
        raise ConfigurationError(
            f"failure_billing must be one of {list(FAILURE_BILLING)}; got {config['failure_billing']!r}. Use "
            "'none' only for endpoints that never bill a failed request (e.g. your own local server)."
        )
    model, use_chat, body = _body(context, config, chat, chat_models, allow_format_str_template)
    price = pricing.resolve_price(model, config.get("price"), price_table)
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


def request_prompt_tokens(
    context: dict | None,
    config: dict[str, Any],
    *,
    chat: bool,
    chat_models: set[str] | frozenset[str] = frozenset(),
    allow_format_str_template: bool = True,
) -> int:
    """The prompt tokens of the request the engine sends for ``config`` and ``context``, as it counts them.

    Raises:
        ConfigurationError: the config could not be sent (see :func:`prepare`).
        TemplateError: a template names a key ``context`` lacks.

    Example:
        >>> request_prompt_tokens({"q": "hi"}, {"model": "gpt-4o-mini", "prompt": "{q}"}, chat=True) > 0
        True
    """
    _, use_chat, body = _body(context, config, chat, chat_models, allow_format_str_template)
    return _prompt_tokens(body, use_chat)


def _body(
    context: dict | None, config: dict[str, Any], chat: bool, chat_models: set[str] | frozenset[str], allow: bool
) -> tuple[str, bool, dict[str, Any]]:
    """The model, whether the chat endpoint serves it, and the body the engine sends for ``config``."""
    model = config.get("model")
    if not model or not isinstance(model, str):
        raise ConfigurationError("no 'model' in the config: give model='gpt-4o-mini' (or another model name).")
    use_chat = chat or models.endpoint_kind(model, chat_models) == "chat"
    body = {k: v for k, v in config.items() if k not in CONTROL_KEYS and k not in ENDPOINT_KEYS}
    _fill_prompt(body, context, use_chat, config.get("allow_format_str_template", allow), model)
    return model, use_chat, parameters.check_request(model, body, use_chat)


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
