import json

import pytest

from ecoptigen import oai
from ecoptigen.errors import ConfigurationError


def test_config_list_from_json_env_var_with_filter(monkeypatch):
    configs = [{"model": "gpt-4", "api_key": "a"}, {"model": "gpt-4o-mini", "api_key": "b"}]
    monkeypatch.setenv("OAI_CONFIG_LIST", json.dumps(configs))
    assert oai.config_list_from_json() == configs
    assert oai.config_list_from_json(filter_dict={"model": ["gpt-4o-mini"]}) == [configs[1]]


def test_config_list_from_json_file(monkeypatch, tmp_path):
    monkeypatch.delenv("MY_LIST", raising=False)
    (tmp_path / "MY_LIST").write_text(json.dumps([{"model": "gpt-4"}]))
    assert oai.config_list_from_json("MY_LIST", file_location=str(tmp_path)) == [{"model": "gpt-4"}]


def test_config_list_from_json_errors_say_what_to_do(monkeypatch, tmp_path):
    monkeypatch.delenv("MISSING_LIST", raising=False)
    with pytest.raises(ConfigurationError, match="set the environment variable MISSING_LIST"):
        oai.config_list_from_json("MISSING_LIST", file_location=str(tmp_path))
    monkeypatch.setenv("BAD_LIST", "{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        oai.config_list_from_json("BAD_LIST")
    monkeypatch.setenv("BAD_LIST", '{"model": "gpt-4"}')
    with pytest.raises(ConfigurationError, match="list"):
        oai.config_list_from_json("BAD_LIST")


def test_openai_and_azure_keys_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1\nsk-2")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-1")
    monkeypatch.setenv("AZURE_OPENAI_API_BASE", "https://x.openai.azure.com")
    configs = oai.config_list_openai_aoai(key_file_path=str(tmp_path))
    assert [c["api_key"] for c in configs] == ["az-1", "sk-1", "sk-2"]
    assert configs[0]["api_type"] == "azure" and configs[0]["base_url"] == "https://x.openai.azure.com"
    assert oai.config_list_openai_aoai(key_file_path=str(tmp_path), exclude="aoai")[0]["api_key"] == "sk-1"


def test_keys_from_files(monkeypatch, tmp_path):
    for var in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "key_openai.txt").write_text("sk-file\n")
    configs = oai.config_list_from_models(key_file_path=str(tmp_path), model_list=["gpt-4o", "gpt-4o-mini"])
    assert configs == [{"api_key": "sk-file", "model": "gpt-4o"}, {"api_key": "sk-file", "model": "gpt-4o-mini"}]
    assert [c["model"] for c in oai.config_list_gpt4_gpt35(key_file_path=str(tmp_path))] == ["gpt-4", "gpt-3.5-turbo"]


def test_azure_keys_without_endpoints_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-1")
    monkeypatch.delenv("AZURE_OPENAI_API_BASE", raising=False)
    with pytest.raises(ConfigurationError, match="endpoint"):
        oai.config_list_openai_aoai(key_file_path=str(tmp_path))


def test_get_config_list():
    assert oai.get_config_list(["a", " "], api_type="azure", api_version="v") == [
        {"api_key": "a", "api_type": "azure", "api_version": "v"}
    ]
    with pytest.raises(ConfigurationError):
        oai.get_config_list(["a"], ["b1", "b2"])
