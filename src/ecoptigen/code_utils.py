"""Generating and checking code: FLAML's ``flaml.autogen.code_utils``, with generated code sandboxed.

Same names, arguments and results as FLAML's. Differences: every program runs in
:mod:`ecoptigen.sandbox` (never in this process or with this process's environment), a program
passes only when the trusted harness saw it run to its end, HumanEval-style tests are checked in
*strict mode* where they allow it (values computed in the sandbox, compared here), candidates are
checked in parallel, and money spent by the model calls here is charged like any ``create``.
Verdicts are remembered for the run they belong to (a ``tune`` or ``test``; see
:mod:`ecoptigen.run_context._verdict_cache`), never across runs.

Example:
    >>> from ecoptigen.code_utils import eval_function_completions
    >>> test = "def check(c):\\n    assert c(1, 2) == 3\\n"
    >>> eval_function_completions(["    return a + b\\n"], "def add(a, b):\\n", test, "add")
    {'expected_success': 1.0, 'success': True}
"""

from __future__ import annotations

import ast
import functools
import hashlib
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Any, cast

from ecoptigen import oai, run_context
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import ledger as spend
from ecoptigen.sandbox import Check, RunResult, Sandbox, folder_files, get_sandbox, parse, strict_test, write_files

__all__ = [
    "CODE_BLOCK_PATTERN",
    "eval_function_completions",
    "execute_code",
    "extract_code",
    "generate_assertions",
    "generate_code",
    "implement",
    "improve_code",
    "improve_function",
]

logger = logging.getLogger("ecoptigen.code_utils")

CODE_BLOCK_PATTERN = r"```\w*\n(.*?)\n```"
FAST_MODEL = "gpt-4o-mini"
DEFAULT_MODEL = "gpt-4o"
GENERATE_ASSERTIONS_PROMPT = (
    "Given the signature and docstring, write the exactly same number of assertion(s) for the provided "
    "example(s) in the docstring, without assertion messages.\n\nfunc signature:\n{definition}\nassertions:"
)
_GENERATE_ASSERTIONS_CONFIG = {
    "prompt": GENERATE_ASSERTIONS_PROMPT,
    "model": FAST_MODEL,
    "max_tokens": 256,
    "stop": "\n\n",
}
_COMPLETE_PROMPT = "# Python 3{definition}"
_STOP = ["\nclass", "\ndef", "\nif", "\nprint"]
# Programs checked at once by one eval_function_completions call: as many as the sandbox runs at once.
_WAVE = 2 * max(2, os.cpu_count() or 2)

# implement()'s default cascade: cheap and greedy first, more samples and stronger models after.
IMPLEMENT_CONFIGS = [
    {"model": FAST_MODEL, "prompt": _COMPLETE_PROMPT, "temperature": 0, "seed": 0},
    {"model": FAST_MODEL, "prompt": _COMPLETE_PROMPT, "stop": _STOP, "n": 7, "seed": 0},
    {"model": DEFAULT_MODEL, "prompt": _COMPLETE_PROMPT, "temperature": 0, "seed": 1},
    {"model": DEFAULT_MODEL, "prompt": _COMPLETE_PROMPT, "stop": _STOP, "n": 2, "seed": 2},
    {"model": DEFAULT_MODEL, "prompt": _COMPLETE_PROMPT, "stop": _STOP, "n": 1, "seed": 2},
]


def extract_code(text: str, pattern: str = CODE_BLOCK_PATTERN) -> str:
    """The first fenced code block of ``text``, or ``text`` itself when it has none.

    Example:
        >>> extract_code("Here:\\n```python\\nprint(1)\\n```\\nDone.")
        'print(1)'
    """
    match = re.search(pattern, text, flags=re.DOTALL)
    return match.group(1) if match else text


def _remove_check(response: str) -> str:
    """Drop a top-level ``check`` the model wrote after the function (a nested one is the solution's own)."""
    match = re.search(r"^def check\(", response, re.MULTILINE)
    return response if match is None else response[: match.start()]


def _program(definition: str, response: str, entry_point: str | None) -> str:
    """The candidate function as a program: a body completes ``definition``; a whole ``def`` (or a chat
    answer's code block) stands alone, after the definition's imports."""
    code = _remove_check(extract_code(response))
    # A body is indented (even when it starts with a nested def); a whole program starts at column 0.
    defines = code.lstrip("\n").startswith(("def ", "from ", "import ", "@")) or (
        entry_point is not None and re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE)
    )
    if not defines:
        return definition + code
    imports = "\n".join(line for line in definition.splitlines() if line.startswith(("import ", "from ")))
    return f"{imports}\n{code}" if imports else code


