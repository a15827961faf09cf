"""``n`` means n, and usage is counted, even on servers that ignore those parameters (simulated quirks)."""

import logging
from contextlib import ExitStack

import pytest

from ecoptigen import errors, oai, sim
from ecoptigen.client._quirks import split_n
from ecoptigen.money import catalog as models
from ecoptigen.money import ledger as spend
from ecoptigen.money import tokens
from ecoptigen.sim._humaneval import problems

PROMPT = problems()["HumanEval/0"].prompt
CODE = {"model": "code-davinci-002", "prompt": PROMPT, "max_tokens": 48, "temperature": 1}
CHAT = {
    "model": "gpt-3.5-turbo",
    "messages": [{"role": "user", "content": PROMPT}],
    "max_tokens": 400,
    "temperature": 1,
}


@pytest.fixture
def quirky(monkeypatch, tmp_path):
    """``quirky({"ignore_n", ...})`` starts a simulated server with those quirks and points ecoptigen at it."""
    stack = ExitStack()
    previous = (oai.Completion.seed, oai.Completion._engine.cache_path_root)
    oai.Completion.set_cache(seed=7, cache_path_root=str(tmp_path / "cache"))

    def start(quirks, seed=0, latency=0.0):
        server = stack.enter_context(sim.serve(seed=seed, quirks=quirks, latency=latency))
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        return server

    yield start
    stack.close()
    oai.Completion.set_cache(*previous)


@pytest.fixture
def sent(monkeypatch):
    """The ``n`` and ``seed`` of every paid request the engine sends, in order."""
    engine = oai.Completion._engine
    original = engine._send_paid
    bodies = []

    def spy(request, policy):
        bodies.append((request.body.get("n"), request.body.get("seed")))
        return original(request, policy)

    monkeypatch.setattr(engine, "_send_paid", spy)
    return bodies


def billed(server):
    return server.stats()["total_billed_usd"]


@pytest.mark.parametrize("config", [CODE, CHAT], ids=["completion", "chat"])
def test_ignored_n_is_topped_up_to_n_distinct_choices(quirky, config):
    server = quirky({"ignore_n"})
    response = oai.Completion.create(n=3, **config)
    texts = oai.Completion.extract_text(response)
    assert len(texts) == 3 and len(set(texts)) == 3
    assert [c["index"] for c in response["choices"]] == [0, 1, 2]
    assert server.stats()["requests"] == 3
    model = server.stats()["models"][config["model"]]
    assert response["usage"]["prompt_tokens"] == model["prompt_tokens"]
    assert response["usage"]["completion_tokens"] == model["completion_tokens"]
    assert response["cost"] == pytest.approx(billed(server))
    assert "cost_estimated" not in response


def test_later_requests_go_out_as_single_requests_with_distinct_seeds(quirky, sent, caplog):
    quirky({"ignore_n"})
    with caplog.at_level(logging.WARNING, logger="ecoptigen.oai"):
        oai.Completion.create(n=3, **CODE)
        oai.Completion.create(n=4, **{**CODE, "prompt": PROMPT + "\n"})
    assert [n for n, _ in sent] == [3, 1, 1, 1, 1, 1, 1]
    seeds = [seed for _, seed in sent]
    assert seeds[0] is None and len(set(seeds[1:3])) == 2 and len(set(seeds[3:])) == 4
    assert caplog.text.count("ignores or caps n") == 1


def test_a_server_that_honours_n_gets_one_request(quirky, sent):
    quirky(set())
    response = oai.Completion.create(n=3, **CODE)
    assert len(response["choices"]) == 3 and sent == [(3, None)]


def test_merged_answer_is_cached_under_the_original_request(quirky):
    server = quirky({"ignore_n"})
    first = oai.Completion.create(n=3, **CODE)
    again = oai.Completion.create(n=3, **CODE)
    assert again["choices"] == first["choices"] and again["cost"] == pytest.approx(first["cost"])
    assert server.stats()["requests"] == 3


def test_each_extra_request_is_paid_on_the_active_ledgers(quirky):
    server = quirky({"ignore_n"}, latency=0.3)  # so that the extra requests are in flight together
    oai.Completion.create(n=2, **CODE)  # teaches ecoptigen that the server ignores n
    server.reset_stats()
    engine = oai.Completion._engine
    one = {**CODE, "prompt": PROMPT + "#", "max_tokens": 1000}
    # Each single request may cost its prompt plus 1000 tokens; the budget holds two of those at once, not
    # three, so the third waits for the first two to settle at their (much lower) real cost.
    price_in, price_out = models.price_of("code-davinci-002")
    worst_one = (tokens.count_tokens(one["prompt"], "code-davinci-002") * price_in + 1000 * price_out) / 1000
    ledger = spend.SpendLedger(budget=2.5 * worst_one, name="test budget")
    with ledger.activate():
        response = oai.Completion.create(n=3, **one)
    assert len(response["choices"]) == 3 and server.stats()["requests"] == 3
    assert ledger.paid == pytest.approx(billed(server)) and ledger.reserved == pytest.approx(0, abs=1e-12)
    assert ledger.usage["code-davinci-002"].requests == 3
    assert response["cost"] == pytest.approx(ledger.paid)
    assert engine.usage.reserved == pytest.approx(0, abs=1e-12)


