"""The settings ``search_quality.py`` measures the search in: a task, its data split, its space and its grid.

``legacy-space`` is the seed's setting exactly (README's documented workflow with FLAML's five models:
20 tuning rows and 144 held-out rows of HumanEval shuffled with seed 41, generated-assertion eval_func,
inference budget $0.05, three prompts, two stops); FLAML 2.7.0 can tune it, so it is the paired one.
``default-space`` is the setting the search was not developed on: the default search space (today's
models, which FLAML cannot price, so ecoptigen alone) with another shuffle of the data. ``math`` is the
math task of issue 26 as FLAML's MATH case study sets it (``ChatCompletion`` over gpt-3.5-turbo and
gpt-4, ``n``, temperature or top_p and ``max_tokens``; level-2 algebra, 20 tuning problems and the 200
held-out ones of ``math_utils.math_task``, ``success_vote``, inference budget $0.02); ecoptigen alone.

A setting's :class:`Task` says which ``oai`` class tunes it, on which rows, with which eval_func and
metric (``success`` of the generated-assertion eval_func for HumanEval; ``success_vote`` of
``eval_math_responses`` for math).

A setting also says how its frontier is screened (:class:`Grid`): which arms (model, prompt, stop,
temperature) are requested once at their largest ``n`` and ``max_tokens`` on every held-out row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS: list[Any] = [["\nclass", "\ndef", "\nif", "\nprint"], None]
# FLAML's default model list (flaml.autogen's Completion.default_search_space), which FLAML can price.
FLAML_MODELS = ["text-ada-001", "text-babbage-001", "text-davinci-003", "gpt-3.5-turbo", "gpt-4"]


@dataclass(frozen=True)
class Task:
    """What is tuned: the data, the ``oai`` class, the eval_func and the metric.

    Attributes:
        name: ``humaneval`` (``Completion``, selection by generated assertions, ``success``) or ``math``
            (``ChatCompletion``, ``eval_math_responses``, ``success_vote``).
        level: the MATH level of the math task.
    """

    name: str = "humaneval"
    level: int = 2

    @property
    def chat(self) -> bool:
        """Whether it is tuned with ``oai.ChatCompletion``."""
        return self.name == "math"

    @property
    def metric(self) -> str:
        """The metric tuned and reported as held-out success."""
        return "success_vote" if self.name == "math" else "success"

    def api(self) -> Any:
        """``oai.ChatCompletion`` or ``oai.Completion``."""
        from ecoptigen import oai

        return oai.ChatCompletion if self.chat else oai.Completion

    def eval_func(self) -> Callable[..., dict]:
        """README's eval_func for HumanEval (selection by generated assertions); FLAML's for math."""
        if self.name == "math":
            from ecoptigen.math_utils import eval_math_responses

            return eval_math_responses
        from ecoptigen.code_utils import eval_function_completions, generate_assertions

        return partial(eval_function_completions, assertions=generate_assertions)

    def rows(self, shuffle_seed: int, n_tune: int) -> tuple[list[dict], list[dict]]:
        """The tuning rows and every held-out row."""
        if self.name == "math":
            from ecoptigen.math_utils import math_task

            tune, held_out, _ = math_task(level=self.level, tune_size=n_tune, seed=shuffle_seed)
            return tune, held_out
        from ecoptigen.datasets import load_humaneval

        shuffled = load_humaneval()["test"].shuffle(seed=shuffle_seed)
        rows = [{"definition": p["prompt"], "test": p["test"], "entry_point": p["entry_point"]} for p in shuffled]
        return rows[:n_tune], rows[n_tune:]


@dataclass(frozen=True)
class Grid:
    """How a setting's frontier is screened.

    Attributes:
        n_max: per model, the ``n`` requested once per arm; every smaller ``n`` is scored on its prefix.
        screen_n: ``n`` of the first stage, which ranks every prompt and stop of a model at one temperature.
        screen_temperature: that temperature.
        temperatures: the second stage's temperatures, for each model's best prompt and stop.
        runner_up_temperatures: the second stage's temperatures for each model's second-best prompt and stop.
        max_tokens: the values scored; the arm is requested at the largest and each answer cut to the others
            (the simulated endpoint draws an answer whatever ``max_tokens`` and then cuts it, so a cut
            answer is the one a request at the smaller ``max_tokens`` would get).
        screen_only: models screened in the first stage only (they score nothing there).
        one_temperature: models whose second stage is one arm, at the screening temperature (chosen after
            the first stage, to keep the grid within the time at hand: they rank far below the best there).
        confirm: how many of the best candidates within the inference budget are confirmed with ``test()``.
        prefix_checks: values of ``n`` at which the score on a prefix is checked against ``test()`` at that
            ``n`` (each model's arm at the screening temperature and the largest ``max_tokens``): configurations
            not chosen by their score, so the two differ by sampling noise only if scoring prefixes is right.
    """

    n_max: dict[str, int]
    screen_n: int = 10
    screen_temperature: float = 0.6
    temperatures: tuple[float, ...] = (0.3, 1.0)
    runner_up_temperatures: tuple[float, ...] = ()
    max_tokens: tuple[int, ...] = (100, 250, 1000)
    screen_only: tuple[str, ...] = ()
    one_temperature: tuple[str, ...] = ()
    confirm: int = 4
    prefix_checks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Setting:
    """One setting of the benchmark.

    Attributes:
        name: as given to ``--setting``.
        what: one line for the results file.
        models: the models passed to ``tune(model=...)``; ``None``: the default space (no ``model``).
        grid_models: the models the frontier screens (the default space's when ``models`` is ``None``).
        shuffle_seed: the task's data are shuffled with this seed; the first ``n_tune`` rows tune, the rest are
            held out.
        references: the peers that can tune this setting (FLAML cannot price today's models).
        grid: how the frontier is screened.
        stops: the stop choices searched; ``None``: ``stop`` is not searched (nor sent).
        task: what is tuned.
    """

    name: str
    what: str
    models: list[str] | None
    grid_models: list[str]
    shuffle_seed: int
    references: tuple[str, ...]
    grid: Grid
    n_tune: int = 20
    inference_budget: float = 0.05
    prompts: list[str] = field(default_factory=lambda: list(PROMPTS))
    stops: list[Any] | None = field(default_factory=lambda: list(STOPS))
    task: Task = Task()

    def rows(self, n_test: int | None = None) -> dict[str, list[dict]]:
        """The tuning and held-out rows (``n_test``: only the first held-out rows; ``None``: all)."""
        tune, held_out = self.task.rows(self.shuffle_seed, self.n_tune)
        return {"tune": tune, "test": held_out if n_test is None else held_out[:n_test]}


def _default_completion_models() -> list[str]:
    from ecoptigen import tuning

    if hasattr(tuning, "DEFAULT_COMPLETION_MODELS"):
        return list(tuning.DEFAULT_COMPLETION_MODELS)
    return list(tuning.space.DEFAULT_COMPLETION_MODELS)  # type: ignore[attr-defined]  # before issue 23


def get_setting(name: str) -> Setting:
    """The setting called ``name``.

    Raises:
        ValueError: an unknown name.
    """
    if name == "legacy-space":
        return Setting(
            name=name,
            what="the seed's setting: README's workflow with FLAML's five models, HumanEval shuffled with seed 41",
            models=list(FLAML_MODELS),
            grid_models=list(FLAML_MODELS),
            shuffle_seed=41,
            references=("flaml-2.7.0",),
            grid=Grid(
                n_max={
                    "text-ada-001": 10,
                    "text-babbage-001": 10,
                    "text-davinci-003": 30,
                    "gpt-3.5-turbo": 40,
                    "gpt-4": 10,
                },
                screen_only=("text-ada-001", "text-babbage-001"),
                # In the first stage (n 10) gpt-3.5-turbo's best is 0.68, text-davinci-003's 0.78, gpt-4's 0.84.
                one_temperature=("gpt-3.5-turbo",),
            ),
        )
    if name == "default-space":
        models = _default_completion_models()
        return Setting(
            name=name,
            what="README's workflow in the default search space (today's models; FLAML cannot price them), "
            "HumanEval shuffled with seed 7",
            models=None,
            grid_models=models,
            shuffle_seed=7,
            references=(),
            grid=Grid(n_max=dict.fromkeys(models, 30)),
        )
    if name == "math":
        from ecoptigen.math_utils import MATH_PROMPT

        models = ["gpt-3.5-turbo", "gpt-4"]
        return Setting(
            name=name,
            what="FLAML's MATH case study: ChatCompletion over gpt-3.5-turbo and gpt-4 (n, temperature or top_p, "
            "max_tokens), level-2 algebra of math_task(seed=41), success_vote, inference budget $0.02",
            models=models,
            grid_models=models,
            shuffle_seed=41,
            references=(),
            # gpt-3.5-turbo: n up to the space's 99 (about $0.02 per problem at n 85); gpt-4 costs about $0.009
            # a response, so n 2 fits the budget and n 10 covers every max_tokens that cuts answers short.
            grid=Grid(
                n_max={"gpt-3.5-turbo": 99, "gpt-4": 10},
                screen_n=5,
                temperatures=(0.2, 0.4, 0.8, 1.0, 1.2, 1.5),
                max_tokens=(75, 100, 125, 150, 175, 200, 250, 300, 1000),
                prefix_checks=(1, 5, 20),
            ),
            inference_budget=0.02,
            prompts=[MATH_PROMPT],
            stops=None,
            task=Task("math", level=2),
        )
    raise ValueError(f"unknown setting {name!r}: use legacy-space, default-space or math")


SETTINGS = ("legacy-space", "default-space", "math")
