"""The simulated endpoint speaks the OpenAI protocol to the current openai SDK."""

import httpx2
import openai
import pytest

from ecoptigen import sim
from ecoptigen.money import catalog as models
from ecoptigen.money import prices as pricing
from ecoptigen.sim._humaneval import problems

STOP = ["\nclass", "\ndef", "\nif", "\nprint"]


@pytest.fixture
def client(server):
    server.reset_stats()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def test_completion_shape_and_billing(client, server):
    r = client.completions.create(model="text-davinci-003", prompt="Hello there", max_tokens=10, n=2)
    assert r.object == "text_completion" and r.model == "text-davinci-003" and len(r.choices) == 2
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    stats = server.stats()
    assert stats["requests"] == 1 and stats["errors"] == 0
    expected = pricing.cost_of_tokens("text-davinci-003", r.usage.prompt_tokens, r.usage.completion_tokens)
    assert stats["total_billed_usd"] == pytest.approx(expected)
    assert stats["models"]["text-davinci-003"]["completion_tokens"] == r.usage.completion_tokens


def test_chat_shape(client):
    r = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    assert r.object == "chat.completion" and r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason in ("stop", "length")


def test_models_list_has_every_priced_model(client):
    served = {m.id for m in client.models.list()}
    assert served == {name for name in models.MODELS if models.price_of(name) is not None}


def test_max_tokens_truncates_with_finish_reason_length(client):
    problem = problems()["HumanEval/10"]
    r = client.completions.create(model="code-davinci-002", prompt=problem.prompt, max_tokens=5, temperature=0)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 5


def test_stop_sequences_cut_and_are_not_included(client):
    problem = problems()["HumanEval/0"]
    loose = client.completions.create(model="code-davinci-002", prompt=problem.prompt, max_tokens=500, temperature=0)
    cut = client.completions.create(
        model="code-davinci-002", prompt=problem.prompt, max_tokens=500, temperature=0, stop=STOP
    )
    assert cut.usage.completion_tokens < loose.usage.completion_tokens
    assert not any(s in cut.choices[0].text for s in STOP)


def test_best_of_is_billed_for_everything_generated(client, server):
    r = client.completions.create(model="babbage-002", prompt="x", max_tokens=4, n=1, best_of=3)
    assert len(r.choices) == 1
    assert r.usage.completion_tokens > 4  # three samples of up to four tokens were generated and billed


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.completions.create(model="no-such-model", prompt="x"), openai.NotFoundError),
        (lambda c: c.completions.create(model="gpt-4o", prompt="x"), openai.BadRequestError),
        (lambda c: c.completions.create(model="davinci-002", prompt="x", n=129), openai.BadRequestError),
        (lambda c: c.completions.create(model="davinci-002", prompt="x", temperature=2.5), openai.BadRequestError),
        (lambda c: c.completions.create(model="davinci-002", prompt="x", stop=["a"] * 5), openai.BadRequestError),
        (
            lambda c: c.completions.create(model="text-ada-001", prompt="word " * 2000, max_tokens=100),
            openai.BadRequestError,
        ),
    ],
    ids=["unknown-model", "chat-model-on-completions", "n", "temperature", "stop", "context-window"],
)
def test_errors_look_like_openai(client, server, call, error):
    with pytest.raises(error) as info:
        call(client)
    assert info.value.body["message"]  # the SDK unwraps {"error": {...}}
    assert server.stats()["total_billed_usd"] == 0  # failed requests are not billed


def test_azure_paths(server):
    with openai.AzureOpenAI(
        azure_endpoint=server.base_url.removesuffix("/v1"), api_key="k", api_version="2024-06-01", max_retries=0
    ) as azure:
        r = azure.chat.completions.create(model="gpt-35-turbo", messages=[{"role": "user", "content": "hi"}])
        assert r.model == "gpt-3.5-turbo"
        r = azure.completions.create(model="gpt-35-turbo-instruct", prompt="hi", max_tokens=3)
        assert r.model == "gpt-3.5-turbo-instruct"


def test_api_key_is_enforced_when_set():
    with sim.serve(api_key="sk-right") as guarded:
        with (
            openai.OpenAI(base_url=guarded.base_url, api_key="sk-wrong", max_retries=0) as wrong,
            pytest.raises(openai.AuthenticationError),
        ):
            wrong.models.list()
        with openai.OpenAI(base_url=guarded.base_url, api_key="sk-right", max_retries=0) as right:
            assert right.completions.create(model="davinci-002", prompt="x", max_tokens=2).choices


def test_unknown_text_and_garbage_never_crash_the_server(server):
    response = httpx2.post(server.base_url + "/completions", content=b"\xff\xfe not json")
    assert response.status_code == 400 and "error" in response.json()
    response = httpx2.post(server.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": "nope"})
    assert response.status_code == 400
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
        assert client.completions.create(model="davinci-002", prompt="\x00\u2603" * 50, max_tokens=8).choices


def test_yes_no_questions_get_yes_or_no(client):
    r = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Is 7 a prime number? Answer Yes or No."}], n=5
    )
    assert {c.message.content for c in r.choices} <= {"Yes.", "No."}


def test_yes_no_answers_are_deterministic_at_temperature_zero_without_a_seed():
    question = "Is 7 a prime number? Answer Yes or No."
    with sim.serve() as unseeded, openai.OpenAI(base_url=unseeded.base_url, api_key="k", max_retries=0) as c:
        chat = [
            c.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}], temperature=0, n=4
            )
            for _ in range(8)
        ]
        completions = [
            c.completions.create(model="davinci-002", prompt=question, temperature=0, max_tokens=4) for _ in range(8)
        ]
        questions = [f"Is {n} a prime number? Answer Yes or No." for n in range(40)]
        per_question = {
            c.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}], temperature=0)
            .choices[0]
            .message.content
            for q in questions
        }
    assert len({choice.message.content for r in chat for choice in r.choices}) == 1
    assert len({r.choices[0].text for r in completions}) == 1
    assert per_question == {"Yes.", "No."}  # fixed per question, not the same for every question
