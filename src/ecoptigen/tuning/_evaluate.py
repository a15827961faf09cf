"""Evaluating one configuration on the tuning data, with EcoOptiGen's cost-based pruning.

Requests for the data instances of one step go out concurrently on the tuner's thread pool; decisions
are taken only between steps and results are gathered in data order, so for a given server and cache a
trial's outcome does not depend on the number of threads. How an instance's completions are gathered
(growing ``n``, and stopping once a prefix decides eval_func's result) is in
:mod:`~ecoptigen.tuning._samples`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from ecoptigen.client import extract_text_or_function_call, request_prompt_tokens, request_worst_case
from ecoptigen.errors import ConfigurationError, EcoptigenError, EvalFuncError, RetryableError
from ecoptigen.money import catalog as models
from ecoptigen.money import prices as pricing
from ecoptigen.tuning._executors import EvalExecutor, ThreadEvalExecutor
from ecoptigen.tuning._forecast import cannot_start, request_costs, tight
from ecoptigen.tuning._logs import RunLogger
from ecoptigen.tuning._outcome import Knowledge, Status, TrialOutcome
from ecoptigen.tuning._pruning import (
    budget_verdict,
    hoeffding_serfling_ratio,
    plan_start,
    target_output_tokens,
)
from ecoptigen.tuning._racing import Beaten, Race, best_update, in_unit_interval
from ecoptigen.tuning._samples import Samples, next_round, prefix_rule
from ecoptigen.tuning._scores import aggregate_metrics, check_result, number, public, short
from ecoptigen.tuning._scoring import Scoring
from ecoptigen.tuning._space import SearchSpace
from ecoptigen.tuning._steps import StepBudget, Unaffordable, call_all, waiting_for_money

__all__ = ["TrialEvaluator"]

logger = RunLogger("ecoptigen.tuning")


class TrialEvaluator:
    """Evaluates configurations of one tuning. Thread-safe: it holds no per-trial state, and the requests
    (and eval_func calls) of a trial run on ``pool``.

    Args:
        create: ``create(context, cache_salt=..., **params)`` returning a response dict.
        space: the normalised search space.
        data: the tuning data.
        eval_func: ``eval_func(responses, **instance) -> dict``.
        metric: the key of eval_func's result to optimize; mode: ``"min"`` or ``"max"``.
        inference_budget: dollars per instance, or ``None`` for no pruning.
        price_table: USD per 1K tokens by model.
        pool: where requests (and eval_func, unless ``serial_eval``) run; ``None`` runs everything inline.
        serial_eval: call eval_func on the tuner's thread, one instance after another.
        chat: whether requests go to the chat endpoint (for the default ``max_tokens``).
        budget_left: dollars left of the optimization budget, counting cache hits as spent (see
            :class:`StepBudget`); a request that cannot be afforded ends the trial as ``unaffordable``.
    """

    def __init__(
        self,
        create: Callable[..., dict],
        space: SearchSpace,
        data: list[dict],
        eval_func: Callable[..., dict],
        metric: str,
        mode: str,
        inference_budget: float | None,
        price_table: dict,
        pool: Executor | None,
        serial_eval: bool = False,
        chat: bool = False,
        budget_left: Callable[[], float] | None = None,
    ):
        self.create, self.space, self.data, self.eval_func = create, space, data, eval_func
        self.metric, self.mode, self.inference_budget = metric, mode, inference_budget
        self.price_table, self.pool, self.serial_eval, self.chat = price_table, pool, serial_eval, chat
        self.budget_left = budget_left or (lambda: math.inf)
        # Where eval_func runs when not on ``pool`` (e.g. Ray tasks); set by the tuner for a run.
        self.executor: EvalExecutor | None = None
        self._prompts: dict[tuple, list[int]] = {}  # counted prompt tokens per (model, prompt choice)
        self._prefix_rule = prefix_rule(eval_func) if space.prune_hp == "n" else None

    @property
    def worst(self) -> float:
        """The metric value of a configuration that must not win."""
        return -math.inf if self.mode == "max" else math.inf

    def price(self, params: dict) -> pricing.Price:
        """The price of the config's model (validated before tuning).

        Raises:
            ConfigurationError: the model has no price.
        """
        price = pricing.resolve_price(params["model"], params.get("price"), self.price_table)
        if price is None:
            raise ConfigurationError(f"model {params['model']!r} has no price")
        return price

    def is_chat(self, params: dict) -> bool:
        """Whether a config's ``create`` arguments go to the chat endpoint."""
        return self.chat or models.endpoint_kind(params["model"]) == "chat"

    def max_tokens(self, params: dict) -> float:
        """The completion-length limit of a config for pruning (FLAML: 16 on the completions endpoint,
        unbounded for chat)."""
        requested = pricing.requested_limit(params)
        if requested:
            return float(requested)
        return math.inf if self.is_chat(params) else float(pricing.COMPLETIONS_DEFAULT_MAX_TOKENS)

    def evaluate(self, config: dict, knowledge: Knowledge, draw: str | None = None) -> TrialOutcome:
        """Evaluate one search config, given what earlier trials taught; see the module docstring.
        ``draw``: draw completions of its own, not those cached by an earlier evaluation of ``config``
        (see :class:`~ecoptigen.tuning._samples.Samples`).

        Raises:
            BudgetExceededError: the optimization budget cannot pay for a request (the tuning ends).
            ConfigurationError: eval_func's result lacks the metric.
        """
        params = self.space.params(config)
        samples = [Samples(draw=draw) for _ in self.data]
        outcome = self._evaluate(config, params, knowledge, samples)
        # What every trial teaches, however it ended: whether the metric stayed in [0, 1] (for racing)
        # and how long completions are (for forecasts).
        scored = [number(s.result[self.metric]) for s in samples if s.result is not None]
        if not all(in_unit_interval(value or 0.0) for value in scored):
            outcome.updates.append(["unbounded"])
        seen = sum(s.have for s in samples)
        if seen:
            outcome.updates.append(["completion_tokens", sum(s.output_tokens for s in samples) / seen])
        outcome.scoring = Scoring.of(
            [value or 0.0 for value in scored],
            samples=sum(s.have for s in samples if s.result is not None),
            answered=sum(1 for s in samples if s.have),
        )
        return outcome

    def _evaluate(self, config: dict, params: dict, knowledge: Knowledge, samples: list[Samples]) -> TrialOutcome:
        region = self.space.region_key(config)
        config_n = int(params.get(self.space.prune_hp) or 1)
        max_tokens = self.max_tokens(params)
        price = self.price(params)
        target = self._target(price, knowledge.avg_input_tokens)
        prune = self.inference_budget is not None
        plan = plan_start(config_n, max_tokens, knowledge.regions, region, target) if prune else None
        if plan is not None and plan.pruned:
            return TrialOutcome("pruned", {self.metric: self.worst}, math.inf, 0.0)
        updates: list[list[Any]] = []
        if self._cannot_start(params, region, config_n, knowledge.shortest_completion):
            why = "even completions as short as the shortest seen would cost more than the budget has left"
            return TrialOutcome("unaffordable", {self.metric: self.worst}, math.inf, 0.0, updates, why)
        # Without a target (FLAML learns the prompt length from the first full evaluation) no early
        # verdict is possible, so growing n and the data would only add rounds of waiting: go straight
        # to the config's n on all the data (after one instance if the budget might not pay for all of
        # it). The measured inference cost is still checked at the end.
        grow = prune and target is not None
        n = plan.start_n if plan and grow else config_n
        race = knowledge.race(self.mode, len(self.data))
        try:
            while True:
                racing = race if n == config_n else None
                verdict = self._grow_data(params, samples, n, config_n, target, grow, racing, knowledge.evaluation_cost)
                if verdict == "over":
                    return self._over(samples, updates, region, max_tokens, n, "over the inference budget")
                if verdict == "under":
                    self._learn(updates, "valid", region, max_tokens, n)
                if n == config_n:
                    break
                n = min(2 * n, config_n)
        except RetryableError as exc:
            return self._over(samples, updates, region, max_tokens, n, f"requests kept failing: {exc}", "error")
        except Unaffordable as exc:
            cost = sum(s.cost for s in samples)
            return TrialOutcome("unaffordable", {self.metric: self.worst}, math.inf, cost, updates, str(exc))
        except Beaten as lost:
            scored = [s.result for s in samples if s.result is not None]
            metrics = aggregate_metrics(scored, self.metric)  # type: ignore[arg-type]
            return TrialOutcome("beaten", metrics, math.inf, sum(s.cost for s in samples), updates, str(lost))
        return self._finish(params, samples, updates, price, region, max_tokens, config_n)

    def prompt_lengths(self, params: dict, region: tuple) -> list[int]:
        """Each data instance's prompt tokens with these ``params``, as the engine counts them (remembered
        per model and prompt choice)."""
        key = tuple(region[:2])
        if key not in self._prompts:
            self._prompts[key] = [self._prompt_tokens(params, instance) for instance in self.data]
        return self._prompts[key]

    def _cannot_start(self, params: dict, region: tuple, config_n: int, shortest: float | None) -> bool:
        left = self.budget_left()
        if shortest is None or math.isinf(left):
            return False
        price = self.price(params)
        prompts = self.prompt_lengths(params, region)
        lowest = request_costs((price.input, price.output), prompts, [config_n] * len(prompts), shortest)
        return cannot_start(lowest, left)

    def _target(self, price: pricing.Price, avg_input_tokens: float | None) -> float | None:
        if self.inference_budget is None or avg_input_tokens is None:
            return None
        return target_output_tokens(self.inference_budget, avg_input_tokens, (price.input, price.output))

    def _grow_data(
        self,
        params: dict,
        samples: list[Samples],
        n: int,
        config_n: int,
        target: float | None,
        prune: bool,
        race: Race | None = None,
        evaluation_cost: float | None = None,
    ) -> str:
        """Bring instances to ``n`` completions on 1, 2, 4, ... instances until a verdict is clear; with a
        ``race`` (at the config's own ``n``), score each step's instances and stop once it is lost.

        Raises:
            Beaten: the race is lost.
        """
        total = len(self.data)
        limit, done = (1 if prune or self._risky(params, samples, n) else total), 0
        if race is not None:
            limit = race.next_limit(0, limit)
        while True:
            self._fill(params, samples, range(done, limit), n, config_n)
            average = sum(s.output_tokens_at(n) for s in samples[:limit]) / limit
            verdict = budget_verdict(average, target, hoeffding_serfling_ratio(limit, total))
            if verdict == "over":
                return verdict
            close_to_the_end = self._check_finishable(params, samples, limit, config_n, evaluation_cost)
            if race is not None:
                self._score(params, samples, range(done, limit), race)
            if verdict == "under" and (n < config_n or limit == total):
                return verdict
            if limit == total:
                return "unsure"
            # Surely under budget at the config's own n: every instance will be needed, and the
            # Hoeffding-Serfling bound makes a later "over" unlikely, so fetch the rest in one round
            # (in a race, or close to the end of the budget, in growing batches).
            needed = verdict == "under" or target is None  # no verdict can come: every instance is needed
            planned = total if needed and not close_to_the_end else min(2 * limit, total)
            done, limit = limit, planned if race is None else race.next_limit(limit, planned)

    def _score(self, params: dict, samples: list[Samples], indices: range, race: Race) -> None:
        """Run eval_func on ``indices`` and record their metric in the race.

        Raises:
            Beaten: the trial can no longer beat the best configuration so far.
        """
        self._run_eval_func(params, samples, list(indices))
        for i in indices:
            race.record(i, float(number(samples[i].result[self.metric])))  # type: ignore[index,arg-type]
        if race.beaten():
            raise Beaten(race)

    def _risky(self, params: dict, samples: list[Samples], n: int) -> bool:
        """Whether the worst cases of bringing every instance to ``n`` completions exceed what is left."""
        left = self.budget_left()
        if math.isinf(left):
            return False
        worst = (self.worst_case(params, self.data[i], s.missing(n)) for i, s in enumerate(samples) if s.missing(n))
        return sum(worst) > left

    def _check_finishable(
        self, params: dict, samples: list[Samples], seen: int, config_n: int, evaluation_cost: float | None = None
    ) -> bool:
        """Stop a trial whose completion, at the prompt and completion lengths seen so far, is expected to
        cost more than the optimization budget has left: it would end unaffordable anyway, after
        spending what is left on a configuration that gets no result. ``evaluation_cost``: what a whole
        evaluation of this configuration is known to cost (a re-check's first evaluation): the forecast
        is scaled to it, since it counts what the prefix rule saved, which the forecast cannot.

        Returns:
            Whether finishing fits only narrowly (see :func:`~ecoptigen.tuning._forecast.tight`): the rest
            of the data then comes in doubling steps, each checked again with what it taught.

        Raises:
            Unaffordable: finishing is expected to cost more than is left.
        """
        left = self.budget_left()
        missing = [s.missing(config_n) for s in samples]
        if math.isinf(left) or not any(missing):
            return False
        done = samples[:seen]
        per_completion = sum(s.output_tokens for s in done) / max(sum(s.have for s in done), 1)
        prompt = sum(s.prompt_tokens or 0 for s in done) / seen
        price = self.price(params)
        expected = request_costs((price.input, price.output), [prompt] * len(samples), missing, per_completion)
        if evaluation_cost is not None and sum(expected) > 0:
            remaining = max(evaluation_cost - sum(s.cost for s in samples), 0.0)
            expected = [cost * remaining / sum(expected) for cost in expected]
        if sum(expected) > left:
            raise Unaffordable(f"finishing is expected to cost ${sum(expected):.6f}; the budget has ${left:.6f} left")
        last = max(i for i, count in enumerate(missing) if count)
        return tight(expected, self.worst_case(params, self.data[last], missing[last]), left)

    def _fill(self, params: dict, samples: list[Samples], indices: range, n: int, config_n: int) -> None:
        """Bring the instances ``indices`` to ``n`` completions; at the config's own ``n``, with an eval_func
        whose result a prefix can decide, in rounds that stop buying for an instance once it is decided."""
        todo = [i for i in indices if samples[i].missing(n)]
        rule = self._prefix_rule if n == config_n else None
        while todo:
            want = {i: next_round(samples[i].have, n) if rule else n for i in todo}
            self._request(params, samples, todo, want)
            if rule is None:
                return
            deciding = [i for i in todo if samples[i].have < n]
            results = self._results(params, samples, deciding)
            for i, result in zip(deciding, results, strict=True):
                if rule(result, samples[i].have, n):
                    samples[i].result, samples[i].decided = result, True
            todo = [i for i in deciding if not samples[i].decided]

    def _request(self, params: dict, samples: list[Samples], todo: list[int], want: dict[int, int]) -> None:
        """One round of requests: instance ``i`` of ``todo`` asks for what it lacks of ``want[i]`` completions."""
        hp = self.space.prune_hp
        worst = [self.worst_case(params, self.data[i], want[i] - samples[i].have) for i in todo]
        step = StepBudget(self.budget_left(), worst)

        def request(position: int) -> dict:
            i = todo[position]
            have, salt = samples[i].have, samples[i].salt()
            step.admit(position)
            send = waiting_for_money(
                lambda _: self.create(self.data[i], cache_salt=salt, **{**params, hp: want[i] - have})
            )
            try:
                response = send(position)
            except BaseException:
                step.done(position, math.inf)
                raise
            step.done(position, float(response.get("cost") or 0.0))
            return response

        responses = call_all(self.pool, request, list(range(len(todo))))
        for i, response in zip(todo, responses, strict=True):
            usage = response.get("usage") or {}
            entry = samples[i]
            entry.responses.extend(extract_text_or_function_call(response))
            entry.have = want[i]
            entry.output_tokens += int(usage.get("completion_tokens", 0) or 0)
            if entry.prompt_tokens is None:
                entry.prompt_tokens = int(usage.get("prompt_tokens", 0) or 0)
            entry.cost += float(response.get("cost") or 0.0)

    def worst_case(self, params: dict, instance: dict, n: int) -> float:
        """The most one request for ``n`` completions can cost: the engine's own worst case for it."""
        request = {**params, self.space.prune_hp: n}
        return request_worst_case(instance, request, chat=self.chat, price_table=self.price_table)

    def _prompt_tokens(self, params: dict, instance: dict) -> int:
        return request_prompt_tokens(instance, params, chat=self.chat)

    @staticmethod
    def _learn(updates: list, kind: str, region: tuple, max_tokens: float, n: int) -> None:
        updates.append([kind, list(region), max_tokens, n])

    def _over(
        self,
        samples: list[Samples],
        updates: list,
        region: tuple,
        max_tokens: float,
        n: int,
        why: str,
        status: Status = "over_budget",
    ) -> TrialOutcome:
        if self.inference_budget is not None:
            self._learn(updates, "invalid", region, max_tokens, n)
        cost = sum(s.cost for s in samples)
        return TrialOutcome(status, {self.metric: self.worst}, math.inf, cost, updates, why)

    def _finish(
        self,
        params: dict,
        samples: list[Samples],
        updates: list,
        price: pricing.Price,
        region: tuple,
        max_tokens: float,
        config_n: int,
    ) -> TrialOutcome:
        results = self._run_eval_func(params, samples, list(range(len(samples))))
        metrics = aggregate_metrics(results, self.metric)
        # Priced at the full input price: how much of a prompt a deployment gets from the provider's
        # cache depends on its traffic, so the estimate does not count on it.
        # An instance decided with fewer completions is priced at the config's n: what a deployment pays.
        per_instance = [
            pricing.cost_per_1k(s.prompt_tokens or 0, price.input, s.output_tokens_at(config_n), price.output)
            for s in samples
        ]
        inference_cost = sum(per_instance) / len(samples)
        avg_input_tokens = sum(s.prompt_tokens or 0 for s in samples) / len(samples)
        if self.inference_budget is not None and inference_cost > self.inference_budget:
            outcome = self._over(samples, updates, region, max_tokens, config_n, "over the inference budget")
            outcome.metrics = {**metrics, self.metric: self.worst}
            outcome.measured = {**metrics, "inference_cost": inference_cost}
        else:
            updates.append(best_update(metrics[self.metric], self.mode))
            outcome = TrialOutcome("ok", metrics, inference_cost, sum(s.cost for s in samples), updates)
        outcome.avg_input_tokens = avg_input_tokens
        return outcome

    def _run_eval_func(self, params: dict, samples: list[Samples], indices: list[int]) -> list[dict]:
        """eval_func's results on ``indices``, each instance evaluated once (kept in its samples)."""
        todo = [i for i in indices if samples[i].result is None]
        for i, result in zip(todo, self._results(params, samples, todo), strict=True):
            samples[i].result = result
        return [samples[i].result for i in indices]  # type: ignore[misc]

    def _results(self, params: dict, samples: list[Samples], rows: list[int]) -> list[dict]:
        """eval_func's results on ``rows`` (ascending), with their responses so far; row 0 alone first, so
        that an unusable result is reported before eval_func runs (and spends) on the rest."""
        executor = self._eval_executor()
        if len(rows) > 1 and rows[0] == 0:
            first = self._call_eval_func(executor, params, samples, [0])
            return first + self._call_eval_func(executor, params, samples, rows[1:])
        return self._call_eval_func(executor, params, samples, rows)

    def _eval_executor(self) -> EvalExecutor:
        return self.executor or ThreadEvalExecutor(None if self.serial_eval else self.pool)

    def _call_eval_func(
        self, executor: EvalExecutor, params: dict, samples: list[Samples], rows: list[int]
    ) -> list[dict]:
        """eval_func on ``rows`` through ``executor``; every result checked, a failure named by its row."""
        if not rows:
            return []
        try:
            results = executor.map(self.eval_func, [(samples[row].responses, self.data[row]) for row in rows])
        except EcoptigenError:
            raise  # budget and configuration errors of requests eval_func makes say what to do themselves
        except Exception as exc:
            row = rows[getattr(exc, "call_index", 0)]
            raise EvalFuncError(
                f"eval_func raised {type(exc).__name__}: {exc} on data row {row} with config "
                f"{short(public(params))}. Fix it and run the same tune call again: the answers already "
                "paid for are in the response cache and finished trials in log_file_name, so they are "
                "not paid again.",
                row,
                public(params),
            ) from exc
        return [check_result(result, self.metric, row, params) for row, result in zip(rows, results, strict=True)]
