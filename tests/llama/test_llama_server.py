"""ecoptigen against a real llama.cpp server: protocol, n, stop, max_tokens, cost, cache, retries, failover.

The model's answers are noise (random weights); what is checked is what goes over the wire and what
ecoptigen makes of it. The server's own ``usage`` is the ground truth for money here.
"""

import pytest
from llama_config import CHAT_MODEL, COMPLETION_MODEL, PRICE, cost_of

from ecoptigen import oai, sim
from ecoptigen.money import ledger as spend

pytestmark = pytest.mark.llama

STORY = "Once upon a time"
MESSAGES = [{"role": "user", "content": "Tell me a story about {topic}."}]


def complete(**config):
    return oai.Completion.create(**{"model": COMPLETION_MODEL, "prompt": STORY, "price": PRICE, **config})


def chat(**config):
    return oai.ChatCompletion.create(
        context={"topic": "the sea"}, **{"model": CHAT_MODEL, "messages": MESSAGES, "price": PRICE, **config}
    )


def test_completion_max_tokens_usage_and_the_users_price(llama):
    response = complete(max_tokens=12, temperature=0)
    assert response["object"] == "text_completion" and response["model"] == COMPLETION_MODEL
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] == 12 and response["usage"]["prompt_tokens"] > 0
    assert response["cost"] == pytest.approx(cost_of(response["usage"])) and response["cost"] > 0
    assert "cost_estimated" not in response  # llama.cpp reports usage


def test_chat_answers_with_an_assistant_message(llama):
    response = chat(max_tokens=8)
    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(oai.ChatCompletion.extract_text(response)[0], str)
    assert response["usage"]["completion_tokens"] <= 8
    assert response["cost"] == pytest.approx(cost_of(response["usage"]))


@pytest.mark.parametrize("send", [complete, chat], ids=["completion", "chat"])
def test_n_gives_n_distinct_choices_each_paid(llama, send):
    ledger = spend.SpendLedger(budget=1.0, name="test budget")
    with ledger.activate():
        response = send(n=3, temperature=1, max_tokens=16)
    texts = oai.Completion.extract_text(response)
    assert len(texts) == 3 and len(set(texts)) == 3
    assert [choice["index"] for choice in response["choices"]] == [0, 1, 2]
    model = response["model"]
    # llama.cpp answered one choice per request: three paid requests, each settled on the ledger
    assert ledger.usage[model].requests == 3 and ledger.reserved == pytest.approx(0, abs=1e-12)
    assert ledger.usage[model].completion_tokens == response["usage"]["completion_tokens"]
    assert ledger.usage[model].prompt_tokens == response["usage"]["prompt_tokens"]
    assert response["cost"] == pytest.approx(cost_of(response["usage"])) == pytest.approx(ledger.paid)


def test_stop_cuts_before_the_stop_sequence(llama):
    whole = oai.Completion.extract_text(complete(max_tokens=24, temperature=0))[0]
    stop = whole.strip()[len(whole.strip()) // 2 :][:3]
    assert stop and stop in whole
    cut = complete(max_tokens=24, temperature=0, stop=[stop])
    assert oai.Completion.extract_text(cut)[0] == whole[: whole.find(stop)]
    assert cut["choices"][0]["finish_reason"] == "stop"


def test_cache_returns_the_topped_up_answer_without_paying(llama):
    engine = oai.Completion._engine
    first = chat(n=2, temperature=1, max_tokens=8)
    before = engine.usage.summary()["models"][CHAT_MODEL]
    again = chat(n=2, temperature=1, max_tokens=8)
    after = engine.usage.summary()["models"][CHAT_MODEL]
    assert len(first["choices"]) == 2 and again["choices"] == first["choices"]
    assert again["cost"] == pytest.approx(first["cost"])
    assert after["requests"] == before["requests"] and after["cache_hits"] == before["cache_hits"] + 1


def test_server_errors_are_retried(llama, flaky_proxy):
    proxy = flaky_proxy(failures=2)
    response = complete(max_tokens=6, base_url=proxy.base_url, retry_time=0.05, use_cache=False)
    assert proxy.requests == 3
    assert response["usage"]["completion_tokens"] == 6
    assert response["cost"] == pytest.approx(cost_of(response["usage"]))


def test_failover_from_the_simulator_to_llama(llama):
    with sim.serve(seed=0) as simulated:
        config_list = [
            {"model": "gpt-no-such-model", "base_url": simulated.base_url, "api_key": "sk-sim", "price": 1},
            {"model": CHAT_MODEL, "base_url": llama.base_url, "price": PRICE},
        ]
        response = oai.ChatCompletion.create(
            context={"topic": "rain"}, messages=MESSAGES, max_tokens=8, config_list=config_list
        )
        assert simulated.stats()["errors"] == 1
    assert response["config_id"] == 1 and response["model"] == CHAT_MODEL
    assert response["cost"] == pytest.approx(cost_of(response["usage"]))


def test_failover_from_llama_to_the_simulator_adds_up_costs(llama):
    ledger = spend.SpendLedger(name="test")
    with sim.serve(seed=0) as simulated, ledger.activate():
        config_list = [
            {"model": CHAT_MODEL, "base_url": llama.base_url, "price": PRICE},
            {"model": "gpt-4o-mini", "base_url": simulated.base_url, "api_key": "sk-sim"},
        ]
        response = oai.ChatCompletion.create(
            context={"topic": "snow"},
            messages=MESSAGES,
            max_tokens=8,
            config_list=config_list,
            filter_func=lambda response, **_: response["model"] == "gpt-4o-mini",
        )
        billed = simulated.stats()["total_billed_usd"]
    assert response["config_id"] == 1 and response["pass_filter"] is True
    llama_paid = ledger.usage[CHAT_MODEL].paid
    assert llama_paid > 0 and response["cost"] == pytest.approx(llama_paid + billed)
