"""Scoring answers to math problems: FLAML's ``flaml.autogen.math_utils``, written for ecoptigen.

Same names, arguments and results as FLAML's. A response's answer is the content of its last
``\\boxed{...}`` (or ``\\fbox{...}``), braces nested to any depth. Two answers are equivalent when
they are equal after the normalisation of the MATH benchmark's grader (Hendrycks et al. 2021), which
FLAML adopted: units, ``\\left``/``\\right``, ``\\!``, spaces, ``\\$``, ``%`` and degree signs go;
``\\dfrac``/``\\tfrac`` become ``\\frac``; ``\\frac12`` becomes ``\\frac{1}{2}``, ``\\sqrt3`` becomes
``\\sqrt{3}``; ``a/b`` of two integers becomes ``\\frac{a}{b}``; the string ``0.5`` becomes
``\\frac{1}{2}`` (no other decimal is turned into a fraction); a leading ``x = `` (one or two characters)
is dropped. Nothing is evaluated: ``\\frac{2}{4}`` and ``\\frac{1}{2}`` differ, as they do for FLAML.

:func:`eval_math_responses` is the ``eval_func`` of FLAML's math workflow, and :func:`math_task` cuts
its data as FLAML's notebook does: it votes among the ``n``
responses (the most frequent equivalent answer wins, the earliest on a tie, responses without an answer
abstain) and checks the responses and the vote against the canonical solution.

Differences from FLAML, all for answers FLAML scored by accident: a ``solution`` without a boxed answer
is taken as the answer itself (FLAML found no answer in it, so every response without one "matched"
it); ``eval_math_responses(responses)`` without a solution returns the vote only; an answer written
``\\boxed 5`` (no braces) is read as ``5``; an integer written with a trailing ``.0`` (``2.0``) is the
integer (FLAML scored ``2.0`` wrong against ``2``).

Example:
    >>> from ecoptigen.math_utils import eval_math_responses
    >>> responses = ["So $x=\\\\boxed{\\\\dfrac{1}{2}}$.", "Thus \\\\boxed{0.5}", "I get \\\\boxed{2}"]
    >>> result = eval_math_responses(responses, solution="The answer is $\\\\boxed{\\\\frac12}$.")
    >>> result["success_vote"], result["votes"], result["success"]
    (1.0, 2, True)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from ecoptigen.errors import ConfigurationError

__all__ = [
    "MATH_PROMPT",
    "eval_math_responses",
    "get_answer",
    "is_equiv",
    "is_equiv_chain_of_thought",
    "last_boxed_only_string",
    "math_task",
    "normalize_answer",
    "remove_boxed",
    "solve_problem",
    "voting_counts",
]

logger = logging.getLogger("ecoptigen.math_utils")

# The prompt of FLAML's math workflow (its notebook, its case study and solve_problem).
MATH_PROMPT = (
    "{problem} Solve the problem carefully. Simplify your answer as much as possible. "
    "Put the final answer in \\boxed{{}}."
)
DEFAULT_MODEL = "gpt-4o"  # FLAML's solve_problem used gpt-4; ecoptigen's code_utils default is gpt-4o
_BOX_COMMANDS = ("\\boxed", "\\fbox")


# -- finding the answer ---------------------------------------------------------------------------
def last_boxed_only_string(string: str) -> str | None:
    """The last ``\\boxed{...}`` (or, when there is none, ``\\fbox{...}``) in ``string``, command included.

    Braces inside are matched, so ``\\boxed{\\frac{1}{2}}`` comes out whole. ``\\boxed 5`` (a
    one-token argument without braces) comes out as ``\\boxed 5``.

    Args:
        string: a response or a solution.

    Returns:
        The command and its argument, or ``None`` when there is none or its braces never close.

    Example:
        >>> last_boxed_only_string("first \\\\boxed{1}, then \\\\boxed{\\\\frac{2}{3}} done")
        '\\\\boxed{\\\\frac{2}{3}}'
    """
    for command in _BOX_COMMANDS:
        start = string.rfind(command)
        if start >= 0:
            return _command_with_argument(string, start, command)
    return None


def _command_with_argument(string: str, start: int, command: str) -> str | None:
    position = start + len(command)
    rest = string[position:]
    if rest.startswith(" ") and not rest.lstrip().startswith("{"):
        token = re.match(r"\s+([^\s$]+)", rest)
        return f"{command} {token.group(1)}" if token else None
    opening = string.find("{", position)
    if opening < 0 or string[position:opening].strip():
        return None
    depth = 0
    for index in range(opening, len(string)):
        if string[index] == "{":
            depth += 1
        elif string[index] == "}":
            depth -= 1
            if depth == 0:
                return string[start : index + 1]
    return None


def remove_boxed(string: str | None) -> str | None:
    """The argument of a ``\\boxed{...}`` (or ``\\fbox{...}``, or ``\\boxed x``) that is the whole string.

    Example:
        >>> remove_boxed("\\\\boxed{\\\\frac{2}{3}}")
        '\\\\frac{2}{3}'
        >>> remove_boxed("no box") is None
        True
    """
    if string is None:
        return None
    for command in _BOX_COMMANDS:
        if string.startswith(command + "{") and string.endswith("}"):
            return string[len(command) + 1 : -1]
        if string.startswith(command + " "):
            return string[len(command) + 1 :]
    return None


def get_answer(solution: str | None) -> str | None:
    """The content of the last boxed answer in ``solution`` (``None`` when it has none).

    Example:
        >>> get_answer("Hence $3-a=\\\\boxed{4}$.")
        '4'
    """
    if solution is None:
        return None
    return remove_boxed(last_boxed_only_string(solution))


# -- comparing answers --------------------------------------------------------------------------
def normalize_answer(answer: str) -> str:
    """``answer`` in the canonical form the MATH grader compares (see the module docstring).

    Example:
        >>> normalize_answer("\\\\left( \\\\dfrac12, 3 \\\\right)")
        '(\\\\frac{1}{2},3)'
        >>> normalize_answer("x = 10\\\\text{ cm}")
        '10'
    """
    text = answer.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\$", "")
    text = _without_units(text)
    text = text.replace("\\%", "").replace("%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text.startswith("."):
        text = "0" + text
    sides = text.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        text = sides[1]
    text = _braced_sqrt(text.replace(" ", ""))
    text = _braced_fracs(text)
    if text == "0.5":
        return "\\frac{1}{2}"
    return _slash_to_frac(re.sub(r"^(-?\d+)\.0+$", r"\1", text))


def _without_units(text: str) -> str:
    # In MATH, "\text{ " (with its space) only ever starts a unit written after the number.
    return text.split("\\text{ ", 1)[0] if "\\text{ " in text else text


def _braced_sqrt(text: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``: one character after ``\\sqrt`` is its argument."""
    return re.sub(r"\\sqrt([^{\s\\])", r"\\sqrt{\1}", text)


