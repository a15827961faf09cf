"""The frontier of a setting: held-out success against dollars per instance, over the space's configurations.

Every configuration is measured directly on the held-out rows, on one simulated endpoint (latency 0,
seed ``SCREEN_SEED``). An *arm* is a model, a prompt, a stop and a temperature; it is requested once
per row at its largest ``n`` and ``max_tokens``, and every smaller configuration is scored from that
answer, exactly:

* ``n``: eval_func (selection by generated assertions) keeps the first response that passes the
  assertions, else the last one, so its result on the first ``k`` responses is known from the index of
  the first response passing the assertions and the test verdicts of the responses before it; the
  dollars of ``k`` responses are the prompt's plus the first ``k`` responses' output tokens. The
  simulated responses of one request are independent draws, so the first ``k`` of a larger request
  are distributed as ``k`` requested alone.
* ``max_tokens``: the endpoint draws an answer whatever ``max_tokens`` and then cuts it to
  ``max_tokens`` tokens; an answer cut here the same way is the one a smaller request would get.
* ``top_p``: the endpoint folds top_p into one effective temperature, so the temperature grid covers it.

The math setting scores prefixes the same way, by voting over them (``_frontier_math.py``).

The grid is screened in two stages (``_quality_settings.Grid``): every prompt and stop of each model at
one temperature and a small ``n`` (at the largest ``max_tokens`` only), then each model's best
prompt/stop pair (and, if the grid says so, its second best) over temperatures at the model's largest
``n`` and every ``max_tokens`` of the grid; plus every prompt and stop greedily (temperature 0, ``n``
1). Models that score nothing (``Grid.screen_only``) are screened with one prompt, with and without
the stop. Each arm's scores are kept on disk as soon as they are measured. The best candidates within
the inference budget are then confirmed with ``test()`` (of the setting's ``oai`` class) on two simulator
seeds (``CONFIRM_SEEDS``): screening the best of many noisy scores overstates the winner, ``test()`` on
fresh samples does not. Where the grid says so (``Grid.prefix_checks``), configurations not chosen by their
score are measured with ``test()`` too, so the scores on prefixes can be compared with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import _frontier_math
from _held_out import HeldOut, fingerprint
from _quality_settings import Setting
from _sim_stats import SimWithStats

SCREEN_SEED = 41
CONFIRM_SEEDS = (41, 42)


@dataclass(frozen=True)
class Arm:
    """A model, prompt (index), stop (index) and temperature, requested at ``n`` and ``max_tokens``."""

    model: str
    prompt: int
    stop: int
    temperature: float
    n: int
    max_tokens: int

    def name(self) -> str:
        """A short readable id."""
        return f"{self.model}|p{self.prompt}|s{self.stop}|T{self.temperature:g}|n{self.n}"

    def config(self, setting: Setting, n: int, max_tokens: int) -> dict[str, Any]:
        """The ``create`` arguments of the arm at ``n`` and ``max_tokens`` (no ``stop`` where none is searched)."""
        config = {"model": self.model, "prompt": setting.prompts[self.prompt]}
        if setting.stops is not None:
            config["stop"] = setting.stops[self.stop]
        return {**config, "temperature": self.temperature, "max_tokens": max_tokens, "n": n}


def _price(model: str) -> tuple[float, float]:
    """Dollars per 1K input and output tokens, from ecoptigen's price table (what test() charges)."""
    from ecoptigen import oai

    price = oai.Completion.price1K[model]
    return (float(price), float(price)) if isinstance(price, (int, float)) else (float(price[0]), float(price[1]))


def _cut(text: str, model: str, max_tokens: int) -> tuple[str, int]:
    """``text`` cut to ``max_tokens`` tokens as the endpoint cuts it, and the tokens it bills."""
    try:
        from ecoptigen.money import tokens
    except ImportError:  # before the restructure of issue 23
        from ecoptigen import tokens  # type: ignore[no-redef,attr-defined]

    encoding = tokens.encoding_for(model)
    ids = encoding.encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text, len(ids)
    return encoding.decode(ids[:max_tokens]), max_tokens


def _code_row_scores(row: dict, assertions: str | None, texts: list[str], model: str, limits: tuple[int, ...]):
    return _row_scores(row, cast(str, assertions), texts, model, limits)


