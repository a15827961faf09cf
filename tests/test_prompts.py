import pytest

from ecoptigen.client._prompts import instantiate_messages, template_keys
from ecoptigen.errors import ConfigurationError, TemplateError
from ecoptigen.oai import Completion


def test_string_template_is_formatted_from_the_context():
    assert Completion.instantiate("# Python 3{definition}", {"definition": "def f():"}) == "# Python 3def f():"


def test_callable_template_gets_the_context():
    assert Completion.instantiate(lambda c: c["x"] * 2, {"x": "ab"}) == "abab"


def test_formatting_can_be_turned_off():
    assert Completion.instantiate("{x}", {"x": 1}, allow_format_str_template=False) == "{x}"


def test_missing_key_names_the_key_and_the_template():
    with pytest.raises(TemplateError) as info:
        Completion.instantiate("Complete: {definition}", {"prompt": "x"})
    message = str(info.value)
    assert "{definition}" in message and "Complete: {definition}" in message and "prompt" in message


def test_malformed_template_says_how_to_escape_braces():
    with pytest.raises(ConfigurationError, match=r"\{\{"):
        Completion.instantiate("a {0} b", {"x": 1})


def test_message_contents_are_filled_and_the_input_is_not_modified():
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "{q}"}]
    filled = instantiate_messages(messages, {"q": "why?"})
    assert filled[1] == {"role": "user", "content": "why?"}
    assert messages[1]["content"] == "{q}"


def test_template_keys_lists_top_level_fields():
    assert template_keys("{a}{b.c}{d[0]}{{literal}}") == {"a", "b", "d"}
