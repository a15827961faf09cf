"""create() end to end: the real openai SDK over HTTP against the simulated endpoint."""

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from ecoptigen import errors, oai
from ecoptigen.money.ledger import SpendLedger, run_in_context

DEFINITION = 'def add(a, b):\n    """Return the sum of a and b."""\n'


def billed(server):
    return server.stats()["total_billed_usd"]


def test_completion_model_with_a_template(endpoint):
    response = oai.Completion.create(
        context={"definition": DEFINITION}, model="text-davinci-003", prompt="# Python 3{definition}", max_tokens=64
    )
    assert isinstance(response["choices"][0]["text"], str)
    assert response["usage"]["prompt_tokens"] > 0
    assert response["model"] == "text-davinci-003"
    assert response["cost"] == pytest.approx(billed(endpoint))
    assert json.loads(str(response))["model"] == "text-davinci-003"  # prints as JSON


def test_chat_model_given_a_prompt_gets_one_user_message(endpoint):
    response = oai.Completion.create(model="gpt-4o-mini", prompt="Say hi", max_tokens=8)
    assert response["object"] == "chat.completion"
    assert oai.Completion.extract_text(response)[0]
    assert endpoint.stats()["models"]["gpt-4o-mini"]["requests"] == 1


def test_chat_completion_with_message_templates(endpoint):
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Is {x} even?"}]
    response = oai.ChatCompletion.create(context={"x": 4}, model="gpt-4.1-nano", messages=messages, n=3)
    assert len(oai.ChatCompletion.extract_text(response)) == 3
    assert response["cost"] == pytest.approx(billed(endpoint))


def test_missing_template_key_fails_before_any_request(endpoint):
    with pytest.raises(errors.TemplateError, match="definition"):
        oai.Completion.create(context={"prompt": "x"}, model="gpt-4o-mini", prompt="{definition}")
    with pytest.raises(errors.TemplateError):
        oai.Completion.create(
            context={"a": 1},
            config_list=[{"model": "gpt-4o-mini", "prompt": "{a}"}, {"model": "gpt-4o", "prompt": "{b}"}],
        )
    assert endpoint.stats()["requests"] == 0


def test_cache_hit_costs_nothing_and_sends_nothing(endpoint):
    config = {"model": "gpt-4o-mini", "prompt": "Tell me a number", "max_tokens": 8, "temperature": 1}
    first = oai.Completion.create(**config)
    paid_before = oai.Completion._engine.usage.paid
    second = oai.Completion.create(**config)
    assert second["choices"] == first["choices"]
    assert endpoint.stats()["requests"] == 1
    assert oai.Completion._engine.usage.paid == pytest.approx(paid_before)
    assert oai.Completion.create(**config, use_cache=False)["choices"] is not None
    assert endpoint.stats()["requests"] == 2


def test_seed_selects_the_cache_namespace(endpoint):
    config = {"model": "gpt-4o-mini", "prompt": "Tell me a number", "max_tokens": 8, "temperature": 1}
    oai.Completion.create(**config, seed=1)
    oai.Completion.create(**config, seed=2)
    oai.Completion.create(**config, seed=1)
    assert endpoint.stats()["requests"] == 2
    oai.Completion.clear_cache(seed=1, cache_path_root=oai.Completion._engine.cache_path_root)
    oai.Completion.create(**config, seed=1)
    assert endpoint.stats()["requests"] == 3


def test_cache_is_shared_across_processes(endpoint, tmp_path):
    root = oai.Completion._engine.cache_path_root
    script = textwrap.dedent(
        f"""
        from ecoptigen import oai
        oai.Completion.set_cache(seed=7, cache_path_root={root!r})
        r = oai.Completion.create(model="gpt-4o-mini", prompt="cross-process", max_tokens=8)
        print(r["choices"][0]["message"]["content"])
        """
    )
    child = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    assert endpoint.stats()["requests"] == 1
    response = oai.Completion.create(model="gpt-4o-mini", prompt="cross-process", max_tokens=8)
    assert response["choices"][0]["message"]["content"] == child.stdout.rstrip("\n")
    assert endpoint.stats()["requests"] == 1


def test_corrupted_cache_warns_and_is_a_miss(endpoint):
    root = oai.Completion._engine.cache_path_root
    oai.Completion.set_cache(seed="broken", cache_path_root=root)
    import os

    os.makedirs(os.path.join(root, "broken"))
    with open(os.path.join(root, "broken", "cache.db"), "wb") as f:
        f.write(b"this is not a sqlite database" * 100)
    with pytest.warns(RuntimeWarning, match="could not"):
        response = oai.Completion.create(model="gpt-4o-mini", prompt="hello", max_tokens=4)
    assert response["choices"]
    with open(os.path.join(root, "broken", "cache.db"), "rb") as f:
        assert f.read(11) == b"this is not"  # the user's file is left alone


def test_failures_are_not_cached(endpoint):
    with pytest.raises(errors.RequestError, match="404"):
        oai.Completion.create(model="gpt-nonexistent", prompt="hi", max_tokens=4, price=[0.001, 0.001])
    with pytest.raises(errors.RequestError, match="404"):
        oai.Completion.create(model="gpt-nonexistent", prompt="hi", max_tokens=4, price=[0.001, 0.001])
    assert endpoint.stats()["requests"] == 2


