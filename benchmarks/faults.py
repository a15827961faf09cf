"""Money under faults and after a kill (issue 10): trials run, dollars billed and reported, stop reason.

Three scenarios for each of two tunings, on the simulated endpoint (0.1 s latency, seeded):

* ``clean``: no faults.
* ``faulty``: 15% of connections dropped before an answer (not billed by the server) and 5% of answers
  garbled after they were generated (billed by the server, lost to the client).
* ``killed``: the tuning process is killed with SIGKILL half the latency after the journal's first money
  line (the first request is in flight and the server is answering it), or likewise at the first
  request after the third finished trial, then run again with the same arguments; the figures are
  those of the resumed run and of both runs' bill. ``repeated_requests`` counts requests the server
  answered twice: what was paid again.

Tunings: a small chat tuning (6 yes/no rows, gpt-4o-mini / gpt-4.1-nano, $0.01, until the budget) and
the seed's HumanEval workflow on 8 problems ($0.15, generated assertions, inference budget $0.05).
Targets (issue 10): faulty runs at least 80% of the clean run's trials and never bill above the budget;
a killed and resumed run reports at most 1.25x the endpoint's bill (+$0.003), runs at least 80% of the
clean run's trials, and pays again for nothing but what was in flight at the kill.

The seeded endpoint answers the retry of a lost answer with the sample that was lost (common random
numbers, docs/sim.md), so a faulty run sees the clean run's samples and its trials differ from the clean
run's only by what the faults cost. Without that, one retried answer that changes a trial's score sends the
search elsewhere, and the trial ratio measured the samples more than the faults (docs/tuning.md, "Failed
requests and money"). ``lost_usd`` is what the endpoint billed for answers the client never got: the
direct measure of money eaten by faults.

Run: python benchmarks/faults.py [--quick] [--out FOLDER] (about 5 minutes; --quick: the chat tuning, one
seed, about 1.5 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import add_common_args, write_results

from ecoptigen import sim

TUNING = textwrap.dedent(
    """
    import json, sys
    from collections import Counter
    from functools import partial
    from ecoptigen import oai
    from ecoptigen.code_utils import eval_function_completions, generate_assertions
    from ecoptigen.datasets import load_humaneval

    workload, base_url, log, cache, budget = sys.argv[1:6]

    def majority(responses, number, answer):
        votes = Counter(r.strip() for r in responses)
        return {"accuracy": float(bool(votes) and votes.most_common(1)[0][0] == answer)}

    def is_prime(n):
        return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))

    common = dict(log_file_name=log, optimization_budget=float(budget), num_samples=-1, show_progress=False,
                  base_url=base_url, api_key="sk-sim", retry_time=0.2)
    if workload == "chat":
        data = [{"number": n, "answer": "Yes." if is_prime(n) else "No."} for n in range(2, 8)]
        oai.ChatCompletion.set_cache(0, cache)
        completion = oai.ChatCompletion
        settings = dict(data=data, metric="accuracy", mode="max", eval_func=majority,
                        model=["gpt-4o-mini", "gpt-4.1-nano"], prompt="Is {number} prime? Answer Yes or No.",
                        max_tokens=4)
    else:
        rows = load_humaneval()["test"].shuffle(seed=41)
        data = [{"definition": d["prompt"], "test": d["test"], "entry_point": d["entry_point"]} for d in rows][:8]
        oai.Completion.set_cache(41, cache)
        completion = oai.Completion
        settings = dict(data=data, metric="success", mode="max", inference_budget=0.05,
                        eval_func=partial(eval_function_completions, assertions=generate_assertions),
                        prompt=["{definition}", "# Python 3{definition}"],
                        stop=[["\\nclass", "\\ndef", "\\nif", "\\nprint"], None])
    try:
        config, analysis = completion.tune(**settings, **common)
        error = None
    except Exception as exc:  # a budget too small, say: report it like a stop reason
        analysis, error = getattr(exc, "analysis", None), f"{type(exc).__name__}: {exc}"
    print(json.dumps({
        "trials": len(analysis.trials) if analysis else 0,
        "replayed": sum(t.replayed for t in analysis.trials) if analysis else 0,
        "reported_paid": analysis.total_cost if analysis else None,
        "reported_unconfirmed": analysis.unconfirmed_cost if analysis else None,
        "stopped_because": error or analysis.stopped_because,
    }))
    """
)

FAULTS = {"disconnect": 0.15, "malformed": 0.05}
BUDGETS = {"chat": 0.01, "humaneval": 0.15}


def start_tuning(workload: str, base_url: str, folder: Path) -> subprocess.Popen:
    args = [sys.executable, "-c", TUNING, workload, base_url, str(folder / "tune.jsonl"), str(folder / "cache")]
    # eval_func's own requests (generate_assertions) find the endpoint through the environment
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-sim"}
    return subprocess.Popen([*args, str(BUDGETS[workload])], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise RuntimeError(f"the tuning failed:\n{err.decode()[-3000:]}")
    return json.loads(out.decode().splitlines()[-1])


def journal_lines(folder: Path) -> list[dict]:
    path = folder / "tune.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines()[1:]:
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:  # the line being written
            break
    return lines


def open_holds(lines: list[dict]) -> int:
    held = {r["id"] for r in lines if r.get("kind") == "hold"}
    closed = {r["id"] for r in lines if r.get("kind") in ("paid", "free", "estimate")}
    return len(held - closed)


def kill_when(process: subprocess.Popen, folder: Path, after_trials: int, delay: float) -> dict:
    """SIGKILL ``process`` ``delay`` seconds after the first moment a request is in flight after ``after_trials``
    finished trials (with half the endpoint's latency, the server has the request and is answering it)."""
    deadline = time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        lines = journal_lines(folder)
        if sum(r.get("kind") == "trial" for r in lines) >= after_trials and open_holds(lines):
            break
        time.sleep(0.001)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    lines = journal_lines(folder)
    return {"trials_before_kill": sum(r.get("kind") == "trial" for r in lines), "in_flight_at_kill": open_holds(lines)}


def run(workload: str, scenario: str, seed: int, latency: float, kill_after: int = 0) -> dict:
    faults = FAULTS if scenario == "faulty" else None
    with tempfile.TemporaryDirectory() as tmp, sim.serve(seed=seed, latency=latency, faults=faults) as server:
        folder = Path(tmp)
        started = time.monotonic()
        killed = None
        if scenario == "killed":
            killed = kill_when(start_tuning(workload, server.base_url, folder), folder, kill_after, latency / 2)
            killed["billed_before_kill"] = server.stats()["total_billed_usd"]
        summary = finish(start_tuning(workload, server.base_url, folder))
        stats = server.stats()
    billed = stats["total_billed_usd"]
    reported = summary["reported_paid"] + summary["reported_unconfirmed"]
    row = {
        "workload": workload,
        "scenario": scenario,
        "sim_seed": seed,
        "latency": latency,
        "budget": BUDGETS[workload],
        **summary,
        "billed": billed,
        "billed_over_budget": billed > BUDGETS[workload] + 1e-12,
        "reported_total_over_billed": reported / billed if billed else None,
        "billed_but_lost_answers": stats["billed_but_lost"],
        "lost_usd": stats["billed_but_lost_usd"],
        "server_requests": stats["requests"],
        "repeated_requests": stats["repeated_requests"],
        "seconds": round(time.monotonic() - started, 1),
    }
    if killed is not None:
        row.update(killed, kill_after_trials=kill_after)
    print(json.dumps(row))
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser)
    args = parser.parse_args()
    workloads = ["chat"] if args.quick else ["chat", "humaneval"]
    seeds = [1] if args.quick else [1, 2, 3]
    rows = []
    for workload in workloads:
        for seed in seeds if workload == "chat" else seeds[:1]:
            rows.append(run(workload, "clean", seed, 0.1))
            rows.append(run(workload, "faulty", seed, 0.1))
            rows.append(run(workload, "killed", seed, 0.1, kill_after=0))
            rows.append(run(workload, "killed", seed, 0.1, kill_after=3))
        if workload == "chat" and not args.quick:
            rows.append(run(workload, "clean", 1, 0.0))
            rows.append(run(workload, "faulty", 1, 0.0))  # no latency: a drop and an answer look alike
    benchmark = "tunings with faults and kills against the simulated endpoint's bill (issue 10)"
    write_results("faults", {"benchmark": benchmark, "runs": rows, "summary": summarize(rows)}, args)
    return 0


def summarize(rows: list[dict]) -> list[dict]:
    """Each faulty or killed run against the clean run of the same workload, seed and latency."""
    clean = {(r["workload"], r["sim_seed"], r["latency"]): r for r in rows if r["scenario"] == "clean"}
    out = []
    for row in rows:
        base = clean.get((row["workload"], row["sim_seed"], row["latency"]))
        if row["scenario"] == "clean" or base is None:
            continue
        out.append(
            {
                "workload": row["workload"],
                "scenario": row["scenario"]
                + (f" after {row['kill_after_trials']} trials" if "kill_after_trials" in row else ""),
                "sim_seed": row["sim_seed"],
                "latency": row["latency"],
                "trials_vs_clean": round(row["trials"] / base["trials"], 3) if base["trials"] else None,
                "lost_share_of_budget": round(row["lost_usd"] / row["budget"], 4),
                "billed_over_budget": row["billed_over_budget"],
                "reported_total_over_billed": row["reported_total_over_billed"],
                "reported_minus_1_25_billed": round(
                    row["reported_paid"] + row["reported_unconfirmed"] - 1.25 * row["billed"], 6
                ),
            }
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
