"""The tuning loop: ask BlendSearch for configurations, evaluate them, tell it the results.

One :class:`Tuner` per ``tune`` call holds all of the run's state, so tunings in one process never
share anything. Up to ``parallel_trials`` configurations are evaluated at the same time (each trial's
requests also run concurrently); results are told to the searcher in trial order, and trial
``i + parallel_trials`` is asked for when trial ``i`` is told. For a given server and cache the search
is therefore the same whatever the timing; with ``parallel_trials=1`` it is FLAML's sequential search.

Money: a :class:`~ecoptigen.money.ledger.SpendLedger` with the optimization budget is active for the whole
run, so every paid request -- eval_func's included -- reserves its worst case first. When a request
cannot be reserved, the run stops cleanly and returns the best configuration found so far.

ecoptigen's order ends by re-checking the best configuration on fresh completions, with money the
search held back for it (:mod:`~ecoptigen.tuning._recheck`).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from typing import Any

from ecoptigen import run_context
from ecoptigen.errors import BudgetExceededError, RunStopped, StorageError
from ecoptigen.money import ledger as spend
from ecoptigen.tuning._evaluate import TrialEvaluator
from ecoptigen.tuning._executors import eval_executor
from ecoptigen.tuning._journal import Journal, fingerprint, public_params
from ecoptigen.tuning._journal_lock import JournalLock
from ecoptigen.tuning._logs import RunLogger, config_summary
from ecoptigen.tuning._models_race import ModelRace
from ecoptigen.tuning._options import DEFAULT_CONCURRENCY, TunerOptions
from ecoptigen.tuning._outcome import Knowledge, TrialOutcome
from ecoptigen.tuning._progress import TuningProgress, format_usd
from ecoptigen.tuning._recheck import Draw, Rechecks
from ecoptigen.tuning._samples import FRESH_DRAW
from ecoptigen.tuning._space import SearchSpace, build_space, make_searcher
from ecoptigen.tuning._start_points import budgeted_start_points, fit_start_point
from ecoptigen.tuning._suggestions import MAX_SUGGEST_FAILURES, Suggestions, is_at
from ecoptigen.tuning._tracebacks import result_raised_here
from ecoptigen.tuning._trial_records import recheck_record, replayed_trial, trial_record
from ecoptigen.tuning._validate import check_arguments, check_prices, check_templates
from ecoptigen.tuning.analysis import Analysis, Trial

__all__ = ["DEFAULT_CONCURRENCY", "Tuner", "TunerOptions"]

logger = RunLogger("ecoptigen.tuning")

# Configurations in a row whose requests do not fit in what is left of the budget before the run ends:
# the searcher moves away from a failed (worst-metric) point, so a cheaper one usually follows soon.
UNAFFORDABLE_PATIENCE = 5
# ecoptigen's order: the most configurations in a row that may not fit before the run ends (see _out_of_money).
UNAFFORDABLE_LIMIT = 20
NUM_SAMPLES_DONE = "num_samples trials done"
EXHAUSTED = "the searcher has nothing more to try (space exhausted or cost budget used)"


class Tuner:
    """One EcoOptiGen tuning run. Use :func:`ecoptigen.tuning.tune`; this is its engine room.

    Args:
        create: ``create(context, cache_salt=..., **params)`` (the engine's ``create`` bound to an endpoint kind).
        price_table: USD per 1K tokens by model.
        chat: whether the run tunes chat completions.
        options: how the run is executed.
        other arguments: as :func:`ecoptigen.tuning.tune`.
    """

    def __init__(
        self,
        create: Callable[..., dict],
        price_table: dict,
        *,
        chat: bool,
        data: list[dict],
        metric: str,
        mode: str,
        eval_func: Callable[..., dict],
        log_file_name: str | None,
        inference_budget: float | None,
        optimization_budget: float | None,
        num_samples: int,
        options: TunerOptions,
        config: dict[str, Any],
    ):
        check_arguments(data, metric, mode, eval_func, inference_budget, optimization_budget, num_samples)
        self.space: SearchSpace = build_space(config, chat)
        check_prices(self.space, price_table)
        check_templates(self.space, data, chat)
        self.data, self.metric, self.mode, self.options = data, metric, mode, options
        self.budget, self.num_samples = optimization_budget, num_samples
        self.evaluator = TrialEvaluator(
            create,
            self.space,
            data,
            eval_func,
            metric,
            mode,
            inference_budget,
            price_table,
            None,
            serial_eval=options.serial_eval_func,
            chat=chat,
            budget_left=self._budget_left,
        )
        print_ = fingerprint(
            data=data,
            metric=metric,
            mode=mode,
            inference_budget=inference_budget,
            chat=chat,
            searched=self.space.searched,
            constants=public_params(self.space.constants),
            prompts=self.space.prompts,
            messages=self.space.messages,
            stops=self.space.stops,
        )
        self.lock = JournalLock.acquire(log_file_name)  # before reading: no other run may write meanwhile
        try:
            self.journal = Journal.open(log_file_name, print_, metric=metric, mode=mode)
            lost = self.journal.reconcile(optimization_budget)
        except BaseException:
            self.lock.release()
            raise
        if lost:
            logger.warning(
                "%s: requests were in flight when the last run was killed; up to $%.6f may have been billed for "
                "them and is counted as unconfirmed spending",
                log_file_name,
                lost,
            )
        self.resumed = self._resumed_note()
        self.knowledge = Knowledge()
        budgeted = options.search_order == "budgeted"
        self.models_race = ModelRace(mode, len(data)) if budgeted and len(self.space.models) > 1 else None
        self.rechecks = Rechecks(optimization_budget, metric, mode, inference_budget) if budgeted else None
        self._held_back = 0.0  # for re-checking the best configuration so far (see _recheck)
        self._planned_starts: list[dict[str, Any]] = []
        self.trials: list[Trial] = []
        self.refusal: BudgetExceededError | None = None  # the first request the budget could not pay for
        self.ledger = spend.SpendLedger(
            budget=optimization_budget,
            name="optimization budget",
            paid=self.journal.paid,
            unconfirmed=self.journal.unconfirmed,
            listener=self.journal.money,
            first_id=self.journal.next_id,
        )

    def _resumed_note(self) -> str | None:
        """What this run takes over from the journal, in one line (``None`` for a fresh journal)."""
        journal = self.journal
        if not journal.records and journal.paid + journal.unconfirmed == 0:
            return None
        unconfirmed = f" (+{format_usd(journal.unconfirmed, self.budget)} unconfirmed)" if journal.unconfirmed else ""
        return (
            f"resumed {len(journal.records)} trials from {journal.path}, "
            f"{format_usd(journal.paid, self.budget)}{unconfirmed} already paid"
        )

    def run(self) -> Analysis:
        """Search until ``num_samples`` trials, the budget, or the search space is exhausted."""
        seed = self.options.search_seed
        starts = self._starts()
        self._planned_starts = starts or []
        searcher = Suggestions(make_searcher(self.space, self.metric, self.mode, self.budget, seed, starts))
        total = None if self.num_samples == -1 else self.num_samples
        try:
            with (
                self.ledger.activate(),
                ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="ecoptigen-tune") as pool,
                ThreadPoolExecutor(self.options.parallel_trials, thread_name_prefix="ecoptigen-trial") as trial_pool,
                eval_executor(
                    self.options.use_ray,
                    self.options.concurrency,
                    self.options.ray_options,
                    self.evaluator.eval_func,
                    self.options.serial_eval_func,
                ) as executor,
                TuningProgress(total, self.budget, self.metric, self.options.show_progress) as progress,
                run_context.listening(progress.waiting),
            ):
                if self.resumed:
                    logger.info("%s", self.resumed)
                    progress.note(self.resumed)
                self.evaluator.pool, self.evaluator.executor = pool, executor
                stopped = self._search(searcher, trial_pool, progress)
                # A re-check releases the money held back for it: what it leaves goes back to the search.
                while self._may_go_on() and self._recheck_best(self.rechecks, progress):
                    if stopped in (EXHAUSTED, NUM_SAMPLES_DONE) or self._out_of_money():
                        break
                    stopped = self._search(searcher, trial_pool, progress)
        finally:
            self.journal.close()
            self.lock.release()
        logger.info(
            "tuning stopped: %s; paid $%.6f (+$%.6f unconfirmed)", stopped, self.ledger.paid, self.ledger.unconfirmed
        )
        return self._analysis(stopped)

    def _starts(self) -> list[dict[str, Any]] | None:
        """ecoptigen's start points (``None``: FLAML's)."""
        if self.options.search_order == "flaml":
            return None
        evaluator = self.evaluator
        return budgeted_start_points(
            self.space,
            evaluator.price,
            evaluator.prompt_lengths,
            evaluator.max_tokens,
            evaluator.inference_budget,
            self.budget,
            self.options.parallel_trials,
            evaluator.is_chat,
        )

    def _dropped(self, config: dict) -> bool:
        """Whether ``config``'s model was dropped by the model race (see :mod:`~ecoptigen.tuning._models_race`)."""
        race = self.models_race
        return race is not None and str(self.space.params(config).get("model")) in race.dropped

    def _search(self, searcher: Suggestions, trial_pool: Executor, progress: TuningProgress) -> str:
        """Keep up to ``parallel_trials`` trials running; tell their results in trial order.

        Trial ``i + parallel_trials`` is asked for once trial ``i`` is told, and every trial starts from
        what the trials told before it taught, so the sequence of searcher calls -- hence the search --
        depends on the results only, never on which trial happened to finish first.
        """
        running: dict[int, Future] = {}
        next_index, stopped, skipped = len(self.trials), "", 0
        try:
            while True:
                while not stopped and len(running) < self.options.parallel_trials:
                    if self.num_samples != -1 and next_index >= self.num_samples:
                        stopped = NUM_SAMPLES_DONE
                        break
                    config = searcher.suggest(next_index, others_running=bool(running))
                    if config is None:
                        if not running:
                            stopped = EXHAUSTED
                        break
                    if self._dropped(config):
                        # Told back as a failure, at no cost: the searcher moves away from the model.
                        searcher.tell(next_index, {self.metric: self.evaluator.worst, "cost": 0.0, "config": config})
                        skipped += 1
                        if skipped >= MAX_SUGGEST_FAILURES and not running:
                            stopped = "the searcher proposes only models that were dropped (analysis.dropped_models)"
                            break
                        continue
                    skipped = 0
                    config = self._fit_start(searcher, next_index, config)
                    knowledge = copy.deepcopy(self.knowledge)
                    trial = spend.run_in_context(self._run_trial)
                    running[next_index] = trial_pool.submit(trial, next_index, config, knowledge)
                    next_index += 1
                if not running:
                    return stopped or NUM_SAMPLES_DONE
                index = min(running)
                result = result_raised_here(running[index])
                del running[index]
                why = self._take(searcher, index, result, progress)  # every result is told, even after a stop
                stopped = stopped or why
        except KeyboardInterrupt:
            self._interrupted(len(running))
            raise
        finally:
            wait(running.values())  # an error leaves no trial spending unwatched

    def _fit_start(self, searcher: Suggestions, index: int, config: dict) -> dict:
        """A start point of ecoptigen's order with its ``n`` lowered to fit what the trials before it left
        (see :func:`~ecoptigen.tuning._start_points.fit_start_point`); any other config as it is.

        What is left is counted from the trials' costs (cache hits included), not from the ledger, so a
        resumed run fits its start points as the first run did and finds them in the journal.
        """
        if self.budget is None or not any(is_at(point, config) for point in self._planned_starts):
            return config
        left = self.budget - sum(trial.cost for trial in self.trials) - self._held_back
        evaluator = self.evaluator
        fitted = fit_start_point(
            config,
            self.space,
            evaluator.price,
            evaluator.prompt_lengths,
            evaluator.max_tokens,
            left,
            self.options.parallel_trials,
            self.knowledge.shortest_completion,
        )
        if fitted is not config:
            searcher.replace(index, fitted)
            logger.info("start point t%d asks for fewer completions to fit the $%.6f left", index, left)
        return fitted

    def _take(self, searcher: Suggestions, index: int, result: Any, progress: TuningProgress) -> str:
        """Tell the searcher trial ``index``'s result; why the run must stop now, or ``""``."""
        if isinstance(result, (StorageError, RunStopped)):
            searcher.tell(index, None)
            return self._disk_failed()
        if isinstance(result, BudgetExceededError):
            searcher.tell(index, None)
            self.refusal = self.refusal or result
            return "the optimization budget is spent: a request did not fit in what was left"
        self._tell(searcher, index, searcher.config_of(index), result)
        if self.journal.failure is not None:
            return self._disk_failed()
        best = self._analysis("").best_trial
        progress.update(self.ledger.paid, best.metrics[self.metric] if best else None, self.ledger.unconfirmed)
        if self.rechecks is not None and len(self.trials) >= len(self._planned_starts):
            # Nothing is held back before every model has been tried at its start point: at a small budget,
            # holding back for a cheap model's best left the dearest models' start points unaffordable.
            self._held_back = self.rechecks.reserve(best)
        if self._out_of_money():
            streak = self._unaffordable_streak()
            return f"the optimization budget is spent: {streak} configurations in a row did not fit"
        return ""

    def _out_of_money(self) -> bool:
        """Whether the configurations the searcher proposes no longer fit in what is left.

        FLAML's order stops after :data:`UNAFFORDABLE_PATIENCE` in a row. ecoptigen's order goes on
        while what is left could still pay for a full evaluation as cheap as the cheapest one seen of a
        model still racing (up to :data:`UNAFFORDABLE_LIMIT` in a row): BlendSearch's global search
        proposes large ``n`` now and then, and a run stopped by a few of those leaves money unspent
        that its local search could have used. A configuration evaluated on all the data and found over
        the inference budget counts at what one completion per instance cost in it: a smaller ``n`` of
        its model may fit (measured on the math tuning, a model whose only trial was over the inference
        budget was otherwise never affordable, and runs stopped with a quarter of the budget unspent).
        """
        streak = self._unaffordable_streak()
        if streak < UNAFFORDABLE_PATIENCE:
            return False
        if self.options.search_order == "flaml" or streak >= UNAFFORDABLE_LIMIT:
            return True
        costs = [cheapest_like(t, self.space.prune_hp) for t in self.trials if not self._dropped(t.config)]
        known = [cost for cost in costs if cost is not None]
        return not known or min(known) > self._budget_left()

    def _disk_failed(self) -> str:
        """Stop the run after a write of the journal failed: no new request, the trials so far are kept."""
        journal = self.journal
        reason = f"the disk failed: the journal {journal.path} could not be written ({journal.failure_cause})"
        if not self.ledger.stopped:
            self.ledger.stop(reason)
            logger.error("%s", journal.failure)
        return reason

    def _interrupted(self, running: int) -> None:
        """Ctrl-C: refuse every new request at once, and let the ones in flight settle (or their holds stay
        in the journal, which a resume counts)."""
        self.ledger.stop("the tuning was interrupted (Ctrl-C)")
        logger.warning(
            "tuning interrupted: no new request is sent; waiting for the requests of %d running trial(s) to "
            "settle. Run the same call again to resume%s.",
            running,
            f" from {self.journal.path}" if self.journal.path else " (with log_file_name, nothing is lost)",
        )

    def _unaffordable_streak(self) -> int:
        """Unaffordable trials in a row at the end, counting only this run's: trials replayed from the
        journal were unaffordable for the budget of their run, which a resume may have raised."""
        streak = 0
        for trial in reversed(self.trials):
            if trial.status != "unaffordable" or trial.replayed:
                break
            streak += 1
        return streak

    def _budget_left(self) -> float:
        """Dollars left of the budget, counting cache hits as spent, less what is held back for re-checking
        the best configuration so far.

        Counting what cache hits would have cost makes decisions the same whether or not the answers
        were cached, so a re-run on a warm cache takes the same path and pays nothing.
        """
        if self.budget is None:
            return float("inf")
        ledger = self.ledger
        return self.budget - (ledger.committed + ledger.saved_by_cache) - self._held_back + 1e-12

    def _may_go_on(self) -> bool:
        """Whether the run may spend more after its search stopped: ecoptigen's order, and nothing that must
        end the run (the disk failed, Ctrl-C)."""
        return self.rechecks is not None and not self.ledger.stopped and self.journal.failure is None

    def _recheck_best(self, rechecks: Rechecks | None, progress: TuningProgress) -> bool:
        """Re-check the best configuration on fresh completions until the best one is re-checked, cannot
        be paid for, or the re-checks are used up (see :mod:`~ecoptigen.tuning._recheck`).

        Returns:
            Whether a configuration was re-checked (its money then goes back to the search).
        """
        self._held_back = 0.0
        made = False
        while rechecks is not None and (trial := rechecks.candidate(self._analysis("").best_trial)) is not None:
            left = self._budget_left()
            if rechecks.estimate(trial) > left:
                logger.info(
                    "trial t%d is returned without a re-check: it would cost about $%.6f, $%.6f is left",
                    trial.index,
                    rechecks.estimate(trial),
                    left,
                )
                return made
            first = trial.metrics[self.metric]
            try:
                draw = self._draw_again(trial)
            except KeyboardInterrupt:
                self._interrupted(1)
                raise
            if draw is None or not rechecks.merge(trial, draw):
                return made
            made = True
            logger.info(
                "trial t%d re-checked on fresh completions: %s=%s, then %s; %s over both",
                trial.index,
                self.metric,
                first,
                trial.recheck["fresh"]["metrics"].get(self.metric) if trial.recheck else None,
                trial.metrics[self.metric] if trial.status == "ok" else "over the inference budget",
            )
            best = self._analysis("").best_trial
            progress.update(self.ledger.paid, best.metrics[self.metric] if best else None, self.ledger.unconfirmed)
        return made

    def _draw_again(self, trial: Trial) -> Draw | None:
        """Evaluate ``trial``'s configuration again on fresh completions (or replay that from the journal);
        ``None`` when the run must stop (the budget refused a request, the disk failed, Ctrl-C)."""
        record = self.journal.take(trial.config, rechecks=trial.index)
        if record is not None:
            return Draw.from_record(record)
        started = time.monotonic()
        ledger = spend.SpendLedger(name=f"re-check of t{trial.index}")
        try:
            with ledger.activate():
                knowledge = Knowledge(evaluation_cost=trial.cost)
                outcome = self.evaluator.evaluate(trial.config, knowledge, draw=FRESH_DRAW)
        except (BudgetExceededError, StorageError, RunStopped) as exc:
            logger.info("the re-check of trial t%d stopped: %s", trial.index, exc)
            return None
        draw = Draw(
            outcome.status,
            outcome.metrics,
            outcome.inference_cost,
            outcome.cost,
            ledger.paid,
            outcome.measured,
            outcome.scoring,
        )
        record = recheck_record(trial, draw, self.ledger.paid, self.ledger.unconfirmed, time.monotonic() - started)
        with contextlib.suppress(StorageError):  # the trial is kept in memory; the next resume re-checks it
            self.journal.append(record)
        return draw

    def _run_trial(self, index: int, config: dict, knowledge: Knowledge) -> Any:
        """The trial's journal record when it is being replayed, else ``(outcome, paid, seconds)``; the
        :class:`BudgetExceededError` when the budget could not pay for one of its requests (the run ends)."""
        record = self.journal.take(config)
        if record is not None:
            return record
        started = time.monotonic()
        # A ledger of its own (stacked on the tuning's) counts what this trial paid, even when
        # trials run at the same time.
        trial_ledger = spend.SpendLedger(name=f"trial t{index}")
        try:
            with trial_ledger.activate():
                outcome = self.evaluator.evaluate(config, knowledge)
        except (BudgetExceededError, StorageError, RunStopped) as exc:
            logger.info("trial t%d stopped: %s", index, exc)
            return exc
        return outcome, trial_ledger.paid, time.monotonic() - started

    def _tell(self, searcher: Suggestions, index: int, config: dict, result: Any) -> None:
        if isinstance(result, dict):  # replayed from the journal
            trial = replayed_trial(index, result, self.space.params(result["config"]))
            outcome = TrialOutcome(
                trial.status,  # type: ignore[arg-type]  # written by this module: one of the statuses
                trial.metrics,
                trial.inference_cost,
                trial.cost,
                result.get("updates", []),
                result.get("error"),
                result.get("avg_input_tokens"),
            )
        else:
            outcome, paid, seconds = result
            trial = Trial(
                index,
                config,
                self.space.params(config),
                outcome.status,
                outcome.metrics,
                outcome.inference_cost,
                outcome.cost,
                paid,
                self.ledger.paid,
                error=outcome.error,
                seconds=seconds,
                measured=outcome.measured,
                scoring=outcome.scoring,
            )
            # a failed write keeps the trial in memory; the run stops after telling it (journal.failure)
            with contextlib.suppress(StorageError):
                self.journal.append(trial_record(trial, outcome, self.ledger.paid, self.ledger.unconfirmed))
        trial.total_paid = self.ledger.paid if not trial.replayed else trial.total_paid
        self.trials.append(trial)
        self.knowledge.learn(outcome)
        if self.models_race is not None:
            if not self.knowledge.bounded:
                self.models_race.unbounded()
            elif outcome.status == "ok":
                self.models_race.record(str(trial.params.get("model")), outcome.metrics[self.metric])
        told = {self.metric: outcome.metrics[self.metric], "cost": outcome.cost, "config": config}
        searcher.tell(index, told)
        logger.info(
            "trial t%d %s: %s=%s inference_cost=%.6f cost=%.6f | %s",
            index,
            outcome.status,
            self.metric,
            outcome.metrics[self.metric],
            outcome.inference_cost,
            outcome.cost,
            config_summary(config),
        )

    def _analysis(self, stopped: str) -> Analysis:
        return Analysis(
            self.metric,
            self.mode,
            list(self.trials),
            total_cost=self.ledger.paid,
            unconfirmed_cost=self.ledger.unconfirmed,
            saved_by_cache=self.ledger.saved_by_cache,
            budget=self.budget,
            stopped_because=stopped,
            inference_budget=self.evaluator.inference_budget,
            dropped_models=dict(self.models_race.dropped) if self.models_race else {},
            rows=len(self.data),
            tie_break="completions" if self.options.search_order == "budgeted" else "first",
        )


def cheapest_like(trial: Trial, prune_hp: str = "n") -> float | None:
    """What a full evaluation like ``trial`` is known to cost at the least: an ``ok`` trial's cost; for one
    evaluated on all the data and found over the inference budget, its cost per completion asked
    (``prune_hp``: ``n`` or ``best_of``); else ``None`` (nothing known).

    Example:
        >>> over = Trial(0, {}, {"model": "m", "n": 4}, "over_budget", {}, float("inf"), 0.2, 0.2, 0.2, measured={})
        >>> cheapest_like(over), cheapest_like(Trial(1, {}, {"n": 4}, "beaten", {}, float("inf"), 0.1, 0.1, 0.3))
        (0.05, None)
    """
    if trial.status == "ok":
        return trial.cost
    if trial.status == "over_budget" and trial.measured is not None:
        return trial.cost / max(int(trial.params.get(prune_hp) or 1), 1)
    return None
