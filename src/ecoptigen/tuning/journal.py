"""The resume journal: one JSON line per finished trial, appended as the trial finishes.

Format (version 1)::

    {"journal": "ecoptigen.tuning", "version": 1, "fingerprint": "<sha256>", "metric": ..., "mode": ...}
    {"kind": "trial", "index": 0, "config": {...}, "params": {...}, "status": "ok", "metrics": {...},
     "inference_cost": 0.01, "cost": 0.2, "paid": 0.2, "updates": [...], "avg_input_tokens": 143.5,
     "error": null, "seconds": 1.2, "total_paid": 0.7}
    {"kind": "spend", "total_paid": 0.74}

``total_paid`` is what the tuning had paid (over all its runs) when the line was written. ``spend``
lines are checkpoints: before a step of requests goes out (counting the step's worst case as spent),
after it, and when a run ends. The last line's ``total_paid`` is what a resumed run starts from, so
money paid for a trial that never finished (killed, or cut by the budget) still counts against the
budget -- conservatively when the kill came in the middle of a step.

The first line names the tuning it belongs to: a fingerprint of everything that decides which trials
run and what they return (data, metric, mode, inference budget, search space) -- not the optimization
budget or ``num_samples``, so a run can be resumed with more of either. A re-run with the same
arguments replays the journal's trials into the searcher instead of evaluating them; because the
searcher is deterministic, it proposes the same configurations in the same order and continues where
the killed run stopped. A line cut short by a kill is ignored. Secrets (``api_key``, ``config_list``)
are never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._flaml import Domain
from ecoptigen.tuning.analysis import CREDENTIAL_KEYS

__all__ = ["JOURNAL_VERSION", "Journal", "describe", "fingerprint"]

JOURNAL_VERSION = 1


def describe(value: Any) -> Any:
    """A stable, JSON-able description of a search-space value (domains and callables included).

    Example:
        >>> from ecoptigen.tuning._flaml import tune
        >>> describe({"x": tune.uniform(0, 1)})
        {'x': {'domain': 'Float', 'lower': 0, 'upper': 1, 'sampler': {'sampler': '_Uniform'}}}
    """
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, Domain):
        fields = {k: describe(v) for k, v in vars(value).items() if not k.startswith("_") or k == "_sampler"}
        return {"domain": type(value).__name__, **{k.lstrip("_"): v for k, v in fields.items()}}
    if callable(value):
        return f"<callable {getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)}>"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dict__"):
        return {type(value).__name__: describe(vars(value))} if vars(value) else {"sampler": type(value).__name__}
    return repr(value)


def fingerprint(**parts: Any) -> str:
    """A hash of the tuning's defining arguments.

    Example:
        >>> fingerprint(metric="success", data=[{"q": 1}]) == fingerprint(data=[{"q": 1}], metric="success")
        True
    """
    text = json.dumps(describe(parts), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def public_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without secrets, as JSON-able values (for the journal and the trial table)."""
    return {k: describe(v) for k, v in params.items() if k not in CREDENTIAL_KEYS}


@dataclass
class Journal:
    """An append-only trial log bound to one tuning; thread-safe appends.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tune.jsonl")
        >>> journal = Journal.open(path, "abc", metric="success", mode="max")
        >>> journal.append({"kind": "trial", "index": 0, "config": {"n": 1}})
        >>> [r["index"] for r in Journal.open(path, "abc", metric="success", mode="max").records]
        [0]
    """

    path: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    paid: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, path: str | None, fingerprint: str, **header: Any) -> Journal:
        """Load the trials of ``path`` (creating it with a header if absent); ``None`` keeps nothing.

        Raises:
            ConfigurationError: the file belongs to another tuning or has an unknown format version.
        """
        if path is None:
            return cls(None)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            line = {"journal": "ecoptigen.tuning", "version": JOURNAL_VERSION, "fingerprint": fingerprint, **header}
            with open(path, "w", encoding="utf-8") as file:
                file.write(json.dumps(line) + "\n")
            return cls(path)
        lines = _read(path, fingerprint)
        trials = [r for r in lines if r.get("kind") == "trial"]
        paid = [float(r["total_paid"]) for r in lines if "total_paid" in r]
        return cls(path, trials, paid[-1] if paid else 0.0)

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished trial (flushed at once, so a kill loses at most the trial in progress)."""
        with self._lock:
            self.paid = float(record.get("total_paid", self.paid))
        if self.path is None:
            return
        line = json.dumps(record, default=repr) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()

    def checkpoint(self, total_paid: float) -> None:
        """Record what the tuning has paid (or has at risk) so far, if it changed since the last line."""
        if total_paid != self.paid:
            self.append({"kind": "spend", "total_paid": total_paid})

    def take(self, config: dict[str, Any]) -> dict[str, Any] | None:
        """Remove and return the first unreplayed trial of ``config``, if the journal has one."""
        key = _config_key(config)
        with self._lock:
            for index, record in enumerate(self.records):
                if _config_key(record.get("config", {})) == key:
                    return self.records.pop(index)
        return None


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=repr)


def _read(path: str, expected: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as file:
        text = file.read()
    if not text.endswith("\n"):  # a kill cut the last line short: drop it so new lines start clean
        text = text[: text.rfind("\n") + 1]
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    lines = text.splitlines()
    if not lines:
        raise ConfigurationError(f"{path} has no header line; delete it or give another log_file_name.")
    header = _parse(lines[0], path, 1)
    if header.get("journal") != "ecoptigen.tuning" or header.get("version") != JOURNAL_VERSION:
        raise ConfigurationError(
            f"{path} is not an ecoptigen tuning journal of format version {JOURNAL_VERSION} (found version "
            f"{header.get('version')!r}). Give another log_file_name, or move the file away."
        )
    if header.get("fingerprint") != expected:
        raise ConfigurationError(
            f"{path} logs a different tuning (other data, metric, inference budget or search space), so it "
            "cannot be resumed. Give another log_file_name to start a new tuning, or delete the file."
        )
    records = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise ConfigurationError(f"{path}:{number} is not valid JSON; the journal is damaged.") from None
    return records


def _parse(line: str, path: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"{path}:{number} is not an ecoptigen tuning journal header. Give another log_file_name, or delete "
            "the file."
        )
    return value
