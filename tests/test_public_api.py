"""The public import surface is explicit: changing it must be a decision, made here."""

import importlib
import pkgutil
import re
from pathlib import Path

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
    star: dict = {}
    exec("from ecoptigen.oai import *", star)
    assert set(star) - {"__builtins__"} == set(oai.__all__)
    documented = Path(__file__).parents[1].joinpath("docs", "api.md").read_text()
    assert [name for name in oai.__all__ if f"`{name}" not in documented] == []


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


def _drawn_tree(docstring: str) -> dict[str, str | None]:
    """Each class of the drawings in ``errors``' docstring, with the class drawn above it (None at a root).

    A drawing starts at an unindented-in-the-block class name and goes on while lines hold ``├──``/``└──``.
    """
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in docstring.splitlines():
        branch = re.match(r"^[\s│]*[├└]── (\w+)", line)
        root = re.match(r"^    (Ecoptigen\w+)\b", line)
        if root:
            stack = [(4, root.group(1))]
            parents[root.group(1)] = None
        elif branch and stack:
            column = branch.start(1)
            while stack[-1][0] >= column:
                stack.pop()
            parents[branch.group(1)] = stack[-1][1]
            stack.append((column, branch.group(1)))
    return parents


def test_the_drawn_error_tree_is_the_code():
    drawn = _drawn_tree(errors.__doc__)
    public = {name for name in errors.__all__ if isinstance(getattr(errors, name), type)}
    assert set(drawn) == public
    for name, parent in drawn.items():
        base = getattr(errors, name).__mro__[1]
        expected = base.__name__ if base.__module__ == "ecoptigen.errors" else None
        assert parent == expected, f"{name} is drawn under {parent}, but derives from {base.__name__}"
    roots = {name for name, parent in drawn.items() if parent is None}
    assert roots == {"EcoptigenError", "EcoptigenWarning"}


def test_every_exception_ecoptigen_defines_is_in_the_tree():
    import ecoptigen

    defined = set()
    for module_info in pkgutil.walk_packages(ecoptigen.__path__, "ecoptigen."):
        if module_info.name.endswith("__main__") or ".sandbox._zygote" in module_info.name:
            continue  # the zygote runs inside the sandbox; its exceptions never leave it
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                defined.add(value)
    public = {value for value in defined if issubclass(value, (errors.EcoptigenError, errors.EcoptigenWarning))}
    private = {f"{value.__module__}.{value.__name__}" for value in defined - public}
    # Raised and caught inside ecoptigen, never seen by a user: each one's docstring or comment says so.
    assert private == {
        "ecoptigen.tuning._steps.Unaffordable",
        "ecoptigen.tuning._racing.Beaten",
        "ecoptigen.sim._protocol._ApiError",
    }
    assert {value.__name__ for value in public} == set(_drawn_tree(errors.__doc__))
