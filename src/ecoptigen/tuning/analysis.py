"""What a tuning found: every trial, the best one, the money, a pandas table and plot data.

:class:`Analysis` answers FLAML's ``ExperimentAnalysis`` questions as FLAML users ask them
(``best_trial.last_result``, ``get_best_trial(metric, mode)``, ``results``, ``best_result_df``), plus
ecoptigen's own (``trials_dataframe()``, ``plot()``, ``inference_budget_met``). Plot data is computed
here; :mod:`ecoptigen.tuning._plots` only draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecoptigen.client import restriction
from ecoptigen.errors import ConfigurationError
from ecoptigen.money import catalog as models
from ecoptigen.tuning._choice import choose
from ecoptigen.tuning._confidence import ChoiceConfidence, choice_confidence
from ecoptigen.tuning._scoring import Scoring, metric_interval

__all__ = ["CREDENTIAL_KEYS", "SCOPES", "Analysis", "Trial"]

# Settings that carry credentials: never returned as a tuned config, written to a journal or shown.
CREDENTIAL_KEYS = frozenset({"api_key", "azure_ad_token", "azure_ad_token_provider", "config_list", "organization"})
# FLAML's get_best_trial scopes. Every trial reports once, so each of them is that one result.
SCOPES = ("last", "avg", "all", "last-5-avg", "last-10-avg")


@dataclass
class Trial:
    """One evaluated (or pruned) configuration.

    Attributes:
        index: the trial's number in the search (``t<index>`` to the searcher).
        config: the search config (choices of prompt/messages/stop by index).
        params: the ``create`` arguments of the config (secrets never included in the journal).
        status: ``ok``, ``pruned``, ``over_budget``, ``error``, ``unaffordable`` or ``beaten`` (see
            :class:`~ecoptigen.tuning._outcome.TrialOutcome`).
        metrics: eval_func's results averaged over the data (the metric's worst value unless ``ok``).
        inference_cost: estimated dollars per instance with this config.
        cost: dollars of the responses the trial used, cache hits included.
        paid: dollars actually paid during this trial (requests inside eval_func included).
        total_paid: dollars paid by the tuning up to the end of this trial.
        replayed: the trial was read back from the journal, not evaluated in this run.
        measured: for a configuration evaluated on all the data and found over the inference budget,
            the metrics and ``inference_cost`` it really had (``metrics`` holds the worst value the
            searcher was told); ``None`` otherwise.
        scoring: the rows and completions its metric was measured on (``None`` for trials read from
            journals written before ecoptigen kept it).
        recheck: for the configuration the search re-checked on fresh completions before returning (see
            :mod:`~ecoptigen.tuning._recheck`), what each evaluation found (``first``, ``fresh``) and what
            the re-check cost and paid; ``metrics``, ``inference_cost`` and ``scoring`` are then the
            means over both evaluations. ``None`` otherwise.
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
    measured: dict[str, float] | None = None
    scoring: Scoring | None = None
    recheck: dict[str, Any] | None = None

    @property
    def trial_id(self) -> str:
        """The trial's id, as FLAML names trials in ``analysis.results``: ``t<index>``."""
        return f"t{self.index}"

    @property
    def last_result(self) -> dict[str, Any]:
        """The trial's result as FLAML reports it: metrics, ``inference_cost``, ``cost``, ``total_cost``
        (dollars the tuning had paid by its end), ``config`` and ``config/<name>``, ``time_total_s``.

        Example:
            >>> t = Trial(0, {"n": 1}, {"model": "m", "n": 1}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
            >>> t.last_result["success"], t.last_result["config/n"], t.last_result["total_cost"]
            (0.5, 1, 0.2)
        """
        result: dict[str, Any] = {
            **self.metrics,
            "inference_cost": self.inference_cost,
            "cost": self.cost,
            "total_cost": self.total_paid,
            "status": self.status,
            "training_iteration": 0,
            "time_total_s": self.seconds,
            "config": self.config,
        }
        result.update({f"config/{key}": value for key, value in self.config.items()})
        return result

    @property
    def metric_analysis(self) -> dict[str, dict[str, float]]:
        """FLAML's per-metric summary over the trial's results, for every numeric value of
        :attr:`last_result` (one result per trial, so every scope holds that value)."""
        return {
            key: dict.fromkeys(("max", "min", "last", "avg", "last-5-avg", "last-10-avg"), float(value))
            for key, value in self.last_result.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }


