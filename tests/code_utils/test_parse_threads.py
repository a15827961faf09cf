"""Parsing generated code from many threads at once (CPython 3.11's parser is not thread-safe).

In 3.11 the AST builder keeps its recursion depth in interpreter-wide state: when two threads build
an AST at the same time, one sees the other's depth and raises ``SystemError: AST constructor
recursion depth mismatch``. A thread switch in the middle of a parse needs Python code to run there;
a garbage-collector callback that yields the GIL on every collection (collections made frequent)
provides one reliably, as a finalizer or a weakref callback does by chance in a real run.
"""

import gc
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecoptigen import code_utils
from ecoptigen.sandbox import strict_test

ROUNDS = 30


def _deep(i: int) -> str:
    """A test with deep expressions, distinct for each ``i`` (the parsers cache by text)."""
    nested = "[" * 60 + str(i) + "]" * 60
    cases = "\n".join(f"    assert candidate({i}, {k}) == [{k}, ({k}, {{'a': {nested}}})]" for k in range(20))
    return f"def check(candidate):\n{cases}\n"


def _definition(i: int) -> str:
    body = "(" * 60 + str(i) + "+1)" * 60
    return f"import math\n\ndef helper_{i}(x):\n    return {body}\n\ndef f_{i}(a, b):\n    return [a, b]\n"


@pytest.fixture
def switching_collector():
    """Collections every few allocations, each yielding the GIL to another thread."""
    threshold = gc.get_threshold()

    def yield_gil(phase, info):
        time.sleep(0)

    gc.set_threshold(50, 5, 5)
    gc.callbacks.append(yield_gil)
    yield
    gc.callbacks.remove(yield_gil)
    gc.set_threshold(*threshold)


def test_tests_and_definitions_parse_from_many_threads(switching_collector):
    start = threading.Barrier(8)

    def parse_all(thread: int) -> None:
        start.wait()
        for r in range(ROUNDS):
            i = 1_000_000 * (r + 1) + thread
            assert strict_test(_deep(i), f"f_{i}") is not None
            assert code_utils._function_name(_definition(i)) == f"f_{i}"
            assert code_utils._prelude(_definition(i)) == _definition(i)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(parse_all, t) for t in range(8)]:
            future.result()  # re-raises a SystemError from any thread


def test_a_definition_too_deep_to_parse_keeps_its_imports():
    definition = "import math\nx = " + "-" * 200_000 + "1\n"
    assert code_utils._function_name(definition) is None
    assert code_utils._prelude(definition) == "import math"
