"""The search space: from ``tune(**config)`` keyword arguments to BlendSearch's space and back.

The documented forms are accepted as FLAML documents them:

* ``prompt``: a template (``str`` or callable of the data instance) or a list of templates.
* ``messages`` (chat): one list of messages, or a list of such lists.
* ``stop``: a string, a list of strings, or a list of choices (each a list of strings, a string, or ``None``).
* ``temperature`` / ``top_p``: tuning one of them replaces the default ``temperature_or_top_p`` choice;
  giving both tunes both (with a warning, as FLAML does).
* ``model``: a name, or a list of names; with several models the model-dependent settings
  (``max_tokens``, ``temperature_or_top_p``, ``n``, ``best_of``, and any setting one of the models
  cannot take) form one subspace per model.
* The space is conditional on the model: a setting a model cannot take (see
  :func:`ecoptigen.client._parameter_checks.restriction` -- e.g. temperature, top_p and stop for o3, o4-mini and
  the gpt-5 family) is never searched for that model and never sent to it, whether it is searched
  or a constant; its trials show it as ``fixed`` or ``—`` in the trial table.
* ``n``, ``max_tokens``, ``best_of``: a value or a :mod:`flaml.tune` domain.
* Anything else that is not a :mod:`flaml.tune` domain (``config_list``, ``allow_format_str_template``,
  ``request_timeout``, ``seed``, endpoint keys, ...) is a constant passed through to ``create``.

Choices of prompts, messages and stops are searched by index, so a search config is plain JSON (it is
what the resume journal stores) and :meth:`SearchSpace.params` turns it into ``create`` arguments.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ecoptigen.client import check_value, restriction
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog
from ecoptigen.tuning._flaml import BlendSearch, Categorical, Domain, Integer, searched_family, tune
from ecoptigen.tuning._logs import RunLogger, quiet_third_party

__all__ = [
    "DEFAULT_CHAT_MODELS",
    "DEFAULT_COMPLETION_MODELS",
    "SearchSpace",
    "build_space",
    "default_space",
    "make_searcher",
]

logger = RunLogger("ecoptigen.tuning")

# FLAML tuned text-ada/babbage/davinci-003, gpt-3.5-turbo and gpt-4 (all retired or superseded). The
# modern defaults keep the idea -- cheap to strong, one price ladder -- with current, priced models that
# accept temperature/top_p. The legacy names still work when passed explicitly as ``model=[...]``.
DEFAULT_COMPLETION_MODELS = ["gpt-3.5-turbo-instruct", "gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"]
DEFAULT_CHAT_MODELS = ["gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"]
# Keys that depend on the model, so with several models they are searched per model.
_SUBSPACE_KEYS = ("max_tokens", "temperature_or_top_p", "best_of", "n")


def default_space(chat: bool) -> dict[str, Any]:
    """The default search space (FLAML's ranges, current models).

    Example:
        >>> sorted(default_space(chat=True))
        ['max_tokens', 'model', 'n', 'prompt', 'temperature_or_top_p']
    """
    return {
        "model": list(DEFAULT_CHAT_MODELS if chat else DEFAULT_COMPLETION_MODELS),
        "temperature_or_top_p": tune.choice([{"temperature": tune.uniform(0, 2)}, {"top_p": tune.uniform(0, 1)}]),
        "max_tokens": tune.lograndint(50, 1000),
        "n": tune.randint(1, 100),
        "prompt": "{prompt}",
    }


@dataclass
class SearchSpace:
    """A normalised search space.

    Attributes:
        searched: what BlendSearch searches (domains and index choices); plain values only.
        constants: values passed through to every ``create`` call unchanged.
        prompts: the prompt templates chosen by index (``None`` when tuning ``messages``).
        messages: the message lists chosen by index (``None`` when tuning ``prompt``).
        stops: the stop choices chosen by index (``None`` when ``stop`` is not tuned).
        models: every model the space may call.
        prune_hp: ``"best_of"`` when best_of is tuned, else ``"n"``: the setting grown by doubling.
        left_out: per model, the request parameters it cannot take, never sent to it.
    """

    searched: dict[str, Any]
    constants: dict[str, Any]
    prompts: list[Any] | None
    messages: list[list[Any]] | None
    stops: list[Any] | None
    models: list[str]
    prune_hp: str = "n"
    start_points: list[dict[str, Any]] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)

    def params(self, config: dict[str, Any]) -> dict[str, Any]:
        """The ``create`` keyword arguments of a search config.

        Example:
            >>> space = build_space({"model": "gpt-4o-mini", "prompt": ["{q}", "Q: {q}"], "n": 1}, chat=True)
            >>> space.params({"prompt": 1})["prompt"]
            'Q: {q}'
        """
        params = dict(self.constants)
        params.update(params.pop("temperature_or_top_p", None) or {})
        flat = dict(config)
        flat.update(flat.pop("subspace", None) or {})
        for key, value in flat.items():
            if key == "prompt" and self.prompts is not None:
                params["prompt"] = self.prompts[int(value)]
            elif key == "messages" and self.messages is not None:
                params["messages"] = self.messages[int(value)]
            elif key == "stop" and self.stops is not None:
                params["stop"] = self.stops[int(value)]
            elif key == "temperature_or_top_p":
                params.update({k: _plain(v) for k, v in value.items()})
            else:
                params[key] = _plain(value)
        for param in self.left_out.get(str(params.get("model")), ()):
            params.pop(param, None)
        return params

    def region_key(self, config: dict[str, Any]) -> tuple[str, int, int]:
        """What a config shares with others whose cost grows the same way: model, prompt, stop.

        Example:
            >>> space = build_space({"model": "gpt-4o-mini", "prompt": "{q}", "n": 1}, chat=True)
            >>> space.region_key({"prompt": 0})
            ('gpt-4o-mini', 0, -1)
        """
        flat = dict(config)
        flat.update(flat.get("subspace") or {})
        model = flat.get("model", self.constants.get("model"))
        prompt = flat.get("prompt", flat.get("messages", -1))
        return str(model), int(prompt), int(flat.get("stop", -1))


def build_space(config: dict[str, Any], chat: bool) -> SearchSpace:
    """Normalise the ``tune(**config)`` keyword arguments over the default space.

    Raises:
        ConfigurationError: an argument has a form the documentation does not allow.

    Example:
        >>> space = build_space({"prompt": ["{definition}", "# Python 3{definition}"],
        ...                      "stop": [["\\nclass", "\\ndef"], None]}, chat=False)
        >>> len(space.prompts), space.stops[1], space.models[0]
        (2, None, 'gpt-3.5-turbo-instruct')
    """
    space = default_space(chat)
    if "prompt" in config and "messages" in config:
        raise ConfigurationError("give either 'prompt' or 'messages' to tune, not both.")
    space.update(searched_family(config))  # a domain of either family works
    if "messages" in config:
        space.pop("prompt", None)
    _merge_temperature_top_p(space)
    prune_hp = "best_of" if space.get("best_of", 1) != 1 else "n"
    prompts = messages = stops = None
    if "prompt" in space:
        prompts = _prompt_choices(space["prompt"])
        space["prompt"] = tune.choice(list(range(len(prompts))))
    else:
        messages = _message_choices(space.get("messages"))
        space["messages"] = tune.choice(list(range(len(messages))))
    if space.get("stop") is not None:
        stops = _stop_choices(space["stop"])
        space["stop"] = tune.choice(list(range(len(stops))))
    models = _model_choices(space.pop("model"))
    for key in ("n", "max_tokens", "best_of"):
        _check_positive_int(key, space.get(key))
    refusals = {m: _refusals(space, m, chat) for m in models}
    _log_left_out(refusals, config)
    for model in models:
        _check_values(space, model, chat, refusals[model], stops)
    left_out = {m: sorted({p for params in r.values() for p in params}) for m, r in refusals.items() if r}
    if len(models) == 1:
        for key in refusals[models[0]]:
            space.pop(key)
    searched = {k: v for k, v in space.items() if _is_searched(v)}
    constants = {k: v for k, v in space.items() if k not in searched}
    if len(models) == 1:
        constants["model"] = models[0]
    else:
        refused_keys = {key for r in refusals.values() for key in r}
        dependent = [*_SUBSPACE_KEYS, *sorted(refused_keys - set(_SUBSPACE_KEYS))]
        subspace = {k: searched.pop(k) for k in dependent if k in searched}
        searched["subspace"] = tune.choice(
            [{"model": m, **{k: v for k, v in subspace.items() if k not in refusals[m]}} for m in models]
        )
    return SearchSpace(searched, constants, prompts, messages, stops, models, prune_hp, left_out=left_out)


def _params_of(key: str, value: Any) -> set[str]:
    """The request parameters a setting of the space may set (``temperature_or_top_p`` holds one of two)."""
    if key != "temperature_or_top_p":
        return {key}
    choices = value.categories if isinstance(value, Categorical) else [value]
    return {param for choice in choices if isinstance(choice, dict) for param in choice}


def _refusals(space: dict[str, Any], model: str, chat: bool) -> dict[str, list[str]]:
    """The settings of ``space`` that ``model`` cannot take, each with the parameters it refuses."""
    on_chat = chat or catalog.endpoint_kind(model) == "chat"
    refusals = {}
    for key, value in space.items():
        refused = sorted(p for p in _params_of(key, value) if restriction(model, p, on_chat))
        if refused:
            refusals[key] = refused
    return refusals


def _check_values(
    space: dict[str, Any], model: str, chat: bool, refused: dict[str, list[str]], stops: list[Any] | None
) -> None:
    """Every value the space can send to ``model`` is in the API's range (a domain: both its bounds).

    Raises:
        ConfigurationError: naming the parameter, its range and the model, before anything is spent.
    """
    on_chat = chat or catalog.endpoint_kind(model) == "chat"
    for key, value in space.items():
        if key in refused:
            continue
        if key == "stop":
            for choice in stops or []:
                check_value(model, "stop", choice, on_chat)
        elif key == "temperature_or_top_p":
            for choice in value.categories if isinstance(value, Categorical) else [value]:
                for param, inner in (choice or {}).items():
                    _check_setting(model, param, inner, on_chat)
        elif key not in ("prompt", "messages"):
            _check_setting(model, key, value, on_chat)


def _check_setting(model: str, param: str, value: Any, chat: bool) -> None:
    if isinstance(value, Categorical):
        for choice in value.categories:
            check_value(model, param, choice, chat)
        return
    if isinstance(value, Domain) and hasattr(value, "lower") and hasattr(value, "upper"):
        # flaml's randint/lograndint exclude the upper bound; quantized domains include it.
        integer_exclusive = isinstance(value, Integer) and getattr(value.get_sampler(), "q", None) is None
        try:
            check_value(model, param, value.lower, chat)
            check_value(model, param, value.upper - 1 if integer_exclusive else value.upper, chat)
        except ConfigurationError as error:
            raise ConfigurationError(f"the searched range of {param} for {model}: {error}") from None
        return
    if not isinstance(value, Domain):
        check_value(model, param, value, chat)


def _log_left_out(refusals: dict[str, dict[str, list[str]]], config: dict[str, Any]) -> None:
    for model, refused in refusals.items():
        if refused:
            params = sorted({p for params in refused.values() for p in params})
            logger.info("%s cannot take %s: its trials leave them out (see the trial table).", model, params)
    asked = {k for k in refusals[next(iter(refusals))] if all(k in r for r in refusals.values())}
    asked = {
        k for k in asked if k in config or (k == "temperature_or_top_p" and {"temperature", "top_p"} & set(config))
    }
    if asked:
        logger.warning(
            "no model of the space can take %s, so they are not searched; tune them with models that take them "
            "(e.g. gpt-4.1-mini).",
            sorted(asked),
        )


def _is_searched(value: Any) -> bool:
    if isinstance(value, Domain):
        return True
    if isinstance(value, dict):
        return any(_is_searched(v) for v in value.values())
    return False


def _merge_temperature_top_p(space: dict[str, Any]) -> None:
    temperature, top_p = space.pop("temperature", None), space.pop("top_p", None)
    if temperature is not None and top_p is None:
        space["temperature_or_top_p"] = {"temperature": temperature}
    elif top_p is not None and temperature is None:
        space["temperature_or_top_p"] = {"top_p": top_p}
    elif temperature is not None and top_p is not None:
        space.pop("temperature_or_top_p", None)
        space["temperature"], space["top_p"] = temperature, top_p
        if isinstance(temperature, Domain) and isinstance(top_p, Domain):
            logger.warning("temperature and top_p are not recommended to vary together.")


def _prompt_choices(prompt: Any) -> list[Any]:
    choices = prompt if isinstance(prompt, list) else [prompt]
    if not choices or not all(isinstance(p, str) or callable(p) for p in choices):
        raise ConfigurationError(
            "prompt must be a template (a str, or a callable of the data instance) or a non-empty list of them; "
            f"got {prompt!r}."
        )
    return choices


def _message_choices(messages: Any) -> list[list[Any]]:
    if isinstance(messages, list) and messages and all(isinstance(m, dict) for m in messages):
        messages = [messages]
    valid = (
        isinstance(messages, list)
        and messages
        and all(
            callable(choice) or (isinstance(choice, list) and choice and all(_is_message(m) for m in choice))
            for choice in messages
        )
    )
    if not valid:
        raise ConfigurationError(
            "messages must be a list of messages ({'role': ..., 'content': ...}) or a non-empty list of such "
            f"lists to choose from; got {messages!r}."
        )
    return list(messages)


def _is_message(message: Any) -> bool:
    return isinstance(message, dict) and "role" in message and "content" in message


def _stop_choices(stop: Any) -> list[Any]:
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        return [stop]
    if isinstance(stop, list) and stop and all(_is_stop(s) for s in stop):
        return list(stop)
    raise ConfigurationError(
        "stop must be a string, a list of strings, or a list of choices (each a list of strings, a string or "
        f"None); got {stop!r}."
    )


def _is_stop(stop: Any) -> bool:
    return stop is None or isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))


def _model_choices(model: Any) -> list[str]:
    models = list(model.categories) if isinstance(model, Categorical) else model
    if isinstance(models, str):
        models = [models]
    if not isinstance(models, Sequence) or not models or not all(isinstance(m, str) and m for m in models):
        raise ConfigurationError(f"model must be a model name or a non-empty list of names; got {model!r}.")
    return list(dict.fromkeys(models))


def _check_positive_int(key: str, value: Any) -> None:
    if value is None or isinstance(value, Domain):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{key} must be a positive integer or a flaml.tune domain; got {value!r}.")


def _plain(value: Any) -> Any:
    """numpy scalars from the searcher become Python numbers (JSON and the SDK want those)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def make_searcher(space: SearchSpace, metric: str, mode: str, cost_budget: float | None, seed: int = 20) -> Any:
    """A BlendSearch over ``space`` with ``cost`` as its cost attribute; with several models, every model
    starts from the same first point (FLAML's per-model start points). ``seed`` is BlendSearch's (20,
    its default, is what FLAML's tune uses).

    Example:
        >>> space = build_space({"model": ["gpt-4o-mini", "gpt-4o"], "prompt": "{q}"}, chat=True)
        >>> searcher = make_searcher(space, "success", "max", 1.0)
        >>> sorted(searcher.suggest(f"t{i}")["subspace"]["model"] for i in range(2))
        ['gpt-4o', 'gpt-4o-mini']
    """
    settings: dict[str, Any] = {"metric": metric, "mode": mode, "space": space.searched, "seed": seed}
    settings.update(cost_attr="cost", cost_budget=cost_budget)
    points: list[dict[str, Any]] = []
    with quiet_third_party("optuna"):  # BlendSearch announces each optuna study it creates at INFO
        if "subspace" in space.searched:
            first = BlendSearch(**settings).suggest("t0") or {}
            points = [first]
            subspaces = {choice["model"]: choice for choice in space.searched["subspace"].categories}
            for model in space.models:
                if model != first["subspace"]["model"]:
                    # A model's point keeps only the settings it can take; flaml fills in the ones it lacks.
                    shared = {k: v for k, v in first["subspace"].items() if k in subspaces[model]}
                    points.append({**first, "subspace": {**shared, "model": model}})
        space.start_points = points
        return BlendSearch(**settings, points_to_evaluate=points or None)
