"""Ray scenarios, each run by a test in a network namespace of its own (see ``netns.py``).

``python scenarios.py NAME OUT WORK``: runs scenario NAME against a simulated endpoint on 127.0.0.1,
watching the namespace's sockets and every process's environment, and writes what it saw to OUT (JSON)
for the test to check. WORK is a scratch folder (``RAY_TMPDIR`` points into it, so Ray's logs are there).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from netns import SocketWatch

from ecoptigen import oai, sim
from ecoptigen.code_utils import eval_function_completions, generate_assertions
from ecoptigen.datasets import load_humaneval

# The driver's API key in these scenarios: it must never show up outside this process.
SECRET = "sk-driver-only-" + secrets.token_hex(12)
SIM_SEED = 4321
PROMPTS = ["{definition}", "# Python 3{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]


def problems(start: int, count: int) -> list[dict[str, Any]]:
    rows = load_humaneval()["test"].shuffle(seed=41)
    return [
        {"definition": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]}
        for p in rows.select(range(start, start + count))
    ]


# -- eval_funcs (pickled by value to the workers: they must hold no secret) --------------------------------
def eval_and_report_where(responses: list, *, driver_pid: int, **instance: Any) -> dict:
    """The seed's eval_func, plus where it ran and whether its process has an API key in the environment."""
    from ecoptigen.distributed import credentials_in

    result = eval_function_completions(responses, assertions=generate_assertions, **instance)
    result["on_a_worker"] = float(os.getpid() != driver_pid)
    result["credentials_in_environment"] = float(bool(credentials_in(os.environ)))
    return result


def eval_with_a_paid_request(responses: list, *, markers: str, **instance: Any) -> dict:
    """An eval_func that pays for a request of its own (not cached), then takes a while to finish: a
    node lost meanwhile makes Ray run it again, and the request must not be paid twice."""
    import ray

    judged = oai.ChatCompletion.create(
        {"name": instance["entry_point"]},
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Is {name} a good function name? Answer yes or no."}],
        max_tokens=5,
        use_cache=False,
    )
    node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "none"
    marker = {"node": node, "pid": os.getpid(), "problem": instance["entry_point"], "at": time.time()}
    Path(markers, f"{time.time_ns()}-{os.getpid()}.json").write_text(json.dumps(marker))
    time.sleep(0.3)
    result = eval_function_completions(responses, assertions=generate_assertions, **instance)
    result["judge_cost"] = float(judged["cost"])
    return result


