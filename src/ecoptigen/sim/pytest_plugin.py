"""Pytest fixtures for testing code that calls OpenAI, against the simulated endpoint.

Installed with ecoptigen (entry point ``pytest11``), so the fixtures are available in any test::

    def test_my_prompt(sim_env):
        from ecoptigen import oai
        response = oai.Completion.create(model="gpt-4o-mini", prompt="Hi", max_tokens=5)
        assert sim_env.stats()["requests"] == 1

``sim_server`` is one seeded server per test session (statistics reset before each test that uses
``sim_env``); ``sim_env`` also sets ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` for the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecoptigen.sim import SimServer, serve


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """A simulated OpenAI-compatible server (seed 0) for the whole test session."""
    with serve(seed=0) as server:
        yield server


@pytest.fixture
def sim_env(sim_server: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """Point the ``openai`` SDK (and ecoptigen) at ``sim_server`` through the environment."""
    monkeypatch.setenv("OPENAI_BASE_URL", sim_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-simulated")
    sim_server.reset_stats()
    return sim_server
