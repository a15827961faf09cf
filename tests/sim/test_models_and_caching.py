"""The simulated models refuse, think and cache as OpenAI's do, and the bill follows."""

import csv
import pathlib

import openai
import pytest

from ecoptigen import sim
from ecoptigen.money import tokens
from ecoptigen.sim._prompt_cache import CachePolicy, PromptCache, prompt_token_ids

FEW_SHOT = "".join(f"Q: What is {i} plus {i + 1}?\nA: {2 * i + 1}\n\n" for i in range(160))
HI = [{"role": "user", "content": "hi"}]
PRICES_CSV = pathlib.Path(__file__).parents[1] / "data" / "openai_prices.csv"


def reference_prices() -> dict[str, dict[str, str]]:
    with PRICES_CSV.open() as f:
        return {row["model"]: row for row in csv.DictReader(f)}


@pytest.fixture
def client(server):
    server.reset_stats()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        yield client


def refused(client, **request):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**request)
    assert caught.value.status_code == 400
    error = caught.value.body
    assert error["type"] == "invalid_request_error"
    return error


@pytest.mark.parametrize(
    ("model", "param", "value", "code"),
    [
        ("o4-mini", "temperature", 0.7, "unsupported_value"),
        ("gpt-5-mini", "temperature", 0.0, "unsupported_value"),
        ("o1", "top_p", 1, "unsupported_parameter"),  # refused even at its default
        ("o3", "presence_penalty", 0.5, "unsupported_parameter"),
        ("gpt-5-nano", "logprobs", True, "unsupported_parameter"),
        ("o4-mini", "stop", ["\n"], "unsupported_parameter"),
        ("gpt-5", "stop", ["\n"], "unsupported_parameter"),
        ("o3-mini", "max_tokens", 50, "unsupported_parameter"),
        ("gpt-4o", "reasoning_effort", "low", "unsupported_parameter"),
        ("o4-mini", "reasoning_effort", "minimal", "unsupported_value"),
    ],
)
def test_refusals_have_openais_shape(client, model, param, value, code):
    error = refused(client, model=model, messages=HI, **{param: value})
    assert error["param"] == param and error["code"] == code and f"'{param}'" in error["message"]


def test_best_of_is_not_a_chat_parameter(client):
    error = refused(client, model="gpt-4o-mini", messages=HI, extra_body={"best_of": 2})
    assert "best_of" in error["message"]


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("o4-mini", {"temperature": 1}),
        ("o1", {"stop": ["\n"]}),
        ("o3-mini", {"stop": ["\n"], "reasoning_effort": "low"}),
        ("gpt-5-mini", {"reasoning_effort": "minimal"}),
        ("gpt-4o-mini", {"temperature": 0.3, "top_p": 0.5, "stop": ["\n"], "presence_penalty": 1}),
    ],
)
def test_what_a_family_takes_is_served(client, model, params):
    assert client.chat.completions.create(model=model, messages=HI, **params).choices


def test_reasoning_tokens_are_counted_in_completion_tokens_and_billed(client, server):
    r = client.chat.completions.create(model="o4-mini", messages=HI, max_completion_tokens=20000)
    details = r.usage.completion_tokens_details
    visible = tokens.count_tokens(r.choices[0].message.content, "o4-mini")
    assert details.reasoning_tokens > 0
    assert r.usage.completion_tokens == details.reasoning_tokens + visible
    expected = (r.usage.prompt_tokens * 0.0011 + r.usage.completion_tokens * 0.0044) / 1000
    assert server.stats()["total_billed_usd"] == pytest.approx(expected)
    assert server.stats()["models"]["o4-mini"]["reasoning_tokens"] == details.reasoning_tokens


def test_a_small_limit_is_spent_on_reasoning(client):
    r = client.chat.completions.create(model="gpt-5-nano", messages=HI, max_completion_tokens=16)
    assert r.choices[0].message.content == "" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == r.usage.completion_tokens_details.reasoning_tokens == 16


def test_more_effort_more_reasoning(client):
    def reasoning(effort):
        r = client.chat.completions.create(model="o3-mini", messages=HI, reasoning_effort=effort, n=8)
        return r.usage.completion_tokens_details.reasoning_tokens

    assert reasoning("low") < reasoning("medium") < reasoning("high")


def test_models_that_do_not_reason_report_zero_reasoning_tokens(client):
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=HI)
    assert r.usage.completion_tokens_details.reasoning_tokens == 0


def long_question(i):
    return [{"role": "system", "content": FEW_SHOT}, {"role": "user", "content": f"Q: What is {i} plus 1?"}]


