"""A misspelt metric name is refused with "did you mean ...?" before any money is spent (issue 25, item 5)."""

from functools import partial

import pytest

from ecoptigen import oai
from ecoptigen.code_utils import eval_function_completions, generate_assertions
from ecoptigen.errors import ConfigurationError, EvalFuncError

DATA = [{"definition": "def one():\n", "test": "def check(c):\n    assert c() == 1\n", "entry_point": "one"}]
SPACE = {"model": "gpt-4o-mini", "prompt": "{definition}", "max_tokens": 20}


def billed(server):
    return server.stats()["total_billed_usd"]


def test_tune_refuses_a_misspelt_metric_of_a_known_eval_func_before_spending(endpoint):
    evaluate = partial(eval_function_completions, assertions=generate_assertions)
    with pytest.raises(ConfigurationError, match="Did you mean 'success'"):
        oai.ChatCompletion.tune(
            data=DATA,
            metric="sucess",
            mode="max",
            eval_func=evaluate,
            optimization_budget=0.01,
            num_samples=1,
            show_progress=False,
            **SPACE,
        )
    assert endpoint.stats()["requests"] == 0


def test_test_refuses_a_misspelt_agg_method_metric_before_spending(endpoint):
    with pytest.raises(ConfigurationError, match="Did you mean 'success'"):
        oai.ChatCompletion.test(DATA, eval_func=eval_function_completions, agg_method={"succes": max}, **SPACE)
    assert endpoint.stats()["requests"] == 0


def test_an_eval_func_that_declares_nothing_gets_the_hint_with_its_first_result(endpoint):
    def evaluate(responses, **instance):
        return {"success": 1.0, "cost_of_checks": 0.0}

    with pytest.raises(EvalFuncError, match="Did you mean 'success'"):
        oai.ChatCompletion.tune(
            data=DATA,
            metric="succes",
            mode="max",
            eval_func=evaluate,
            optimization_budget=0.01,
            num_samples=1,
            show_progress=False,
            **SPACE,
        )


def test_test_names_the_closest_metric_when_agg_method_misspells_one(endpoint):
    def evaluate(responses, **instance):
        return {"success": 1.0}

    with pytest.raises(ConfigurationError, match="Did you mean 'success'"):
        oai.ChatCompletion.test(DATA, eval_func=evaluate, agg_method={"sucess": max}, **SPACE)
