"""Each documented form of the search space."""

import logging

import pytest

from ecoptigen.errors import ConfigurationError
from ecoptigen.tuning._flaml import Domain, tune
from ecoptigen.tuning._space import DEFAULT_CHAT_MODELS, DEFAULT_COMPLETION_MODELS, build_space, make_searcher


def test_default_space_uses_current_models_and_flaml_ranges():
    space = build_space({}, chat=False)
    assert space.models == DEFAULT_COMPLETION_MODELS
    assert space.prompts == ["{prompt}"]
    assert set(space.searched) == {"prompt", "subspace"}
    assert build_space({}, chat=True).models == DEFAULT_CHAT_MODELS


def test_single_prompt_string_and_callable_and_list():
    def template(instance):
        return "Q: " + instance["q"]

    assert build_space({"prompt": "{q}"}, chat=True).prompts == ["{q}"]
    assert build_space({"prompt": template}, chat=True).prompts == [template]
    space = build_space({"prompt": ["{q}", template]}, chat=True)
    assert space.params({"prompt": 1, "subspace": {"model": "gpt-4o"}})["prompt"] is template


def test_messages_as_one_list_or_a_list_of_lists():
    one = [{"role": "user", "content": "{q}"}]
    two = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{q}"}]
    space = build_space({"messages": one}, chat=True)
    assert space.messages == [one] and space.prompts is None
    space = build_space({"messages": [one, two], "model": "gpt-4o-mini"}, chat=True)
    assert space.params({"messages": 1})["messages"] == two
    assert "prompt" not in space.params({"messages": 0})


def test_prompt_and_messages_together_is_an_error():
    with pytest.raises(ConfigurationError, match="not both"):
        build_space({"prompt": "{q}", "messages": [{"role": "user", "content": "{q}"}]}, chat=True)


@pytest.mark.parametrize(
    ("stop", "choices"),
    [
        ("\n", ["\n"]),
        (["\nclass", "\ndef"], [["\nclass", "\ndef"]]),
        ([["\nclass", "\ndef"], None], [["\nclass", "\ndef"], None]),
        ([None, ["\n"]], [None, ["\n"]]),
    ],
)
def test_stop_forms(stop, choices):
    space = build_space({"stop": stop, "model": "gpt-4o-mini"}, chat=True)
    assert space.stops == choices
    assert [space.params({"stop": i})["stop"] for i in range(len(choices))] == choices


def test_stop_none_is_not_searched():
    space = build_space({"stop": None, "model": "gpt-4o-mini"}, chat=True)
    assert space.stops is None and "stop" not in space.searched


def test_temperature_alone_replaces_the_temperature_or_top_p_choice():
    space = build_space({"temperature": tune.uniform(0, 1), "model": "gpt-4o-mini"}, chat=True)
    params = space.params({"temperature_or_top_p": {"temperature": 0.3}, "prompt": 0})
    assert params["temperature"] == 0.3 and "top_p" not in params
    constant = build_space({"top_p": 0.5, "model": "gpt-4o-mini"}, chat=True)
    assert constant.params({"prompt": 0})["top_p"] == 0.5


def test_tuning_temperature_and_top_p_together_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="ecoptigen.tuning"):
        space = build_space({"temperature": tune.uniform(0, 1), "top_p": tune.uniform(0, 1)}, chat=True)
    assert "not recommended to vary together" in caplog.text
    assert "temperature_or_top_p" not in str(space.searched)


def test_model_list_makes_one_subspace_per_model_starting_from_the_same_point():
    space = build_space({"model": ["gpt-4o-mini", "gpt-4o", "gpt-4.1-nano"], "prompt": "{q}"}, chat=True)
    searcher = make_searcher(space, "success", "max", 1.0)
    assert len(space.start_points) == 3
    first = [searcher.suggest(f"t{i}") for i in range(3)]
    assert sorted(c["subspace"]["model"] for c in first) == sorted(space.models)
    shared = [{k: v for k, v in c["subspace"].items() if k != "model"} for c in first]
    assert shared[0] == shared[1] == shared[2]


def test_single_model_and_constants_pass_through():
    config_list = [{"model": "gpt-4o-mini", "api_key": "sk-x"}]
    space = build_space(
        {"model": "gpt-4o-mini", "n": 1, "max_tokens": 64, "config_list": config_list,
         "allow_format_str_template": True, "request_timeout": 30, "prompt": "{q}"},
        chat=True,
    )  # fmt: skip
    params = space.params({"prompt": 0, "temperature_or_top_p": {"top_p": 0.9}})
    assert params["config_list"] is config_list
    assert (params["model"], params["n"], params["max_tokens"], params["request_timeout"]) == ("gpt-4o-mini", 1, 64, 30)
    assert all(not isinstance(v, Domain) for v in params.values())


def test_best_of_makes_best_of_the_grown_setting():
    assert build_space({"best_of": tune.randint(1, 5), "n": 1}, chat=False).prune_hp == "best_of"
    assert build_space({}, chat=False).prune_hp == "n"


def test_legacy_model_names_work_when_given():
    space = build_space({"model": ["text-davinci-003", "gpt-3.5-turbo"]}, chat=False)
    assert space.models == ["text-davinci-003", "gpt-3.5-turbo"]


@pytest.mark.parametrize(
    "bad",
    [
        {"prompt": 3},
        {"prompt": []},
        {"messages": [{"role": "user"}]},
        {"messages": []},
        {"stop": 5},
        {"stop": [["\n"], 3]},
        {"model": []},
        {"model": 4},
        {"n": 0},
        {"max_tokens": "many"},
    ],
)
def test_invalid_spaces_are_configuration_errors(bad):
    with pytest.raises(ConfigurationError):
        build_space(bad, chat=True)


def test_region_key_is_model_prompt_and_stop():
    space = build_space({"model": ["gpt-4o", "gpt-4o-mini"], "prompt": ["a", "b"], "stop": [["\n"], None]}, chat=True)
    assert space.region_key({"prompt": 1, "stop": 0, "subspace": {"model": "gpt-4o"}}) == ("gpt-4o", 1, 0)