def test_a_repeated_long_prefix_is_served_from_cache_and_billed_at_the_cached_price(client, server):
    first = client.chat.completions.create(model="gpt-4o-mini", messages=long_question(1), max_tokens=5)
    second = client.chat.completions.create(model="gpt-4o-mini", messages=long_question(2), max_tokens=5)
    assert first.usage.prompt_tokens >= 2000
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0 and second.usage.prompt_tokens - 128 < cached + 128
    # OpenAI's prices for gpt-4o-mini (tests/data/openai_prices.csv), not ecoptigen's table nor its pricing code
    row = reference_prices()["gpt-4o-mini"]
    uncached_in, cached_in, out = (
        float(row[k]) for k in ("input_usd_per_1k", "cached_input_usd_per_1k", "output_usd_per_1k")
    )

    def billed(r):
        hit = r.usage.prompt_tokens_details.cached_tokens
        return ((r.usage.prompt_tokens - hit) * uncached_in + hit * cached_in + r.usage.completion_tokens * out) / 1000

    bill = billed(first) + billed(second)
    assert server.stats()["total_billed_usd"] == pytest.approx(bill, rel=1e-12)
    assert server.stats()["models"]["gpt-4o-mini"]["cached_tokens"] == cached
    full_price = sum(
        (r.usage.prompt_tokens * uncached_in + r.usage.completion_tokens * out) / 1000 for r in (first, second)
    )
    assert bill < full_price


def test_caches_are_per_api_key(server):
    server.reset_stats()
    question = long_question(7)
    with openai.OpenAI(base_url=server.base_url, api_key="sk-org-a", max_retries=0) as a:
        a.chat.completions.create(model="gpt-4.1-mini", messages=question, max_tokens=5)
        with openai.OpenAI(base_url=server.base_url, api_key="sk-org-b", max_retries=0) as b:
            other = b.chat.completions.create(model="gpt-4.1-mini", messages=question, max_tokens=5)
        same = a.chat.completions.create(model="gpt-4.1-mini", messages=question, max_tokens=5)
    assert other.usage.prompt_tokens_details.cached_tokens == 0
    assert same.usage.prompt_tokens_details.cached_tokens > 0


UNCACHED = [("gpt-4o-mini", [{"role": "user", "content": "short " * 50}]), ("gpt-4", long_question(3)),
            ("gpt-3.5-turbo", long_question(3))]  # fmt: skip


@pytest.mark.parametrize(("model", "messages"), UNCACHED)
def test_no_cache_for_short_prompts_or_older_models(client, model, messages):
    for _ in range(2):
        r = client.chat.completions.create(model=model, messages=messages, max_tokens=5)
    assert r.usage.prompt_tokens_details.cached_tokens == 0


def test_caching_can_be_turned_off():
    with sim.serve(seed=1, prompt_cache=False) as server, openai.OpenAI(base_url=server.base_url, api_key="k") as c:
        for _ in range(2):
            r = c.chat.completions.create(model="gpt-4o-mini", messages=long_question(1), max_tokens=5)
    assert r.usage.prompt_tokens_details.cached_tokens == 0


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def ids(n, start=0):
    return list(range(start, start + n))


def test_hits_are_the_longest_cached_prefix_in_steps_of_128():
    cache = PromptCache(seed=0, clock=Clock())
    assert cache.serve("k", "gpt-4o", ids(1500) + [7] * 500) == 0
    assert cache.serve("k", "gpt-4o", ids(1500) + [8] * 500) == 1408  # 1,024 + 3 x 128 <= 1,500 shared
    assert cache.serve("k", "gpt-4o", ids(1000)) == 0  # under 1,024 tokens
    assert cache.serve("k", "gpt-4.1", ids(1500) + [7] * 500) == 0  # caches are per model


def test_a_prefix_expires_after_5_to_10_idle_minutes_and_within_an_hour():
    clock = Clock()
    cache = PromptCache(seed=0, clock=clock)
    prompt = ids(2048)
    cache.serve("k", "gpt-4o", prompt)
    clock.now += 299
    assert cache.serve("k", "gpt-4o", prompt) == 2048
    clock.now += 601
    assert cache.serve("k", "gpt-4o", prompt) == 0  # idle too long: written again now
    written = clock.now
    while clock.now - written < 3600 - 290:
        clock.now += 290
        assert cache.serve("k", "gpt-4o", prompt) == 2048, clock.now - written
    clock.now = written + 3600
    assert cache.serve("k", "gpt-4o", prompt) == 0  # an hour after it was written, even if used


def test_busy_prefixes_overflow_to_cold_machines():
    clock = Clock()
    cache = PromptCache(seed=0, clock=clock)
    hits = []
    for i in range(60):
        clock.now += 0.5  # 120 requests a minute for one prefix
        hits.append(cache.serve("k", "gpt-4o", ids(1024) + [i] * 50) > 0)
    assert all(hits[1:15]) and not all(hits[15:])
    assert sum(hits) > 30  # overflow machines warm up too
    quiet = PromptCache(CachePolicy(machine_rpm=1000), seed=0, clock=Clock())
    assert sum(quiet.serve("k", "gpt-4o", [*ids(1024), i]) > 0 for i in range(60)) == 59


@pytest.mark.parametrize(
    "messages",
    [
        HI,
        [{"role": "system", "content": FEW_SHOT}, {"role": "user", "content": "x", "name": "bob"}],
        [{"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}],
    ],
)
def test_the_prompt_sequence_is_as_long_as_the_billed_prompt(messages):
    request = {"messages": messages}
    assert len(prompt_token_ids(request, True, "gpt-4o")) == tokens.count_message_tokens(messages, "gpt-4o")
