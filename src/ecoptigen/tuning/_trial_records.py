"""A trial as a journal line, and back: what a resumed run replays."""

from __future__ import annotations

from typing import Any

from ecoptigen.tuning._journal import public_params
from ecoptigen.tuning._outcome import TrialOutcome
from ecoptigen.tuning._recheck import Draw
from ecoptigen.tuning._scoring import Scoring
from ecoptigen.tuning.analysis import Trial

__all__ = ["recheck_record", "replayed_trial", "trial_record"]


def trial_record(trial: Trial, outcome: TrialOutcome, total_paid: float, unconfirmed: float) -> dict[str, Any]:
    """The journal line of a trial just evaluated; ``total_paid``, ``unconfirmed``: the run's ledger after it."""
    return {
        "kind": "trial",
        "index": trial.index,
        "config": trial.config,
        "params": public_params(trial.params),
        "status": trial.status,
        "metrics": trial.metrics,
        "inference_cost": trial.inference_cost,
        "cost": trial.cost,
        "paid": trial.paid,
        "total_paid": total_paid,
        "unconfirmed": unconfirmed,
        "updates": outcome.updates,
        "avg_input_tokens": outcome.avg_input_tokens,
        "error": trial.error,
        "seconds": trial.seconds,
        "measured": trial.measured,
        "scoring": None if outcome.scoring is None else outcome.scoring.to_record(),
    }


def replayed_trial(index: int, record: dict[str, Any], params: dict[str, Any]) -> Trial:
    """Trial ``index`` as its journal line ``record`` says it ended; ``params``: its config's ``create`` arguments."""
    return Trial(
        index,
        record["config"],
        params,
        record["status"],
        dict(record["metrics"]),
        float(record["inference_cost"]),
        float(record["cost"]),
        float(record.get("paid", 0.0)),
        float(record.get("total_paid", 0.0)),
        replayed=True,
        error=record.get("error"),
        seconds=float(record.get("seconds", 0.0)),
        measured=record.get("measured"),
        scoring=Scoring.from_record(record.get("scoring")),
    )


def recheck_record(trial: Trial, draw: Draw, total_paid: float, unconfirmed: float, seconds: float) -> dict[str, Any]:
    """The journal line of ``trial``'s re-check on fresh completions (see :mod:`~ecoptigen.tuning._recheck`)."""
    return {
        "kind": "trial",
        "rechecks": trial.index,
        "index": trial.index,
        "config": trial.config,
        "params": public_params(trial.params),
        **draw.to_record(),
        "total_paid": total_paid,
        "unconfirmed": unconfirmed,
        "seconds": seconds,
    }
