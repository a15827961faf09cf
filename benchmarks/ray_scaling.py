"""Evaluating through Ray vs the default executor: the seed's tuning, sandbox checks per second, task overhead.

Measured in one run, in a network namespace of its own with only loopback up (the script re-runs itself
under ``unshare -n`` when it is not in one; needs root), for three executors of eval_func:

* ``threads``: the default (eval_func on the tuner's thread pool, in this process);
* ``ray_1_node``: Ray tasks on a local cluster of one node (``start_local_cluster``: two slots per core);
* ``ray_2_nodes``: Ray tasks on a local cluster of two nodes sharing the cores, as many slots in all
  (``ray.cluster_utils``).

For each: wall time of the seed's HumanEval tuning (20 problems, the seed's prompts and stops,
``eval_function_completions`` with ``generate_assertions``, ``num_samples=-1``, the simulated endpoint in
its own process with ``--latency`` seconds per request, a fresh cache and a fresh cluster per run; the
cluster's start is timed apart), and that its trials and money equal the default executor's; sandbox
checks per second (``eval_function_completions`` on fresh programs, ``--n`` per call); and the cost of
one eval_func call that does nothing (per call in a batch, and one call alone, round trip).

Run: python benchmarks/ray_scaling.py [--repeats 3] [--latency 0.5] [--optimization-budget 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from _common import add_common_args, write_results  # noqa: E402
from _sim_stats import SimWithStats  # noqa: E402
from tune_vs_flaml import PROMPTS, STOPS, billed, load_problems  # noqa: E402

EXECUTORS = ("threads", "ray_1_node", "ray_2_nodes")
# Ray's session folders (short paths: they hold unix sockets); made by main() and removed at the end.
SCRATCH = "/tmp"
MODELS = "text-ada-001,text-babbage-001,text-davinci-003,gpt-3.5-turbo,gpt-4"


def in_loopback_only_namespace() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def rerun_in_namespace() -> None:
    """Run this script again in a new network namespace where only ``lo`` is up."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        sys.exit("this benchmark runs in a network namespace of its own: run it as root, with unshare and ip")
    command = " ".join(f"'{a}'" for a in [sys.executable, __file__, *sys.argv[1:]])
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    sys.exit(subprocess.call(["unshare", "-n", "--", "sh", "-c", f"ip link set lo up && exec {command}"], env=env))


def keep_ray_defaults_in(folder: str) -> None:
    """Make ``folder`` Ray's default folder for this process and the nodes it starts, and create its ``ray/``.

    ``ray.cluster_utils.Cluster`` writes the cluster's address to ``<RAY_TMPDIR, else TMPDIR, else
    /tmp>/ray/ray_current_cluster`` even when its head node has a ``temp_dir`` of its own, and only a node
    started without one creates that folder: with ``TMPDIR`` set to a fresh folder the two-node cluster
    could not start, and with it unset the benchmark left its address in the machine-wide ``/tmp/ray``.
    """
    os.environ["RAY_TMPDIR"] = folder
    os.makedirs(os.path.join(folder, "ray"), exist_ok=True)


@contextlib.contextmanager
def without_key() -> Iterator[None]:
    """Ray nodes started in this block do not inherit the API key (ecoptigen refuses workers that have one)."""
    key = os.environ.pop("OPENAI_API_KEY", None)
    try:
        yield
    finally:
        if key is not None:
            os.environ["OPENAI_API_KEY"] = key


@contextlib.contextmanager
def cluster(kind: str, temp_dir: str) -> Iterator[float]:
    """The cluster an executor needs (none for threads); yields the seconds it took to start."""
    import ray

    started = time.perf_counter()
    if kind == "threads":
        yield 0.0
        return
    from ecoptigen.distributed import start_local_cluster

    handle = None
    with without_key():
        if kind == "ray_1_node":
            start_local_cluster(_temp_dir=temp_dir)  # two eval slots per core
        else:
            from ray.cluster_utils import Cluster

            share = os.cpu_count() or 1  # two nodes of one slot per core: as many slots as one node has
            head = {"num_cpus": share, "node_ip_address": "127.0.0.1", "include_dashboard": False}
            handle = Cluster(initialize_head=True, head_node_args={**head, "temp_dir": temp_dir})
            handle.add_node(num_cpus=share, node_ip_address="127.0.0.1")
            ray.init(address=handle.address)
    try:
        yield time.perf_counter() - started
    finally:
        ray.shutdown()
        if handle is not None:
            handle.shutdown()


