"""Prompts the simulator has no task for: answers that vary with the model, the temperature and n, in a
seeded way, so that a tuning on such prompts does not tie (issue 26)."""

from __future__ import annotations

import openai
import pytest

from ecoptigen import sim

PROMPT = "Suggest a name for a bakery. Answer with the name only."


@pytest.fixture(scope="module")
def client():
    with sim.serve(seed=3) as server, openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        yield c


def answers(client, model="gpt-4o-mini", n=8, **params):
    response = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], n=n, max_tokens=64, **params
    )
    return [choice.message.content for choice in response.choices]


def test_greedy_answers_are_one_answer_per_model_with_or_without_a_seed(client):
    mini = answers(client, temperature=0)
    with sim.serve() as unseeded, openai.OpenAI(base_url=unseeded.base_url, api_key="k", max_retries=0) as other:
        elsewhere = answers(other, temperature=0, n=1)
    assert len(set(mini)) == 1 and elsewhere == mini[:1]
    assert answers(client, model="gpt-3.5-turbo", temperature=0, n=1) != mini[:1]


def test_hotter_samples_differ_more():
    with sim.serve(seed=3) as server, openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        distinct = {t: len(set(answers(c, n=40, temperature=t))) for t in (0.0, 0.2, 0.5, 1.0)}
    assert distinct[0.0] == 1
    assert distinct[0.2] < distinct[0.5] < distinct[1.0]


def test_more_samples_give_more_different_answers(client):
    few = [len(set(answers(client, n=2, temperature=0.9))) for _ in range(10)]
    many = [len(set(answers(client, n=8, temperature=0.9))) for _ in range(10)]
    assert sum(many) > sum(few) + 20


def test_a_seeded_server_repeats_its_answers():
    def run():
        with sim.serve(seed=11) as server, openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
            return [answers(c, temperature=0.8, n=4) for _ in range(3)]

    first, second = run(), run()
    assert first == second and first[0] != first[1]


def test_the_answer_is_words_of_the_prompt_and_max_tokens_cuts_it(client):
    text = " ".join(answers(client, n=20, temperature=1.0)).lower()
    assert "bakery" in text or "name" in text
    short = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], max_tokens=3, temperature=0
    )
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 3


def test_yes_no_answers_keep_the_greedy_answer_more_often_when_cooler(client):
    question = [{"role": "user", "content": "Is 91 a prime number? Answer Yes or No."}]

    def share_of_greedy(temperature):
        greedy = client.chat.completions.create(model="gpt-4o-mini", messages=question, temperature=0)
        sampled = client.chat.completions.create(model="gpt-4o-mini", messages=question, temperature=temperature, n=100)
        return sum(c.message.content == greedy.choices[0].message.content for c in sampled.choices) / 100

    assert share_of_greedy(0.2) > share_of_greedy(1.0) + 0.2
