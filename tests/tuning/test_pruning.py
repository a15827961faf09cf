"""The cost-based pruning rules, on their own."""

import math

import pytest

from ecoptigen.tuning._pruning import (
    PruningRegions,
    StartPlan,
    budget_verdict,
    hoeffding_serfling_ratio,
    plan_start,
    target_output_tokens,
)

REGION = ("gpt-4o-mini", 0, -1)


def test_target_output_tokens_is_what_the_budget_leaves_after_the_prompt():
    # $0.01 per instance, 1000 prompt tokens at $0.002/1K leave $0.008 = 2000 tokens at $0.004/1K.
    assert target_output_tokens(0.01, 1000, (0.002, 0.004)) == pytest.approx(2000)


def test_margin_shrinks_as_more_data_is_seen_and_vanishes_on_all_of_it():
    ratios = [hoeffding_serfling_ratio(k, 20) for k in (1, 2, 4, 8, 16, 20)]
    assert ratios == sorted(ratios, reverse=True)
    assert ratios[0] == pytest.approx(0.1)
    assert ratios[-1] == 0.0


def test_margin_uses_the_second_serfling_form_past_half_the_data():
    assert hoeffding_serfling_ratio(16, 20) == pytest.approx(0.1 * math.sqrt((1 - 16 / 20) * (1 + 1 / 16) / 16))
    assert hoeffding_serfling_ratio(8, 20) == pytest.approx(0.1 * math.sqrt((1 - 7 / 20) / 8))


def test_margin_rejects_impossible_sample_sizes():
    with pytest.raises(ValueError):
        hoeffding_serfling_ratio(0, 20)
    with pytest.raises(ValueError):
        hoeffding_serfling_ratio(21, 20)


@pytest.mark.parametrize(
    ("average", "target", "ratio", "verdict"),
    [
        (111, 100, 0.1, "over"),
        (110, 100, 0.1, "unsure"),
        (90, 100, 0.1, "under"),
        (91, 100, 0.1, "unsure"),
        (100, 100, 0.0, "under"),
        (5000, None, 0.0, "unsure"),
    ],
)
def test_budget_verdict(average, target, ratio, verdict):
    assert budget_verdict(average, target, ratio) == verdict


def test_valid_n_carries_to_smaller_max_tokens_only():
    regions = PruningRegions()
    regions.mark_valid(REGION, 200, 8)
    assert regions.known_valid_n(REGION, 100) == 8
    assert regions.known_valid_n(REGION, 200) == 8
    assert regions.known_valid_n(REGION, 300) == 1
    assert regions.known_valid_n(("gpt-4o", 0, -1), 100) == 1


def test_invalid_n_carries_to_larger_max_tokens_only():
    regions = PruningRegions()
    regions.mark_invalid(REGION, 200, 16)
    regions.mark_invalid(REGION, 200, 32)
    assert regions.known_invalid_n(REGION, 300) == 16
    assert regions.known_invalid_n(REGION, 100) is None


def test_known_valid_n_keeps_the_largest_and_invalid_the_smallest():
    regions = PruningRegions()
    for n in (4, 2, 8):
        regions.mark_valid(REGION, 100, n)
        regions.mark_invalid(REGION, 100, n * 4)
    assert regions.known_valid_n(REGION, 100) == 8
    assert regions.known_invalid_n(REGION, 100) == 8


def test_journal_updates_replay_into_the_same_regions():
    regions = PruningRegions()
    regions.apply(["valid", list(REGION), 100.0, 4])
    regions.apply(["invalid", list(REGION), float("inf"), 8])
    assert regions.known_valid_n(REGION, 50) == 4
    assert regions.known_invalid_n(REGION, float("inf")) == 8


def test_plan_prunes_n_at_or_above_a_known_invalid_n():
    regions = PruningRegions()
    regions.mark_invalid(REGION, 100, 8)
    assert plan_start(8, 150, regions, REGION, target=None) == StartPlan(True, 0)
    assert plan_start(7, 150, regions, REGION, target=None) == StartPlan(False, 2)
    # a smaller max_tokens is not covered by what was learned at 100
    assert plan_start(8, 50, regions, REGION, target=None) == StartPlan(False, 2)


def test_plan_starts_past_the_known_valid_n():
    regions = PruningRegions()
    regions.mark_valid(REGION, 100, 4)
    assert plan_start(16, 100, regions, REGION, target=None) == StartPlan(False, 5)
    assert plan_start(3, 100, regions, REGION, target=None) == StartPlan(False, 3)


def test_plan_trusts_the_target_when_every_completion_could_run_to_max_tokens():
    regions = PruningRegions()
    # 1000 tokens of budget, completions of at most 100 tokens: n=10 cannot exceed it.
    assert plan_start(10, 100, regions, REGION, target=1000) == StartPlan(False, 10)
    assert plan_start(40, 100, regions, REGION, target=1000) == StartPlan(False, 11)
    # unbounded completions (chat without max_tokens) give no such guarantee
    assert plan_start(4, math.inf, regions, REGION, target=1000) == StartPlan(False, 2)
