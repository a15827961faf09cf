"""Strict mode: tests that reduce to call/expected-value pairs are judged outside the sandbox.

HumanEval's ``check(candidate)`` is mostly ``assert candidate(<literals>) == <literal>``. For such a
test, the sandbox only evaluates ``candidate(<literals>)`` and returns each value as plain data; the
comparison with the expected value happens here, so expected values never enter the sandbox and no
object the program builds (one with an ``__eq__`` that always says yes, say) can take part in it.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Any

from ecoptigen.sandbox._base import RunResult
from ecoptigen.sandbox._parse import parse

# The worker's decoder: plain data or Opaque, never an error.
from ecoptigen.sandbox._zygote_values import Opaque, decode

__all__ = ["StrictTest", "decode", "strict_test"]

_TRUTHY = object()
_FALSY = object()


@dataclass(frozen=True)
class StrictTest:
    """The calls to evaluate in the sandbox and the values they must produce."""

    calls: tuple[str, ...]
    expected: tuple[Any, ...]

    def judge(self, result: RunResult) -> bool:
        """Whether the sandboxed run produced every expected value."""
        if not result.passed or result.values is None or len(result.values) != len(self.expected):
            return False
        for got, want in zip(result.values, self.expected, strict=True):
            if "value" not in got:
                return False
            value = decode(got["value"])
            if want is _TRUTHY or want is _FALSY:
                if _is_unserializable(value) or bool(value) is not (want is _TRUTHY):
                    return False
            elif (type(value) is not type(want) and not _numbers(value, want)) or value != want:
                return False
        return True


def _numbers(a: Any, b: Any) -> bool:
    return type(a) in (int, float, bool) and type(b) in (int, float, bool)


def _is_unserializable(value: Any) -> bool:
    return isinstance(value, Opaque)


@functools.lru_cache(maxsize=1024)
def strict_test(test: str, entry_point: str) -> StrictTest | None:
    """The strict form of ``test``, or ``None`` when it does more than compare calls with literals."""
    try:
        module = parse(test)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # MemoryError: 3.11's parser out of stack
        return None
    checks = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    others = [n for n in module.body if n not in checks and not _is_metadata(n)]
    if len(checks) != 1 or others or not checks[0].args.args:
        return None
    parameter = checks[0].args.args[0].arg
    calls, expected = [], []
    for statement in checks[0].body:
        pair = _pair(statement, parameter, entry_point)
        if pair is None:
            return None
        if pair == ():
            continue
        calls.append(pair[0])
        expected.append(pair[1])
    return StrictTest(tuple(calls), tuple(expected)) if calls else None


def _is_metadata(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign | ast.Expr) and _literal(getattr(node, "value", None)) is not _NOT_LITERAL


_NOT_LITERAL = object()


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else _NOT_LITERAL
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _call_source(node: ast.AST, parameter: str, entry_point: str) -> str | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == parameter):
        return None
    if node.keywords or any(_literal(arg) is _NOT_LITERAL for arg in node.args):
        return None
    return f"{entry_point}({', '.join(ast.unparse(arg) for arg in node.args)})"


def _pair(statement: ast.stmt, parameter: str, entry_point: str) -> tuple | None:
    if isinstance(statement, ast.Expr) and _literal(statement.value) is not _NOT_LITERAL:
        return ()  # a docstring or a stray literal
    if not isinstance(statement, ast.Assert):
        return None
    test = statement.test
    if isinstance(test, ast.Constant) and test.value is True:
        return ()
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        left, right = test.left, test.comparators[0]
        for call_node, value_node in ((left, right), (right, left)):
            call = _call_source(call_node, parameter, entry_point)
            value = _literal(value_node)
            if call is not None and value is not _NOT_LITERAL:
                return call, value
        return None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        call = _call_source(test.operand, parameter, entry_point)
        return (call, _FALSY) if call else None
    call = _call_source(test, parameter, entry_point)
    return (call, _TRUTHY) if call else None