def test_config_list_fails_over_and_sums_costs(endpoint):
    config_list = [
        {"model": "gpt-nonexistent"},  # 404: not retried, next config
        {"model": "gpt-4o-mini", "max_tokens": 3},
        {"model": "gpt-4o"},
    ]
    response = oai.Completion.create(prompt="hi", config_list=config_list)
    assert response["config_id"] == 1 and response["pass_filter"] is True
    assert response["model"] == "gpt-4o-mini"


def test_filter_func_moves_on_and_costs_add_up(endpoint):
    seen = []

    def needs_gpt4o(context, response):
        seen.append(context)
        return response["model"] == "gpt-4o"

    config_list = [{"model": "gpt-4o-mini"}, {"model": "gpt-4o"}]
    response = oai.Completion.create(
        context={"q": "2+2"}, prompt="{q}", max_tokens=4, config_list=config_list, filter_func=needs_gpt4o
    )
    assert response["config_id"] == 1 and response["pass_filter"] is True
    assert seen == [{"q": "2+2"}, {"q": "2+2"}]
    assert response["cost"] == pytest.approx(billed(endpoint))


def test_last_config_is_returned_even_when_it_fails_the_filter(endpoint):
    response = oai.Completion.create(
        prompt="hi", max_tokens=4, config_list=[{"model": "gpt-4o-mini"}], filter_func=lambda **kw: False
    )
    assert response["pass_filter"] is False and response["config_id"] == 0


def test_bad_key_is_not_retried_and_says_what_to_do(monkeypatch, tmp_path):
    from ecoptigen import sim

    with sim.serve(api_key="sk-right") as guarded:
        with pytest.raises(errors.AuthenticationError, match="OPENAI_API_KEY"):
            oai.Completion.create(
                model="gpt-4o-mini", prompt="hi", base_url=guarded.base_url, api_key="sk-wrong", use_cache=False
            )
        assert guarded.stats()["requests"] <= 1
        ok = oai.Completion.create(
            model="gpt-4o-mini", prompt="hi", base_url=guarded.base_url, api_key="sk-right", use_cache=False
        )
        assert ok["choices"]


def test_no_key_anywhere_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(errors.ConfigurationError, match="OPENAI_API_KEY"):
        oai.Completion.create(model="gpt-4o-mini", prompt="hi", use_cache=False)


def test_retries_429_and_5xx_with_retry_after_and_cost_matches_the_bill():
    from ecoptigen import sim

    faults = {"429": 0.3, "500": 0.1, "503": 0.1}
    with sim.serve(seed=5, faults=faults) as flaky:
        responses = [
            oai.Completion.create(
                model="gpt-4o-mini",
                prompt=f"q{i}",
                max_tokens=4,
                base_url=flaky.base_url,
                api_key="k",
                use_cache=False,
                retry_time=0.05,
            )
            for i in range(20)
        ]
        stats = flaky.stats()
    assert stats["errors"] > 0
    assert sum(r["cost"] for r in responses) == pytest.approx(stats["total_billed_usd"])


def test_hangs_time_out_and_are_retried():
    from ecoptigen import sim

    with sim.serve(seed=3, faults={"hang": 0.5}) as hanging:
        for i in range(4):
            response = oai.Completion.create(
                model="gpt-4o-mini",
                prompt=f"h{i}",
                max_tokens=4,
                base_url=hanging.base_url,
                api_key="k",
                use_cache=False,
                request_timeout=0.5,
                retry_time=0.05,
            )
            assert response["choices"]
        stats = hanging.stats()
    # some requests hung (billed, their answers lost), timed out and were sent again; each of the 4 was
    # answered once
    assert stats["billed_but_lost"] >= 1 and stats["requests"] == 4 + stats["billed_but_lost"]


@pytest.mark.parametrize("not_raising", [{"raise_on_ratelimit_or_timeout": False}, {"raise_error": False}])
def test_returns_minus_one_when_asked_not_to_raise(not_raising):
    from ecoptigen import sim

    with sim.serve(faults={"429": 1.0}) as limited:
        request = {"model": "gpt-4o-mini", "prompt": "hi", "base_url": limited.base_url, "api_key": "k"}
        request.update(use_cache=False, retry_timeout=0.3, retry_time=0.05)
        assert oai.Completion.create(**request, **not_raising) == -1
        with pytest.raises(errors.RateLimitError):
            oai.Completion.create(**request)


def test_azure_as_the_seed_configures_it(endpoint, monkeypatch):
    azure_base = endpoint.base_url.removesuffix("/v1")
    monkeypatch.setattr(openai, "api_type", "azure", raising=False)
    monkeypatch.setattr(openai, "api_base", azure_base + "/", raising=False)
    monkeypatch.setattr(openai, "api_version", "2023-03-15-preview", raising=False)
    response = oai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[{"role": "user", "content": "hi"}])
    assert response["choices"][0]["message"]["content"]
    assert endpoint.stats()["models"]["gpt-3.5-turbo"]["requests"] == 1


