"""Parameters real servers ignore, emulated: a :class:`Simulator` that behaves like one of them.

The plain simulator honours every parameter, which real OpenAI-compatible servers do not (llama.cpp and
Ollama answer ``n=3`` with one choice, some servers send no ``usage``). These quirks let the fast test
suite exercise what ecoptigen does about them without building a real server. Each one rewrites the
request before the simulator sees it, or the answer after, so the simulated protocol itself is untouched
and the server's ``stats()`` still show what was really generated and billed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ecoptigen.errors import ConfigurationError
from ecoptigen.sim._protocol import Reply, Simulator, _ApiError

__all__ = ["QUIRKS", "QuirkySimulator", "validate_quirks"]

QUIRKS = {
    "ignore_n": "n and best_of are dropped: every answer has one choice (llama-cpp-python, Ollama)",
    "reject_n": "n other than 1 is refused with a 400, as llama.cpp's own llama-server does",
    "no_usage": "answers carry no usage (some servers, and streamed replies)",
    "ignore_seed": "seed is dropped: a request is answered as if it had none, so the same seed need not repeat",
}


def validate_quirks(quirks: Iterable[str] | None) -> frozenset[str]:
    """The quirks as a set, checked.

    Raises:
        ConfigurationError: an unknown quirk (the message lists the known ones).

    Example:
        >>> sorted(validate_quirks(["no_usage", "ignore_n"]))
        ['ignore_n', 'no_usage']
    """
    if isinstance(quirks, str):
        quirks = [quirks]
    chosen = frozenset(quirks or ())
    unknown = chosen - set(QUIRKS)
    if unknown:
        raise ConfigurationError(f"unknown quirks {sorted(unknown)}; use some of {sorted(QUIRKS)}")
    return chosen


class QuirkySimulator(Simulator):
    """A :class:`Simulator` that ignores the parameters named in ``quirks`` (see :data:`QUIRKS`)."""

    def __init__(self, *args: Any, quirks: Iterable[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.quirks = validate_quirks(quirks)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one HTTP request as a server with these quirks would."""
        request = _parse(body)
        if request is not None and "reject_n" in self.quirks and request.get("n", 1) != 1:
            self._count(None, error=True)
            return _ApiError(400, "Only one completion choice is allowed (simulated llama-server).").reply
        if request is not None:
            body = json.dumps(self._rewrite_request(request)).encode()
        reply = super().handle(method, target, headers, body)
        if "no_usage" in self.quirks and reply.status == 200 and isinstance(reply.body, dict):
            reply.body.pop("usage", None)
        return reply

    def _rewrite_request(self, request: dict) -> dict:
        if "ignore_n" in self.quirks:
            request.pop("n", None)
            request.pop("best_of", None)
        if "ignore_seed" in self.quirks:
            request.pop("seed", None)
        return request


def _parse(body: bytes) -> dict | None:
    """The JSON object in ``body``, or ``None`` (the simulator answers what it cannot parse with its own 400)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    return request if isinstance(request, dict) else None
