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
    {"kind": "trial", "rechecks": 3, "index": 3, "config": {...}, "status": "ok", ...}
                                                      the re-check of trial 3 on fresh completions

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
the killed run stopped. Secrets (``api_key``, ``config_list``) are never written.

What a resume trusts is checked first (:mod:`~ecoptigen.tuning._journal_lines`): a last line cut short
by a kill (no newline at its end) is dropped with a warning; any other damaged or implausible line, or
more money recorded than the budget allows, stops the resume with the file, the line and what to do.
Only one run may use a journal at a time (:mod:`~ecoptigen.tuning._journal_lock`). A write that fails
(a full disk) raises :class:`~ecoptigen.errors.StorageError` naming the file, and every later write
of the run fails the same way without touching the file, so the file ends with at most one torn line,
which the next resume drops.

Version 1 journals (trial lines and ``{"kind": "spend", "total_paid": ...}`` checkpoints that counted a
step's worst case before it was sent) are upgraded in place on open: their last ``total_paid`` is
carried over as paid (version 1 cannot tell paid from held), and new lines follow in version 2.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from ecoptigen.errors import ConfigurationError, StorageError
from ecoptigen.tuning._flaml import Domain
from ecoptigen.tuning._journal_lines import MONEY_KINDS, MoneyIds, line_problem
from ecoptigen.tuning._logs import RunLogger
from ecoptigen.tuning.analysis import CREDENTIAL_KEYS

__all__ = ["JOURNAL_VERSION", "Journal", "describe", "fingerprint"]

JOURNAL_VERSION = 2

logger = RunLogger("ecoptigen.tuning")


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
        >>> journal.append({"kind": "trial", "index": 0, "config": {"n": 1}, "status": "ok",
        ...                 "metrics": {"success": 1.0}, "inference_cost": 0.001, "cost": 0.01})
        >>> journal.close()
        >>> again = Journal.open(path, "abc", metric="success", mode="max")
        >>> [r["index"] for r in again.records], again.paid, again.next_id
        ([0], 0.01, 1)
        >>> journal.close(); again.close()
    """

    path: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    paid: float = 0.0
    unconfirmed: float = 0.0
    in_flight: dict[int, float] = field(default_factory=dict)
    next_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _file: Any = field(default=None, repr=False)
    _failure: StorageError | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: str | None, fingerprint: str, **header: Any) -> Journal:
        """Load the trials and money of ``path`` (creating it with a header if absent); ``None`` keeps nothing.

        Raises:
            ConfigurationError: the file belongs to another tuning, has an unknown format version, or has a
                damaged or implausible line (the message names the line and what to do).
            StorageError: the file cannot be written (a full disk).
        """
        if path is None:
            return cls(None)
        line = {"journal": "ecoptigen.tuning", "version": JOURNAL_VERSION, "fingerprint": fingerprint, **header}
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                with open(path, "w", encoding="utf-8") as file:
                    file.write(json.dumps(line) + "\n")
            except OSError as exc:
                raise _storage_error(path, exc) from exc
            return cls(path)
        version, lines = _read(path, fingerprint, header.get("metric"))
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
            if kind not in MONEY_KINDS:
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

        Raises:
            ConfigurationError: the journal records more money than ``budget`` (nothing is written then).
        """
        recorded = self.paid + self.unconfirmed
        if budget is not None and recorded > budget * (1 + 1e-9) + 1e-12:
            raise ConfigurationError(
                f"{self.path} records ${recorded:.6f} already spent (${self.paid:.6f} paid, ${self.unconfirmed:.6f} "
                f"unconfirmed), more than the optimization budget of ${budget}, so resuming could only overspend. "
                f"Give an optimization_budget above ${recorded:.6f} to continue this tuning, or move the journal "
                "away to start a new one."
            )
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
        """Append ``record`` as one line, written through to the operating system at once.

        Raises:
            StorageError: this write, or an earlier one of this journal, failed (then nothing more is
                written: a line after a torn one would damage the middle of the file).
        """
        if self.path is None:
            return
        data = (json.dumps(record, default=repr) + "\n").encode()
        with self._lock:
            if self._failure is not None:
                raise StorageError(str(self._failure), self.path)
            try:
                if self._file is None:
                    # unbuffered: nothing is left in memory to be written later, or lost
                    self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115  # closed by close()
                written = 0
                while written < len(data):
                    written += self._file.write(data[written:])
            except OSError as exc:
                self._failure = _storage_error(self.path, exc)
                self._close_file()
                raise self._failure from exc

    def _close_file(self) -> None:
        """Close the file, ignoring errors (after a failed write; nothing is buffered). Under the lock."""
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    @property
    def failure(self) -> StorageError | None:
        """The error of the write that failed, if one did (the journal then writes nothing more)."""
        return self._failure

    @property
    def failure_cause(self) -> str:
        """What the operating system said when the write failed (e.g. "No space left on device"), or ``""``."""
        cause = self._failure.__cause__ if self._failure is not None else None
        return (getattr(cause, "strerror", None) or str(cause)) if cause is not None else ""

    def close(self) -> None:
        """Close the file (appends reopen it)."""
        with self._lock:
            self._close_file()

    def take(self, config: dict[str, Any], rechecks: int | None = None) -> dict[str, Any] | None:
        """Remove and return the first unreplayed trial of ``config``, if the journal has one
        (``rechecks``: the re-check of trial ``rechecks`` instead; see :mod:`~ecoptigen.tuning._recheck`)."""
        key = _config_key(config)
        with self._lock:
            for index, record in enumerate(self.records):
                if record.get("rechecks") == rechecks and _config_key(record.get("config", {})) == key:
                    return self.records.pop(index)
        return None


def _config_key(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=repr)


def _read(path: str, expected: str, metric: str | None) -> tuple[int, list[dict[str, Any]]]:
    """The version and the checked lines (after the header) of the journal at ``path``.

    Raises:
        ConfigurationError: not a journal of this tuning, or a line that cannot be trusted.
        StorageError: a torn last line could not be cut off.
    """
    with open(path, "rb") as file:
        data = file.read()
    if not data.endswith(b"\n"):
        data = _drop_torn_line(path, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        number = data.count(b"\n", 0, exc.start) + 1
        raise ConfigurationError(
            f"{path}, line {number}, is not UTF-8 text: the journal is damaged. Move the file away to start the "
            "tuning afresh, or give another log_file_name."
        ) from None
    lines = text.split("\n")[:-1]
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
    records: list[dict[str, Any]] = []
    ids = MoneyIds()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        problem: str | None
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record, problem = None, "it is not valid JSON"
        else:
            problem = line_problem(record, metric, ids)
        if problem is not None:
            raise ConfigurationError(
                f"{path}, line {number}, cannot be trusted: {problem}. The journal is damaged or was edited, so "
                "resuming from it could pay twice or overspend. Move the file away to start the tuning afresh "
                "(the response cache still spares answers already paid for), or give another log_file_name; "
                f"if only the last lines are damaged, deleting lines {number} to the end keeps the rest."
            )
        records.append(record)
    return int(version), records


def _drop_torn_line(path: str, data: bytes) -> bytes:
    """Cut off a last line that a kill (or a full disk) left without its newline, so new lines start clean."""
    kept = data[: data.rfind(b"\n") + 1]
    if kept:  # the header alone cut short is not a journal at all: the caller says so
        logger.warning(
            "%s: dropping its last line, %d characters cut short (by a kill or a full disk during a write); the "
            "resume continues without it",
            path,
            len(data) - len(kept),
        )
    try:
        with open(path, "r+b") as file:
            file.truncate(len(kept))
    except OSError as exc:
        raise _storage_error(path, exc) from exc
    return kept


def _storage_error(path: str, exc: OSError) -> StorageError:
    return StorageError(
        f"could not write the tuning journal {path} ({exc.strerror or exc}). The tuning stopped sending requests "
        "and returned the best configuration found so far; free some space (or fix the disk) and run the same "
        "call again to resume.",
        path,
    )


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
