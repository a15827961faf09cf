"""The math frontier of benchmarks/search_quality.py scores a prefix of a request's responses as
``eval_math_responses`` scores those responses, and prices it as the endpoint bills them (issue 26)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from ecoptigen import oai
from ecoptigen.math_utils import MATH_PROMPT, eval_math_responses, math_task

LIMITS = (60, 120, 150, 1000)


@pytest.fixture
def frontier_math(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    import _frontier_math

    return _frontier_math


def test_every_prefix_votes_as_eval_math_responses_and_costs_what_was_billed(endpoint, frontier_math):
    _, problems, _ = math_task(level=2, seed=41)
    ties = 0
    for row in problems[:6]:
        config = {"model": "gpt-3.5-turbo", "prompt": MATH_PROMPT, "temperature": 1.2, "max_tokens": 1000, "n": 16}
        response = cast(dict[str, Any], oai.ChatCompletion.create(row, **config))
        texts = cast(list[str], oai.ChatCompletion.extract_text(response))
        scores = frontier_math.row_scores(row, texts, "gpt-3.5-turbo", LIMITS)
        assert sum(scores["1000"]["tokens"]) == response["usage"]["completion_tokens"]
        for limit in LIMITS:
            at = scores[str(limit)]
            cut = [_cut(text, limit) for text in texts]
            assert at["tokens"] == [min(len(_ids(text)), limit) for text in texts]
            for n in range(1, len(texts) + 1):
                expected = bool(eval_math_responses(cut[:n], **row)["success_vote"])
                assert frontier_math.voted_right(at["answers"], at["right"], n) == expected, (limit, n)
                assert frontier_math.prefix_votes(tuple(at["answers"]), at["right"])[n - 1] == expected, (limit, n)
                counts = [at["answers"][:n].count(a) for a in set(at["answers"][:n]) if a >= 0]
                ties += len(counts) > 1 and counts.count(max(counts)) > 1
    assert ties > 0  # the earliest answer of a tie wins: the rows above hold ties that decide it


def test_the_votes_are_checked_against_eval_math_responses_as_a_row_is_scored(frontier_math, monkeypatch):
    row = {"problem": "What is 3 - 2?", "solution": "It is $\\boxed{1}$."}
    texts = ["so \\boxed{1}", "so \\boxed{2}", "so \\boxed{2}"]  # the vote is 2: wrong
    monkeypatch.setattr(frontier_math, "voted_right", lambda answers, right, n: True)
    with pytest.raises(RuntimeError, match="eval_math_responses"):
        frontier_math.row_scores(row, texts, "gpt-3.5-turbo", (1000,))


def _ids(text: str) -> list[int]:
    from ecoptigen.money import tokens

    return tokens.encoding_for("gpt-3.5-turbo").encode(text, disallowed_special=())


def _cut(text: str, limit: int) -> str:
    from ecoptigen.money import tokens

    ids = _ids(text)
    return text if len(ids) <= limit else tokens.encoding_for("gpt-3.5-turbo").decode(ids[:limit])