@dataclass
class Analysis:
    """The result of :func:`ecoptigen.tuning.tune` (FLAML's ``analysis``).

    Attributes:
        metric, mode: what was optimized, ``"max"`` or ``"min"`` (FLAML: ``default_metric``,
            ``default_mode``).
        trials: every trial, in order.
        total_cost: dollars known to be paid during the tuning (resumed runs included); cache hits are free.
        unconfirmed_cost: an estimate of dollars the provider may have billed for requests whose answers
            were lost (timeouts, dropped connections, garbled answers, a kill); counted against the budget
            but not in ``total_cost``. See docs/tuning.md, "Failed requests and money".
        saved_by_cache: dollars the cache hits of this run would have cost.
        budget: the optimization budget (``None`` for none).
        stopped_because: why the search ended.
        inference_budget: the inference budget, dollars per instance (``None`` for none).
        dropped_models: the models the search stopped trying, each with why (see
            :mod:`~ecoptigen.tuning._models_race`).
        rows: the number of tuning data instances (``None``: unknown).
        tie_break: how the best trial is chosen: ``"first"`` (FLAML's: the best metric, the first among
            equals) or ``"completions"`` (ecoptigen's order: among the configurations the tuning rows
            cannot tell from the best, the one drawing the most completions per instance; see
            :mod:`~ecoptigen.tuning._choice`).

    Example:
        >>> t = Trial(0, {"n": 1}, {"model": "m", "n": 1}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
        >>> a = Analysis("success", "max", [t], total_cost=0.2)
        >>> a.best_config, a.best_result["success"], a.best_trial.last_result["success"]
        ({'model': 'm', 'n': 1}, 0.5, 0.5)
    """

    metric: str
    mode: str
    trials: list[Trial] = field(default_factory=list)
    total_cost: float = 0.0
    saved_by_cache: float = 0.0
    budget: float | None = None
    stopped_because: str = ""
    unconfirmed_cost: float = 0.0
    inference_budget: float | None = None
    dropped_models: dict[str, str] = field(default_factory=dict)
    rows: int | None = None
    tie_break: str = "first"

    @property
    def default_metric(self) -> str:
        """FLAML's name for :attr:`metric`."""
        return self.metric

    @property
    def default_mode(self) -> str:
        """FLAML's name for :attr:`mode`."""
        return self.mode

    @property
    def inference_budget_met(self) -> bool:
        """Whether some configuration was fully evaluated within the inference budget (always true
        without one).

        When none was, :attr:`best_trial` is the best configuration found over the budget (FLAML's
        contract) and ``tune`` warns that it does not fit.
        """
        return self.inference_budget is None or any(t.status == "ok" for t in self.trials)

    @property
    def best_trial(self) -> Trial | None:
        """The best trial: the best fully evaluated one within the inference budget (see :attr:`tie_break`
        for which among ties); when no configuration fit, the best one measured over the budget; ``None``
        if none was evaluated."""
        return self.get_best_trial()

    def get_best_trial(
        self, metric: str | None = None, mode: str | None = None, scope: str = "last", filter_nan_and_inf: bool = True
    ) -> Trial | None:
        """The trial with the best ``metric`` (FLAML's ``ExperimentAnalysis.get_best_trial``).

        Only trials evaluated on all the data are compared: those within the inference budget, or, when
        none was, those measured over it (with the metrics they really had).

        Args:
            metric: any numeric key of the trials' results (default: the tuned metric).
            mode: ``"max"`` or ``"min"`` (default: the tuning's mode).
            scope: one of FLAML's scopes; every trial reports one result, so they all compare it.
            filter_nan_and_inf: never pick a trial whose value is nan or infinite.

        Raises:
            ConfigurationError: an unknown mode or scope.

        Example:
            >>> runs = [(1.0, 0.5), (0.5, 0.1)]
            >>> ts = [Trial(i, {}, {}, "ok", {"success": s}, c, c, c, c) for i, (s, c) in enumerate(runs)]
            >>> Analysis("success", "max", ts).get_best_trial("inference_cost", "min").trial_id
            't1'
        """
        metric, mode = metric or self.metric, mode or self.mode
        if mode not in ("min", "max") or scope not in SCOPES:
            raise ConfigurationError(
                f'mode must be "min" or "max" and scope one of {list(SCOPES)}; got {mode!r}, {scope!r}.'
            )
        ok = [t for t in self.trials if t.status == "ok"]
        if self.tie_break == "completions" and (metric, mode) == (self.metric, self.mode) and ok:
            return choose(ok, metric, mode, _completions)
        best, best_value = None, None
        for trial, result in self._candidates():
            value = result.get(metric)
            if not isinstance(value, (int, float)) or (filter_nan_and_inf and not math.isfinite(value)):
                continue
            if best_value is None or (value > best_value if mode == "max" else value < best_value):
                best, best_value = trial, value
        return best

    def _candidates(self) -> list[tuple[Trial, dict[str, Any]]]:
        ok = [(t, t.last_result) for t in self.trials if t.status == "ok"]
        if ok:
            return ok
        over = [t for t in self.trials if t.status == "over_budget"]
        measured = [(t, {**t.last_result, **t.measured}) for t in over if t.measured]
        # Configurations stopped early have no metric: as in FLAML (all of them score alike), the first.
        return measured or [(t, {**t.last_result, self.metric: 0.0}) for t in over[:1]]

    def get_best_config(self, metric: str | None = None, mode: str | None = None, scope: str = "last") -> dict | None:
        """The ``create`` arguments of :meth:`get_best_trial` (credentials left out)."""
        best = self.get_best_trial(metric, mode, scope)
        return None if best is None else {k: v for k, v in best.params.items() if k not in CREDENTIAL_KEYS}

    @property
    def best_config(self) -> dict[str, Any] | None:
        """The ``create`` arguments of the best trial (what :func:`tune` returns)."""
        return self.get_best_config()

    @property
    def best_result(self) -> dict[str, Any] | None:
        """The best trial's result (FLAML: ``best_trial.last_result``): its metrics, ``inference_cost``,
        ``cost``, ``total_cost``, ``config``; for a configuration over the inference budget, what it measured."""
        best = self.best_trial
        if best is None:
            return None
        return {**best.last_result, **(best.measured or {})} if best.status != "ok" else best.last_result

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """Every trial's result by trial id (``t0``, ``t1``, ...), as FLAML's ``analysis.results``."""
        return {t.trial_id: t.last_result for t in self.trials}

    @property
    def best_result_df(self) -> Any:
        """:attr:`best_result` as a one-row :class:`pandas.DataFrame` indexed by trial id (empty if none)."""
        import pandas as pd

        best, result = self.best_trial, self.best_result
        if best is None or result is None:
            return pd.DataFrame()
        return pd.DataFrame(
            [{k: _cell(v) for k, v in result.items()}], index=pd.Index([best.trial_id], name="trial_id")
        )

    def trials_dataframe(self) -> Any:
        """The trial table as a :class:`pandas.DataFrame`: one row per trial, the config's settings,
        metrics and costs as columns, and how each trial was scored (see :func:`scoring_columns`):
        ``stop_reason``, ``rows_scored``, ``samples_scored`` and the metric's 95% confidence interval,
        ``<metric>_ci_low`` and ``<metric>_ci_high``; ``rechecked``: whether the trial's metrics are the
        means of two evaluations (see :mod:`~ecoptigen.tuning._recheck`).

        A setting the trial's model cannot take (see :mod:`ecoptigen.client._parameter_checks`) reads ``"fixed"``
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
            "rechecked": trial.recheck is not None,
            "seconds": trial.seconds,
            **scoring_columns(trial, self.metric),
        }

    def choice_confidence(self) -> ChoiceConfidence | None:
        """How sure the choice of :attr:`best_trial` is: its metric's 95% interval on the tuning data,
        and whether the runner-up is a statistical tie (see :mod:`~ecoptigen.tuning._confidence`).

        Returns:
            ``None`` when nothing was fully evaluated within the inference budget, the number of
            instances is unknown, or the metric is not in [0, 1].

        Example:
            >>> ts = [Trial(i, {}, {}, "ok", {"success": s}, 0.01, 0.1, 0.1, 0.1) for i, s in enumerate([0.9, 0.85])]
            >>> Analysis("success", "max", ts, rows=20).choice_confidence().tie
            True
        """
        best = self.best_trial
        if best is None or best.status != "ok" or not self.rows:
            return None
        others = [(t.trial_id, t.metrics[self.metric]) for t in self.trials if t.status == "ok" and t is not best]
        return choice_confidence((best.trial_id, best.metrics[self.metric]), others, self.rows, self.mode)

    def plot_data(self) -> dict[str, Any]:
        """The series the plots draw: every trial's point (see :func:`ecoptigen.tuning._plot_data.plot_data`).

        Example:
            >>> t = Trial(0, {}, {}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
            >>> Analysis("success", "max", [t]).plot_data()["spend"]
            [(0.2, 0.5)]
        """
        from ecoptigen.tuning._plot_data import plot_data

        return plot_data(self)

    def plot(self, path: str) -> str:
        """Draw the two plots into ``path``: best metric vs dollars spent, and every trial's inference cost
        vs metric, coloured by model, trials stopped early marked, the inference budget drawn and the
        chosen configuration starred.

        Needs matplotlib (``pip install -e ".[plot]"`` in the ecoptigen clone).

        Returns:
            ``path``.
        """
        from ecoptigen.tuning._plots import draw

        draw(self.plot_data(), path)
        return path


# Why a trial of each status stopped, when the trial has no message of its own.
_STOP_REASONS = {
    "pruned": "pruned: earlier trials showed this kind of configuration is over the inference budget; nothing sent",
    "over_budget": "over the inference budget",
    "beaten": "it could no longer beat the best configuration so far",
    "unaffordable": "its requests did not fit in what was left of the optimization budget",
    "error": "its requests kept failing",
}


def _completions(trial: Trial) -> int:
    """The completions per instance a trial's configuration asks for (``n``, or ``best_of`` when larger)."""
    values = [trial.params.get(key) for key in ("n", "best_of")]
    return max([int(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)] or [1])


def stop_reason(trial: Trial) -> str | None:
    """Why the trial stopped before a full evaluation within the inference budget (``None`` if it did not).

    Example:
        >>> stop_reason(Trial(0, {}, {}, "pruned", {}, math.inf, 0.0, 0.0, 0.0)).startswith("pruned")
        True
    """
    if trial.status == "ok":
        return None
    return trial.error or _STOP_REASONS.get(trial.status, trial.status)


def scoring_columns(trial: Trial, metric: str) -> dict[str, Any]:
    """The trial table's columns on how a trial was scored: why it stopped, the rows and completions its
    metric was measured on, and the metric's 95% confidence interval over those rows (Wilson when every
    value is in [0, 1], else normal; see :mod:`ecoptigen.tuning._scoring`). Unknown values are ``None``.

    Example:
        >>> t = Trial(0, {}, {}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2,
        ...           scoring=Scoring.of([1.0, 0.0], samples=6, answered=2))
        >>> row = scoring_columns(t, "success")
        >>> row["rows_scored"], row["samples_scored"], round(row["success_ci_low"], 3)
        (2, 6, 0.095)
    """
    scoring = trial.scoring
    # Only where the table shows a mean over the rows scored: not for trials whose metric is the worst value.
    shown = trial.status in ("ok", "beaten") or bool(trial.measured)
    interval = metric_interval(scoring) if shown else None
    return {
        "stop_reason": stop_reason(trial),
        "rows_scored": None if scoring is None else scoring.rows,
        "samples_scored": None if scoring is None else scoring.samples,
        f"{metric}_ci_low": None if interval is None else interval[0],
        f"{metric}_ci_high": None if interval is None else interval[1],
    }


# How the trial table shows a setting the trial's model cannot take.
_LEFT_OUT = {"fixed": "fixed", "unsupported": "—"}


def _left_out(trial: Trial, param: str) -> str | None:
    model = str(trial.params.get("model", ""))
    kind = restriction(model, param, chat=models.endpoint_kind(model) == "chat")
    return None if kind is None else _LEFT_OUT[kind]


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict, tuple)):
        return repr(value)
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return value
