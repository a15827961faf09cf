"""What every results file must hold: the machine, the mode, the versions measured, and finite numbers.

It checks form, not speed: a quick pass proves a benchmark runs to the end and writes what readers of
its results file expect (``check_results``). Usage: see ``run.py --check``.
"""

from __future__ import annotations

import fnmatch
import json
import math
from pathlib import Path
from typing import Any

_MACHINE_TEXT = ("date", "cpu_model", "os", "platform", "python")
_MACHINE_NUMBERS = ("cores", "seconds")
_LOADS = ("load_average_start", "load_average_end")


class SchemaError(ValueError):
    """A results file is missing something or holds a value of the wrong kind."""


def _fail(path: Path, message: str) -> SchemaError:
    return SchemaError(f"{path}: {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def resolve(document: Any, dotted: str) -> list[tuple[str, Any]]:
    """The values at a dotted path, whose parts may be patterns (``*``, ``vs_*``) matching keys or indexes.

    Raises:
        KeyError: a part matches nothing.
    """
    found: list[tuple[str, Any]] = [("", document)]
    for part in dotted.split("."):
        step = []
        for where, value in found:
            items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
            step += [(f"{where}.{k}".lstrip("."), v) for k, v in items if fnmatch.fnmatchcase(str(k), part)]
        if not step:
            raise KeyError(f"{dotted} (nothing matches {part!r})")
        found = step
    return found


def check_results(path: Path, quick: bool | None, peers: tuple[str, ...] = (), numbers: tuple[str, ...] = ()) -> None:
    """Check one results file.

    Args:
        path: the file.
        quick: the mode it must say it was written in (``None``: either).
        peers: peers whose versions it must record.
        numbers: dotted paths to finite numbers (parts may be patterns: ``*``, ``vs_*``).

    Raises:
        SchemaError: the file is missing, not JSON, or lacks something; the message says what.
    """
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise _fail(path, f"not a readable JSON file ({exc})") from exc
    if not isinstance(document, dict):
        raise _fail(path, "not a JSON object")
    machine = document.get("machine")
    if not isinstance(machine, dict):
        raise _fail(path, "no 'machine'")
    for key in _MACHINE_TEXT:
        if not isinstance(machine.get(key), str) or not machine[key]:
            raise _fail(path, f"machine.{key} is not a non-empty string")
    for key in _MACHINE_NUMBERS:
        if not _is_number(machine.get(key)):
            raise _fail(path, f"machine.{key} is not a number")
    for key in _LOADS:
        loads = machine.get(key)
        if not isinstance(loads, list) or len(loads) != 3 or not all(_is_number(x) for x in loads):
            raise _fail(path, f"machine.{key} is not three load averages")
    if not isinstance(document.get("quick"), bool) or (quick is not None and document["quick"] != quick):
        raise _fail(path, f"'quick' should be {quick}")
    if not isinstance(document.get("benchmark"), str):
        raise _fail(path, "no 'benchmark' description")
    if not isinstance(document.get("ecoptigen"), dict) or not isinstance(document["ecoptigen"].get("version"), str):
        raise _fail(path, "no ecoptigen version")
    recorded = document.get("peers")
    if not isinstance(recorded, dict):
        raise _fail(path, "no 'peers'")
    for peer in peers:
        versions = recorded.get(peer)
        if not isinstance(versions, dict) or not versions or not all(isinstance(v, str) for v in versions.values()):
            raise _fail(path, f"the versions of peer {peer} are not recorded")
    for dotted in numbers:
        try:
            values = resolve(document, dotted)
        except KeyError as exc:
            raise _fail(path, f"{exc.args[0]} is missing") from exc
        for where, value in values:
            if not _is_number(value):
                raise _fail(path, f"{where} is {value!r}, not a finite number")
