"""Held-out success of a configuration, measured as a user gets it: ``test()`` on the held-out rows.

One simulated endpoint per simulator seed (in its own process, latency 0) answers every configuration
measured under that seed, with one response cache per seed, so every configuration tested under a seed
is judged with the same generated assertions, and a configuration two tuners both return gets the same
score. Results are kept in a JSON file per seed (keyed by the configuration and a fingerprint of the
code that answers and judges), so a crash or a second run does not measure a configuration twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _sim_stats import SimWithStats

# What the tuning does not touch when it measures a config with test(): everything but the search itself.
_TEST_PATH_IN_TUNING = ("__init__.py", "_test_run.py", "_steps.py", "_executors.py", "_logs.py", "_scores.py")


def fingerprint(include_search: bool) -> str:
    """A hash of the ecoptigen sources that decide a measurement: the simulated endpoint, the client, the
    sandbox and ``test()`` (``include_search``: the whole package, the search included).

    The sources hashed are those of the ``ecoptigen`` on the path, wherever it lives."""
    import ecoptigen

    root = Path(ecoptigen.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or "__pycache__" in relative.parts:
            continue
        if not include_search and relative.parts[0] == "tuning" and relative.name not in _TEST_PATH_IN_TUNING:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_key(config: dict[str, Any]) -> str:
    """A canonical text for a configuration (what decides its requests)."""
    return json.dumps(config, sort_keys=True, default=str)


class HeldOut:
    """Measure configurations on the held-out rows with ``test()``, once per configuration and seed.

    Args:
        rows: the held-out rows.
        eval_func: the setting's eval_func.
        folder: where the results and the response caches are kept.
        chat: test with ``oai.ChatCompletion`` (else ``oai.Completion``).
    """

    def __init__(self, rows: list[dict], eval_func: Callable, folder: Path, chat: bool = False):
        self.rows = rows
        self.eval_func = eval_func
        self.chat = chat
        self.folder = folder / fingerprint(include_search=False)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sims: dict[int, SimWithStats] = {}
        self._lock = threading.Lock()

    def measure(self, config: dict[str, Any], sim_seed: int) -> dict[str, float]:
        """``test()``'s metrics (``success``, ``inference_cost``, ...) of ``config`` on the held-out rows."""
        from ecoptigen import oai

        api = oai.ChatCompletion if self.chat else oai.Completion
        key = f"{len(self.rows)}|{config_key(config)}"
        memo_path = self.folder / f"seed-{sim_seed}.json"
        with self._lock:
            known = self._read(memo_path).get(key)
            if known is not None:
                return known
            if sim_seed not in self._sims:
                self._sims[sim_seed] = SimWithStats(latency=0.0, seed=sim_seed)
            os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = self._sims[sim_seed].base_url, "sk-sim-held"
            api.set_cache(seed=41, cache_path_root=str(self.folder / f"cache-{sim_seed}"))
            result = api.test(self.rows, dict(config), eval_func=self.eval_func)
            measured = {k: float(v) for k, v in result.items() if isinstance(v, (int, float))}
            # Another process may have added results meanwhile: merge under a file lock, never overwrite them.
            with open(memo_path.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                memo = self._read(memo_path)
                memo[key] = measured
                temporary = memo_path.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_text(json.dumps(memo))
                temporary.replace(memo_path)
            return measured

    @staticmethod
    def _read(path: Path) -> dict:
        return json.loads(path.read_text()) if path.exists() else {}

    def close(self) -> None:
        """Stop the simulated endpoints."""
        for sim in self._sims.values():
            sim.close()
        self._sims.clear()

    def __enter__(self) -> HeldOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