def _math_row_scores(row: dict, assertions: str | None, texts: list[str], model: str, limits: tuple[int, ...]):
    return _frontier_math.row_scores(row, texts, model, limits)


def _test_verdict(row: dict, text: str) -> bool:
    from ecoptigen.code_utils import eval_function_completions

    return bool(eval_function_completions([text], **row)["success"])


def _row_scores(row: dict, assertions: str, texts: list[str], model: str, max_tokens: tuple[int, ...]) -> dict:
    """One row of an arm: per ``max_tokens``, the output tokens of each response, the index of the first
    passing the assertions (``None``: none does) and the test verdicts needed to score every prefix."""
    from ecoptigen.code_utils import eval_function_completions

    judged: dict[str, bool] = {}
    selected: dict[tuple[str, ...], int | None] = {}  # answers no max_tokens cuts are judged once
    found: dict[str, dict] = {}
    for limit in sorted(max_tokens, reverse=True):
        cut = [_cut(text, model, limit) for text in texts]
        programs = [c[0] for c in cut]
        if len(programs) == 1:
            first = None
        elif tuple(programs) in selected:
            first = selected[tuple(programs)]
        else:
            result = eval_function_completions(programs, assertions=assertions, **row)
            first = result["index_selected"] if result["succeed_assertions"] else None
            selected[tuple(programs)] = first
            if first is not None:
                judged.setdefault(programs[first], bool(result["success"]))
        needed = range(len(programs)) if first is None else range(first + 1)
        verdicts = []
        for index in needed:
            if programs[index] not in judged:
                judged[programs[index]] = _test_verdict(row, programs[index])
            verdicts.append(judged[programs[index]])
        found[str(limit)] = {"tokens": [c[1] for c in cut], "first": first, "verdicts": verdicts}
    return found


def score_prefixes(row_scores: list[dict], prompt_tokens: list[int], price: tuple[float, float], n: int, limit: int):
    """Mean held-out success and dollars per instance of the arm at ``n`` and ``max_tokens`` ``limit``."""
    success, dollars = 0.0, 0.0
    for scores, prompt in zip(row_scores, prompt_tokens, strict=True):
        at = scores[str(limit)]
        first, verdicts = at["first"], at["verdicts"]
        success += verdicts[first] if first is not None and first < n else verdicts[n - 1]
        dollars += (prompt * price[0] + sum(at["tokens"][:n]) * price[1]) / 1000
    return success / len(row_scores), dollars / len(row_scores)


# Per task: an arm's row scores from its responses (and the row's generated assertions), and the score of
# a prefix of ``n`` responses cut to a ``max_tokens``.
_SCORING = {
    "humaneval": (_code_row_scores, score_prefixes),
    "math": (_math_row_scores, _frontier_math.score_prefixes),
}


class Screen:
    """Measures arms on the held-out rows against one simulated endpoint; keeps each arm's scores on disk."""

    def __init__(self, setting: Setting, rows: list[dict], folder: Path, workers: int = 4):
        self.setting = setting
        self.rows = rows
        self.workers = workers
        tag = hashlib.sha256(json.dumps([setting.name, len(rows), SCREEN_SEED]).encode()).hexdigest()[:8]
        self.folder = folder / f"screen-{fingerprint(include_search=False)}-{tag}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sim: SimWithStats | None = None
        self._assertions: list[str | None] | None = None
        self.measured_seconds = 0.0

    def _connect(self) -> list[str | None]:
        """Point the client at the endpoint; the generated assertions of each row (the same test() uses; none
        for math)."""
        from ecoptigen.code_utils import generate_assertions

        if self._sim is None:
            self._sim = SimWithStats(latency=0.0, seed=SCREEN_SEED)
        os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = self._sim.base_url, "sk-sim-screen"
        self.setting.task.api().set_cache(seed=41, cache_path_root=str(self.folder / "cache"))
        if self._assertions is None and self.setting.task.name == "math":
            self._assertions = [None] * len(self.rows)
        if self._assertions is None:
            with ThreadPoolExecutor(self.workers) as pool:
                self._assertions = [a for a, _ in pool.map(lambda r: generate_assertions(r["definition"]), self.rows)]
        return self._assertions

    def arm(self, arm: Arm, every_max_tokens: bool = True) -> dict:
        """The arm's per-row scores (measured now, or read back); at the grid's every ``max_tokens`` up to the
        arm's, or only at the arm's own."""
        path = self.folder / (
            hashlib.sha256(arm.name().encode() + str(arm.max_tokens).encode()).hexdigest()[:16] + ".json"
        )
        if path.exists():
            return json.loads(path.read_text())
        api = self.setting.task.api()
        row_scores = _SCORING[self.setting.task.name][0]
        started = time.perf_counter()
        assertions = self._connect()
        limits = tuple(m for m in self.setting.grid.max_tokens if m <= arm.max_tokens and every_max_tokens)
        limits = limits or (arm.max_tokens,)
        config = arm.config(self.setting, arm.n, arm.max_tokens)

        def one(index: int) -> tuple[int, dict]:
            response = cast(dict, api.create(self.rows[index], raise_on_ratelimit_or_timeout=True, **config))
            texts = cast(list, api.extract_text(response))
            scores = row_scores(self.rows[index], assertions[index], texts, arm.model, limits)
            return int(response["usage"]["prompt_tokens"]), scores

        with ThreadPoolExecutor(self.workers) as pool:
            measured = list(pool.map(one, range(len(self.rows))))
        found: dict[str, Any] = {
            "arm": arm.__dict__,
            "limits": list(limits),
            "prompt_tokens": [m[0] for m in measured],
            "rows": [m[1] for m in measured],
            "seconds": time.perf_counter() - started,
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(found))
        temporary.replace(path)
        self.measured_seconds += found["seconds"]
        return found

    def close(self) -> None:
        """Stop the simulated endpoint."""
        if self._sim is not None:
            self._sim.close()
            self._sim = None


