"""The examples a HumanEval docstring gives, read as ``(call, expected)`` pairs of Python source.

Docstrings state their examples in several ways: doctests (``>>> f(x)`` with the value on the next
lines, or ``>>> f(x) == y`` on one line) and prose lines such as ``f(x) == y``, ``f(x) => y``,
``f(x) ==> y``, ``f(x) ➞ y`` or ``f(x) -> y``. A pair is kept only when both sides parse as Python
expressions and the call is a call of the problem's function; anything else (``Input: ... Output:``
prose, values in words) is left out rather than guessed. Nothing here executes code.
"""

from __future__ import annotations

import ast
import doctest
import inspect
import re

__all__ = ["docstring_examples", "examples_from_tests"]

# The arrow or word between an example call and its value, in the forms the docstrings use.
_SEPARATOR = re.compile(r"\s*(?:==>|=>|==|➞|->|→|should return|returns|return)\s*")
# Builtins an example may wrap the call in, as in ``round(find_zero([1, 2]), 2)``.
_WRAPPERS = frozenset({"round", "sorted", "set", "list", "tuple", "len", "abs", "str", "int", "float"})


def docstring_examples(docstring_source: str, entry_point: str) -> list[tuple[str, str]]:
    """``(call, expected)`` pairs from a docstring as written in the source (escapes not decoded).

    Example:
        >>> docstring_examples('>>> f(1)\\n2\\nf(2) => 3\\n', "f")
        [('f(1)', '2'), ('f(2)', '3')]
    """
    text = inspect.cleandoc(docstring_source)
    pairs = _doctest_pairs(text, entry_point)
    prose = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">>>"))
    pairs += [pair for line in prose.splitlines() if (pair := _prose_pair(line, entry_point))]
    unique: list[tuple[str, str]] = []
    for pair in pairs:
        if pair not in unique:
            unique.append(pair)
    return unique


def examples_from_tests(test_source: str, entry_point: str) -> list[tuple[str, str]]:
    """``(call, expected)`` pairs from the ``assert candidate(...) == value`` lines of a test."""
    pairs = []
    for node in ast.walk(ast.parse(test_source)):
        if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
            continue
        compare = node.test
        if len(compare.ops) != 1 or not isinstance(compare.ops[0], ast.Eq):
            continue
        call, expected = compare.left, compare.comparators[0]
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "candidate":
            call.func.id = entry_point
            if _is_call_of(ast.unparse(call), entry_point) and _is_literal(ast.unparse(expected)):
                pairs.append((ast.unparse(call), ast.unparse(expected)))
    return pairs


def _doctest_pairs(text: str, entry_point: str) -> list[tuple[str, str]]:
    try:
        examples = doctest.DocTestParser().get_examples(text)
    except ValueError:  # inconsistent indentation: read the lines as prose instead
        return []
    pairs = []
    for example in examples:
        source, want = example.source.strip(), example.want.strip()
        split = _split_comparison(source, entry_point)
        if split is not None and not want:
            pairs.append((_canonical(split[0]), _canonical(split[1])))  # ">>> f(x) == y" on one line
        elif _is_call_of(source, entry_point):
            # An empty want means the call printed nothing: it returned None. A value may span lines,
            # or be followed by prose the doctest format cannot tell apart from it.
            expected = next((e for e in (" ".join(want.split()), want.split("\n")[0]) if _is_literal(e)), None)
            if not want or expected is not None:
                pairs.append((_canonical(source), _canonical(expected or "None")))
    return pairs


def _split_comparison(source: str, entry_point: str) -> tuple[str, str] | None:
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1 and isinstance(tree.ops[0], ast.Eq):
        call = ast.get_source_segment(source, tree.left)
        expected = ast.get_source_segment(source, tree.comparators[0])
        if call and expected and _is_call_of(call, entry_point) and _is_literal(expected):
            return call, expected
    return None


def _prose_pair(line: str, entry_point: str) -> tuple[str, str] | None:
    start = line.find(entry_point + "(")
    if start < 0 or (start > 0 and (line[start - 1].isalnum() or line[start - 1] == "_")):
        return None
    call = _shortest_call(line[start:], entry_point)
    separator = _SEPARATOR.match(line, start + len(call)) if call else None
    if call is None or separator is None:
        return None
    # The value must be all that follows: "19 - 5 - 6 = 8" is a working, not a value to compare with.
    expected = line[separator.end() :].strip().rstrip(".,;").strip()
    return (_canonical(call), _canonical(expected)) if _is_literal(expected) else None


def _shortest_call(text: str, entry_point: str) -> str | None:
    for end in (i + 1 for i, char in enumerate(text) if char == ")"):
        if _is_call_of(text[:end], entry_point):
            return text[:end]
    return None


def _is_call_of(source: str, entry_point: str) -> bool:
    """Whether ``source`` calls ``entry_point`` on plain values, perhaps inside a builtin (``round(f(x), 2)``)."""
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    # A name other than the function (``f(n)``, ``f(arr)``) is prose about the arguments, not an example.
    return (
        isinstance(tree, ast.Call)
        and names <= {entry_point, *_WRAPPERS}
        and any(isinstance(c.func, ast.Name) and c.func.id == entry_point for c in calls)
        and all(isinstance(c.func, ast.Name) for c in calls)
    )


def _is_literal(source: str) -> bool:
    # Only plain values: "3 (three)" parses as a call of 3, "x" names nothing the test defines.
    try:
        ast.literal_eval(ast.parse(source, mode="eval").body)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _canonical(source: str) -> str:
    # One line, no comments: "f(x)  # note" would comment out the rest of an assert line.
    return ast.unparse(ast.parse(source, mode="eval").body)