def test_missing_usage_is_counted_and_marked_estimated(quirky, caplog):
    quirky({"no_usage"})
    with caplog.at_level(logging.WARNING, logger="ecoptigen.oai"):
        response = oai.Completion.create(n=2, **CHAT)
        oai.Completion.create(n=2, **{**CHAT, "max_tokens": 8})
    assert response["cost_estimated"] is True and response["cost"] > 0
    assert caplog.text.count("sends no usage") == 1


def test_estimated_usage_matches_the_bill(quirky):
    # the simulated server counts with the same tokenizer as ecoptigen, so here the estimate is exact
    server = quirky({"no_usage"})
    response = oai.Completion.create(n=2, **CHAT)
    model = server.stats()["models"]["gpt-3.5-turbo"]
    assert response["usage"]["prompt_tokens"] == model["prompt_tokens"]
    assert response["usage"]["completion_tokens"] == model["completion_tokens"]
    assert response["cost"] == pytest.approx(billed(server))


def test_no_usage_and_ignored_n_together(quirky):
    server = quirky({"ignore_n", "no_usage"})
    response = oai.Completion.create(n=3, **CODE)
    assert len(response["choices"]) == 3 and response["cost_estimated"] is True
    cached = oai.Completion.create(n=3, **CODE)
    assert cached["cost_estimated"] is True and cached["cost"] == pytest.approx(response["cost"])
    assert server.stats()["requests"] == 3


def test_a_seed_that_does_not_repeat_is_noted_once(quirky, caplog):
    quirky({"ignore_n", "ignore_seed"})
    with caplog.at_level(logging.WARNING, logger="ecoptigen.oai"):
        for _ in range(3):
            oai.Completion.create(n=3, use_cache=False, **CODE)
    assert caplog.text.count("with the same seed differently") == 1


def test_a_seed_that_repeats_is_not_flagged(quirky, caplog):
    quirky({"ignore_n"})
    with caplog.at_level(logging.WARNING, logger="ecoptigen.oai"):
        first = oai.Completion.create(n=3, use_cache=False, **CODE)
        second = oai.Completion.create(n=3, use_cache=False, **CODE)
    assert "same seed" not in caplog.text
    # the extra samples were asked with the same seeds both times, and the server honours seed
    assert oai.Completion.extract_text(first)[1:] == oai.Completion.extract_text(second)[:2]


def test_split_n():
    assert split_n(3, 1) == [1, 1, 1]
    assert split_n(7, 3) == [3, 3, 1]
    assert split_n(2, 5) == [2]


def test_a_refused_n_is_asked_again_as_single_requests(quirky, sent, caplog):
    server = quirky({"reject_n"})
    with caplog.at_level(logging.WARNING, logger="ecoptigen.oai"):
        response = oai.Completion.create(n=3, **CODE)
        assert response["cost"] == pytest.approx(billed(server))
        oai.Completion.create(n=2, **{**CODE, "prompt": PROMPT + "\n"})
    assert len(response["choices"]) == 3
    assert [n for n, _ in sent] == [3, 1, 1, 1, 1, 1]  # one refusal, then single requests only
    assert len({seed for _, seed in sent[1:4]}) == 3
    assert server.stats()["errors"] == 1
    assert caplog.text.count("refused n=3") == 1


def test_a_bad_request_that_is_not_about_n_is_raised_and_not_remembered(quirky, sent):
    quirky({"reject_n"})
    with pytest.raises(errors.RequestError, match="does not exist"):
        oai.Completion.create(n=3, **{**CODE, "model": "text-my-own-model", "price": [0.001, 0.002]})
    sent.clear()
    oai.Completion.create(n=2, **CODE)
    assert [n for n, _ in sent] == [2, 1, 1]


def test_tuning_n_on_a_server_that_ignores_it_pays_what_is_billed(quirky):
    from ecoptigen.tuning._flaml import tune

    server = quirky({"ignore_n"})
    data = [{"definition": problems()[f"HumanEval/{i}"].prompt} for i in range(4)]

    def distinct(responses, **instance):
        return {"distinct": len(set(responses))}

    budget = 0.05
    config, analysis = oai.Completion.tune(
        data=data, metric="distinct", mode="max", eval_func=distinct, inference_budget=0.01,
        optimization_budget=budget, num_samples=4, model="babbage-002", prompt="{definition}",
        n=tune.choice([1, 3]), max_tokens=48, temperature=1, show_progress=False,
    )  # fmt: skip
    assert analysis.total_cost == pytest.approx(billed(server)) and billed(server) <= budget
    assert config["n"] == 3 and analysis.best_result["distinct"] > 1
