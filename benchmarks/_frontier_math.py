"""The math setting's frontier scoring: ``success_vote`` of every prefix of an arm's responses.

``eval_math_responses`` votes among the ``n`` responses (the most frequent equivalent answer wins, the
earliest to appear on a tie, responses without a boxed answer abstain) and scores the vote. So its result
on the first ``k`` responses is known from each response's normalised answer and which answer is right:
an arm's row keeps, per ``max_tokens``, each response's output tokens and answer (an id; ``-1``: none) and
the id of the right answer. The simulated responses of one request are independent draws, so the first
``k`` of a larger request are distributed as ``k`` requested alone; ``max_tokens`` cuts an answer drawn
whatever the limit, as in ``_frontier.py``. Each row's prefix votes are checked against
``eval_math_responses`` itself as they are measured.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ecoptigen.math_utils import eval_math_responses, get_answer, normalize_answer
from ecoptigen.money import tokens

# The prefixes of each row checked against eval_math_responses as the row is measured (and the whole).
CHECKED_PREFIXES = (1, 2, 3, 4, 10)


def voted_right(answers: Sequence[int], right: int | None, n: int) -> bool:
    """Whether the vote among the first ``n`` answers (ids; ``-1``: no answer) is the ``right`` one.

    Example:
        >>> voted_right([3, -1, 5, 5, 3], right=3, n=4), voted_right([3, -1, 5, 5, 3], right=3, n=5)
        (False, True)
    """
    counts: dict[int, int] = {}  # in the order answers first appear, so the earliest wins a tie
    for answer in answers[:n]:
        if answer >= 0:
            counts[answer] = counts.get(answer, 0) + 1
    if not counts:
        return False
    winner = max(counts.items(), key=lambda item: item[1])[0]
    return winner == right


@functools.lru_cache(maxsize=1 << 16)
def prefix_votes(answers: tuple[int, ...], right: int | None) -> tuple[bool, ...]:
    """:func:`voted_right` of every prefix (``n`` = 1, 2, ...), in one pass.

    Example:
        >>> prefix_votes((3, -1, 5, 5, 3), right=3)
        (True, True, True, False, True)
    """
    counts: dict[int, int] = {}
    first: dict[int, int] = {}
    winner: int | None = None
    verdicts = []
    for index, answer in enumerate(answers):
        if answer >= 0:
            counts[answer] = counts.get(answer, 0) + 1
            first.setdefault(answer, index)
            # The most votes wins; of equal votes, the answer that appeared first (as voted_right counts).
            if winner is None or (counts[answer], -first[answer]) > (counts[winner], -first[winner]):
                winner = answer
        verdicts.append(winner is not None and winner == right)
    return tuple(verdicts)


def row_scores(row: dict, texts: list[str], model: str, limits: tuple[int, ...]) -> dict:
    """One row of an arm: per ``max_tokens``, each response's output tokens and answer id, the right id.

    Raises:
        RuntimeError: a prefix's vote differs from ``eval_math_responses`` on the same responses.
    """
    encoding = tokens.encoding_for(model)
    ids = [encoding.encode(text, disallowed_special=()) for text in texts]
    solution = row["solution"]
    right_answer = get_answer(solution)
    right = normalize_answer(solution if right_answer is None else right_answer)
    known: dict[str, int] = {right: 0}
    found: dict[str, dict] = {}
    for limit in sorted(limits, reverse=True):
        cut = [text if len(i) <= limit else encoding.decode(i[:limit]) for text, i in zip(texts, ids, strict=True)]
        answers = []
        for text in cut:
            answer = get_answer(text)
            answers.append(-1 if answer is None else known.setdefault(normalize_answer(answer), len(known)))
        found[str(limit)] = {"tokens": [min(len(i), limit) for i in ids], "answers": answers, "right": 0}
        if limit == max(limits):
            _check(row, cut, answers)
    return found


def _check(row: dict, texts: list[str], answers: list[int]) -> None:
    votes = prefix_votes(tuple(answers), 0)
    for n in sorted({k for k in CHECKED_PREFIXES if k < len(texts)} | {len(texts)}):
        expected = bool(eval_math_responses(texts[:n], **row)["success_vote"])
        if voted_right(answers, 0, n) != expected or votes[n - 1] != expected:
            raise RuntimeError(
                f"the vote over the first {n} responses is {not expected} here but {expected} by "
                "eval_math_responses: make benchmarks/_frontier_math.py:voted_right and prefix_votes vote as "
                "math_utils does"
            )


def score_prefixes(row_scores: list[dict], prompt_tokens: list[int], price: tuple[float, float], n: int, limit: int):
    """Mean ``success_vote`` and dollars per instance of the arm at ``n`` and ``max_tokens`` ``limit``."""
    success, dollars = 0.0, 0.0
    for scores, prompt in zip(row_scores, prompt_tokens, strict=True):
        at = scores[str(limit)]
        success += prefix_votes(tuple(at["answers"]), at["right"])[n - 1]
        dollars += (prompt * price[0] + sum(at["tokens"][:n]) * price[1]) / 1000
    return success / len(row_scores), dollars / len(row_scores)
