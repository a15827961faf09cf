"""The ``sandbox`` fixture: a warm sandbox, a fake API key in our environment, and afterwards a check
of the host: the evaluator still works and no process outlived its check."""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ecoptigen.sandbox import get_sandbox


def sandbox_processes() -> int:
    """Live processes descending from this test process (sandbox workers and anything they started;
    a daemon that escaped its session is re-parented inside the sandbox, so it is still counted)."""
    children: dict[int, list[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":  # zombies are already dead
            children.setdefault(int(fields[1]), []).append(int(pid))
    count, stack = 0, [os.getpid()]
    while stack:
        for child in children.get(stack.pop(), []):
            count += 1
            stack.append(child)
    return count


def settled_sandbox_processes() -> int:
    """:func:`sandbox_processes` once it stops changing: an idle worker forks the child for its next
    job just after answering, so right after a run that child may not exist yet."""
    count = sandbox_processes()
    for _ in range(100):
        time.sleep(0.02)
        count, previous = sandbox_processes(), count
        if count == previous:
            break
    return count


@pytest.fixture
def fake_key():
    return "sk-fake-" + uuid.uuid4().hex


@pytest.fixture
def sandbox(monkeypatch, fake_key):
    monkeypatch.setenv("OPENAI_API_KEY", fake_key)
    box = get_sandbox()
    # Warm: every worker exists before the baseline is taken (runs at the same time take one each).
    slots = 2 * max(2, os.cpu_count() or 2)  # WorkerPool's default size
    with ThreadPoolExecutor(slots) as pool:
        assert all(pool.map(lambda _: box.run("import time\ntime.sleep(0.2)", timeout=5).passed, range(slots)))
    baseline = settled_sandbox_processes()
    yield box
    assert box.run("assert 1 + 1 == 2", timeout=5).passed, "the evaluator must still work"
    assert settled_sandbox_processes() <= baseline, "a process outlived its check"
