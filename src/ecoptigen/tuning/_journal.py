"""The resume journal: one JSON line per finished trial, and one per money event of the tuning.

Format (version 2)::

    {"journal": "ecoptigen.tuning", "version": 2, "fingerprint": "<sha256>", "metric": ..., "mode": ...}
    {"kind": "hold", "id": 0, "usd": 0.0125}          a request goes out; its worst case is held
    {"kind": "paid", "id": 0, "usd": 0.0009}          ... and was answered: its real cost
    {"kind": "free", "id": 3, "usd": 0.0}             ... or failed in a way that cannot have been billed
    {"kind": "estimate", "id": 5, "usd": 0.0011}      ... or its answer was lost: an estimate (may be revised)
    {"kind": "trial", "index": 0, "config": {...}, "params": {...}, "status": "ok", "metrics": {...},
     "inference_cost": 0.01, "cost": 0.2, "paid": 0.2, "updates": [...], "avg_input_tokens": 143.5,
     "error": null, "seconds": 1.2, "total_paid": 0.7, "unconfirmed": 0.0}

Money events are written as they happen (a request's answer is accounted for before it is stored in
the response cache), so after a kill the journal knows exactly what was paid: the sum of the ``paid``
lines. Only requests that were truly in flight at the kill -- a ``hold`` with no line closing it -- are
unknown; a resumed run counts them as unconfirmed spending at their worst case, capped at what the
budget had left (:meth:`Journal.reconcile`), and writes that down so the next resume agrees.

The first line names the tuning it belongs to: a fingerprint of everything that decides which trials
run and what they return (data, metric, mode, inference budget, search space) -- not the optimization
budget or ``num_samples``, so a run can be resumed with more of either. A re-run with the same
arguments replays the journal's trials into the searcher instead of evaluating them; because the
searcher is deterministic, it proposes the same configurations in the same order and continues where
the killed run stopped. A line cut short by a kill is ignored. Secrets (``api_key``, ``config_list``)
are never written.

Version 1 journals (trial lines and ``{"kind": "spend", "total_paid": ...}`` checkpoints that counted a
step's worst case before it was sent) are upgraded in place on open: their last ``total_paid`` is
carried over as paid (version 1 cannot tell paid from held), and new lines follow in version 2.
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

JOURNAL_VERSION = 2
_MONEY_KINDS = ("hold", "paid", "free", "estimate")


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
        fields = vars(value)
        if type(value).__name__ == "_LogUniform" and "base" not in fields:
            # Ray's copy of flaml's log-uniform sampler keeps no base (the distribution does not depend on
            # it): describe it as flaml's default, so installing Ray does not change a tuning's fingerprint
            fields = {"base": 10}
        return {type(value).__name__: describe(fields)} if fields else {"sampler": type(value).__name__}
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
    """An append-only trial and money log bound to one tuning; thread-safe appends.

    Attributes:
        records: the finished trials read back, not yet replayed.
        paid: dollars known to be paid, over every run of the tuning so far.
        unconfirmed: dollars estimated for requests that may have been billed but whose answers were lost.
        in_flight: worst cases of the requests that were in flight when the last run was killed, by id.
        next_id: the first money-event id that is free.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tune.jsonl")
        >>> journal = Journal.open(path, "abc", metric="success", mode="max")
        >>> journal.money("hold", 0, 0.5); journal.money("paid", 0, 0.01)
        >>> journal.append({"kind": "trial", "index": 0, "config": {"n": 1}})
        >>> again = Journal.open(path, "abc", metric="success", mode="max")
        >>> [r["index"] for r in again.records], again.paid, again.next_id
        ([0], 0.01, 1)
    """

    path: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    paid: float = 0.0
    unconfirmed: float = 0.0
    in_flight: dict[int, float] = field(default_factory=dict)
    next_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _file: Any = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | None, fingerprint: str, **header: Any) -> Journal:
        """Load the trials and money of ``path`` (creating it with a header if absent); ``None`` keeps nothing.

        Raises:
            ConfigurationError: the file belongs to another tuning or has an unknown format version.
        """
        if path is None:
            return cls(None)
        line = {"journal": "ecoptigen.tuning", "version": JOURNAL_VERSION, "fingerprint": fingerprint, **header}
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w", encoding="utf-8") as file:
                file.write(json.dumps(line) + "\n")
            return cls(path)
        version, lines = _read(path, fingerprint)
        if version == 1:
            lines = _upgrade(path, line, lines)
        journal = cls(path, [r for r in lines if r.get("kind") == "trial"])
        journal._replay_money(lines)
        return journal

    def _replay_money(self, lines: list[dict[str, Any]]) -> None:
        estimates: dict[int, float] = {}
        for record in lines:
            kind = record.get("kind")
            if kind == "carried":
                self.paid += float(record["usd"])
                continue
            if kind not in _MONEY_KINDS:
                continue
            number, usd = int(record["id"]), float(record["usd"])
            self.next_id = max(self.next_id, number + 1)
            if kind == "hold":
                self.in_flight[number] = usd
                continue
            self.in_flight.pop(number, None)
            if kind == "paid":
                self.paid += usd
            elif kind == "estimate":
                estimates[number] = usd  # a later estimate of the same request revises the earlier one
        self.unconfirmed = sum(estimates.values())

    def reconcile(self, budget: float | None) -> float:
        """Count the requests that were in flight when the last run was killed as unconfirmed spending:
        their worst case, capped at what the budget had left. Written down, so later resumes agree.

        Returns:
            The dollars added to :attr:`unconfirmed`.
        """
        held = sum(self.in_flight.values())
        if held <= 0:
            self.in_flight.clear()
            return 0.0
        left = held if budget is None else max(0.0, min(held, budget - self.paid - self.unconfirmed))
        scale = left / held
        for number, usd in sorted(self.in_flight.items()):
            self.money("estimate", number, usd * scale)
        self.close()
        self.in_flight.clear()
        self.unconfirmed += left
        return left

    def money(self, kind: str, number: int, usd: float) -> None:
        """Write one money event of the tuning's ledger (a :data:`ecoptigen.money.ledger.Listener`)."""
        self._write({"kind": kind, "id": number, "usd": usd})

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished trial (flushed at once, so a kill loses at most the trial in progress)."""
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = json.dumps(record, default=repr) + "\n"
        with self._lock:
            if self._file is None:
                self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115  # closed by close()
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Close the file (appends reopen it)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

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


def _read(path: str, expected: str) -> tuple[int, list[dict[str, Any]]]:
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
    version = header.get("version")
    if header.get("journal") != "ecoptigen.tuning" or version not in (1, JOURNAL_VERSION):
        raise ConfigurationError(
            f"{path} is not an ecoptigen tuning journal of format version {JOURNAL_VERSION} (found version "
            f"{version!r}). Give another log_file_name, or move the file away."
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
    return int(version), records


def _upgrade(path: str, header: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite a version 1 journal as version 2 (atomically, so a kill leaves one or the other)."""
    paid = [float(r["total_paid"]) for r in lines if "total_paid" in r]
    upgraded = [{"kind": "carried", "usd": paid[-1] if paid else 0.0, "from_version": 1}]
    upgraded += [r for r in lines if r.get("kind") == "trial"]
    temporary = path + ".upgrading"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write("".join(json.dumps(r, default=repr) + "\n" for r in [header, *upgraded]))
    os.replace(temporary, path)
    return upgraded


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
