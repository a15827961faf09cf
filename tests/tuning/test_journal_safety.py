"""Attacks on the resume journal and the run (issue 22, points 7-10; issue 25, point 1).

7. two tunings on one journal; 8. damaged or implausible journal lines; 9. a full disk under the
journal; 10. Ctrl-C with requests in flight. Then: resuming with a larger budget continues to it.
Each runs as the user running the tests runs (root in CI).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from tuning_fakes import FakeEngine, run, success

from ecoptigen import errors, sim
from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning import _journal as journal_module


def journal_lines(path):
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file]


# -- 7: one tuning per journal ------------------------------------------------------------------------------


def test_point_7_a_second_run_on_a_journal_in_use_is_refused_at_once_naming_the_first(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    first_started, release = threading.Event(), threading.Event()

    def slow(responses, **instance):
        first_started.set()
        release.wait(30)
        return success(responses, **instance)

    first = threading.Thread(target=run, args=(FakeEngine(),), kwargs={"log_file_name": log, "eval_func": slow,
                                                                        "num_samples": 2})  # fmt: skip
    first.start()
    try:
        assert first_started.wait(30)
        second = FakeEngine()
        with pytest.raises(ConfigurationError, match="in use by another tuning") as refused:
            run(second, log_file_name=log)
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in str(refused.value)
        assert "another log_file_name" in str(refused.value)
        assert second.requests == []  # refused before any money was spent
    finally:
        release.set()
        first.join(60)
    _, after = run(FakeEngine(), log_file_name=log, num_samples=3)  # the lock ended with its run
    assert [t.replayed for t in after.trials][:2] == [True, True]


HOLD_THE_LOCK = textwrap.dedent(
    """
    import sys, time
    from ecoptigen.tuning._journal_lock import JournalLock
    lock = JournalLock.acquire(sys.argv[1])
    print("locked", flush=True)
    time.sleep(600)
    """
)


def test_point_7_the_lock_of_a_killed_run_does_not_block_the_next(tmp_path):
    log = str(tmp_path / "tune.jsonl")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, log], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigurationError, match=f"pid {holder.pid} "):
            run(FakeEngine(), log_file_name=log, num_samples=1)
    finally:
        holder.kill()
        holder.communicate()
    _, analysis = run(FakeEngine(), log_file_name=log, num_samples=1)  # the kernel released the dead run's lock
    assert len(analysis.trials) == 1


# -- 8: validated journal lines ------------------------------------------------------------------------------


def _finished_journal(tmp_path, budget=0.02):
    log = tmp_path / "tune.jsonl"
    run(FakeEngine(), log_file_name=str(log), num_samples=3, optimization_budget=budget)
    return log


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ('{"kind": "paid", "id": 999, "usd": -5.0}', "money must be a finite number of dollars, not negative"),
        ("42", "JSON int, not an object"),
        ('{"kind": "hold", "id": 999, "usd": NaN}', "money must be a finite"),
        ('{"kind": "hold", "id": 999, "usd": Infinity}', "money must be a finite"),
        ('{"kind": "refund", "id": 999, "usd": 1.0}', "kind 'refund' is not one of"),
        ('{"kind": "hold", "id": "7", "usd": 0.1}', "'id' is '7'"),
        ('{"kind": "paid", "id": 999, "usd": 0.001}', "no open hold of it comes before"),
        ('{"kind": "hold", "id": 0, "usd": 0.001}', "held a second time"),
        ('{"kind": "trial", "index": 9, "config": {}, "status": "won", "metrics": {}}', "status 'won'"),
        ('{"kind": "trial", "index": 9, "config": [], "status": "ok"}', "'config' is not an object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_point_8_a_damaged_or_implausible_line_stops_the_resume_naming_file_and_line(tmp_path, damage, problem):
    log = _finished_journal(tmp_path)
    lines = log.read_text().splitlines(keepends=True)
    lines.insert(2, damage + "\n")
    log.write_text("".join(lines))
    engine = FakeEngine()
    with pytest.raises(ConfigurationError) as refused:
        run(engine, log_file_name=str(log), num_samples=5)
    message = str(refused.value)
    assert f"{log}, line 3, cannot be trusted" in message and problem in message
    assert "Move the file away" in message
    assert engine.requests == []


def test_point_8_a_negative_paid_line_can_never_make_the_bill_exceed_the_budget(tmp_path):
    log = _finished_journal(tmp_path)
    # a forged hold and a negative payment, in sequence, at the end: "refunds" half the budget
    with open(log, "a") as file:
        file.write('{"kind": "hold", "id": 999, "usd": 0.01}\n{"kind": "paid", "id": 999, "usd": -0.01}\n')
    engine = FakeEngine()
    negative = len(log.read_text().splitlines())
    with pytest.raises(ConfigurationError, match=f"line {negative}, cannot be trusted: 'usd' is -0.01"):
        run(engine, log_file_name=str(log), num_samples=-1)
    assert engine.requests == []


def test_point_8_a_journal_recording_more_than_the_budget_is_refused(tmp_path):
    log = _finished_journal(tmp_path)
    paid = sum(line["usd"] for line in journal_lines(log) if line.get("kind") == "paid")
    engine = FakeEngine()
    with pytest.raises(ConfigurationError, match="more than the optimization budget") as refused:
        run(engine, log_file_name=str(log), num_samples=5, optimization_budget=paid / 2)
    assert f"above ${paid:.6f}" in str(refused.value)
    assert engine.requests == []


def test_point_8_a_torn_last_line_is_dropped_with_a_warning(tmp_path, caplog):
    log = _finished_journal(tmp_path)
    log.write_text(log.read_text() + '{"kind": "paid", "id": 3, "us')
    with caplog.at_level(logging.WARNING, logger="ecoptigen.tuning"):
        _, resumed = run(FakeEngine(), log_file_name=str(log), num_samples=4)
    assert any("dropping its last line" in r.getMessage() and str(log) in r.getMessage() for r in caplog.records)
    assert [t.replayed for t in resumed.trials] == [True, True, True, False]
    assert journal_lines(log)  # every line parses again


# -- 9: a full disk under the journal -----------------------------------------------------------------------


class FillingDisk:
    """Stands in for the journal's ``open``: files whose writes fail with ENOSPC once ``room`` bytes are
    written (the first failing write lands half its bytes, as a real full disk may)."""

    def __init__(self, room: int, engine: FakeEngine):
        self.room, self.engine = room, engine
        self.requests_at_failure: int | None = None

    def __call__(self, path, mode="r", *args, **kwargs):
        real = open(path, mode, *args, **kwargs)  # noqa: SIM115  # closed by the journal
        return real if "r" in mode and "+" not in mode else _FillingFile(real, self)


class _FillingFile:
    def __init__(self, real, disk: FillingDisk):
        self._real, self._disk = real, disk

    def write(self, data):
        disk = self._disk
        if len(data) > disk.room:
            self._real.write(data[: len(data) // 2])
            disk.room = 0
            if disk.requests_at_failure is None:
                disk.requests_at_failure = len(disk.engine.requests)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        disk.room -= len(data)
        return self._real.write(data)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()


def test_point_9_a_full_disk_stops_the_run_keeps_the_best_config_and_the_resume_works(tmp_path, monkeypatch):
    log = tmp_path / "tune.jsonl"
    budget = 0.02
    engine = FakeEngine()
    disk = FillingDisk(room=6000, engine=engine)
    monkeypatch.setattr(journal_module, "open", disk, raising=False)
    config, analysis = run(engine, log_file_name=str(log), optimization_budget=budget, concurrency=1)
    assert disk.requests_at_failure is not None  # the disk did fill up during the run
    assert analysis.stopped_because.startswith(f"the disk failed: the journal {log} could not be written")
    assert "No space left on device" in analysis.stopped_because
    assert config == analysis.best_config and analysis.best_result["success"] is not None
    assert len(engine.requests) == disk.requests_at_failure  # no request was sent after the failure
    assert analysis.total_cost == pytest.approx(engine.paid)

    monkeypatch.undo()  # space again
    again = FakeEngine()
    _, resumed = run(again, log_file_name=str(log), optimization_budget=budget, concurrency=1)
    assert any(t.replayed for t in resumed.trials)
    assert engine.paid + again.paid <= budget + 1e-12
    assert resumed.stopped_because.startswith("the optimization budget is spent")


def test_point_9_a_full_disk_before_any_result_raises_a_storage_error_naming_the_journal(tmp_path, monkeypatch):
    log = tmp_path / "tune.jsonl"
    engine = FakeEngine()
    monkeypatch.setattr(journal_module, "open", FillingDisk(room=200, engine=engine), raising=False)
    storage_error = getattr(errors, "StorageError", OSError)  # main before this fix raised a raw OSError
    with pytest.raises(storage_error, match="could not write the tuning journal") as failed:
        run(engine, log_file_name=str(log))
    assert failed.value.path == str(log) and str(log) in str(failed.value)
    assert failed.value.analysis is not None


ON_A_SMALL_DISK = textwrap.dedent(
    """
    import json, shutil, sys
    from ecoptigen import oai
    log, cache, copy = sys.argv[1], sys.argv[2], sys.argv[3]
    data = json.loads(sys.argv[4])
    oai.Completion.set_cache(seed=7, cache_path_root=cache)
    def has_text(responses, **instance):
        return {"success": float(any(str(r).strip() for r in responses))}
    config, analysis = oai.Completion.tune(
        data=data, metric="success", mode="max", eval_func=has_text, log_file_name=log,
        optimization_budget=0.05, num_samples=-1, model=["gpt-4o-mini", "gpt-4.1-nano"],
        prompt=["{definition}", "# Python 3{definition}"], max_tokens=32, n=1, show_progress=False)
    shutil.copy(log, copy)  # the small disk goes away with this process
    print(json.dumps({"config": config, "stopped": analysis.stopped_because, "trials": len(analysis.trials),
                      "paid": analysis.total_cost, "unconfirmed": analysis.unconfirmed_cost}))
    """
)


def test_point_9_a_real_full_disk_stops_the_run_with_the_best_config_and_the_resume_works(endpoint, tmp_path):
    """The journal on a 16 KiB tmpfs of its own (bubblewrap mounts it, as the sandbox's root does)."""
    from ecoptigen import oai

    small, cache, copy = tmp_path / "small", str(tmp_path / "cache"), tmp_path / "copied.jsonl"
    small.mkdir()
    log = str(small / "tune.jsonl")
    data = [{"definition": f"def add_{i}(a, b):"} for i in range(4)]
    bwrap = ["bwrap", "--dev-bind", "/", "/", "--size", "16384", "--tmpfs", str(small), "--"]
    done = subprocess.run(
        [*bwrap, sys.executable, "-W", "error", "-c", ON_A_SMALL_DISK, log, cache, str(copy), json.dumps(data)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["stopped"].startswith(f"the disk failed: the journal {log} could not be written")
    assert "No space left on device" in summary["stopped"]
    assert summary["config"]["model"] in ("gpt-4o-mini", "gpt-4.1-nano") and summary["trials"] >= 1
    billed = endpoint.stats()["total_billed_usd"]
    assert billed - 1e-9 <= summary["paid"] + summary["unconfirmed"]  # nothing was sent unaccounted for

    _, resumed = oai.Completion.tune(
        data=data, metric="success", mode="max",
        eval_func=lambda responses, **_: {"success": float(any(str(r).strip() for r in responses))},
        log_file_name=str(copy), optimization_budget=0.05, num_samples=summary["trials"] + 3,
        model=["gpt-4o-mini", "gpt-4.1-nano"], prompt=["{definition}", "# Python 3{definition}"],
        max_tokens=32, n=1, show_progress=False,
    )  # fmt: skip
    assert sum(t.replayed for t in resumed.trials) >= 1 and len(resumed.trials) == summary["trials"] + 3
    assert endpoint.stats()["total_billed_usd"] <= 0.05


def test_point_9_a_full_disk_under_the_cache_is_named_and_the_tuning_goes_on(endpoint, tmp_path, monkeypatch):
    import diskcache

    from ecoptigen import oai

    def full(self, key, value, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(diskcache.Cache, "set", full)
    log = tmp_path / "tune.jsonl"
    data = [{"definition": f"def add_{i}(a, b):"} for i in range(3)]
    with pytest.warns(RuntimeWarning, match=r"the response cache in .*cache.*could not be written.*No space left"):
        config, analysis = oai.Completion.tune(
            data=data, metric="success", mode="max", eval_func=lambda responses, **_: {"success": 1.0},
            log_file_name=str(log), optimization_budget=0.01, num_samples=2, model="gpt-4o-mini",
            prompt="{definition}", max_tokens=16, n=1, show_progress=False,
        )  # fmt: skip
    assert len(analysis.trials) == 2 and config["model"] == "gpt-4o-mini"
    assert analysis.total_cost == pytest.approx(endpoint.stats()["total_billed_usd"])  # the journal still knows


# -- 10: Ctrl-C with requests in flight ---------------------------------------------------------------------

INTERRUPTIBLE = textwrap.dedent(
    """
    import json, sys
    from ecoptigen import oai
    from ecoptigen.tuning._flaml import tune as flaml_tune
    log, cache, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
    oai.Completion.set_cache(seed=7, cache_path_root=cache)
    data = [{"definition": f"def add_{i}(a, b):\\n    return a + b + {i}\\n"} for i in range(4)]
    def has_text(responses, **instance):
        return {"success": any(str(r).strip() for r in responses)}
    try:
        config, analysis = oai.Completion.tune(
            data=data, metric="success", mode="max", eval_func=has_text, log_file_name=log,
            inference_budget=0.01, optimization_budget=budget, num_samples=4, model="gpt-4o-mini",
            prompt=["{definition}", "# Python 3{definition}"], n=flaml_tune.randint(1, 4),
            max_tokens=flaml_tune.lograndint(16, 64), show_progress=False)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    print(json.dumps({"trials": len(analysis.trials), "replayed": sum(t.replayed for t in analysis.trials),
                      "total_cost": analysis.total_cost, "unconfirmed": analysis.unconfirmed_cost}))
    """
)


def _open_holds(lines):
    held = set()
    for line in lines:
        if line.get("kind") == "hold":
            held.add(line["id"])
        elif line.get("kind") in ("paid", "free", "estimate"):
            held.discard(line["id"])
    return held


def _read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file.read().splitlines()[1:] if line.strip()]


def test_point_10_ctrl_c_with_requests_in_flight_stops_sending_and_the_journal_resumes(tmp_path):
    log, cache, budget = str(tmp_path / "tune.jsonl"), str(tmp_path / "cache"), 0.05
    with sim.serve(seed=5, latency=1.5) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        args = [sys.executable, "-W", "error", "-c", INTERRUPTIBLE, log, cache, str(budget)]
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # wait for a trial to be done and a burst of requests of the next one to be in flight
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            lines = _read_lines(log)
            if any(line["kind"] == "trial" for line in lines) and _open_holds(lines):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the burst's holds are written; the answers take 1.5 s
        before = _read_lines(log)
        in_flight = _open_holds(before)
        assert in_flight and child.poll() is None
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.stdout.readline().strip() == "interrupted"  # tune raised KeyboardInterrupt ...
        seconds = time.monotonic() - interrupted
        _, err = child.communicate(timeout=120)
        assert child.returncode == 130, err
        # ... once the requests in flight (1.5 s each) had settled. Generous for a loaded machine: without the
        # stop, the trial went on for about 19 s, sending new requests (they are checked for just below).
        assert seconds < 12
        after = _read_lines(log)[len(before) :]
        assert [line for line in after if line["kind"] in ("hold", "trial")] == []
        assert {line["id"] for line in after} <= in_flight  # only the requests in flight were settled
        assert not _open_holds(before + after)
        billed_at_interrupt = server.stats()["total_billed_usd"]

        resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        summary = json.loads(resumed.stdout.splitlines()[-1])
        assert summary["trials"] == 4 and summary["replayed"] >= 1
        billed = server.stats()["total_billed_usd"]
        assert billed_at_interrupt < billed <= budget
        assert billed - 1e-9 <= summary["total_cost"] + summary["unconfirmed"] <= budget


# -- issue 25, point 1: resuming with a larger budget ---------------------------------------------------------


def test_resuming_with_a_larger_budget_continues_to_it_and_says_what_it_resumed(tmp_path, caplog):
    log, budget = str(tmp_path / "tune.jsonl"), 0.01
    first = FakeEngine()
    _, ended = run(first, log_file_name=log, optimization_budget=budget)
    assert ended.stopped_because.startswith("the optimization budget is spent")
    assert ended.trials[-1].status == "unaffordable"  # it ended on its budget, with unaffordable trials
    second = FakeEngine()
    with caplog.at_level(logging.INFO, logger="ecoptigen.tuning"):
        _, resumed = run(second, log_file_name=log, optimization_budget=2 * budget, logging_level=logging.INFO)
    assert len(resumed.trials) > len(ended.trials)
    assert resumed.total_cost > 1.5 * budget  # it went on spending, towards the new budget ...
    assert resumed.total_cost <= 2 * budget  # ... and not past it
    assert resumed.total_cost == pytest.approx(first.paid + second.paid)
    paid = f"${ended.total_cost:.6f}"
    assert f"resumed {len(ended.trials)} trials from {log}, {paid} already paid" in caplog.text
