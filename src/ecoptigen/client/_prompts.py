"""Turning templates plus a context into the prompt or messages of one request."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from ecoptigen.errors import ConfigurationError, TemplateError

__all__ = ["instantiate", "instantiate_messages", "template_keys"]

Template = str | Callable[[dict], str] | None


def template_keys(template: Any) -> set[str]:
    """The top-level field names a ``str.format`` template refers to (empty for anything else).

    Example:
        >>> sorted(template_keys("# Python 3{definition}{x[0]}"))
        ['definition', 'x']
    """
    if not isinstance(template, str):
        return set()
    keys = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            keys.add(field.split(".", 1)[0].split("[", 1)[0])
    return keys


def instantiate(template: Template, context: dict | None, allow_format_str_template: bool = True) -> Any:
    """Fill ``template`` from ``context``.

    A callable is called with the context; a string is ``str.format``-ed with it when
    ``allow_format_str_template`` is true; anything else (or no context) is returned unchanged.

    Raises:
        TemplateError: the template names a key the context does not have.

    Example:
        >>> instantiate("# Python 3{definition}", {"definition": "def f(): ..."})
        '# Python 3def f(): ...'
    """
    if context is None or template is None:
        return template
    if callable(template):
        return template(context)
    if isinstance(template, str) and allow_format_str_template:
        try:
            return template.format(**context)
        except KeyError as exc:
            raise TemplateError(
                f"template {template[:80]!r} refers to {{{exc.args[0]}}}, which the context does not "
                f"have (context keys: {sorted(context)}). Add the key to every data instance, or "
                "fix the template."
            ) from None
        except (IndexError, ValueError) as exc:
            raise ConfigurationError(
                f"template {template[:80]!r} is not a valid str.format template ({exc}). Double literal "
                "braces as {{ and }}, or pass allow_format_str_template=False."
            ) from None
    return template


def instantiate_messages(messages: Any, context: dict | None, allow_format_str_template: bool = True) -> Any:
    """Fill the ``content`` of each message; the messages list itself may also be a callable."""
    if callable(messages):
        messages = messages(context)
    if context is None or not isinstance(messages, list):
        return messages
    filled = []
    for message in messages:
        if isinstance(message, dict) and "content" in message:
            message = {**message, "content": instantiate(message["content"], context, allow_format_str_template)}
        filled.append(message)
    return filled
