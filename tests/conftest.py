"""Shared fixtures: a simulated endpoint over real HTTP, and a clean ecoptigen state per test."""

import pytest

from ecoptigen import oai, sim


@pytest.fixture(scope="session")
def server():
    """One simulated OpenAI-compatible server for the whole run (stats are reset per test)."""
    with sim.serve(seed=1234) as handle:
        yield handle


@pytest.fixture
def endpoint(server, monkeypatch, tmp_path):
    """Point ecoptigen at the simulated server through the environment, with a private cache."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    server.reset_stats()
    previous = (oai.Completion.seed, oai.Completion._engine.cache_path_root)
    oai.Completion.set_cache(seed=7, cache_path_root=str(tmp_path / "cache"))
    yield server
    oai.Completion.set_cache(*previous)
