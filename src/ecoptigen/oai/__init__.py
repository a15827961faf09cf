"""Talking to OpenAI-compatible endpoints: FLAML's ``flaml.autogen.oai`` API on the current SDK.

Example:
    >>> from ecoptigen import oai
    >>> oai.Completion.instantiate("# Python 3{definition}", {"definition": "def f():"})
    '# Python 3def f():'
"""

from ecoptigen.client import CompletionEngine, Response
from ecoptigen.oai.completion import ChatCompletion, Completion
from ecoptigen.oai.config_lists import (
    config_list_from_json,
    config_list_from_models,
    config_list_gpt4_gpt35,
    config_list_openai_aoai,
    get_config_list,
)

__all__ = [
    "ChatCompletion",
    "Completion",
    "CompletionEngine",
    "Response",
    "config_list_from_json",
    "config_list_from_models",
    "config_list_gpt4_gpt35",
    "config_list_openai_aoai",
    "get_config_list",
]
