"""The response cache: canonical request in, JSON response out, on disk.

One :class:`diskcache.Cache` (SQLite under the hood) per seed, in ``<cache_path_root>/<seed>``, as
FLAML laid it out. diskcache is safe for many threads and for several processes sharing one
directory. Values are stored as JSON text, never pickles, so a cache directory someone hands you
cannot run code. Only successful responses are stored. A cache that cannot be read (a corrupted
database, a disk error) never crashes a run: ecoptigen warns once and treats it as a miss; so does a
damaged entry (one warning per cache, naming the first such entry).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from typing import Any

import diskcache

__all__ = ["ResponseCache", "cache_key"]

logger = logging.getLogger(__name__)


def cache_key(request: dict[str, Any], salt: str | None = None) -> str:
    """The cache key of a request: a digest of its canonical JSON (credentials never included).

    Example:
        >>> cache_key({"model": "m", "n": 1}) == cache_key({"n": 1, "model": "m"})
        True
    """
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    if salt:
        canonical += "\x00" + salt
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """Cached responses for one ``(cache_path_root, seed)``; every method is thread-safe."""

    def __init__(self, directory: str):
        self.directory = directory
        self._cache: diskcache.Cache | None = None
        self._broken = False
        self._unreadable_entries = 0
        self._lock = threading.Lock()

    def _open(self) -> diskcache.Cache | None:
        if self._cache is not None or self._broken:
            return self._cache
        with self._lock:
            if self._cache is None and not self._broken:
                try:
                    os.makedirs(self.directory, exist_ok=True)
                    self._cache = diskcache.Cache(self.directory)
                except Exception as exc:
                    self._fail("open", exc)
        return self._cache

    def _fail(self, action: str, exc: BaseException) -> None:
        if not self._broken:
            self._broken = True
            warnings.warn(
                f"the response cache in {self.directory!r} could not {action} ({type(exc).__name__}: {exc}); "
                "continuing without it. Nothing in the directory was changed: move it aside or call "
                "clear_cache() to start a fresh cache.",
                RuntimeWarning,
                stacklevel=4,
            )

    def get(self, key: str) -> dict | None:
        """The cached response for ``key``, or ``None`` on a miss (or an unreadable cache)."""
        cache = self._open()
        if cache is None:
            return None
        try:
            text = cache.get(key)
        except Exception as exc:
            self._fail("be read", exc)
            return None
        if text is None:
            return None
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            self._unreadable(key)  # a damaged entry is a miss; the fresh response overwrites it
            return None

    def _unreadable(self, key: str) -> None:
        with self._lock:
            self._unreadable_entries += 1
            first = self._unreadable_entries == 1
        if first:
            logger.warning(
                "ignoring unreadable entry %s in the response cache %r: it is treated as a miss and "
                "overwritten (further unreadable entries in this cache are logged at DEBUG).",
                key,
                self.directory,
            )
        else:
            logger.debug("ignoring unreadable entry %s in the response cache %r", key, self.directory)

    def set(self, key: str, response: dict) -> None:
        """Store ``response`` under ``key`` (a failure to write only costs a future cache hit)."""
        cache = self._open()
        if cache is None:
            return
        try:
            cache.set(key, json.dumps(response, default=str))
        except Exception as exc:
            self._fail("be written", exc)

    def close(self) -> None:
        with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None
