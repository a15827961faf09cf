"""EcoOptiGen's cost-based pruning rules, as small pure functions and one bookkeeping class.

The rules (Wang et al., "Cost-Effective Hyperparameter Optimization for Large Language Model Generation
Inference", 2023, and FLAML's ``Completion._eval``):

* A configuration is evaluated with ``n`` grown by doubling up to its own ``n``, and on data grown by
  doubling (1, 2, 4, ... instances). After each data step, the average output tokens per instance is
  compared with the *target* the inference budget allows; a Hoeffding-Serfling margin decides early
  that it is surely over (stop, the config is invalid) or surely under (this ``n`` is valid: go on
  with the next ``n`` without evaluating the rest of the data).
* What was learned is kept per region (model, prompt, stop): ``n`` valid at some ``max_tokens`` is valid
  for every smaller ``max_tokens``; ``n`` invalid at some ``max_tokens`` is invalid for every larger ``n``
  and ``max_tokens``. A configuration that must be over budget is pruned without a request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "PruningRegions",
    "StartPlan",
    "budget_verdict",
    "hoeffding_serfling_ratio",
    "plan_start",
    "target_output_tokens",
]

Region = tuple[str, int, int]
Verdict = Literal["over", "under", "unsure"]
# The margin's scale: FLAML's 0.1, i.e. token counts are treated as spread within +-10% of the target.
_MARGIN_SCALE = 0.1


def target_output_tokens(inference_budget: float, avg_input_tokens: float, price: tuple[float, float]) -> float:
    """Output tokens per instance (over all ``n`` completions) that the inference budget leaves after the prompt.

    Example:
        >>> target_output_tokens(0.02, 500, (0.02, 0.02))
        500.0
    """
    price_input, price_output = price
    return (inference_budget * 1000 - avg_input_tokens * price_input) / price_output


def hoeffding_serfling_ratio(sampled: int, total: int) -> float:
    """Relative margin around the target after ``sampled`` of ``total`` instances (sampling without replacement).

    Example:
        >>> round(hoeffding_serfling_ratio(1, 20), 3), hoeffding_serfling_ratio(20, 20)
        (0.1, 0.0)
    """
    if not 1 <= sampled <= total:
        raise ValueError(f"sampled must be in [1, total={total}], got {sampled}")
    # Serfling's finite-population factor; the first form is tighter once over half the data is seen.
    rho = (1 - sampled / total) * (1 + 1 / sampled) if 2 * sampled > total else 1 - (sampled - 1) / total
    return _MARGIN_SCALE * math.sqrt(rho / sampled)


def budget_verdict(avg_output_tokens: float, target: float | None, ratio: float) -> Verdict:
    """Whether the sampled average is surely over, surely under, or not yet clear against the target.

    Example:
        >>> budget_verdict(120, 100, 0.1), budget_verdict(80, 100, 0.1), budget_verdict(95, 100, 0.1)
        ('over', 'under', 'unsure')
    """
    if target is None:
        return "unsure"
    if avg_output_tokens > target * (1 + ratio):
        return "over"
    if avg_output_tokens <= target * (1 - ratio):
        return "under"
    return "unsure"


@dataclass
class PruningRegions:
    """Known-valid and known-invalid ``n`` per region and ``max_tokens``.

    Not thread-safe: one tuner updates it between trials.

    Example:
        >>> regions = PruningRegions()
        >>> regions.mark_valid(("m", 0, -1), 100, 4)
        >>> regions.mark_invalid(("m", 0, -1), 100, 16)
        >>> regions.known_valid_n(("m", 0, -1), 50), regions.known_invalid_n(("m", 0, -1), 200)
        (4, 16)
    """

    max_valid_n: dict[Region, dict[float, int]] = field(default_factory=dict)
    min_invalid_n: dict[Region, dict[float, int]] = field(default_factory=dict)

    def known_valid_n(self, region: Region, max_tokens: float) -> int:
        """The largest ``n`` known valid at this or a larger ``max_tokens`` (1 when nothing is known)."""
        known = self.max_valid_n.get(region, {})
        return max((n for limit, n in known.items() if limit >= max_tokens), default=1)

    def known_invalid_n(self, region: Region, max_tokens: float) -> int | None:
        """The smallest ``n`` known invalid at this or a smaller ``max_tokens`` (``None`` when nothing is known)."""
        known = self.min_invalid_n.get(region, {})
        return min((n for limit, n in known.items() if limit <= max_tokens), default=None)

    def mark_valid(self, region: Region, max_tokens: float, n: int) -> None:
        """Record that ``n`` completions of up to ``max_tokens`` fit the inference budget."""
        known = self.max_valid_n.setdefault(region, {})
        known[max_tokens] = max(n, known.get(max_tokens, 0))

    def mark_invalid(self, region: Region, max_tokens: float, n: int) -> None:
        """Record that ``n`` completions of up to ``max_tokens`` exceed the inference budget."""
        known = self.min_invalid_n.setdefault(region, {})
        known[max_tokens] = min(n, known.get(max_tokens, n))

    def apply(self, update: list) -> None:
        """Replay one update as stored in the journal: ``["valid" | "invalid", region, max_tokens, n]``."""
        kind, region, max_tokens, n = update
        mark = self.mark_valid if kind == "valid" else self.mark_invalid
        mark(tuple(region), float(max_tokens), int(n))  # type: ignore[arg-type]


@dataclass(frozen=True)
class StartPlan:
    """Where evaluating a configuration starts: pruned outright, or at ``start_n`` completions."""

    pruned: bool
    start_n: int


def plan_start(
    config_n: int, max_tokens: float, regions: PruningRegions, region: Region, target: float | None
) -> StartPlan:
    """Decide, before any request, whether a configuration is surely over budget and which ``n`` to start from.

    ``n`` up to the largest known-valid ``n`` (or up to what the target allows even if every completion
    ran to ``max_tokens``) needs no doubling; ``n`` at or above a known-invalid ``n`` is pruned.

    Example:
        >>> regions = PruningRegions()
        >>> regions.mark_invalid(("m", 0, -1), 100, 8)
        >>> plan_start(16, 200, regions, ("m", 0, -1), target=None)
        StartPlan(pruned=True, start_n=0)
        >>> plan_start(16, 50, regions, ("m", 0, -1), target=250)
        StartPlan(pruned=False, start_n=6)
    """
    max_valid_n = regions.known_valid_n(region, max_tokens)
    if target is not None and max_tokens > 0:
        max_valid_n = max(max_valid_n, int(target // max_tokens))
    if config_n <= max_valid_n:
        return StartPlan(False, config_n)
    min_invalid_n = regions.known_invalid_n(region, max_tokens)
    if min_invalid_n is not None and config_n >= min_invalid_n:
        return StartPlan(True, 0)
    return StartPlan(False, max_valid_n + 1)
