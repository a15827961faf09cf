"""Parsing Python source in a process with many threads: one parse at a time.

CPython 3.11 builds the Python objects of an AST with a recursion counter kept in interpreter-wide
state, not per call. If another thread parses while a parse is building its tree (a thread switch
there needs Python code to run, e.g. a finalizer or a garbage-collector callback, so it is rare but
real under load), one of them raises ``SystemError: AST constructor recursion depth mismatch``.
ecoptigen parses generated programs and tests on many threads at once (``eval_function_completions``
called by a tuning's trials), so every such parse goes through :func:`parse`, which holds a lock for
the whole parse. Parses made elsewhere in the process (by other libraries) are not covered.

Example:
    >>> parse("x = 1").body[0].targets[0].id
    'x'
"""

from __future__ import annotations

import ast
import threading

__all__ = ["parse"]

# Reentrant: a garbage-collector callback that runs during a parse may parse too.
_PARSE_LOCK = threading.RLock()


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, never at the same time as another :func:`parse` call.

    Args:
        source: Python source code (a module).

    Returns:
        The tree, as :func:`ast.parse` returns it.

    Raises:
        SyntaxError: the source is not valid Python.
    """
    with _PARSE_LOCK:
        return ast.parse(source)
