"""The Ray tests: they need the ``ray`` extra, and fail (never skip) without it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.ray)


@pytest.fixture(autouse=True)
def ray_installed() -> None:
    """Fail every Ray test with the command that fixes it when Ray is missing."""
    spec = importlib.util.find_spec("ray")
    if spec is None or spec.origin is None:  # no origin: a namespace package (this folder), not Ray
        pytest.fail('Ray is not installed, and these tests need it: pip install -e ".[test,ray]"', pytrace=False)
