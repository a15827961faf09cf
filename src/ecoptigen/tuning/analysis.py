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
        """The best trial (the first among equals): the best fully evaluated one within the inference
        budget; when no configuration fit, the best one measured over the budget; ``None`` if none was
        evaluated."""
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
        metrics and costs as columns.

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
        from ecoptigen.tuning._plots import draw

        draw(self.plot_data(), path)
        return path


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
