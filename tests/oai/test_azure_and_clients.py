"""Endpoints: Azure's Entra ID and key variable, default deployment names, per-request cache folders,
and the SDK clients an engine keeps (bounded, closed)."""

from __future__ import annotations

import re

import pytest

from ecoptigen import oai, sim
from ecoptigen.client._endpoints import ClientCache, Endpoint
from ecoptigen.errors import AuthenticationError


@pytest.fixture
def no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def azure(server, **config):
    base = server.base_url.removesuffix("/v1")
    return {"api_type": "azure", "base_url": base, "api_version": "2024-06-01", "use_cache": False, **config}


def test_entra_id_token_provider_authenticates_without_a_key(no_keys):
    asked = []

    def token_provider():
        asked.append(True)
        return "entra-token"

    with sim.serve(api_key="entra-token") as server:
        response = oai.ChatCompletion.create(
            model="gpt-4o-mini", prompt="hi", max_tokens=4, **azure(server, azure_ad_token_provider=token_provider)
        )
        assert response["choices"] and asked
        response = oai.ChatCompletion.create(
            model="gpt-4o-mini", prompt="hi", max_tokens=4, **azure(server, azure_ad_token="entra-token")
        )
        assert response["choices"] and server.stats()["requests"] == 2


def test_a_401_from_azure_names_the_azure_key_variable(no_keys):
    with sim.serve(api_key="the-right-key") as server, pytest.raises(AuthenticationError) as caught:
        oai.ChatCompletion.create(model="gpt-4o-mini", prompt="hi", **azure(server, api_key="a-wrong-key"))
    message = str(caught.value)
    assert "AZURE_OPENAI_API_KEY" in message and "azure_ad_token_provider" in message
    assert re.search(r"(?<!AZURE_)OPENAI_API_KEY", message) is None


def test_the_default_deployment_of_a_dotted_model_is_served(no_keys):
    with sim.serve() as server:
        response = oai.ChatCompletion.create(
            model="gpt-4.1-mini", prompt="hi", max_tokens=4, **azure(server, api_key="k")
        )
    assert response["model"] == "gpt-4.1-mini"


def test_a_per_request_cache_folder_is_used(endpoint, tmp_path):
    other = tmp_path / "elsewhere"
    request = {"model": "gpt-4o-mini", "prompt": "cache me elsewhere", "max_tokens": 4, "seed": 3}
    first = oai.Completion.create(cache_path_root=str(other), **request)
    again = oai.Completion.create(cache_path_root=str(other), **request)
    assert (other / "3").is_dir() and again["choices"] == first["choices"]
    assert endpoint.stats()["requests"] == 1
    oai.Completion.create(**request)  # the default folder does not have it
    assert endpoint.stats()["requests"] == 2


def test_the_client_cache_is_bounded_and_closes_what_it_drops():
    cache = ClientCache(size=2)
    endpoints = [Endpoint("openai", f"http://127.0.0.1:{9000 + i}/v1", "k") for i in range(3)]
    with cache.lease(endpoints[0]) as first:
        with cache.lease(endpoints[1]), cache.lease(endpoints[2]):
            assert len(cache) == 2
        assert not first.is_closed()  # dropped from the cache while in use: closed when released
    assert first.is_closed()
    with cache.lease(endpoints[1]) as second:
        pass
    assert not second.is_closed()
    cache.close()
    assert second.is_closed() and len(cache) == 0


def test_an_engine_closes_its_clients(endpoint, tmp_path):
    with oai.CompletionEngine(cache_path_root=str(tmp_path)) as engine:
        engine.create(model="gpt-4o-mini", prompt="hi", max_tokens=4, chat=True)
        clients = list(engine._clients._clients.values())
        assert len(clients) == 1 and not clients[0].is_closed()
    assert clients[0].is_closed()


def test_acreate_reaches_azure_with_an_entra_id_token_provider(no_keys):
    import asyncio

    asked = []

    def token_provider():
        asked.append(True)
        return "entra-token"

    with sim.serve(api_key="entra-token") as server:
        request = azure(server, azure_ad_token_provider=token_provider)
        response = asyncio.run(oai.ChatCompletion.acreate(model="gpt-4o-mini", prompt="hi", max_tokens=4, **request))
    assert response["choices"] and asked and response["cost"] > 0