def curves(setting: Setting, found: dict) -> list[dict]:
    """Every configuration of an arm: ``n`` from 1 to the arm's, at each ``max_tokens`` scored."""
    arm = Arm(**found["arm"])
    price = _price(arm.model)
    score = _SCORING[setting.task.name][1]
    points = []
    for limit in found["limits"]:
        for n in range(1, arm.n + 1):
            success, dollars = score(found["rows"], found["prompt_tokens"], price, n, limit)
            points.append({"config": arm.config(setting, n, limit), "success": success, "dollars": dollars})
    return points


def best_within(points: list[dict], budget: float) -> dict | None:
    """The point of highest success costing at most ``budget`` (ties: the cheapest)."""
    within = [p for p in points if p["dollars"] <= budget]
    return max(within, key=lambda p: (p["success"], -p["dollars"])) if within else None


def pareto(points: list[dict]) -> list[dict]:
    """The points no other point beats on both success and dollars, cheapest first."""
    frontier: list[dict] = []
    for point in sorted(points, key=lambda p: (p["dollars"], -p["success"])):
        if not frontier or point["success"] > frontier[-1]["success"] + 1e-12:
            frontier.append(point)
    return frontier


def plan(setting: Setting, screen: Callable[..., dict], log: Callable[[str], None], quick: bool) -> list[dict]:
    """Screen the setting's grid in two stages; returns every arm's measurements (the first stage's at the
    largest ``max_tokens`` only, the second's at every ``max_tokens`` of the grid)."""
    grid = setting.grid
    top = max(grid.max_tokens)
    pairs = [(p, s) for p in range(len(setting.prompts)) for s in range(len(setting.stops or [None]))]
    found = []
    ranked: dict[str, list[tuple[float, tuple[int, int]]]] = {}
    for model in setting.grid_models:
        # A model screened only (it scores nothing) gets one prompt with and without a stop.
        for prompt, stop in pairs[:1] if quick else pairs[2:4] if model in grid.screen_only else pairs:
            for temperature, n in ((0.0, 1), (grid.screen_temperature, grid.screen_n)):
                measured = screen(Arm(model, prompt, stop, temperature, n, top), every_max_tokens=quick)
                found.append(measured)
                if temperature:
                    best = best_within(curves(setting, measured), setting.inference_budget)
                    ranked.setdefault(model, []).append((best["success"] if best else -1.0, (prompt, stop)))
                log(f"screened {Arm(**measured['arm']).name()} ({measured['seconds']:.0f} s)")
    for model, scores in ranked.items():
        if model in grid.screen_only or quick:
            continue
        order = [pair for _, pair in sorted(scores, key=lambda s: -s[0])]
        more = () if model in grid.one_temperature else grid.temperatures
        stages = [(order[0], (grid.screen_temperature, *more))]
        if len(order) > 1 and grid.runner_up_temperatures:
            stages.append((order[1], grid.runner_up_temperatures))
        for (prompt, stop), temperatures in stages:
            for temperature in temperatures:
                measured = screen(Arm(model, prompt, stop, temperature, grid.n_max[model], top))
                found.append(measured)
                log(f"screened {Arm(**measured['arm']).name()} ({measured['seconds']:.0f} s)")
    return found


