"""What the warm worker does ahead of a run must not connect one run to another.

The worker forks the child for the next job right after answering, imports modules that programs
often import, and keeps job folders in its private ``/tmp``. A program must still find itself alone:
no process of another job, no other job's files, and a fresh copy of every module it changes.
"""

import ast
import importlib.resources
import json

import pytest

from ecoptigen.sandbox import _backends
from ecoptigen.sandbox._workers import ZYGOTE_PARTS


@pytest.fixture(scope="module")
def one_worker():
    """A bubblewrap sandbox with a single worker, so consecutive runs share it."""
    pool = _backends.bubblewrap_pool(size=1)
    yield pool
    pool.close()


LIST_PROCESSES = """
import json, os
print(json.dumps({"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), "own": os.getpid()}))
"""
LIST_FOLDERS = """
import json, os
open("left-behind.txt", "w").write("secret")
print(json.dumps({"tmp": os.listdir("/tmp"), "own": os.path.basename(os.getcwd())}))
"""


def test_a_run_sees_no_process_but_the_worker_and_itself(one_worker):
    for _ in range(3):
        result = one_worker.run(LIST_PROCESSES, timeout=5)
        seen = json.loads(result.output)
        # The worker's zygote is PID 1 (--as-pid-1) and its monitor PID 2; else bubblewrap's init is
        # PID 1 and they are 2 and 3.
        worker = [1, 2] if "--as-pid-1" in _backends._hardening_flags() else [1, 2, 3]
        assert result.passed and seen["pids"] == [*worker, seen["own"]]


def test_a_run_finds_no_other_jobs_folder(one_worker):
    first = json.loads(one_worker.run(LIST_FOLDERS, timeout=5).output)
    second = json.loads(one_worker.run(LIST_FOLDERS, timeout=5).output)
    assert first["tmp"] == [first["own"]] and second["tmp"] == [second["own"]]
    assert first["own"] != second["own"]


SPOIL = "import typing, heapq, string\ntyping.List = None\nheapq.heappush = None\nstring.digits = 'x'\n"
INTACT = "import typing, heapq, string\nassert typing.List and heapq.heappush and string.digits == '0123456789'\n"


def test_a_preloaded_module_changed_by_a_program_is_fresh_for_the_next(one_worker):
    assert one_worker.run(SPOIL, timeout=5).passed
    assert one_worker.run(INTACT, timeout=5).passed


def test_the_parts_of_the_worker_script_define_no_name_twice():
    """The parts run as one script, in one namespace: a name defined in two parts would silently
    replace the first (a later part's helper shadowing the harness's, say)."""
    defined: dict[str, str] = {}
    for part in ZYGOTE_PARTS:
        tree = ast.parse(importlib.resources.files("ecoptigen.sandbox").joinpath(part).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            else:
                names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
            for name in names:
                assert defined.setdefault(name, part) == part, f"{name} is defined in {defined[name]} and {part}"
