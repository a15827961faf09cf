"""The public import surface is explicit: changing it must be a decision, made here."""

import ecoptigen
from ecoptigen import errors, oai


def test_top_level():
    assert set(ecoptigen.__all__) >= {"__version__", "errors", "oai"}


def test_oai_surface():
    assert set(oai.__all__) == {
        "ChatCompletion",
        "Completion",
        "CompletionEngine",
        "Response",
        "config_list_from_json",
        "config_list_from_models",
        "config_list_gpt4_gpt35",
        "config_list_openai_aoai",
        "get_config_list",
    }
    for name in oai.__all__:
        assert getattr(oai, name) is not None


def test_documented_class_methods_exist():
    for name in [
        "create",
        "tune",
        "test",
        "instantiate",
        "extract_text",
        "extract_text_or_function_call",
        "cost",
        "set_cache",
        "clear_cache",
        "start_logging",
        "stop_logging",
        "print_usage_summary",
    ]:
        assert callable(getattr(oai.Completion, name)), name
        assert callable(getattr(oai.ChatCompletion, name)), name
    for name in ["price1K", "chat_models", "request_timeout", "retry_timeout", "retry_time", "seed", "cache_path"]:
        assert hasattr(oai.Completion, name), name
    assert "model" in oai.Completion.default_search_space
    assert "messages" in oai.ChatCompletion.default_search_space or "prompt" in oai.ChatCompletion.default_search_space


def test_error_tree():
    assert issubclass(errors.TemplateError, errors.ConfigurationError)
    assert issubclass(errors.UnknownPriceError, errors.ConfigurationError)
    assert issubclass(errors.RateLimitError, errors.RetryableError)
    assert issubclass(errors.RequestTimeout, errors.RetryableError)
    assert issubclass(errors.RetryableError, errors.RequestError)
    assert all(issubclass(getattr(errors, n), errors.EcoptigenError) for n in errors.__all__)