def _sandbox(use_docker: Any) -> Sandbox:
    """The bubblewrap sandbox, whatever ``use_docker`` says: FLAML's argument is accepted, and asking
    for Docker (``True``, an image name or a list of them) logs once that the code runs under
    bubblewrap instead -- isolated as a FLAML user asking for Docker wants it (no network, none of your
    files), without a Docker engine. ecoptigen has no Docker backend (``docs/sandbox.md``)."""
    if use_docker:
        _say_docker_is_not_used()
    return get_sandbox()


@functools.cache
def _say_docker_is_not_used() -> None:
    logger.warning(
        "use_docker is accepted for compatibility with FLAML, but ecoptigen has no Docker backend: the code "
        "runs in the bubblewrap sandbox instead (no network, none of your files), and the image returned is None"
    )


# Verdicts remembered per (program, test) for the run (see ecoptigen.run_context): a tuning meets the same
# completion again and again -- across the n samples of a request, the instances of a step and the
# trials of a model -- and a program that loops until its timeout costs a core for seconds each time.
# A program whose verdict is not a function of its code (it draws unseeded random numbers, or only
# just beats the timeout) keeps its first one for the rest of the run.
_VERDICTS_KEPT = 16384


def _remembered(kind: str, key: tuple, judge: Callable[[], bool]) -> bool:
    run = run_context.current().memory
    if run is None:
        return judge()
    digest = hashlib.sha256(repr((kind, *key)).encode()).hexdigest()
    return bool(run.table("code_utils.verdicts", _VERDICTS_KEPT).get_or_compute(digest, judge))


def _passes_test(
    program: str, *, definition: str, test: str, entry_point: str, timeout: float, use_docker: Any
) -> bool:
    """Strict mode where the test allows it, else the test run apart from the program."""
    key = (program, definition, test, entry_point, timeout, repr(use_docker))
    return _remembered("test", key, lambda: _judge_test(program, definition, test, entry_point, timeout, use_docker))


def _judge_test(program: str, definition: str, test: str, entry_point: str, timeout: float, use_docker: Any) -> bool:
    strict = strict_test(test, entry_point)
    sandbox = _sandbox(use_docker)
    if strict is not None:
        result = sandbox.run(program, timeout=timeout, calls=list(strict.calls))
        return strict.judge(result)
    check = Check(entry_point, f"{test}\ncheck({entry_point})\n", _prelude(definition))
    return sandbox.run(program, timeout=timeout, check=check).passed


def _passes_assertions(
    program: str, *, definition: str, entry_point: str | None, assertions: str, timeout: float, use_docker: Any
) -> bool:
    """The assertions run apart from the program when we know the function they check: ``entry_point``,
    else the definition's last function."""
    key = (program, definition, entry_point, assertions, timeout, repr(use_docker))
    return _remembered(
        "assertions", key, lambda: _judge_assertions(program, definition, entry_point, assertions, timeout, use_docker)
    )


def _judge_assertions(
    program: str, definition: str, entry_point: str | None, assertions: str, timeout: float, use_docker: Any
) -> bool:
    sandbox = _sandbox(use_docker)
    entry_point = entry_point or _function_name(definition)
    if entry_point is None:
        return bool(sandbox.run(f"{program}\n{assertions}\n", timeout=timeout).passed)
    check = Check(entry_point, assertions, _prelude(definition))
    return bool(sandbox.run(program, timeout=timeout, check=check).passed)


# What parsing code that is not Python raises (3.11's parser runs out of stack as MemoryError).
_UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


