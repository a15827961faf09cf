"""A simulated endpoint in its own process whose bill can be read: ``stats`` on stdin prints it as JSON.

The child also samples its running bill every 10 ms and keeps each change with the wall-clock time
(``billing`` on stdin prints them), so a benchmark can tell how much had been billed at any moment,
whatever the tuner's own bookkeeping says.

Usage (from a benchmark): ``with SimWithStats(latency=0.5, seed=41) as sim: sim.base_url; sim.stats()``.
Run directly, it is the child: ``python benchmarks/_sim_stats.py --latency 0.5 --seed 41``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import subprocess
import sys
import threading
import time
from typing import Any

SAMPLE_SECONDS = 0.01


class SimWithStats:
    """Start ``ecoptigen.sim`` in a child process (so it does not share the tuner's GIL)."""

    def __init__(self, latency: float = 0.0, seed: int | None = None):
        args = [sys.executable, __file__, "--latency", str(latency)]
        if seed is not None:
            args += ["--seed", str(seed)]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self._proc.stdout is not None
        self.base_url = json.loads(self._proc.stdout.readline())["base_url"]

    def stats(self) -> dict[str, Any]:
        """The child's ``server.stats()``."""
        return self._ask("stats")

    def billing(self) -> list[tuple[float, float]]:
        """``(time.time(), dollars billed so far)`` at each change of the bill, oldest first."""
        return [(at, billed) for at, billed in self._ask("billing")]

    def _ask(self, command: str) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def close(self) -> None:
        """Stop the child; on a machine so busy that it has not ended within 30 s, kill it (its bill has been
        read by then)."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=30)

    def __enter__(self) -> SimWithStats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def billed_at(billing: list[tuple[float, float]], when: float) -> float:
    """Dollars billed at wall-clock time ``when``, from :meth:`SimWithStats.billing` (0 before the first bill)."""
    index = bisect.bisect_right([at for at, _ in billing], when)
    return billing[index - 1][1] if index else 0.0


def _sample_billing(server: Any, changes: list[tuple[float, float]], stop: threading.Event) -> None:
    last = 0.0
    while not stop.wait(SAMPLE_SECONDS):
        billed = float(server.stats()["total_billed_usd"])
        if billed != last:
            changes.append((time.time(), billed))
            last = billed


def _child() -> None:
    from ecoptigen import sim

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    changes: list[tuple[float, float]] = []
    stop = threading.Event()
    with sim.serve(seed=args.seed, latency=args.latency) as server:
        sampler = threading.Thread(target=_sample_billing, args=(server, changes, stop), daemon=True)
        sampler.start()
        print(json.dumps({"base_url": server.base_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(server.stats()), flush=True)
            elif line.strip() == "billing":
                print(json.dumps(list(changes)), flush=True)
        stop.set()
        sampler.join()


if __name__ == "__main__":
    _child()
