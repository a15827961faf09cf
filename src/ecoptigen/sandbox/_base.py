"""The sandbox contract: run a program, get an honest result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ecoptigen.errors import ConfigurationError

__all__ = ["Check", "RunResult", "Sandbox", "Verdict"]

Verdict = Literal["passed", "failed", "timeout", "error"]


@dataclass(frozen=True)
class RunResult:
    """What running one program in a sandbox gave.

    Attributes:
        verdict: ``"passed"`` only when the trusted harness saw the program run to its end;
            ``"failed"`` (an exception, an early exit, a crash), ``"timeout"``, or ``"error"`` (the
            sandbox itself failed).
        exit_code: the program's exit code (negative: killed by that signal), if it ended.
        output: stdout and stderr together, at most 64 KiB.
        truncated: whether output was cut at the cap.
        isolation: the isolation in force, e.g. ``"bubblewrap"``.
        duration: seconds the run took.
        values: in strict mode, each call's result as plain data (``{"value": ...}`` or
            ``{"raised": "TypeError"}``), when the program ran to its end.
        judged_apart: the verdict came from a harness process that never ran the program (a
            :class:`Check` run split), so the program could not forge it.
        files: with ``collect_files``, the regular files the program created or changed in its working
            folder, by relative path (at most 16 MiB and 1,000 files; symlinks never).
        files_left_out: files the program wrote that did not fit in those limits.
    """

    verdict: Verdict
    exit_code: int | None
    output: str
    truncated: bool
    isolation: str
    duration: float
    values: list[dict[str, Any]] | None = None
    judged_apart: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    files_left_out: int = 0

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"


@dataclass(frozen=True)
class Check:
    """Trusted test code to judge a program with, run in a process apart from the program.

    The sandbox forks the program's own process, then runs ``prelude`` and ``test`` in a harness
    process where ``entry_point`` is a stand-in: each call is made in the program's process and only
    its result (plain data: numbers, strings, lists, tuples, sets, dicts, or the name of the exception
    raised) comes back. The test never enters the program's process and the verdict is written by a
    process the program cannot reach, so neither exiting early nor tampering with the interpreter
    can fake a pass. A call whose arguments are not plain data (a lambda, say) runs in a fresh child of
    the harness, which runs the program and makes that one call; only its result's plain data comes
    back, so the verdict is still the harness's (but that child, a copy of the harness, can read the
    test).

    Attributes:
        entry_point: the name of the program's function the test calls.
        test: the test code, e.g. HumanEval's ``def check(candidate): ...`` followed by
            ``check(<entry_point>)``, or a series of ``assert`` statements.
        prelude: trusted code run in the harness first, e.g. the function's definition, so the test
            can use its imports and helper functions (the program's own versions are not visible).

    Values cross as copies: a test that checks the function changed its argument in place sees no
    change, and a returned object that is not plain data equals nothing and is neither true nor false.

    Raises:
        ConfigurationError: ``entry_point`` is not a Python name.

    Example:
        >>> from ecoptigen.sandbox import Check, get_sandbox
        >>> check = Check("add", "assert add(2, 3) == 5")
        >>> get_sandbox().run("def add(x, y):\\n    return x + y", timeout=5, check=check).passed
        True
    """

    entry_point: str
    test: str
    prelude: str = ""

    def __post_init__(self) -> None:
        if not (isinstance(self.entry_point, str) and self.entry_point.isidentifier()):
            raise ConfigurationError(
                f"entry_point must be the name of the function the test calls, got {self.entry_point!r}"
            )


class Sandbox(Protocol):
    """Runs untrusted Python programs. Implementations are thread-safe.

    ``run(code, timeout, calls=None)`` executes ``code`` as a fresh ``__main__`` in isolation, at most
    ``timeout`` seconds of wall-clock time, in an empty private working folder (``files``, by relative
    path, are placed there first; with ``collect_files`` the files the program leaves there come back
    in :attr:`RunResult.files`; ``filename`` is the name tracebacks and ``__file__`` show). ``sys.exit(n)``
    ends the program with exit code ``n`` and no traceback. With ``calls`` (Python expressions such as
    ``"candidate(1, 2)"``), each is evaluated after the program and its value returned as plain data,
    so the caller can compare it with the expected value outside the sandbox (strict mode). With
    ``check`` (a :class:`Check`), the program passes only if the trusted test, run apart from it,
    runs to its end.
    """

    isolation: str

    def run(
        self,
        code: str,
        timeout: float,
        calls: list[str] | None = None,
        check: Check | None = None,
        *,
        files: dict[str, bytes] | None = None,
        collect_files: bool = False,
        filename: str | None = None,
    ) -> RunResult: ...

    def close(self) -> None: ...