def confirm(setting: Setting, arms: list[dict], held_out: HeldOut, how_many: int, log: Callable[[str], None]) -> dict:
    """Confirm the best candidates within the inference budget with ``test()`` on ``CONFIRM_SEEDS``.

    A candidate is the best ``n`` of an arm at a ``max_tokens`` (so the candidates differ in more than
    ``n``); the best configuration is the candidate of highest mean ``test()`` success whose ``test()``
    dollars per instance stay within the inference budget on every seed.
    """
    candidates = []
    for found in arms:
        arm = Arm(**found["arm"])
        arm_points = curves(setting, found)
        for limit in found["limits"]:
            points = [p for p in arm_points if p["config"]["max_tokens"] == limit]
            best = best_within(points, setting.inference_budget)
            if best is not None:
                candidates.append({**best, "arm": arm.name()})
    candidates.sort(key=lambda c: (-c["success"], c["dollars"]))
    chosen: list[dict] = []
    for candidate in candidates:
        if len(chosen) == how_many:
            break
        # The same arm at a larger max_tokens that cuts nothing is the same configuration in effect.
        if any(c["arm"] == candidate["arm"] and c["success"] == candidate["success"] for c in chosen):
            continue
        tests = {str(seed): held_out.measure(candidate["config"], seed) for seed in CONFIRM_SEEDS}
        successes = [t[setting.task.metric] for t in tests.values()]
        within = all(t["inference_cost"] <= setting.inference_budget for t in tests.values())
        chosen.append(
            {
                **candidate,
                "test": tests,
                "test_success_mean": sum(successes) / len(successes),
                "test_within_budget": within,
            }
        )
        log(
            f"confirmed {candidate['arm']} max_tokens {candidate['config']['max_tokens']} n {candidate['config']['n']}:"
            f" screened {candidate['success']:.3f}, test() {successes}"
        )
    eligible = [c for c in chosen if c["test_within_budget"]]
    best = max(eligible, key=lambda c: (c["test_success_mean"], -c["dollars"])) if eligible else None
    return {"candidates": chosen, "best": best}


def prefix_checks(setting: Setting, arms: list[dict], held_out: HeldOut, log: Callable[[str], None]) -> list[dict]:
    """The score on a prefix against ``test()`` at that ``n`` (``Grid.prefix_checks``), on the first confirm seed.

    For each model, its arm at the screening temperature of largest ``n``, at the largest ``max_tokens``:
    configurations not chosen by their score, so the score on a prefix and ``test()`` on fresh samples
    differ by sampling noise only (``z``: the difference over its standard error) if scoring prefixes is right.
    """
    checks = []
    for model in setting.grid_models:
        mine = [
            found
            for found in arms
            if found["arm"]["model"] == model and found["arm"]["temperature"] == setting.grid.screen_temperature
        ]
        if not mine:
            continue
        found = max(mine, key=lambda f: (f["arm"]["n"], max(f["limits"])))
        arm, limit, arm_points = Arm(**found["arm"]), max(found["limits"]), curves(setting, found)
        # At the arm's own n the request is the one screened (the same draws on the same seed): smaller n only.
        for n in (n for n in setting.grid.prefix_checks if n < arm.n):
            point = next(p for p in arm_points if p["config"]["n"] == n and p["config"]["max_tokens"] == limit)
            tested = held_out.measure(point["config"], CONFIRM_SEEDS[0])
            success = tested[setting.task.metric]
            spread = (point["success"] * (1 - point["success"]) + success * (1 - success)) / len(held_out.rows)
            checks.append(
                {
                    "config": point["config"],
                    "prefix_success": point["success"],
                    "test_success": success,
                    "prefix_dollars": point["dollars"],
                    "test_dollars": tested["inference_cost"],
                    "z": (point["success"] - success) / spread**0.5 if spread > 0 else 0.0,
                }
            )
            log(f"prefix check {arm.name()} n {n}: prefix {point['success']:.3f}, test() {success:.3f}")
    return checks
