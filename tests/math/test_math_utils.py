"""ecoptigen.math_utils against the behaviour FLAML documents for flaml.autogen.math_utils.

The equivalences are the examples FLAML's docstrings and its case study give (written here, not
copied), plus the normalisation steps its ``is_equiv`` lists: units, fractions, square roots,
superfluous LaTeX.
"""

from __future__ import annotations

import logging

import pytest

from ecoptigen.math_utils import (
    eval_math_responses,
    get_answer,
    is_equiv,
    is_equiv_chain_of_thought,
    last_boxed_only_string,
    normalize_answer,
    remove_boxed,
    voting_counts,
)

EQUIVALENT = [
    ("\\frac1b", "\\frac{1}{b}"),  # FLAML's fraction examples
    ("\\frac12", "\\frac{1}{2}"),
    ("\\frac1{72}", "\\frac{1}{72}"),
    ("2/3", "\\frac{2}{3}"),  # a/b of integers
    ("\\sqrt3", "\\sqrt{3}"),  # square roots
    ("2\\sqrt 5", "2\\sqrt{5}"),
    ("0.5", "\\frac{1}{2}"),  # the one decimal the grader turns into a fraction
    ("\\dfrac{3}{4}", "\\frac{3}{4}"),
    ("\\tfrac{3}{4}", "3/4"),
    ("\\left( 3, \\frac{1}{2} \\right)", "(3,\\frac12)"),  # superfluous LaTeX and spaces
    ("10\\text{ cm}", "10"),  # units on the right
    ("90^\\circ", "90"),  # degrees
    ("90^{\\circ}", "90"),
    ("\\$18.90", "18.90"),  # dollars
    ("25\\%", "25"),  # percent
    ("x = 7", "7"),  # a short variable name before "="
    ("k=-\\frac{3}{2}", "-\\frac32"),
    (".5", "0.5"),  # a leading point
    ("1,\\!000", "1,000"),  # thin negative space
    ("12.0", "12"),  # ecoptigen: a trailing .0 on an integer (FLAML scored it wrong)
    ("5\n", "5"),
]
DIFFERENT = [
    ("\\frac{2}{4}", "\\frac{1}{2}"),  # nothing is evaluated
    ("0.25", "\\frac{1}{4}"),  # only 0.5 becomes a fraction
    ("-3/4", "-\\frac{3}{4}"),  # "-3/4" becomes \frac{-3}{4}, as the grader does it
    ("x^2", "x^3"),
    ("12.5", "12"),
    ("width = 7", "7"),  # a long name before "=" stays
]


@pytest.mark.parametrize(("given", "expected"), EQUIVALENT)
def test_documented_equivalences(given, expected):
    assert is_equiv(given, expected) == 1.0
    assert is_equiv(expected, given) == 1.0


@pytest.mark.parametrize(("given", "expected"), DIFFERENT)
def test_answers_that_differ(given, expected):
    assert is_equiv(given, expected) == 0.0


def test_normalisation_steps():
    assert normalize_answer("\\frac1{72}") == "\\frac{1}{72}"
    assert normalize_answer("\\left[ -2, \\dfrac{7}{3} \\right)") == "[-2,\\frac{7}{3})"
    assert normalize_answer("") == ""


def test_the_last_boxed_answer_with_nested_braces():
    text = "First \\boxed{1}. Then $\\boxed{\\frac{\\sqrt{3}}{2}}$, done."
    assert last_boxed_only_string(text) == "\\boxed{\\frac{\\sqrt{3}}{2}}"
    assert get_answer(text) == "\\frac{\\sqrt{3}}{2}"
    assert remove_boxed("\\boxed{\\frac{2}{3}}") == "\\frac{2}{3}"  # FLAML's example
    assert get_answer("put in \\fbox{42} here") == "42"
    assert get_answer("so \\boxed 5$") == "5"
    assert get_answer("no answer here") is None
    assert get_answer("\\boxed{unclosed") is None
    assert get_answer(None) is None


def test_chain_of_thought_equivalence_reads_the_boxed_answers():
    assert is_equiv_chain_of_thought("so $a = \\boxed{\\dfrac{1}{2}}$", "hence \\boxed{0.5}") == 1.0
    assert is_equiv_chain_of_thought("\\boxed{3}", "\\boxed{4}") == 0.0


def test_two_missing_answers_count_as_equivalent_as_in_flaml(caplog):
    with caplog.at_level(logging.WARNING, logger="ecoptigen.math_utils"):
        assert is_equiv(None, None) == 1.0
    assert "both answers are missing" in caplog.text
    assert is_equiv(None, "1") == 0.0


def test_voting_counts_equivalent_answers_together_and_ignores_missing_ones():
    responses = ["\\boxed{\\frac12}", "no box", "\\boxed{0.5}", "\\boxed{2}", "\\boxed{1/2}"]
    assert voting_counts(responses) == {0: 3, 3: 1}


def test_the_case_study_vote_three_against_two():
    # FLAML's case study: with n = 5, three answers of 301 and two of 159 make 301 the answer.
    responses = ["\\boxed{159}", "\\boxed{301}", "\\boxed{301}", "\\boxed{159}", "\\boxed{301}"]
    result = eval_math_responses(responses, "The answer is $\\boxed{301}$.")
    assert result["votes"] == 3 and result["success_vote"] == 1.0 and result["voted_answer"] == responses[1]
    assert result["success"] is True
    assert result["expected_success"] == pytest.approx(1 - (1 - 3 / 5) ** 5)


def test_a_tie_goes_to_the_answer_given_first():
    result = eval_math_responses(["\\boxed{7}", "\\boxed{8}"], "\\boxed{8}")
    assert result["voted_answer"] == "\\boxed{7}" and result["success_vote"] == 0.0 and result["success"] is True


def test_eval_math_responses_when_nothing_is_right_or_answered():
    result = eval_math_responses(["I do not know.", "Still thinking"], "$\\boxed{4}$")
    assert result == {
        "expected_success": 0.0,
        "success": False,
        "success_vote": 0.0,
        "voted_answer": "I do not know.",
        "votes": 0,
    }


def test_empty_responses_give_zeros_as_flaml_does():
    assert eval_math_responses([], None) == {
        "expected_success": 0,
        "success": False,
        "success_vote": 0,
        "voted_answer": None,
        "votes": 0,
    }


def test_without_a_solution_only_the_vote_is_returned():
    assert eval_math_responses(["\\boxed{1}", "\\boxed{2}", "\\boxed{2}"]) == {"voted_answer": "\\boxed{2}", "votes": 2}


def test_a_solution_without_a_box_is_the_answer_itself():
    # FLAML found no answer in such a solution, so a response without one "matched" it.
    assert eval_math_responses(["\\boxed{\\frac{1}{2}}"], "1/2")["success_vote"] == 1.0
    assert eval_math_responses(["no box at all"], "1/2")["success"] is False


def test_extra_fields_of_the_data_instance_are_ignored():
    result = eval_math_responses(["\\boxed{4}"], solution="\\boxed{4}", problem="2+2?", level="Level 1")
    assert result["success_vote"] == 1.0