def _braced_fracs(text: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}``, ``\\frac1b`` -> ``\\frac{1}{b}``."""
    pieces = text.split("\\frac")
    out = pieces[0]
    for piece in pieces[1:]:
        out += "\\frac"
        if piece.startswith("{"):
            out += piece
        elif len(piece) < 2:
            return text  # a \frac without two arguments: leave the answer as written
        elif piece[1] == "{":
            out += "{" + piece[0] + "}" + piece[1:]
        else:
            out += "{" + piece[0] + "}{" + piece[1] + "}" + piece[2:]
    return out


def _slash_to_frac(text: str) -> str:
    match = re.fullmatch(r"(-?\d+)/(-?\d+)", text)
    if match is None or text != f"{int(match.group(1))}/{int(match.group(2))}":
        return text
    return f"\\frac{{{int(match.group(1))}}}{{{int(match.group(2))}}}"


def is_equiv(str1: str | None, str2: str | None) -> float:
    """Whether two answers are the same up to formatting: 1.0 or 0.0, as FLAML returns it.

    Two missing answers count as equivalent (1.0, with a warning logged), as in FLAML; one missing
    answer never matches.

    Example:
        >>> is_equiv("\\\\frac{1}{2}", "0.5"), is_equiv("\\\\sqrt3", "\\\\sqrt{3}"), is_equiv("2", "2.5")
        (1.0, 1.0, 0.0)
    """
    if str1 is None and str2 is None:
        logger.warning("is_equiv: both answers are missing; counted as equivalent, as FLAML does")
        return 1.0
    if str1 is None or str2 is None:
        return 0.0
    return float(normalize_answer(str1) == normalize_answer(str2))


def is_equiv_chain_of_thought(str1: str | None, str2: str | None) -> float:
    """:func:`is_equiv` of the boxed answers of two whole responses (or solutions).

    Example:
        >>> is_equiv_chain_of_thought("so \\\\boxed{\\\\dfrac{3}{4}}", "get $\\\\boxed{3/4}$")
        1.0
    """
    return is_equiv(get_answer(str1), get_answer(str2))


# -- voting and scoring -------------------------------------------------------------------------
def voting_counts(responses: Sequence[str]) -> dict[int, int]:
    """Votes per distinct answer, keyed by the index of the first response that gave it.

    Responses without a boxed answer abstain. Dictionary order is the order answers first appear,
    so the earliest answer wins a tie.

    Example:
        >>> voting_counts(["\\\\boxed{1}", "none", "\\\\boxed{2}", "\\\\boxed{1.5}", "\\\\boxed{2}"])
        {0: 1, 2: 2, 3: 1}
    """
    votes: dict[int, int] = {}
    normalized: dict[int, str] = {}
    for index, response in enumerate(responses):
        answer = get_answer(response)
        if answer is None:
            continue
        key = normalize_answer(answer)
        first = next((seen for seen, value in normalized.items() if value == key), index)
        normalized.setdefault(first, key)
        votes[first] = votes.get(first, 0) + 1
    return votes


def eval_math_responses(responses: Sequence[str], solution: str | None = None, **args: Any) -> dict[str, Any]:
    """Vote among ``responses`` and check them against ``solution``: FLAML's math ``eval_func``.

    Args:
        responses: the ``n`` responses to one problem (``Completion.extract_text(response)``).
        solution: the canonical solution; its last boxed answer is the right one (the whole string when
            it has no boxed answer).
        **args: the rest of the data instance (``problem``, ``level``, ...), ignored.

    Returns:
        ``{"expected_success", "success", "success_vote", "voted_answer", "votes"}``:
        ``expected_success`` is ``1 - (1 - c/n)**n`` for ``c`` right responses of ``n`` (the chance
        that ``n`` fresh samples hold a right one); ``success`` whether any response is right;
        ``success_vote`` (1.0 or 0.0) whether the voted answer is right; ``voted_answer`` the first
        response that gave it (the first response when none gave an answer); ``votes`` how many
        responses gave it. Without a ``solution``, only ``voted_answer`` and ``votes``. With no
        responses, zeros and ``voted_answer`` ``None``, as FLAML returns them.

    Example:
        >>> eval_math_responses(["\\\\boxed{7}", "\\\\boxed{7}", "\\\\boxed{8}"], "$\\\\boxed{8}$")["success_vote"]
        0.0
    """
    if not responses:
        return {"expected_success": 0, "success": False, "success_vote": 0, "voted_answer": None, "votes": 0}
    counts = voting_counts(responses)
    winner, votes = max(counts.items(), key=lambda item: item[1], default=(0, 0))
    result: dict[str, Any] = {"voted_answer": responses[winner], "votes": votes}
    if solution is None:
        return result
    right = get_answer(solution)
    if right is None:
        right = solution
    verdicts = [is_equiv(get_answer(response), right) for response in responses]
    n = len(responses)
    return {
        "expected_success": 1 - (1 - sum(verdicts) / n) ** n,
        "success": any(verdicts),
        "success_vote": verdicts[winner],
        **result,
    }


def solve_problem(problem: str, **config: Any) -> tuple[str | None, float]:
    """Ask a model to solve ``problem`` and vote among its answers (FLAML's experimental helper).

    Args:
        problem: the problem statement.
        **config: the request's configuration for ``oai.Completion.create`` (``model``, ``n``,
            ``temperature``, ``config_list``, ...); the prompt defaults to :data:`MATH_PROMPT`.

    Returns:
        ``(voted_answer, cost)``: the response that won the vote (``None`` when the model returned no
        response) and the dollars the request cost.

    Raises:
        RetryableError: every attempt was rate limited or timed out.

    Example (on the simulated endpoint):
        >>> from ecoptigen import sim
        >>> from ecoptigen.datasets import load_math
        >>> with sim.serve(seed=0) as server:
        ...     text = load_math()["test"][0]["problem"]
        ...     answer, cost = solve_problem(text, model="gpt-4", base_url=server.base_url, api_key="sk-sim")
        >>> "\\\\boxed" in answer and cost > 0
        True
    """
    from ecoptigen import oai  # the scoring functions above need no client

    params = {"model": DEFAULT_MODEL, "prompt": MATH_PROMPT, **config}
    # It needs an answer to return: a request whose every attempt was rate limited or timed out raises
    # RetryableError, whatever raise_on_ratelimit_or_timeout says (as code_utils' helpers do).
    params.pop("raise_on_ratelimit_or_timeout", None)
    params.pop("raise_error", None)
    response = cast(dict, oai.Completion.create({"problem": problem}, raise_on_ratelimit_or_timeout=True, **params))
    voted = eval_math_responses(oai.Completion.extract_text(response))
    return voted["voted_answer"], float(response["cost"])


def math_task(
    level: int = 2,
    tune_size: int = 20,
    seed: int = 41,
    problem_type: str | None = "Algebra",
    data: Any = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Callable[..., dict[str, Any]]]:
    """The math task as FLAML's math notebook builds it: ``(tune_data, test_data, eval_func)``.

    Both splits are shuffled with ``seed``, problems of the level (and type) are kept, the first
    ``tune_size`` training problems tune and every test problem tests. Each instance is
    ``{"problem", "solution"}``; ``eval_func`` is :func:`eval_math_responses`.

    Args:
        level: the MATH difficulty level, 1 to 5.
        tune_size: how many training problems to tune on.
        seed: the shuffle seed (FLAML's notebook: 41).
        problem_type: MATH's ``type`` to keep (``None``: all).
        data: a ``DatasetDict`` with ``train`` and ``test`` splits in ``competition_math``'s columns, for
            example MATH from the hub; default ``ecoptigen.datasets.load_math()``.

    Returns:
        ``(tune_data, test_data, eval_func)``.

    Raises:
        ConfigurationError: ``level`` outside 1-5, or no problem of that level and type in the data.

    Example:
        >>> tune_data, test_data, eval_func = math_task(level=2)
        >>> len(tune_data), len(test_data), eval_func.__name__
        (20, 200, 'eval_math_responses')
    """
    if level not in (1, 2, 3, 4, 5):
        raise ConfigurationError(f"level must be 1 to 5 (MATH's levels), not {level!r}")
    if data is None:
        from ecoptigen.datasets import load_math  # Hugging Face datasets: imported only when asked for

        data = load_math()

    def rows(split: str) -> list[dict[str, Any]]:
        return [
            {"problem": row["problem"], "solution": row["solution"]}
            for row in data[split].shuffle(seed=seed)
            if row["level"] == f"Level {level}" and (problem_type is None or row["type"] == problem_type)
        ]

    tune_data, test_data = rows("train")[:tune_size], rows("test")
    if not tune_data or not test_data:
        raise ConfigurationError(
            f"no Level {level} problems of type {problem_type!r} in the data; check the level and problem_type"
        )
    return tune_data, test_data, eval_math_responses
