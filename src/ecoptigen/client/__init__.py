"""The request engine: sends, caches, retries and accounts for requests to OpenAI-compatible endpoints.

``ecoptigen.oai`` (the FLAML-compatible facade) and ``ecoptigen.tuning`` both build on this package;
neither reaches into its private modules. The chain of steps a request goes through is drawn in
``_engine.py``, their I/O (blocking for ``create``, asyncio for ``acreate``) in ``_io.py``; one client
builder (``_endpoints.py``), one error mapper (``_errors.py``).

Example:
    >>> from ecoptigen.client import instantiate
    >>> instantiate("# Python 3{definition}", {"definition": "def f():"})
    '# Python 3def f():'
"""

from ecoptigen.client._engine import DEFAULT_SETTINGS, CompletionEngine
from ecoptigen.client._keywords import RUN_OPTIONS, check_known, create_options, tune_options
from ecoptigen.client._parameter_checks import check_value, restriction
from ecoptigen.client._prompts import instantiate, instantiate_messages, template_keys
from ecoptigen.client._request import request_prompt_tokens, request_worst_case
from ecoptigen.client._responses import Response, extract_text, extract_text_or_function_call

__all__ = [
    "DEFAULT_SETTINGS",
    "RUN_OPTIONS",
    "CompletionEngine",
    "Response",
    "check_known",
    "check_value",
    "create_options",
    "extract_text",
    "extract_text_or_function_call",
    "instantiate",
    "instantiate_messages",
    "request_prompt_tokens",
    "request_worst_case",
    "restriction",
    "template_keys",
    "tune_options",
]