def one_tuning(kind: str, data: dict, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """The seed's tuning against a fresh simulated endpoint (same seed: same models) and an empty cache."""
    from ecoptigen import oai
    from ecoptigen.code_utils import eval_function_completions, generate_assertions

    evaluate = partial(eval_function_completions, assertions=generate_assertions)
    with SimWithStats(latency=args.latency, seed=seed) as server, tempfile.TemporaryDirectory() as cache:
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = server.base_url, "sk-sim-benchmark"
        oai.Completion.set_cache(seed=41, cache_path_root=cache)
        usage = oai.Completion._engine.usage
        unconfirmed_before = usage.unconfirmed
        started = time.perf_counter()
        config, analysis = oai.Completion.tune(
            data=data["tune"],
            metric="success",
            mode="max",
            eval_func=evaluate,
            inference_budget=0.05,
            optimization_budget=args.optimization_budget,
            num_samples=-1,
            prompt=PROMPTS,
            stop=STOPS,
            model=MODELS.split(","),
            show_progress=False,
            use_ray=kind != "threads",
        )
        seconds = time.perf_counter() - started
        # Money rounded to a billionth of a cent: sums of the same costs in another order differ in the last bits.
        trials = [[t.config, t.status, t.metrics, round(t.paid, 12)] for t in analysis.trials]
        return {
            "tune_seconds": seconds,
            "trials": len(trials),
            "billed": round(billed(server.stats), 12),
            "paid": analysis.total_cost,
            # Held for attempts whose answer was lost (dropped connection, timeout): counted as spent, so a
            # run with such an attempt decides near the end of the budget as if it had less money left.
            "unconfirmed": usage.unconfirmed - unconfirmed_before,
            "fingerprint": json.dumps([trials, config], sort_keys=True, default=repr),
            # Kept in the results, so that a run that differs from the default executor's shows where.
            "trial_log": [[t.status, t.metrics.get("success"), round(t.paid, 9)] for t in analysis.trials],
        }


def seed_tunings(kind: str, data: dict, args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """On a fresh cluster: the tuning with cold workers (as ``use_ray=True`` on a new cluster), then again
    with warm workers (as on a long-lived cluster); sandbox verdicts are remembered per run only
    (ecoptigen.run_context._verdict_cache), so the second run checks everything again."""
    with cluster(kind, tempfile.mkdtemp(prefix="eray-", dir=SCRATCH)) as start_seconds:
        cold = one_tuning(kind, data, args, seed)
        warm = one_tuning(kind, data, args, seed)
    return {"cluster_start_seconds": start_seconds, "cold": cold, "warm": warm}


def programs(data: dict, n: int) -> list[tuple[list[str], dict]]:
    """``n`` completions per problem from the simulated models (generated once, checked by every executor)."""
    from ecoptigen import oai

    calls = []
    with SimWithStats(seed=7) as server:
        for instance in data["tune"]:
            response = oai.Completion.create(
                instance,
                model="gpt-3.5-turbo",
                prompt="{definition}",
                n=n,
                temperature=1,
                max_tokens=300,
                base_url=server.base_url,
                api_key="sk-sim-benchmark",
                use_cache=False,
            )
            calls.append((oai.Completion.extract_text(response), instance))
    return calls


def fresh(calls: list[tuple[list[str], dict]], round_: int) -> list[tuple[list[str], dict]]:
    """The same checks, new to every verdict cache: the test (part of the cache key) ends with the round."""
    return [
        (responses, {**instance, "test": f"{instance['test']}\n# round {round_}\n"}) for responses, instance in calls
    ]


def check_only(responses: list, **instance: Any) -> dict:
    from ecoptigen.code_utils import eval_function_completions

    return eval_function_completions(responses, **instance)


def do_nothing(responses: list, **instance: Any) -> dict:
    return {"success": 1.0}


@contextlib.contextmanager
def executor(kind: str, temp_dir: str) -> Iterator[Any]:
    from ecoptigen.tuning._executors import ThreadEvalExecutor

    if kind == "threads":
        with ThreadPoolExecutor(16) as pool:
            yield ThreadEvalExecutor(pool)
        return
    from ecoptigen.distributed import RayEvalExecutor

    with cluster(kind, temp_dir), RayEvalExecutor() as ray_executor:
        yield ray_executor


def micro(kind: str, calls: list[tuple[list[str], dict]], args: argparse.Namespace) -> dict[str, Any]:
    """Checks per second and the cost of an empty call, on one executor."""
    with executor(kind, tempfile.mkdtemp(prefix="eray-", dir=SCRATCH)) as runner:
        runner.map(check_only, fresh(calls, -1))  # warm: imports, sandbox workers
        runner.map(check_only, fresh(calls, -2))
        rates = []
        for round_ in range(args.check_rounds):
            batch = fresh(calls, round_)
            checks = sum(len(set(responses)) for responses, _ in batch)
            started = time.perf_counter()
            runner.map(check_only, batch)
            rates.append(checks / (time.perf_counter() - started))
        empty = [([], {}) for _ in range(args.empty_calls)]
        runner.map(do_nothing, empty)
        started = time.perf_counter()
        runner.map(do_nothing, empty)
        per_call_batched = (time.perf_counter() - started) / len(empty)
        alone = []
        for _ in range(args.round_trips):
            started = time.perf_counter()
            runner.map(do_nothing, empty[:1])
            alone.append(time.perf_counter() - started)
    return {
        "checks_per_second": rates,
        "checks_per_call": args.n,
        "empty_call_seconds_batched": per_call_batched,
        "empty_call_round_trip_seconds": statistics.median(alone),
    }


def measure(name: str, fn: Callable[[str], dict], order: tuple[str, ...]) -> dict[str, dict]:
    out = {}
    for kind in order:
        out[kind] = fn(kind)
        print(name, kind, json.dumps(out[kind], default=str)[:400], flush=True)
    return out


def summarize(tunings: list[dict[str, dict]], micros: dict[str, dict]) -> dict[str, Any]:
    def times(kind: str, phase: str) -> list[float]:
        return [run[kind][phase]["tune_seconds"] for run in tunings]

    def same(kind: str, key: str) -> list[bool]:
        return [run[kind][p][key] == run["threads"][p][key] for run in tunings for p in ("cold", "warm")]

    summary: dict[str, Any] = {
        "same_trials_and_config_as_threads": {k: all(same(k, "fingerprint")) for k in EXECUTORS[1:]},
        "same_bill_as_threads": {k: all(same(k, "billed")) for k in EXECUTORS[1:]},
        "cluster_start_seconds_median": {
            k: statistics.median(run[k]["cluster_start_seconds"] for run in tunings) for k in EXECUTORS[1:]
        },
    }
    for phase in ("cold", "warm"):
        threads = times("threads", phase)
        summary[f"tune_seconds_median_{phase}"] = {k: statistics.median(times(k, phase)) for k in EXECUTORS}
        summary[f"wall_time_over_threads_{phase}"] = {
            k: statistics.median(t / base for t, base in zip(times(k, phase), threads, strict=True))
            for k in EXECUTORS[1:]
        }
    summary.update(
        {
            "checks_per_second_median": {k: statistics.median(micros[k]["checks_per_second"]) for k in EXECUTORS},
            "empty_call_ms_batched": {k: 1000 * micros[k]["empty_call_seconds_batched"] for k in EXECUTORS},
            "empty_call_ms_round_trip": {k: 1000 * micros[k]["empty_call_round_trip_seconds"] for k in EXECUTORS},
        }
    )
    summary["first_differing_trial"] = {
        f"{i}/{k}/{p}": _first_difference(run[k][p]["trial_log"], run["threads"][p]["trial_log"])
        for i, run in enumerate(tunings)
        for k in EXECUTORS[1:]
        for p in ("cold", "warm")
        if run[k][p]["fingerprint"] != run["threads"][p]["fingerprint"]
    }
    summary["ray_1_node_within_15_percent_warm"] = summary["wall_time_over_threads_warm"]["ray_1_node"] <= 1.15
    summary["ray_1_node_within_15_percent_cold"] = summary["wall_time_over_threads_cold"]["ray_1_node"] <= 1.15
    return summary


def _first_difference(log: list, reference: list) -> int:
    for index, (entry, expected) in enumerate(zip(log, reference, strict=False)):
        if entry != expected:
            return index
    return min(len(log), len(reference))


def versions() -> dict[str, str]:
    import flaml
    import ray

    import ecoptigen

    return {"ray": ray.__version__, "flaml": flaml.__version__, "ecoptigen": ecoptigen.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.5, help="simulated seconds per request")
    parser.add_argument("--optimization-budget", type=float, default=1.0)
    parser.add_argument("--n-tune", type=int, default=20)
    parser.add_argument("--n", type=int, default=10, help="programs per eval_func call in the checks/s runs")
    parser.add_argument("--check-rounds", type=int, default=3)
    parser.add_argument("--empty-calls", type=int, default=200)
    parser.add_argument("--round-trips", type=int, default=30)
    parser.add_argument("--name", default="ray_scaling")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:  # one small tuning per executor, few checks: proves the benchmark runs
        args.repeats, args.optimization_budget, args.n_tune, args.check_rounds = 1, 0.1, 4, 1
        args.empty_calls, args.round_trips = 20, 5
    if not in_loopback_only_namespace():
        rerun_in_namespace()
    global SCRATCH
    SCRATCH = tempfile.mkdtemp(prefix="eray-bench-", dir="/tmp")
    keep_ray_defaults_in(SCRATCH)
    try:
        run(args)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    data = load_problems(args.n_tune, 0)
    tunings = []
    for repeat in range(args.repeats):
        order = EXECUTORS[repeat % 3 :] + EXECUTORS[: repeat % 3]  # each executor goes first once in three
        tune_one = partial(seed_tunings, data=data, args=args, seed=41 + repeat)
        tunings.append(measure(f"tune[{repeat}]", tune_one, order))
    calls = programs(data, args.n)
    micros = measure("micro", lambda kind: micro(kind, calls, args), EXECUTORS)
    settings = {k: v for k, v in vars(args).items() if k not in ("name", "out")}
    summary = summarize(tunings, micros)
    for run in tunings:
        for result in run.values():
            result["cold"].pop("fingerprint"), result["warm"].pop("fingerprint")
    benchmark = "eval_func through Ray on 1 and 2 local nodes vs the default executor (issue 13)"
    results = {"versions": versions(), "settings": settings, "summary": summary, "tunings": tunings, "micro": micros}
    write_results(args.name, {"benchmark": benchmark, **results}, args)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
