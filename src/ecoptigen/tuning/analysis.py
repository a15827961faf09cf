"""What a tuning found: every trial, the best one, the money, a pandas table and plot data.

Plot data is computed here; :mod:`ecoptigen.tuning.plots` only draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecoptigen import models
from ecoptigen.parameters import restriction

__all__ = ["CREDENTIAL_KEYS", "Analysis", "Trial"]

# Settings that carry credentials: never returned as a tuned config, written to a journal or shown.
CREDENTIAL_KEYS = frozenset({"api_key", "azure_ad_token", "config_list", "organization"})


@dataclass
class Trial:
    """One evaluated (or pruned) configuration.

    Attributes:
        index: the trial's number in the search (``t<index>`` to the searcher).
        config: the search config (choices of prompt/messages/stop by index).
        params: the ``create`` arguments of the config (secrets never included in the journal).
        status: ``ok``, ``pruned``, ``over_budget``, ``error`` or ``unaffordable`` (see
            :class:`~ecoptigen.tuning.evaluate.TrialOutcome`).
        metrics: eval_func's results averaged over the data (the metric's worst value unless ``ok``).
        inference_cost: estimated dollars per instance with this config.
        cost: dollars of the responses the trial used, cache hits included.
        paid: dollars actually paid during this trial (requests inside eval_func included).
        total_paid: dollars paid by the tuning up to the end of this trial.
        replayed: the trial was read back from the journal, not evaluated in this run.
    """

    index: int
    config: dict[str, Any]
    params: dict[str, Any]
    status: str
    metrics: dict[str, float]
    inference_cost: float
    cost: float
    paid: float
    total_paid: float
    replayed: bool = False
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Analysis:
    """The result of :func:`ecoptigen.tuning.tune` (FLAML's ``analysis``).

    Attributes:
        metric, mode: what was optimized, ``"max"`` or ``"min"``.
        trials: every trial, in order.
        total_cost: dollars known to be paid during the tuning (resumed runs included); cache hits are free.
        unconfirmed_cost: an estimate of dollars the provider may have billed for requests whose answers
            were lost (timeouts, dropped connections, garbled answers, a kill); counted against the budget
            but not in ``total_cost``. See docs/tuning.md, "Failed requests and money".
        saved_by_cache: dollars the cache hits of this run would have cost.
        budget: the optimization budget (``None`` for none).
        stopped_because: why the search ended.

    Example:
        >>> t = Trial(0, {"n": 1}, {"model": "m", "n": 1}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
        >>> a = Analysis("success", "max", [t], total_cost=0.2)
        >>> a.best_config, a.best_result["success"]
        ({'model': 'm', 'n': 1}, 0.5)
    """

    metric: str
    mode: str
    trials: list[Trial] = field(default_factory=list)
    total_cost: float = 0.0
    saved_by_cache: float = 0.0
    budget: float | None = None
    stopped_because: str = ""
    unconfirmed_cost: float = 0.0

    @property
    def best_trial(self) -> Trial | None:
        """The fully evaluated trial with the best metric (the first among equals); ``None`` if none was."""
        done = [t for t in self.trials if t.status == "ok" and not _is_nan(t.metrics.get(self.metric))]
        if not done:
            return None
        sign = 1 if self.mode == "max" else -1
        return max(reversed(done), key=lambda t: (sign * t.metrics[self.metric], -t.index))

    @property
    def best_config(self) -> dict[str, Any] | None:
        """The ``create`` arguments of the best trial (what :func:`tune` returns)."""
        best = self.best_trial
        return None if best is None else {k: v for k, v in best.params.items() if k not in CREDENTIAL_KEYS}

    @property
    def best_result(self) -> dict[str, Any] | None:
        """The best trial's metrics with its ``inference_cost``, ``cost`` and the tuning's ``total_cost``."""
        best = self.best_trial
        if best is None:
            return None
        return {
            **best.metrics,
            "inference_cost": best.inference_cost,
            "cost": best.cost,
            "total_cost": self.total_cost,
            "config": best.config,
        }

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """Each trial's metrics and costs, by trial id (``t0``, ``t1``, ...)."""
        return {
            f"t{t.index}": {**t.metrics, "inference_cost": t.inference_cost, "cost": t.cost, "status": t.status}
            for t in self.trials
        }

    def trials_dataframe(self) -> Any:
        """The trial table as a :class:`pandas.DataFrame`: one row per trial, the config's settings,
        metrics and costs as columns.

        A setting the trial's model cannot take (see :mod:`ecoptigen.parameters`) reads ``"fixed"``
        (the model uses one value, e.g. a reasoning model's temperature) or ``"—"`` (the model refuses
        it, e.g. ``stop`` for o4-mini): it was left out of that trial's requests.

        Example:
            >>> t = Trial(0, {"n": 1}, {"model": "m", "n": 1}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
            >>> Analysis("success", "max", [t]).trials_dataframe()[["model", "n", "success"]].to_dict("records")
            [{'model': 'm', 'n': 1, 'success': 0.5}]
        """
        import pandas as pd

        columns = list(dict.fromkeys(k for t in self.trials for k in t.params if k not in CREDENTIAL_KEYS))
        return pd.DataFrame([self._row(t, columns) for t in self.trials])

    def _row(self, trial: Trial, columns: list[str]) -> dict[str, Any]:
        settings = {k: _cell(trial.params[k]) if k in trial.params else _left_out(trial, k) for k in columns}
        return {
            "trial": trial.index,
            "status": trial.status,
            **settings,
            **trial.metrics,
            "inference_cost": trial.inference_cost,
            "cost": trial.cost,
            "paid": trial.paid,
            "total_paid": trial.total_paid,
            "replayed": trial.replayed,
            "seconds": trial.seconds,
        }

    def plot_data(self) -> dict[str, Any]:
        """The series the plots draw.

        Returns:
            ``{"spend": [(dollars paid so far, best metric so far), ...], "trials": [(inference_cost,
            metric, is_best), ...] (fully evaluated trials only), "metric": name, "budget": dollars}``.

        Example:
            >>> t = Trial(0, {}, {}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
            >>> Analysis("success", "max", [t]).plot_data()["spend"]
            [(0.2, 0.5)]
        """
        sign = 1 if self.mode == "max" else -1
        spend, best = [], None
        for trial in self.trials:
            value = trial.metrics.get(self.metric)
            if trial.status == "ok" and value is not None and (best is None or sign * value > sign * best):
                best = value
            if best is not None:
                spend.append((trial.total_paid, best))
        best_trial = self.best_trial
        points = [
            (t.inference_cost, t.metrics[self.metric], t is best_trial)
            for t in self.trials
            if t.status == "ok" and math.isfinite(t.inference_cost)
        ]
        return {"spend": spend, "trials": points, "metric": self.metric, "budget": self.budget}

    def plot(self, path: str) -> str:
        """Draw the two plots (best metric vs dollars spent; inference cost vs metric) into ``path``.

        Needs matplotlib (``pip install "ecoptigen[plot]"``).

        Returns:
            ``path``.
        """
        from ecoptigen.tuning.plots import draw

        draw(self.plot_data(), path)
        return path


# How the trial table shows a setting the trial's model cannot take.
_LEFT_OUT = {"fixed": "fixed", "unsupported": "—"}


def _left_out(trial: Trial, param: str) -> str | None:
    model = str(trial.params.get("model", ""))
    kind = restriction(model, param, chat=models.endpoint_kind(model) == "chat")
    return None if kind is None else _LEFT_OUT[kind]


def _is_nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return repr(value)
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return value