def test_openai_api_base_set_in_code_wins_over_the_azure_endpoint_from_the_environment(endpoint, monkeypatch):
    azure_base = endpoint.base_url.removesuffix("/v1")
    # What openai copies from AZURE_OPENAI_ENDPOINT when it is imported: here, nothing listens there.
    monkeypatch.setattr(openai, "azure_endpoint", "http://127.0.0.1:9", raising=False)
    monkeypatch.setattr(openai, "api_type", "azure", raising=False)
    monkeypatch.setattr(openai, "api_base", azure_base + "/", raising=False)
    monkeypatch.setattr(openai, "api_version", "2024-06-01", raising=False)
    response = oai.ChatCompletion.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert response["choices"][0]["message"]["content"]


def test_azure_from_a_config_list(endpoint):
    azure = {
        "model": "gpt-4o-mini",
        "api_type": "azure",
        "base_url": endpoint.base_url.removesuffix("/v1"),
        "api_version": "2024-06-01",
        "api_key": "azure-key",
    }
    response = oai.Completion.create(prompt="hi", max_tokens=4, config_list=[azure])
    assert response["config_id"] == 0 and response["choices"]


def test_two_hundred_concurrent_creates(endpoint):
    def one(i):
        return oai.Completion.create(model="gpt-4.1-nano", prompt=f"question {i}", max_tokens=6, use_cache=False)

    paid_before = oai.Completion._engine.usage.paid
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(one, range(200)))
    assert all(r["choices"] for r in responses)
    stats = endpoint.stats()
    assert stats["requests"] == 200 and stats["errors"] == 0
    assert sum(r["cost"] for r in responses) == pytest.approx(stats["total_billed_usd"])
    assert oai.Completion._engine.usage.paid - paid_before == pytest.approx(stats["total_billed_usd"])


def test_budget_is_never_exceeded_under_concurrency(endpoint):
    ledger = SpendLedger(budget=0.002)

    def one(i):
        try:
            return oai.Completion.create(model="gpt-4o", prompt=f"budget {i}", max_tokens=20, use_cache=False)
        except errors.BudgetExceededError:
            return None

    with ledger.activate(), ThreadPoolExecutor(16) as pool:
        results = list(pool.map(run_in_context(one), range(100)))
    assert any(r is None for r in results) and any(r is not None for r in results)
    assert endpoint.stats()["total_billed_usd"] <= 0.002
    assert ledger.paid == pytest.approx(endpoint.stats()["total_billed_usd"])


def test_unpriced_model_cannot_run_under_a_budget(endpoint):
    with SpendLedger(budget=1.0).activate(), pytest.raises(errors.UnknownPriceError, match="price1K"):
        oai.Completion.create(model="my-local-model", prompt="hi")
    assert endpoint.stats()["requests"] == 0


def test_logging_records_requests(endpoint):
    oai.Completion.start_logging(compact=False)
    oai.Completion.create(model="gpt-4o-mini", prompt="log me", max_tokens=4)
    history = oai.Completion.logged_history
    oai.Completion.stop_logging()
    assert len(history) == 1
    assert history[0]["request"]["messages"][0]["content"] == "log me"
    assert oai.Completion.logged_history is None


def test_usage_summary_separates_paid_from_saved(endpoint, capsys):
    columns = ["requests", "cache hits", "tokens", "cached", "reasoning", "paid $", "saved $"]

    def gpt_4o_mini_row():  # the summary covers the whole process: compare before and after
        oai.Completion.print_usage_summary()
        lines = capsys.readouterr().out.splitlines()
        assert all(column in lines[0] for column in columns)
        rows = [line.split() for line in lines if line.startswith("gpt-4o-mini ")]
        return [float(v) for v in rows[0][1:]] if rows else [0.0] * len(columns)

    before = gpt_4o_mini_row()
    oai.Completion.create(model="gpt-4o-mini", prompt="summary", max_tokens=4)
    oai.Completion.create(model="gpt-4o-mini", prompt="summary", max_tokens=4)
    change = dict(zip(columns, (a - b for a, b in zip(gpt_4o_mini_row(), before, strict=True)), strict=True))
    requests, cache_hits, paid, saved = (change[c] for c in ("requests", "cache hits", "paid $", "saved $"))
    assert (requests, cache_hits) == (1, 1)
    assert paid == pytest.approx(saved, abs=2e-6) and paid == pytest.approx(
        billed := endpoint.stats()["total_billed_usd"], abs=2e-6
    )
    assert billed > 0


def test_malformed_and_dropped_responses_are_retried():
    from ecoptigen import sim

    with sim.serve(seed=8, faults={"malformed": 0.3, "disconnect": 0.2}) as broken:
        for i in range(10):
            response = oai.Completion.create(
                model="gpt-4o-mini",
                prompt=f"m{i}",
                max_tokens=4,
                base_url=broken.base_url,
                api_key="k",
                use_cache=False,
                retry_time=0.05,
            )
            assert response["choices"]
        assert broken.stats()["errors"] > 0
