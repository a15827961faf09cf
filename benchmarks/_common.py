"""Helpers shared by the benchmarks: machine description, results files, a sim server in a subprocess.

Every benchmark takes ``--quick`` (small sizes: it must run to the end, its numbers mean little) and
``--out DIR``. Full runs write to ``benchmarks/results/`` (the committed numbers); quick runs write to a
scratch folder unless ``--out`` says otherwise, so a quick pass never overwrites the committed results.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from _peers import used_peers

HERE = Path(__file__).parent
RESULTS = HERE / "results"
QUICK_RESULTS = Path(tempfile.gettempdir()) / "ecoptigen-benchmarks-quick"


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


# Taken when the benchmark starts, to say how busy the (shared) machine was while it ran.
_STARTED = (time.monotonic(), os.getloadavg(), _cpu_times())


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--quick`` and ``--out`` to a benchmark's parser."""
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmark runs, not speed")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"results folder (default: {RESULTS}; with --quick: {QUICK_RESULTS})"
    )


def _read_first(path: str, prefix: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
    return None


def machine() -> dict:
    """What the numbers were measured on, and how busy the machine was meanwhile (it may be shared)."""
    memory_kib = _read_first("/proc/meminfo", "MemTotal")
    started, load_start, (busy0, total0) = _STARTED
    busy1, total1 = _cpu_times()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory_kib.split()[0]) / 2**20, 1) if memory_kib else None,
        "cpu_model": _read_first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "os": _read_first("/etc/os-release", "PRETTY_NAME") or platform.system(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "seconds": round(time.monotonic() - started, 1),
        "niceness": os.nice(0),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        # Share of all CPU time that was busy during the run, this benchmark's own work included.
        "cpu_busy_share": round((busy1 - busy0) / (total1 - total0), 3) if total1 > total0 else None,
    }


def ecoptigen_version() -> dict:
    """The measured ecoptigen: its version and, in a git checkout, the commit (``-dirty`` if modified)."""
    found: dict = {"version": metadata.version("ecoptigen"), "openai": metadata.version("openai")}
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        found["git"] = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return found


def write_results(name: str, results: dict, args: argparse.Namespace) -> Path:
    """Write ``results`` with the machine, the peers' versions and the run's mode to ``<out>/<name>.json``.

    Args:
        name: the file's stem.
        results: the benchmark's numbers; must hold a ``"benchmark"`` description.
        args: the parsed command line (its ``quick`` and ``out``).

    Returns:
        The path written.
    """
    folder = args.out or (QUICK_RESULTS if args.quick else RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    document = {
        "machine": machine(),
        "quick": bool(args.quick),
        "ecoptigen": ecoptigen_version(),
        "peers": used_peers(),
        **results,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    for key, value in results.items():
        text = str(value)
        print(f"{key}: {text if len(text) < 400 else text[:400] + ' ...'}")
    print(f"written to {path}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def sim_process(*args: str) -> Iterator[str]:
    """Run ``python -m ecoptigen.sim`` in its own process (so it does not share our GIL); yield base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecoptigen.sim", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the simulated endpoint did not start")
        yield base_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
