"""The sandbox contract: run a program, get an honest result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["RunResult", "Sandbox", "Verdict"]

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
    """

    verdict: Verdict
    exit_code: int | None
    output: str
    truncated: bool
    isolation: str
    duration: float
    values: list[dict[str, Any]] | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"


class Sandbox(Protocol):
    """Runs untrusted Python programs. Implementations are thread-safe.

    ``run(code, timeout, calls=None)`` executes ``code`` as a fresh ``__main__`` in isolation, at most
    ``timeout`` seconds of wall-clock time. With ``calls`` (Python expressions such as
    ``"candidate(1, 2)"``), each is evaluated after the program and its value returned as plain data,
    so the caller can compare it with the expected value outside the sandbox (strict mode).
    """

    isolation: str

    def run(self, code: str, timeout: float, calls: list[str] | None = None) -> RunResult: ...

    def close(self) -> None: ...
