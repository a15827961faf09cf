"""What each model family accepts, and the API's ranges, checked before anything is sent."""

import pytest

from ecoptigen import oai
from ecoptigen.client._parameter_checks import check_request
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models

REASONING = ["o1", "o3-mini", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano"]
CHAT = ["gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"]
COMPLETION = ["text-davinci-003", "code-davinci-002", "gpt-3.5-turbo-instruct", "davinci-002", "babbage-002"]


def check(model, chat=None, **params):
    chat = models.endpoint_kind(model) == "chat" if chat is None else chat
    return check_request(model, {"model": model, **params}, chat)


def test_every_catalog_model_has_capabilities():
    assert set(models.CAPABILITIES) == set(models.MODELS)


@pytest.mark.parametrize("model", REASONING)
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("temperature", 0.7),
        ("top_p", 0.9),
        ("presence_penalty", 0.5),
        ("frequency_penalty", -0.5),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("logit_bias", {"50256": -100}),
    ],
)
def test_reasoning_models_refuse_sampling_controls_naming_model_and_parameter(model, param, value):
    with pytest.raises(ConfigurationError) as caught:
        check(model, **{param: value})
    assert model in str(caught.value) and param in str(caught.value)


@pytest.mark.parametrize("model", REASONING)
@pytest.mark.parametrize(
    ("param", "value"),
    [("temperature", 1), ("top_p", 1), ("presence_penalty", 0), ("frequency_penalty", 0), ("logprobs", False)],
)
def test_reasoning_models_drop_a_setting_that_changes_nothing(model, param, value):
    assert check(model, **{param: value}) == {"model": model}


@pytest.mark.parametrize("model", REASONING)
def test_reasoning_models_take_max_completion_tokens(model):
    assert check(model, max_tokens=300) == {"model": model, "max_completion_tokens": 300}
    assert check(model, max_completion_tokens=300) == {"model": model, "max_completion_tokens": 300}


STOP_TAKEN = [
    ("o1", True),
    ("o3-mini", True),
    ("o3", False),
    ("o4-mini", False),
    ("gpt-5", False),
    ("gpt-5-nano", False),
]


@pytest.mark.parametrize(("model", "takes_stop"), STOP_TAKEN)
def test_stop_is_refused_by_o3_o4_mini_and_gpt_5(model, takes_stop):
    if takes_stop:
        assert check(model, stop=["\n"])["stop"] == ["\n"]
    else:
        with pytest.raises(ConfigurationError, match=f"{model} does not accept stop="):
            check(model, stop=["\n"])
        assert check(model, stop=None) == {"model": model}


EFFORTS = [
    ("o4-mini", "high", True),
    ("o4-mini", "minimal", False),
    ("gpt-5-mini", "minimal", True),
    ("gpt-4o", "low", False),
]


@pytest.mark.parametrize(("model", "effort", "ok"), EFFORTS)
def test_reasoning_effort_per_family(model, effort, ok):
    if ok:
        assert check(model, reasoning_effort=effort)["reasoning_effort"] == effort
    else:
        with pytest.raises(ConfigurationError, match="reasoning_effort"):
            check(model, reasoning_effort=effort)


@pytest.mark.parametrize("model", CHAT)
def test_chat_models_take_every_sampling_control(model):
    params = {"temperature": 0.7, "top_p": 0.9, "presence_penalty": 0.5, "stop": ["\n"], "logprobs": True, "n": 3}
    assert check(model, **params) == {"model": model, **params}
    assert check(model, max_completion_tokens=64) == {"model": model, "max_tokens": 64}


@pytest.mark.parametrize("model", CHAT + REASONING)
def test_chat_endpoint_refuses_completions_only_parameters(model):
    with pytest.raises(ConfigurationError, match="only on the legacy completions endpoint"):
        check(model, best_of=3)
    assert check(model, best_of=1, echo=False) == {"model": model}