@functools.lru_cache(maxsize=1024)
def _function_name(definition: str) -> str | None:
    """The function a definition asks for: its last top-level ``def``."""
    try:
        module = parse(definition)
    except _UNPARSABLE:
        return None
    names = [node.name for node in module.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    return names[-1] if names else None


@functools.lru_cache(maxsize=1024)
def _prelude(definition: str) -> str:
    """What the test may use from the definition: all of it when it is valid code, else its imports."""
    try:
        parse(definition)
    except _UNPARSABLE:
        return "\n".join(line for line in definition.splitlines() if line.startswith(("import ", "from ")))
    return definition


def _run_all(check: Callable[[str], bool], programs: list[str]) -> list[bool]:
    """``check`` of every program; identical programs (common at low temperature) are checked once."""
    check = spend.run_in_context(check)  # the pool's threads check within the caller's run
    unique = list(dict.fromkeys(programs))
    if len(unique) <= 1:
        verdicts = [check(program) for program in unique]
    else:
        with ThreadPoolExecutor(min(len(unique), _WAVE)) as pool:
            verdicts = list(pool.map(check, unique))
    verdict_of = dict(zip(unique, verdicts, strict=True))
    return [verdict_of[program] for program in programs]


def _first_passing(check: Callable[[str], bool], programs: list[str]) -> int | None:
    """The index of the first program ``check`` passes, or ``None``.

    Programs are checked in order, a few at a time: as each check ends the next one starts (none after
    a program known to pass, which they could not beat), and the search ends as soon as a program
    passes and every program before it is known to fail. The answer
    is the one a one-by-one search gives, for a fraction of the sandbox runs when an early response
    passes (the usual case when selecting among n samples); a program that runs until its timeout
    holds up one check while the programs after it go on being checked. Checks still running at the end
    are left to finish on their own; their verdicts are remembered.
    """
    check = spend.run_in_context(check)  # the pool's threads check within the caller's run
    unique = list(dict.fromkeys(programs))
    verdicts: dict[str, bool] = {}
    pool = ThreadPoolExecutor(min(len(unique), _WAVE))
    try:
        running: dict[Future, str] = {}
        submitted, settled = 0, 0
        needed = len(unique)  # programs after one known to pass cannot be the answer
        while True:
            while settled < len(unique) and unique[settled] in verdicts:
                if verdicts[unique[settled]]:
                    return programs.index(unique[settled])
                settled += 1
            if settled == len(unique):
                return None
            while submitted < needed and len(running) < _WAVE:
                running[pool.submit(check, unique[submitted])] = unique[submitted]
                submitted += 1
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                program = running.pop(future)
                verdicts[program] = future.result()
                if verdicts[program]:
                    needed = min(needed, unique.index(program))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def eval_function_completions(
    responses: list[str],
    definition: str,
    test: str | None = None,
    entry_point: str | None = None,
    assertions: str | Callable[[str], tuple[str, float]] | None = None,
    timeout: float = 3,
    use_docker: Any = None,
) -> dict:
    """Check function completions, as FLAML does, in the sandbox.

    Args:
        responses: the completions: bodies, whole ``def``s, or chat answers with a fenced code block.
        definition: the function signature and docstring (HumanEval's ``prompt``).
        test: test code defining ``check(candidate)``; entry_point: the function's name.
        assertions: assertions to select a response with, or a generator of them
            (``generate_assertions``), called only when there is more than one response.
        timeout: seconds per program.
        use_docker: accepted for compatibility with FLAML; the code runs in the bubblewrap sandbox
            whatever it says (asking for Docker logs a warning once: there is no Docker backend).

    Returns:
        Without assertions: ``expected_success`` (the chance that at least one of n responses drawn
        at FLAML's estimate passes) and ``success`` (any response passes). With assertions:
        ``index_selected`` (the first response passing them, in order; the last if none does),
        ``succeed_assertions``, ``success`` (when ``test`` is given), ``gen_cost``, ``assertions``.

    Raises:
        ConfigurationError: a test is given without entry_point, or responses is empty.
    """
    if not responses:
        raise ConfigurationError("responses is empty: give at least one completion to evaluate.")
    if test is not None and not entry_point:
        raise ConfigurationError("a test needs the entry_point (the name of the function it checks).")
    programs = [_program(definition, r, entry_point) for r in responses]
    n = len(programs)
    if assertions is None:
        if test is None or entry_point is None:
            raise ConfigurationError("without assertions, give the test and entry_point to check responses with.")
        passed = _run_all(
            partial(
                _passes_test,
                definition=definition,
                test=test,
                entry_point=entry_point,
                timeout=timeout,
                use_docker=use_docker,
            ),
            programs,
        )
        return {"expected_success": 1 - pow(1 - sum(passed) / n, n), "success": any(passed)}
    gen_cost = 0.0
    if callable(assertions):
        if n > 1:
            assertions, gen_cost = assertions(definition)
        else:
            assertions = ""  # one response: nothing to select, so no money is spent generating assertions
    check = partial(
        _passes_assertions,
        definition=definition,
        entry_point=entry_point,
        assertions=assertions,
        timeout=timeout,
        use_docker=use_docker,
    )
    first = _first_passing(check, programs)
    index = n - 1 if first is None else first
    result: dict[str, Any] = {
        "index_selected": index,
        "succeed_assertions": first is not None,
        "gen_cost": gen_cost,
        "assertions": assertions,
    }
    if test is not None and entry_point is not None:  # a test without entry_point was refused above
        result["success"] = _passes_test(
            programs[index],
            definition=definition,
            test=test,
            entry_point=entry_point,
            timeout=timeout,
            use_docker=use_docker,
        )
    return result


# The metrics it can return, so that tune() and test() refuse a misspelt one before spending anything.
eval_function_completions.metrics = (  # type: ignore[attr-defined]
    "expected_success",
    "success",
    "index_selected",
    "succeed_assertions",
    "gen_cost",
)


def _selected_by_assertions(result: dict, have: int, n: int) -> bool:
    """Whether :func:`eval_function_completions`' ``result`` on the first ``have`` of ``n`` responses, with
    assertions, is its result on all ``n``: it selects the first response that passes them, so once one of
    the first ``have`` does, the later ones change nothing. A single response gets no generated
    assertions, so it decides nothing.

    Example:
        >>> _selected_by_assertions({"index_selected": 1, "succeed_assertions": True}, have=4, n=27)
        True
        >>> _selected_by_assertions({"index_selected": 0, "succeed_assertions": True}, have=1, n=27)
        False
    """
    return have >= 2 and result.get("succeed_assertions") is True


def _prefix_rule_for(keywords: dict) -> Callable[[dict, int, int], bool] | None:
    """How a tuning may stop buying responses for an instance (see :mod:`ecoptigen.tuning._samples`): with
    assertions, once one passes them; without, never, since every response counts."""
    return _selected_by_assertions if keywords.get("assertions") is not None else None


eval_function_completions.prefix_rule_for = _prefix_rule_for  # type: ignore[attr-defined]


def _create(context: dict | None = None, **config: Any) -> dict:
    """``oai.Completion.create`` for the helpers here, which need an answer to return: a request whose
    every attempt was rate limited or timed out raises :class:`~ecoptigen.errors.RetryableError`, whatever
    ``raise_on_ratelimit_or_timeout`` (or FLAML 1.2's ``raise_error``) says."""
    config.pop("raise_on_ratelimit_or_timeout", None)
    config.pop("raise_error", None)
    response = oai.Completion.create(context, raise_on_ratelimit_or_timeout=True, **config)
    return cast(dict, response)  # with raise_on_ratelimit_or_timeout=True, create never returns -1


def generate_assertions(definition: str, **config: Any) -> tuple[str, float]:
    """Ask a model for assertions from the docstring's examples; returns ``(assertions, cost)``.

    The request is an ordinary ``oai.Completion.create``, so a tuning's budget counts it.
    """
    params = {**_GENERATE_ASSERTIONS_CONFIG, **config}
    response = _create({"definition": definition}, **params)
    return oai.Completion.extract_text(response)[0], float(response["cost"])


def generate_code(pattern: str = CODE_BLOCK_PATTERN, **config: Any) -> tuple[str, float]:
    """Ask a model for code; returns the first code block of its answer and the cost."""
    response = _create(**config)
    return extract_code(oai.Completion.extract_text(response)[0], pattern), float(response["cost"])


def implement(
    definition: str,
    configs: list[dict] | None = None,
    assertions: str | Callable[[str], tuple[str, float]] = generate_assertions,
) -> tuple[str, float, int]:
    """Implement a function, trying configs from cheap to expensive until one passes the assertions.

    Args:
        definition: the function's signature and docstring, as a string (a HumanEval problem's ``prompt``).
        configs: ``create`` configs, tried in order (default: cheap to expensive).
        assertions: assertions to select a completion with, or a function generating them.

    Returns:
        ``(code, cost, config_id)``: the selected completion, all dollars spent, the config used.

    Raises:
        ConfigurationError: ``definition`` is not a string (before anything is spent).
    """
    _check_definition(definition)
    configs = configs or IMPLEMENT_CONFIGS
    cost = 0.0
    if len(configs) > 1 and callable(assertions):
        assertions, cost = assertions(definition)
    for index, config in enumerate(configs):
        response = _create({"definition": definition}, **config)
        cost += float(response["cost"])
        responses = oai.Completion.extract_text(response)
        metrics = eval_function_completions(responses, definition, assertions=assertions)
        assertions = metrics["assertions"]
        cost += metrics["gen_cost"]
        if metrics["succeed_assertions"] or index == len(configs) - 1:
            return responses[metrics["index_selected"]], cost, index
    raise ConfigurationError("configs is empty: give at least one config.")


def _check_definition(definition: Any) -> None:
    """Refuse a ``definition`` that is not the function's source text, saying what to pass instead."""
    if isinstance(definition, str):
        return
    if isinstance(definition, dict):
        key = next((k for k in ("definition", "prompt") if isinstance(definition.get(k), str)), None)
        instead = f"definition[{key!r}]" if key else "the signature and docstring as a string"
        raise ConfigurationError(
            f"implement() takes the function's signature and docstring as a string, not a dict (keys: "
            f"{sorted(map(str, definition))}): pass {instead}, e.g. implement(problem['prompt']) for a "
            "HumanEval problem."
        )
    raise ConfigurationError(
        f"implement() takes the function's signature and docstring as a string; got {type(definition).__name__}."
    )


def execute_code(
    code: str | None = None,
    timeout: float | None = None,
    filename: str | None = None,
    work_dir: str | None = None,
    use_docker: Any = None,
    lang: str = "python",
) -> tuple[int, str, str | None]:
    """Run Python code in the sandbox; returns ``(exit_code, logs, image)`` as FLAML does.

    The program runs in the sandbox's own empty folder. With ``work_dir``, the files there are copied
    in first and the files the program creates or changes are copied back into ``work_dir`` afterwards
    (regular files only; at most 16 MiB each way; deleting a file is not copied back), so a program that
    writes ``plot.png`` leaves it in ``work_dir`` as in FLAML, while it still cannot touch anything else
    of yours. ``filename`` (in ``work_dir``) is read when no code is given, and written with the code
    otherwise; tracebacks and ``__file__`` show it. Nothing is ever written into the installed package.

    Args:
        code: the Python program; filename: its file (see above).
        timeout: seconds the program may run (default 600).
        work_dir: the folder the program works in (see above); default: no files travel.
        use_docker: accepted for compatibility with FLAML; the code runs in the bubblewrap sandbox
            whatever it says (asking for Docker logs a warning once: there is no Docker backend).
        lang: ``"python"`` only.

    Returns:
        ``exit_code``: the program's exit code (0 when it ran to its end, ``n`` for ``sys.exit(n)``,
        1 on an uncaught exception or a timeout); ``logs``: its output (stdout and stderr together), with
        a line about files that could not travel; ``image``: always ``None`` (FLAML's value when it did
        not use Docker).

    Raises:
        ConfigurationError: neither code nor filename, or a language other than Python.
        SandboxError: bubblewrap is not available (the message says what to install or allow).
    """
    if lang not in ("python", "python3", "py"):
        raise ConfigurationError(f"execute_code runs Python only, not {lang!r}.")
    path = Path(work_dir or ".", filename) if filename else None
    if code is None:
        if path is None:
            raise ConfigurationError("give the code, or the filename of the code to run.")
        code = path.read_text()
    elif path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    sandbox = _sandbox(use_docker)
    files, notes = folder_files(work_dir) if work_dir else ({}, [])
    result: RunResult = sandbox.run(
        code, timeout=timeout or 600, files=files, collect_files=work_dir is not None, filename=filename
    )
    if work_dir:
        notes += write_files(work_dir, result.files, result.files_left_out)
    logs = result.output + ("\nTimeoutError: the program timed out" if result.verdict == "timeout" else "")
    logs += "".join(f"\n[ecoptigen] {note}" for note in notes)
    return _exit_code(result), logs, None


def _exit_code(result: RunResult) -> int:
    if result.passed:
        return 0
    if result.verdict == "timeout" or result.exit_code is None:
        return 1
    return result.exit_code


def improve_function(file_name: str, func_name: str, objective: str, **config: Any) -> tuple[str, float]:
    """Ask a model to improve one function of a file for an objective; returns its answer and the cost."""
    source = Path(file_name).read_text()
    prompt = (
        f"Improve the function '{func_name}' to achieve the objective '{objective}'.\n"
        f"The current implementation of the function is as follows:\n{source}"
    )
    response = _create(prompt=prompt, allow_format_str_template=False, **config)
    return oai.Completion.extract_text(response)[0], float(response["cost"])


def improve_code(files: list[str], objective: str, suggest_only: bool = True, **config: Any) -> tuple[str, float]:
    """Ask a model to improve code across ``files``: suggestions, or whole new files when not ``suggest_only``."""
    code = "".join(f"{name}:\n{Path(name).read_text()}\n\n" for name in files)
    action = "Suggest improvements to" if suggest_only else "Write the improved version of"
    prompt = f"{action} the code in the following files to achieve the objective '{objective}'.\n\n{code}"
    response = _create(prompt=prompt, allow_format_str_template=False, **config)
    return oai.Completion.extract_text(response)[0], float(response["cost"])
