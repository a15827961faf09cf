"""What evaluating one configuration produces (:class:`TrialOutcome`), and what the trials of a tuning
have taught so far (:class:`Knowledge`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ecoptigen.tuning._pruning import PruningRegions
from ecoptigen.tuning._racing import Race
from ecoptigen.tuning._scoring import Scoring

__all__ = ["Knowledge", "Status", "TrialOutcome"]

Status = Literal["ok", "pruned", "over_budget", "error", "unaffordable", "beaten"]


@dataclass
class TrialOutcome:
    """What evaluating one configuration produced.

    Attributes:
        status: ``ok`` (fully evaluated), ``pruned`` (known over budget, nothing sent), ``over_budget``
            (found over the inference budget), ``error`` (requests kept failing with rate limits/timeouts),
            ``unaffordable`` (the worst case of its next requests, or the expected cost of finishing,
            does not fit in what is left of the optimization budget), ``beaten`` (its first instances
            show that it cannot beat the best configuration so far: see :mod:`~ecoptigen.tuning._racing`).
        metrics: the eval_func results averaged over the data (the worst value of the metric otherwise;
            for ``beaten``, the averages over the instances it was evaluated on).
        inference_cost: estimated dollars per instance of the config used as is (``inf`` unless ``ok``).
        cost: dollars of every response the trial used, cache hits included (what BlendSearch budgets).
        updates: pruning facts learned, in the journal's form, for the tuner to apply.
        avg_input_tokens: the average prompt tokens per instance seen (``None`` unless fully evaluated).
        measured: the real metrics and ``inference_cost`` of a config evaluated on all the data and found
            over the inference budget (``metrics`` then holds the worst value, for the searcher).
        scoring: the rows and completions the metric was measured on (see :mod:`~ecoptigen.tuning._scoring`).
    """

    status: Status
    metrics: dict[str, float]
    inference_cost: float
    cost: float
    updates: list[list[Any]] = field(default_factory=list)
    error: str | None = None
    avg_input_tokens: float | None = None
    measured: dict[str, float] | None = None
    scoring: Scoring | None = None


@dataclass
class Knowledge:
    """What earlier trials taught: pruning regions, the average prompt length (FLAML's ``avg_input_tokens``),
    the best metric within the inference budget, whether every per-instance metric value was in [0, 1],
    the shortest average completion (output tokens) a trial saw, and, for a configuration evaluated
    before (a re-check), what that evaluation cost (``evaluation_cost``).

    Trials only read it; the tuner applies each trial's updates in trial order, so trials that run at the
    same time see the same knowledge whatever their timing.
    """

    regions: PruningRegions = field(default_factory=PruningRegions)
    avg_input_tokens: float | None = None
    best: float | None = None
    bounded: bool = True
    shortest_completion: float | None = None
    evaluation_cost: float | None = None

    def learn(self, outcome: TrialOutcome) -> None:
        """Apply what one trial found."""
        for update in outcome.updates:
            if update[0] == "best":
                _, value, mode = update
                if self.best is None or (value > self.best if mode == "max" else value < self.best):
                    self.best = value
            elif update[0] == "unbounded":
                self.bounded = False
            elif update[0] == "completion_tokens":
                known = self.shortest_completion
                self.shortest_completion = update[1] if known is None else min(known, update[1])
            else:
                self.regions.apply(update)
        if self.avg_input_tokens is None and outcome.avg_input_tokens is not None:
            self.avg_input_tokens = outcome.avg_input_tokens

    def race(self, mode: str, total: int) -> Race | None:
        """A race against the best configuration so far, when the metric is known to be bounded."""
        return Race(self.best, mode, total) if self.best is not None and self.bounded else None
