"""The response object ``create`` returns: a plain ``dict`` that prints as JSON."""

from __future__ import annotations

import json
from typing import Any

from ecoptigen.errors import ConfigurationError

__all__ = ["Response", "extract_text", "extract_text_or_function_call"]


class Response(dict):
    """An endpoint's answer as a ``dict`` (``response["choices"][0]["text"]``), printed as indented JSON.

    ecoptigen adds ``cost`` (dollars; ``nan`` when the model has no known price), ``cost_estimated``
    (``True`` when the server sent no usage and ecoptigen counted the tokens itself) and, when a
    ``config_list`` was given, ``config_id`` and ``pass_filter``.
    """

    def __str__(self) -> str:
        return json.dumps(self, indent=2, default=str)

    __repr__ = __str__


def _choices(response: dict) -> list[dict]:
    try:
        return list(response["choices"])
    except (KeyError, TypeError):
        hint = (
            ": create() returns -1 when raise_on_ratelimit_or_timeout=False and every attempt failed; "
            "check for -1 first"
        )
        raise ConfigurationError(
            f"expected a response returned by create() (a dict with 'choices'), got {response!r:.60}"
            f"{hint if response == -1 else ''}."
        ) from None


def extract_text(response: dict) -> list[str]:
    """The text of every choice: ``text`` for completion models, message ``content`` for chat models.

    Example:
        >>> extract_text({"choices": [{"text": "a"}, {"message": {"content": "b"}}]})
        ['a', 'b']
    """
    return [
        choice["text"] if "text" in choice else (choice.get("message") or {}).get("content") or ""
        for choice in _choices(response)
    ]


def extract_text_or_function_call(response: dict) -> list[Any]:
    """Like :func:`extract_text`, but a chat message that calls a function or tool is returned whole."""
    out: list[Any] = []
    for choice in _choices(response):
        message = choice.get("message")
        if message and (message.get("function_call") or message.get("tool_calls")):
            out.append(message)
        else:
            out.append(choice["text"] if "text" in choice else (message or {}).get("content") or "")
    return out
