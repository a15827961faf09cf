"""Strict mode's judge, fed values as the sandbox returns them (a program can tamper with them)."""

import pytest

from ecoptigen.sandbox import RunResult, strict_test

TEST = "def check(candidate):\n    assert candidate(1) == [1, 2]\n"


def _run(value):
    return RunResult("passed", 0, "", False, "test", 0.0, values=[{"value": value}])


def test_plain_values_are_judged():
    strict = strict_test(TEST, "f")
    assert strict.judge(_run([1, 2])) is True and strict.judge(_run({"__list__": [1, 3]})) is False


@pytest.mark.parametrize(
    "malformed",
    [
        {"__set__": [1], "__list__": []},
        {"__float__": "not a number"},
        {"__dict__": [[{"__list__": [1]}, 2]]},
        {"__set__": [{"__set__": [1]}]},
    ],
)
def test_malformed_values_fail_the_check_instead_of_raising(malformed):
    assert strict_test(TEST, "f").judge(_run(malformed)) is False


@pytest.mark.parametrize(
    "test", ["x = " + "-" * 200_000 + "1", "def check(candidate):\n    assert candidate(1) == 1 +\n"]
)
def test_a_test_that_does_not_parse_is_not_strict(test):
    # 3.11's parser reports a very deep expression as MemoryError: the test is left to the sandbox.
    assert strict_test(test, "f") is None