# -- watching --------------------------------------------------------------------------------------------
def descendants() -> list[Path]:
    """The /proc folders of this process's descendants (Ray's processes, their workers, sandboxes)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return [Path(f"/proc/{pid}") for pid in sorted(found)]


class EnvironWatch:
    """Samples the environment of every process started from this one for the secret."""

    def __init__(self, interval: float = 0.3):
        self.interval, self.hits, self.ray_processes_seen = interval, set(), set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        needle = SECRET.encode()
        for proc in descendants():
            with contextlib.suppress(OSError):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if "ray" in command:
                    self.ray_processes_seen.add(command.split(" ")[0].rsplit("/", 1)[-1])
                if needle in (proc / "environ").read_bytes():
                    self.hits.add(command[:200])

    def __enter__(self) -> EnvironWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def report(self) -> dict[str, Any]:
        return {"processes_with_the_key": sorted(self.hits), "ray_processes_seen": sorted(self.ray_processes_seen)}


def files_containing(folder: str, needle: str) -> tuple[int, list[str]]:
    """How many files were searched under ``folder``, and which hold ``needle``."""
    searched, found = 0, []
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink():
            searched += 1
            with contextlib.suppress(OSError):
                if needle.encode() in path.read_bytes():
                    found.append(str(path))
    return searched, found


# -- running a tuning ---------------------------------------------------------------------------------------
def summary(analysis: Any, config: dict, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """What must be equal between executors: every trial, the tuned config, the money."""
    trials = [
        {
            "config": t.config,
            "status": t.status,
            "metrics": {k: v for k, v in t.metrics.items() if k not in ignore},
            "inference_cost": t.inference_cost,
            "cost": t.cost,
            "paid": round(t.paid, 12),
        }
        for t in analysis.trials
    ]
    return {"trials": trials, "config": config, "total_cost": round(analysis.total_cost, 12)}


@contextlib.contextmanager
def fresh_endpoint(work: str, name: str) -> Iterator[Any]:
    """A new simulated endpoint (same seed every time, so runs meet the same models) and an empty cache."""
    with sim.serve(seed=SIM_SEED) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        oai.Completion.set_cache(seed=41, cache_path_root=os.path.join(work, f"cache-{name}"))
        yield server


def tune(completion: Any, data: list[dict], eval_func: Callable, **options: Any) -> tuple[dict, Any, float]:
    started = time.monotonic()
    config, analysis = completion.tune(
        data=data,
        metric="success",
        mode="max",
        eval_func=eval_func,
        inference_budget=0.05,
        optimization_budget=options.pop("optimization_budget", 0.3),
        num_samples=6,
        prompt=PROMPTS,
        stop=STOPS,
        model=["gpt-4o-mini", "gpt-4o"],
        **{"show_progress": False, **options},
    )
    return config, analysis, time.monotonic() - started


def bill(server: Any) -> dict[str, Any]:
    stats = server.stats()
    return {"requests": stats["requests"], "billed": round(stats["total_billed_usd"], 12)}


# -- scenarios --------------------------------------------------------------------------------------------------
def local(work: str) -> dict[str, Any]:
    """One machine: Ray started by ecoptigen, then a cluster kept over several calls; tune, resume, test."""
    import ray

    from ecoptigen.distributed import start_local_cluster

    data, held_out = problems(0, 8), problems(8, 6)
    evaluate = partial(eval_and_report_where, driver_pid=os.getpid())
    where = ("on_a_worker", "credentials_in_environment")
    out: dict[str, Any] = {}
    os.environ["OPENAI_API_KEY"] = SECRET
    with SocketWatch() as sockets, EnvironWatch() as environ:
        with fresh_endpoint(work, "threads") as server:
            config, analysis, seconds = tune(oai.Completion, data, evaluate)
            out["threads"] = {**summary(analysis, config, where), **bill(server), "seconds": seconds}
            out["threads_where"] = {k: analysis.best_result[k] for k in where}
            out["threads_test"] = oai.Completion.test(held_out, config, eval_func=evaluate)
        journal = os.path.join(work, "journal.jsonl")
        with fresh_endpoint(work, "ray") as server:
            config, analysis, seconds = tune(
                oai.Completion, data, evaluate, use_ray=True, log_file_name=journal, show_progress=True
            )
            out["ray"] = {**summary(analysis, config, where), **bill(server), "seconds": seconds}
            out["ray_where"] = {k: analysis.best_result[k] for k in where}
            out["ray_left_running"] = ray.is_initialized()
            analysis.plot(os.path.join(work, "tuning.png"))
            out["plot_bytes"] = os.path.getsize(os.path.join(work, "tuning.png"))
            start_local_cluster(num_cpus=2)
            before = bill(server)
            config, analysis, seconds = tune(oai.Completion, data, evaluate, use_ray=True, log_file_name=journal)
            out["resumed"] = {**summary(analysis, config, where), "replayed": [t.replayed for t in analysis.trials]}
            out["resumed_requests"] = bill(server)["requests"] - before["requests"]
            out["ray_test"] = oai.Completion.test(held_out, config, eval_func=evaluate, use_ray=True)
            out["kept_running"] = ray.is_initialized()
        ray.shutdown()
    out["sockets"], out["environ"] = sockets.report(), environ.report()
    out["ray_files_searched"], out["ray_files_with_the_key"] = files_containing(os.environ["RAY_TMPDIR"], SECRET)
    return out


def _cluster(nodes: list[dict[str, Any]]) -> Any:
    from ray.cluster_utils import Cluster

    head = {"num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=head)
    added = [cluster.add_node(node_ip_address="127.0.0.1", **node) for node in nodes]
    return cluster, added


def lost_node(work: str) -> dict[str, Any]:
    """Two worker nodes; one is lost while it runs eval_func calls that already paid for a request."""
    import ray

    out: dict[str, Any] = {}
    data = problems(0, 6)
    with SocketWatch() as sockets:
        cluster, (first, second) = _cluster([{"num_cpus": 1}, {"num_cpus": 1}])
        ray.init(address=cluster.address)
        os.environ["OPENAI_API_KEY"] = SECRET  # after the nodes started: they never had it
        here = ray.get_runtime_context().get_node_id()
        victim = first if first.node_id != here else second
        local_markers, ray_markers = os.path.join(work, "markers-threads"), os.path.join(work, "markers-ray")
        os.makedirs(local_markers), os.makedirs(ray_markers)
        with fresh_endpoint(work, "threads") as server:
            evaluate = partial(eval_with_a_paid_request, markers=local_markers)
            config, analysis, _ = tune(oai.ChatCompletion, data, evaluate, optimization_budget=0.2)
            out["threads"] = {**summary(analysis, config), **bill(server), "budget": 0.2}
        removed: dict[str, Any] = {}
        remover = threading.Thread(target=_remove_when_busy, args=(cluster, victim, ray_markers, removed))
        remover.start()
        with fresh_endpoint(work, "ray") as server:
            evaluate = partial(eval_with_a_paid_request, markers=ray_markers)
            config, analysis, _ = tune(oai.ChatCompletion, data, evaluate, optimization_budget=0.2, use_ray=True)
            out["ray"] = {**summary(analysis, config), **bill(server), "budget": 0.2}
        remover.join()
        out["removed"] = removed
        out["victim"], out["survivor"] = victim.node_id, (second if victim is first else first).node_id
        out["markers"] = {
            "threads": len(os.listdir(local_markers)),
            "ray": [json.loads(p.read_text()) for p in Path(ray_markers).iterdir()],
        }
        ray.shutdown()
        cluster.shutdown()
    out["sockets"] = sockets.report()
    return out


def _remove_when_busy(cluster: Any, victim: Any, markers: str, removed: dict[str, Any]) -> None:
    """Remove ``victim`` as soon as an eval_func call on it has paid for its request (it then sleeps)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for path in Path(markers).iterdir():
            with contextlib.suppress(ValueError, OSError):
                if json.loads(path.read_text())["node"] == victim.node_id:
                    cluster.remove_node(victim, allow_graceful=False)
                    removed.update(at=time.time(), markers_then=len(os.listdir(markers)))
                    return
        time.sleep(0.02)


