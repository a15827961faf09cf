"""Unknown keywords are refused before anything is sent, naming the closest known option; provider
fields travel in ``extra_body``, the openai SDK's convention."""

from __future__ import annotations

import pytest

from ecoptigen import oai, sim
from ecoptigen.code_utils import generate_assertions
from ecoptigen.errors import ConfigurationError, RateLimitError, RequestError

DATA = [{"q": "Say hi."}]


def answered(responses, **instance):
    return {"success": float(bool(responses[0]))}


def test_a_misspelled_create_option_is_refused_before_sending(endpoint):
    with pytest.raises(ConfigurationError, match="unknown option 'max_token'; did you mean 'max_tokens'"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", max_token=20)
    with pytest.raises(ConfigurationError, match="'temprature'; did you mean 'temperature'"):
        oai.ChatCompletion.create(config_list=[{"model": "gpt-4o-mini", "temprature": 0}], prompt="hi")
    assert endpoint.stats()["requests"] == 0


def test_a_provider_field_goes_through_extra_body_only(endpoint):
    with pytest.raises(ConfigurationError, match=r"extra_body=\{'top_k': \.\.\.\}"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", top_k=5)
    assert endpoint.stats()["requests"] == 0
    response = oai.Completion.create(model="gpt-4o-mini", prompt="hi", max_tokens=5, extra_body={"top_k": 5})
    assert response["choices"]
    # extra_body fields reach the endpoint as top-level fields: the simulated one checks temperature
    with pytest.raises(RequestError, match="'temperature'"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", extra_body={"temperature": 7}, use_cache=False)


def test_sdk_options_ecoptigen_cannot_honour_say_what_to_do(endpoint):
    with pytest.raises(ConfigurationError, match="streaming is not supported"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", stream=True)
    with pytest.raises(ConfigurationError, match="'request_timeout'"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", timeout=3)


def test_a_misspelled_tune_option_is_refused_before_spending(endpoint):
    with pytest.raises(ConfigurationError, match="'inference_buget'; did you mean 'inference_budget'"):
        oai.Completion.tune(
            data=DATA, metric="success", mode="max", eval_func=answered, inference_buget=0.01,
            model="gpt-4o-mini", prompt="{q}", num_samples=1, show_progress=False,
        )  # fmt: skip
    with pytest.raises(ConfigurationError, match="'parallel_trial'; did you mean 'parallel_trials'"):
        oai.Completion.tune(
            data=DATA, metric="success", mode="max", eval_func=answered, parallel_trial=2,
            model="gpt-4o-mini", prompt="{q}", num_samples=1, show_progress=False,
        )  # fmt: skip
    assert endpoint.stats()["requests"] == 0


def test_a_misspelled_test_option_is_refused(endpoint):
    config = {"model": "gpt-4o-mini", "prompt": "{q}", "max_tokens": 5}
    with pytest.raises(ConfigurationError, match="'agg_methd'; did you mean 'agg_method'"):
        oai.Completion.test(DATA, answered, agg_methd="median", **config)
    assert endpoint.stats()["requests"] == 0


def test_raise_on_ratelimit_or_timeout_is_refused_by_tune_and_test(endpoint):
    with pytest.raises(ConfigurationError, match="tune\\(\\) needs every response"):
        oai.Completion.tune(
            data=DATA, metric="success", mode="max", eval_func=answered, raise_on_ratelimit_or_timeout=False,
            model="gpt-4o-mini", prompt="{q}", num_samples=1, show_progress=False,
        )  # fmt: skip
    with pytest.raises(ConfigurationError, match="test\\(\\) needs every response"):
        oai.Completion.test(DATA, answered, raise_on_ratelimit_or_timeout=False, model="gpt-4o-mini", prompt="{q}")


def test_code_utils_raise_the_rate_limit_instead_of_asserting(monkeypatch):
    with sim.serve(faults={"429": 1.0}) as limited:
        monkeypatch.setenv("OPENAI_BASE_URL", limited.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        with pytest.raises(RateLimitError):
            generate_assertions("def f(x):\n    '''>>> f(1)\n    2'''\n", raise_on_ratelimit_or_timeout=False,
                                retry_timeout=0.2, use_cache=False)  # fmt: skip
