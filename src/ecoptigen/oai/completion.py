"""``oai.Completion`` and ``oai.ChatCompletion``: FLAML's documented class-method API.

The classes hold configuration only (prices, timeouts, the chat model list). Each method hands the
work to an instance: a process-wide :class:`~ecoptigen.client._engine.CompletionEngine` for requests,
and a fresh tuner object for every ``tune`` call, so two tunings and concurrent ``create`` calls in
one process never share run state.

The class attributes FLAML documents (``price1K``, ``chat_models``, ``request_timeout``,
``retry_timeout``, ``retry_time``, ``seed``) read and write that engine's settings, so assigning one
(``oai.Completion.price1K = {...}``) takes effect in ``create``, ``tune``, ``test`` and ``cost`` alike,
for ``Completion`` and ``ChatCompletion`` both.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

from ecoptigen.client import (
    DEFAULT_SETTINGS,
    CompletionEngine,
    Response,
    extract_text,
    extract_text_or_function_call,
    instantiate,
)
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models
from ecoptigen.money import prices as pricing
from ecoptigen.run_context import current_forwarder, set_receiver

__all__ = ["ChatCompletion", "Completion"]

# The chat-model names FLAML listed; the model catalog and endpoint_kind() know the rest.
_FLAML_CHAT_MODELS = {"gpt-3.5-turbo", "gpt-3.5-turbo-0301", "gpt-35-turbo", "gpt-4", "gpt-4-32k", "gpt-4-0314"}


class _Settings(type):
    """Class-level properties that read through to the shared engine."""

    _engine: CompletionEngine
    _chat: bool

    @property
    def logged_history(cls) -> dict | None:
        """What :meth:`Completion.start_logging` recorded, or ``None`` when not logging."""
        return cls._engine.history

    @property
    def seed(cls) -> Any:
        """The cache namespace used when a config has no ``seed``."""
        return cls._engine.cache_seed

    @seed.setter
    def seed(cls, value: Any) -> None:
        cls._engine.cache_seed = value

    @property
    def price1K(cls) -> dict:  # FLAML's name
        """USD per 1K tokens by model, ``float`` or ``(input, output)``; assign a new dict or change it in place."""
        return cls._engine.price_table

    @price1K.setter
    def price1K(cls, value: dict) -> None:
        if not isinstance(value, dict):
            raise ConfigurationError(f"price1K must be a dict of model -> price per 1K tokens; got {value!r}.")
        cls._engine.price_table = value

    @property
    def chat_models(cls) -> set[str]:
        """Extra model names to send to the chat endpoint; assign a new set or change it in place."""
        return cls._engine.chat_models

    @chat_models.setter
    def chat_models(cls, value: set[str]) -> None:
        if isinstance(value, str) or not all(isinstance(name, str) for name in value):
            raise ConfigurationError(f"chat_models must be a set of model names; got {value!r}.")
        cls._engine.chat_models = set(value)

    @property
    def request_timeout(cls) -> float:
        """Seconds one attempt may take, unless a config gives ``request_timeout``."""
        return cls._engine.settings["request_timeout"]

    @request_timeout.setter
    def request_timeout(cls, value: float) -> None:
        cls._engine.settings["request_timeout"] = _seconds("request_timeout", value)

    @property
    def retry_timeout(cls) -> float:
        """Seconds during which failed attempts are retried, unless a config gives ``retry_timeout``."""
        return cls._engine.settings["retry_timeout"]

    @retry_timeout.setter
    def retry_timeout(cls, value: float) -> None:
        cls._engine.settings["retry_timeout"] = _seconds("retry_timeout", value)

    @property
    def retry_time(cls) -> float:
        """The longest single wait between retries, unless a config gives ``retry_time``."""
        return cls._engine.settings["retry_time"]

    @retry_time.setter
    def retry_time(cls, value: float) -> None:
        cls._engine.settings["retry_time"] = _seconds("retry_time", value)

    @property
    def default_search_space(cls) -> dict:
        """The space ``tune`` searches over where its arguments do not say otherwise (current models)."""
        from ecoptigen.tuning import default_space

        return default_space(cls._chat)

    @property
    def cache_path(cls) -> str:
        """The folder of the current cache namespace."""
        return os.path.join(cls._engine.cache_path_root, str(cls._engine.cache_seed))


class Completion(metaclass=_Settings):
    """Completions from OpenAI-compatible endpoints, and EcoOptiGen tuning of their settings.

    Class attributes (shared by ``Completion`` and ``ChatCompletion``; assigning one takes effect in
    every method):
        price1K: USD per 1K tokens by model, ``float`` or ``(input, output)``; add your own models.
        chat_models: extra model names to serve from the chat endpoint.
        request_timeout: seconds one attempt may take.
        retry_timeout: seconds during which failed attempts are retried.
        retry_time: the longest single wait between retries.
        seed: the cache namespace of configs without a ``seed``.
    """

    _chat: ClassVar[bool] = False
    _engine: ClassVar[CompletionEngine] = CompletionEngine(
        chat_models=set(_FLAML_CHAT_MODELS), price_table=models.price_table(), settings=DEFAULT_SETTINGS
    )

    @classmethod
    def create(
        cls,
        context: dict | None = None,
        use_cache: bool = True,
        config_list: list[dict] | None = None,
        filter_func: Callable[..., bool] | None = None,
        raise_on_ratelimit_or_timeout: bool = True,
        allow_format_str_template: bool = True,
        **config: Any,
    ) -> Response | int:
        """Make a completion for ``context`` with the given config.

        Args:
            context: the values the ``prompt`` / ``messages`` templates are filled from.
            use_cache: look the request up in the cache, and store its answer there.
            config_list: configs tried in order until one answers (and passes ``filter_func``);
                each is merged over ``config``. Costs of all tried configs are summed.
            filter_func: ``filter_func(context=..., response=...)`` -> bool; a response that fails it
                makes ``create`` try the next config (the last config's answer is returned anyway).
            raise_on_ratelimit_or_timeout: raise when every attempt was rate limited or timed out;
                when false, return ``-1`` instead (FLAML's convention, kept for compatibility).
                FLAML 1.2's ``raise_error`` is accepted as another name for it.
            allow_format_str_template: fill string templates with ``str.format(**context)``.
            **config: the request: ``model``, ``prompt`` or ``messages``, ``n``, ``temperature``,
                ``max_tokens``, ``stop``, ...; endpoint keys (``api_key``, ``base_url``, ``api_type``,
                ``api_version``); ``seed`` (cache namespace); ``price``; ``request_timeout``.

        Returns:
            The response dict with ``cost`` added (and ``config_id``, ``pass_filter`` with a config_list).

        Raises:
            ConfigurationError: bad config or template (before anything is sent).
            RequestError: the endpoint rejected the request; see :mod:`ecoptigen.errors`.

        Example:
            >>> from ecoptigen import oai, sim
            >>> with sim.serve() as server:
            ...     r = oai.Completion.create(model="gpt-4o-mini", prompt="Say hi", max_tokens=5,
            ...                               base_url=server.base_url, api_key="sk-sim", use_cache=False)
            >>> r["cost"] > 0
            True
        """
        options = _create_options(
            use_cache, config_list, filter_func, raise_on_ratelimit_or_timeout, allow_format_str_template, config
        )
        forwarder = current_forwarder()
        if forwarder is not None:  # an eval_func running on a Ray worker: the driver sends it
            return forwarder(cls._chat, context, {**options, **config})
        return cls._engine.create(context, chat=cls._chat, **options, **config)

    @classmethod
    async def acreate(
        cls,
        context: dict | None = None,
        use_cache: bool = True,
        config_list: list[dict] | None = None,
        filter_func: Callable[..., bool] | None = None,
        raise_on_ratelimit_or_timeout: bool = True,
        allow_format_str_template: bool = True,
        **config: Any,
    ) -> Response | int:
        """:meth:`create` for a program running an event loop: the same arguments, result and errors.

        The request goes out through the SDK's ``AsyncOpenAI`` client, so the loop keeps serving other
        tasks while it waits; the cache, the spend accounting (``print_usage_summary``, budgets of active
        ledgers), the retries and the ``config_list`` failover are those of ``create``. Many ``acreate``
        calls may run at once (``asyncio.gather``). The loop's clients are closed when ``asyncio.run``
        ends it.

        Raises:
            ConfigurationError: bad config or template (before anything is sent).
            RequestError: the endpoint rejected the request; see :mod:`ecoptigen.errors`.

        Example:
            >>> import asyncio
            >>> from ecoptigen import oai, sim
            >>> async def ask(base_url):
            ...     return await asyncio.gather(*(
            ...         oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt=q, max_tokens=5,
            ...                                    base_url=base_url, api_key="sk-sim", use_cache=False)
            ...         for q in ("Say hi", "Say bye")))
            >>> with sim.serve() as server:
            ...     answers = asyncio.run(ask(server.base_url))
            >>> [r["cost"] > 0 for r in answers]
            [True, True]
        """
        options = _create_options(
            use_cache, config_list, filter_func, raise_on_ratelimit_or_timeout, allow_format_str_template, config
        )
        forwarder = current_forwarder()
        if forwarder is not None:  # an eval_func on a Ray worker: the driver sends it (a blocking call)
            return await asyncio.to_thread(forwarder, cls._chat, context, {**options, **config})
        return await cls._engine.acreate(context, chat=cls._chat, **options, **config)

    @classmethod
    def instantiate(cls, template: Any, context: dict | None = None, allow_format_str_template: bool = True) -> Any:
        """Fill a template (``str.format`` string or callable) from ``context``."""
        return instantiate(template, context, allow_format_str_template)

    @classmethod
    def extract_text(cls, response: dict) -> list[str]:
        """The text of every choice of ``response``."""
        return extract_text(response)

    @classmethod
    def extract_text_or_function_call(cls, response: dict) -> list[Any]:
        """The text of every choice, or the whole message when it calls a function or tool."""
        return extract_text_or_function_call(response)

    @classmethod
    def cost(cls, response: dict) -> float:
        """Dollars ``response`` cost, from its usage and the price table (``nan`` if unpriced).

        Prompt tokens served from the provider's prompt cache (``usage.prompt_tokens_details.cached_tokens``)
        are charged at the model's cached-input price; reasoning tokens are part of ``completion_tokens``.

        Example:
            >>> Completion.cost({"model": "gpt-4", "usage": {"prompt_tokens": 1000, "completion_tokens": 0}})
            0.03
        """
        price = pricing.resolve_price(str(response.get("model", "")), table=cls._engine.price_table)
        if price is None:
            warnings.warn(
                f"model {response.get('model')!r} has no price; add it to oai.Completion.price1K.",
                RuntimeWarning,
                stacklevel=2,
            )
            return math.nan
        return pricing.cost_of_usage(price, response.get("usage"))

    @classmethod
    def set_cache(cls, seed: Any = 41, cache_path_root: str = ".cache") -> None:
        """Cache responses in ``<cache_path_root>/<seed>`` from now on."""
        cls._engine.set_cache(seed, cache_path_root)

    @classmethod
    def clear_cache(cls, seed: Any = None, cache_path_root: str = ".cache") -> None:
        """Delete the cache of ``seed`` (of every seed when ``None``) under ``cache_path_root``."""
        cls._engine.clear_cache(seed, cache_path_root)

    @classmethod
    def start_logging(cls, history_dict: dict | None = None, compact: bool = True, reset_counter: bool = True):
        """Record requests and responses; read them from ``logged_history``."""
        cls._engine.start_logging(history_dict, compact, reset_counter)

    @classmethod
    def stop_logging(cls) -> None:
        """Stop recording requests and responses."""
        cls._engine.stop_logging()

    @classmethod
    def print_usage_summary(cls) -> None:
        """Print requests, tokens and dollars per model: paid, and saved by cache hits."""
        print(cls._engine.usage_summary())

    @classmethod
    def tune(
        cls,
        data: list[dict],
        metric: str,
        mode: str,
        eval_func: Callable[..., dict],
        log_file_name: str | None = None,
        inference_budget: float | None = None,
        optimization_budget: float | None = None,
        num_samples: int = 1,
        logging_level: int = logging.WARNING,
        **config: Any,
    ) -> tuple[dict, Any]:
        """Tune the inference config for ``data`` with EcoOptiGen; see :func:`ecoptigen.tuning.tune`."""
        from ecoptigen import tuning

        return tuning.tune(
            cls._engine,
            chat=cls._chat,
            data=data,
            metric=metric,
            mode=mode,
            eval_func=eval_func,
            log_file_name=log_file_name,
            inference_budget=inference_budget,
            optimization_budget=optimization_budget,
            num_samples=num_samples,
            logging_level=logging_level,
            **config,
        )

    @classmethod
    def test(cls, data: list[dict], config: dict | None = None, eval_func: Callable | None = None, **kwargs: Any):
        """Evaluate a config on ``data``; see :func:`ecoptigen.tuning.test`.

        Both the seed's ``test(test_data, config)`` and FLAML's later ``test(data, eval_func, **config)``
        call styles work.
        """
        from ecoptigen import tuning

        return tuning.test_facade(cls._engine, chat=cls._chat, data=data, config=config, eval_func=eval_func, **kwargs)


def _create_options(
    use_cache: bool,
    config_list: list[dict] | None,
    filter_func: Callable[..., bool] | None,
    raise_on_ratelimit_or_timeout: bool,
    allow_format_str_template: bool,
    config: dict[str, Any],
) -> dict[str, Any]:
    """``create``'s options as the engine takes them (FLAML 1.2's ``raise_error`` taken out of ``config``)."""
    if "raise_error" in config:  # FLAML 1.2's name for it
        raise_on_ratelimit_or_timeout = bool(config.pop("raise_error"))
    return {
        "use_cache": use_cache,
        "config_list": config_list,
        "filter_func": filter_func,
        "raise_on_ratelimit_or_timeout": raise_on_ratelimit_or_timeout,
        "allow_format_str_template": allow_format_str_template,
    }


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigurationError(f"{name} must be a number of seconds (0 or more); got {value!r}.")
    return float(value)


class ChatCompletion(Completion):
    """Like :class:`Completion`, but every request goes to the chat-completions endpoint."""

    _chat: ClassVar[bool] = True


def _create_forwarded(chat: bool, context: Any, kwargs: dict[str, Any]) -> Any:
    """A ``create`` call forwarded from a process without the key (a Ray worker), made here."""
    return (ChatCompletion if chat else Completion).create(context, **kwargs)


set_receiver(_create_forwarded)
