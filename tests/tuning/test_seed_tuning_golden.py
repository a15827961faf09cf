"""The seed's HumanEval tuning at fixed seeds gives the trials, configuration and bill recorded before issue 23.

Issue 23 moved modules and wrote each money rule once; it promised no change to what any public call
does. This test holds it to that: a small version of the README's tuning (6 problems, $0.1, the seed's
prompts and stops, ``generate_assertions``, search seed 20, a simulated server seeded 41 with no latency)
must give what ``tests/data/seed_tuning_golden.json`` recorded, trial by trial, on the code before the
restructure. Only the public API is used, so the same file runs on both.

Record again (only when a behaviour change is intended, and say so in the commit)::

    PYTHONPATH=src python tests/tuning/test_seed_tuning_golden.py --record
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

GOLDEN = Path(__file__).parents[1] / "data" / "seed_tuning_golden.json"
PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]


def _plain(value):
    """``value`` as JSON would give it back (tuples as lists, numpy scalars as Python numbers)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else repr(v)))


def run_the_seeds_tuning() -> dict:
    """Run the small seed's tuning against a fresh seeded simulator; its trials, config and bill."""
    from ecoptigen import oai, sim
    from ecoptigen.code_utils import eval_function_completions, generate_assertions
    from ecoptigen.datasets import load_humaneval

    rows = load_humaneval()["test"].shuffle(seed=41).select(range(6))
    data = [{"definition": r["prompt"], "test": r["test"], "entry_point": r["entry_point"]} for r in rows]
    evaluate = partial(eval_function_completions, assertions=generate_assertions)
    saved = {key: os.environ.get(key) for key in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    previous = (oai.Completion.seed, oai.Completion._engine.cache_path_root)
    try:
        with sim.serve(seed=41, latency=0.0) as server, tempfile.TemporaryDirectory() as cache:
            os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-sim-golden"
            oai.Completion.set_cache(seed=41, cache_path_root=cache)
            config, analysis = oai.Completion.tune(
                data=data,
                metric="success",
                mode="max",
                eval_func=evaluate,
                inference_budget=0.05,
                optimization_budget=0.1,
                num_samples=-1,
                prompt=PROMPTS,
                stop=STOPS,
                show_progress=False,
                search_seed=20,
            )
            bill = server.stats()["total_billed_usd"]
    finally:
        oai.Completion.set_cache(*previous)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return _plain(
        {
            "trials": [
                {"config": t.config, "metrics": t.metrics, "cost": t.cost, "status": t.status} for t in analysis.trials
            ],
            "config": {k: v for k, v in config.items() if isinstance(v, (str, int, float, list, type(None)))},
            "total_cost": analysis.total_cost,
            "stopped_because": analysis.stopped_because,
            "bill": bill,
        }
    )


def _differences(got, want, where="") -> list[str]:
    """Where ``got`` differs from ``want``: exact, except floats, which may differ in the last bits only."""
    if isinstance(want, float) and isinstance(got, (int, float)):
        return [] if math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-15) else [f"{where}: {got!r} != {want!r}"]
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            return [f"{where}: keys {sorted(got)} != {sorted(want)}"]
        return [d for key in want for d in _differences(got[key], want[key], f"{where}.{key}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items != {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in _differences(g, w, f"{where}[{i}]")]
    return [] if got == want else [f"{where}: {got!r} != {want!r}"]


def test_the_seeds_tuning_gives_the_recorded_trials_config_and_bill():
    want = json.loads(GOLDEN.read_text())
    got = run_the_seeds_tuning()
    assert len(want["trials"]) > 3, "the golden run is too short to show anything"
    assert _differences(got, want) == []


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(f"usage: {sys.argv[0]} --record")
    GOLDEN.write_text(json.dumps(run_the_seeds_tuning(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
