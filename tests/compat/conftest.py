"""Fixtures for the FLAML compatibility tests: FLAML's data, config lists on the simulated endpoint,
and class-level settings put back after each test."""

from __future__ import annotations

import pytest

from ecoptigen import oai
from ecoptigen.datasets import load_humaneval

SETTINGS = ("price1K", "chat_models", "request_timeout", "retry_timeout", "retry_time")


@pytest.fixture(autouse=True)
def class_settings():
    """Whatever a test assigns to ``oai.Completion``'s class attributes is undone afterwards."""
    saved = {name: getattr(oai.Completion, name) for name in SETTINGS}
    saved_values = {name: value.copy() for name, value in saved.items() if isinstance(value, (dict, set))}
    yield
    for name, value in saved.items():
        if isinstance(value, (dict, set)):
            value.clear()
            value.update(saved_values[name])
        setattr(oai.Completion, name, value)


@pytest.fixture(scope="session")
def humaneval_split():
    """FLAML's split: HumanEval shuffled with seed 41, 20 problems to tune on, the rest to test on."""
    data = load_humaneval()["test"].shuffle(seed=41)
    rows = [{"definition": d["prompt"], "test": d["test"], "entry_point": d["entry_point"]} for d in data]
    return rows[:20], rows[20:]


@pytest.fixture
def config_list(endpoint):
    """What ``config_list_openai_aoai`` gives a FLAML user with an OpenAI key and an Azure deployment,
    both served by the simulated endpoint (its Azure routes answer ``/openai/deployments/...``)."""
    azure_base = endpoint.base_url.removesuffix("/v1")
    return [
        {"api_key": "sk-azure", "base_url": azure_base, "api_type": "azure", "api_version": "2024-06-01"},
        {"api_key": "sk-openai", "base_url": endpoint.base_url},
    ]