@pytest.mark.parametrize("model", COMPLETION)
def test_completion_models(model):
    assert check(model, best_of=3, n=2, logprobs=5, echo=True) == {
        "model": model, "best_of": 3, "n": 2, "logprobs": 5, "echo": True}  # fmt: skip
    assert check(model, max_completion_tokens=20) == {"model": model, "max_tokens": 20}
    with pytest.raises(ConfigurationError, match="best_of must be at least n"):
        check(model, best_of=2, n=3)
    with pytest.raises(ConfigurationError, match="logprobs=6 is out of range"):
        check(model, logprobs=6)


@pytest.mark.parametrize(
    ("model", "param", "value", "allowed"),
    [
        ("gpt-4o-mini", "temperature", 5, "a number from 0 to 2"),
        ("gpt-4o-mini", "temperature", -0.1, "a number from 0 to 2"),
        ("gpt-4.1", "top_p", 2, "a number from 0 to 1"),
        ("gpt-4.1", "n", 0, "an integer from 1 to 128"),
        ("gpt-4.1", "n", 2.5, "an integer from 1 to 128"),
        ("text-davinci-003", "best_of", 21, "an integer from 1 to 20"),
        ("gpt-4o", "presence_penalty", 3, "a number from -2 to 2"),
        ("gpt-4o", "max_tokens", 0, "an integer from 1 to 16384"),
        ("gpt-4o", "max_tokens", 20000, "an integer from 1 to 16384"),
        ("o4-mini", "max_tokens", 0, "an integer from 1 to 100000"),
        ("my-local-llama", "temperature", 5, "a number from 0 to 2"),
        ("gpt-4o", "temperature", True, "a number from 0 to 2"),
    ],
)
def test_out_of_range_values_name_parameter_range_and_model(model, param, value, allowed):
    with pytest.raises(ConfigurationError) as caught:
        check(model, **{param: value})
    message = str(caught.value)
    assert f"{param}={value!r}" in message and allowed in message and model in message


def test_at_most_four_stop_sequences():
    with pytest.raises(ConfigurationError, match="at most 4"):
        check("gpt-4o", stop=["a", "b", "c", "d", "e"])


def test_both_limit_names_are_refused():
    with pytest.raises(ConfigurationError, match="both max_tokens and max_completion_tokens"):
        check("gpt-4o", max_tokens=5, max_completion_tokens=5)


def test_unknown_models_pass_everything_in_range_and_new_reasoning_names_follow_their_family():
    assert check("my-local-llama", temperature=1.5, top_p=0.3, best_of=None) == {
        "model": "my-local-llama", "temperature": 1.5, "top_p": 0.3}  # fmt: skip
    for name in ("o3-pro", "o4-mini-2025-04-16", "gpt-5.1", "ft:o4-mini:acme::x1"):
        with pytest.raises(ConfigurationError, match="take only temperature=1"):
            check(name, chat=True, temperature=0.5)
    assert check("gpt-5-chat-latest", chat=True, temperature=0.5)["temperature"] == 0.5


def test_create_refuses_before_sending(endpoint):
    with pytest.raises(ConfigurationError, match=r"gpt-5-mini does not accept temperature=0\.7"):
        oai.ChatCompletion.create(model="gpt-5-mini", messages=[{"role": "user", "content": "hi"}], temperature=0.7)
    with pytest.raises(ConfigurationError, match="top_p=2 is out of range for gpt-4o-mini"):
        oai.ChatCompletion.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], top_p=2)
    assert endpoint.stats()["requests"] == 0


def test_create_drops_a_default_valued_fixed_parameter(endpoint):
    history: dict = {}
    oai.ChatCompletion.start_logging(history, compact=False)
    try:
        response = oai.ChatCompletion.create(
            model="o4-mini", messages=[{"role": "user", "content": "hi"}], temperature=1, top_p=1, max_tokens=2000
        )
    finally:
        oai.ChatCompletion.stop_logging()
    assert response["choices"]
    sent = history[0]["request"]
    assert "temperature" not in sent and "top_p" not in sent and sent["max_completion_tokens"] == 2000
