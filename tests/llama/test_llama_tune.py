"""tune() and test() with a model behind a real llama.cpp server, which ignores n, at the user's price."""

import pytest
from llama_config import CHAT_MODEL, PRICE

from ecoptigen import oai
from ecoptigen.tuning._flaml import tune

pytestmark = pytest.mark.llama

DATA = [{"topic": topic} for topic in ("cats", "the sea", "winter", "trains")]
MESSAGES = [{"role": "user", "content": "Say something about {topic}."}]


def distinct_answers(responses, **instance):
    """Rewards variety: how many different answers came back."""
    return {"distinct": len(set(responses))}


def test_tuning_n_picks_the_larger_n_when_distinct_answers_pay(llama):
    config, analysis = oai.ChatCompletion.tune(
        data=DATA,
        metric="distinct",
        mode="max",
        eval_func=distinct_answers,
        inference_budget=0.01,
        optimization_budget=0.05,
        num_samples=4,
        model=CHAT_MODEL,
        price=PRICE,
        messages=[MESSAGES],
        n=tune.choice([1, 3]),
        temperature=1,
        max_tokens=8,
        show_progress=False,
    )
    assert config["n"] == 3
    assert analysis.best_result["distinct"] == 3
    assert 0 < analysis.total_cost <= 0.05
    result = oai.ChatCompletion.test(DATA, config, distinct_answers)
    assert result["distinct"] == 3
    assert result["inference_cost"] > 0