def preflight(work: str) -> dict[str, Any]:
    """Nodes that must refuse the run before anything is spent: no bubblewrap; an API key in the environment."""
    import ray

    from ecoptigen.errors import ConfigurationError, SandboxError

    out: dict[str, Any] = {}
    data = problems(0, 2)
    evaluate = partial(eval_function_completions, assertions=generate_assertions)
    with SocketWatch() as sockets:
        no_bwrap = {"num_cpus": 1, "env_vars": {"PATH": "/nonexistent"}}
        cluster, (without_sandbox,) = _cluster([no_bwrap])
        ray.init(address=cluster.address)
        os.environ["OPENAI_API_KEY"] = SECRET
        with fresh_endpoint(work, "a") as server:
            for name, call in {
                "tune": lambda: tune(oai.Completion, data, evaluate, use_ray=True),
                "test": lambda: oai.Completion.test(data, {"model": "gpt-4o-mini"}, eval_func=evaluate, use_ray=True),
            }.items():
                try:
                    call()
                    out[f"no_bwrap_{name}"] = "no error"
                except SandboxError as exc:
                    out[f"no_bwrap_{name}"] = f"SandboxError: {exc}"
            out["no_bwrap_requests"] = bill(server)["requests"]
        cluster.remove_node(without_sandbox)
        cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, env_vars={"OPENAI_API_KEY": "sk-on-a-worker"})
        with fresh_endpoint(work, "b") as server:
            try:
                tune(oai.Completion, data, evaluate, use_ray=True)
                out["key_on_worker"] = "no error"
            except ConfigurationError as exc:
                out["key_on_worker"] = f"ConfigurationError: {exc}"
            out["key_on_worker_requests"] = bill(server)["requests"]
        ray.shutdown()
        cluster.shutdown()
    out["sockets"] = sockets.report()
    return out


SCENARIOS = {"local": local, "lost_node": lost_node, "preflight": preflight}

if __name__ == "__main__":
    name, out_path, work_dir = sys.argv[1:4]
    result = SCENARIOS[name](work_dir)
    Path(out_path).write_text(json.dumps(result, default=repr))
