"""A simulated endpoint in its own process whose bill can be read: ``stats`` on stdin prints it as JSON.

Usage (from a benchmark): ``with SimWithStats(latency=0.5, seed=41) as sim: sim.base_url; sim.stats()``.
Run directly, it is the child: ``python benchmarks/_sim_stats.py --latency 0.5 --seed 41``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any


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
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write("stats\n")
        self._proc.stdin.flush()
        return json.loads(self._proc.stdout.readline())

    def close(self) -> None:
        """Stop the child."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)

    def __enter__(self) -> SimWithStats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child() -> None:
    from ecoptigen import sim

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    with sim.serve(seed=args.seed, latency=args.latency) as server:
        print(json.dumps({"base_url": server.base_url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(server.stats()), flush=True)


if __name__ == "__main__":
    _child()
