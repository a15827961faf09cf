"""tune() and test() end to end: the real engine and openai SDK over HTTP against the simulated endpoint.

The server's bill (``stats()["total_billed_usd"]``) is the ground truth for money.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ecoptigen import oai, sim
from ecoptigen.tuning._flaml import tune as flaml_tune

DATA = [{"definition": f'def add_{i}(a, b):\n    """Return a + b + {i}."""\n', "offset": i} for i in range(6)]
PROMPTS = ["{definition}", "# Python 3{definition}", "Complete the following Python function:{definition}"]
STOPS = [["\nclass", "\ndef", "\nif", "\nprint"], None]


def has_text(responses, **instance):
    return {"success": any(str(r).strip() for r in responses), "responses": len(responses)}


def billed(server):
    return server.stats()["total_billed_usd"]


def small_space(**extra):
    space = {
        "model": ["gpt-4o-mini", "gpt-4.1-nano"],
        "prompt": PROMPTS,
        "stop": STOPS,
        "n": flaml_tune.randint(1, 8),
        "max_tokens": flaml_tune.lograndint(16, 128),
        "show_progress": False,
    }
    return {**space, **extra}


def test_the_seed_call_returns_a_config_create_and_test_accept(endpoint):
    config, analysis = oai.Completion.tune(
        data=DATA,
        metric="success",
        mode="max",
        eval_func=has_text,
        inference_budget=0.05,
        optimization_budget=0.3,
        num_samples=3,
        prompt=PROMPTS,
        stop=STOPS,
        show_progress=False,
    )
    assert analysis.total_cost == pytest.approx(billed(endpoint))
    assert analysis.best_result["success"] == analysis.best_trial.metrics["success"]
    response = oai.Completion.create(context=DATA[1], **config)
    assert oai.Completion.extract_text(response)
    result = oai.Completion.test(DATA, config)  # the seed's style; eval_func from the tune
    assert {"success", "cost", "inference_cost"} <= set(result)


def test_chat_tuning_of_messages(endpoint):
    messages = [
        [{"role": "user", "content": "{definition}"}],
        [{"role": "system", "content": "Write Python only."}, {"role": "user", "content": "{definition}"}],
    ]
    config, _ = oai.ChatCompletion.tune(
        data=DATA, metric="success", mode="max", eval_func=has_text, optimization_budget=0.1, num_samples=2,
        messages=messages, model="gpt-4.1-nano", n=1, max_tokens=32, show_progress=False,
    )  # fmt: skip
    assert config["messages"] in messages
    assert oai.ChatCompletion.create(context=DATA[0], **config)["choices"]
    result = oai.ChatCompletion.test(DATA, has_text, **config)  # FLAML's later style
    assert result["success"] == 1.0


def test_hard_budget_under_concurrency_counts_requests_inside_eval_func(endpoint):
    budget = 0.004

    def with_assertions(responses, **instance):
        oai.ChatCompletion.create(
            context=instance, model="gpt-4o-mini", max_tokens=64, prompt="Write assertions for:{definition}"
        )
        return has_text(responses, **instance)

    _, analysis = oai.Completion.tune(
        data=DATA, metric="success", mode="max", eval_func=with_assertions, inference_budget=0.01,
        optimization_budget=budget, num_samples=-1, concurrency=16, parallel_trials=3, **small_space(),
    )  # fmt: skip
    assert analysis.stopped_because.startswith("the optimization budget is spent")
    assert billed(endpoint) <= budget
    assert analysis.total_cost == pytest.approx(billed(endpoint))
    assert endpoint.stats()["models"]["gpt-4o-mini"]["requests"] > 0


def test_concurrent_search_equals_sequential_search(endpoint, tmp_path, monkeypatch):
    runs = []
    for concurrency in (1, 8):
        # a fresh server with the same seed: the k-th identical request gets the same answer in both runs
        with sim.serve(seed=99) as server:
            monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
            oai.Completion.set_cache(seed=7, cache_path_root=str(tmp_path / f"cache{concurrency}"))
            _, analysis = oai.Completion.tune(
                data=DATA, metric="success", mode="max", eval_func=has_text, inference_budget=0.002,
                optimization_budget=0.05, num_samples=-1, concurrency=concurrency, **small_space(),
            )  # fmt: skip
            runs.append(([(t.config, t.metrics, t.cost, t.status) for t in analysis.trials], billed(server)))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) > 3


def test_fully_cached_rerun_makes_no_paid_request(endpoint):
    settings = {"data": DATA, "metric": "success", "mode": "max", "eval_func": has_text,
                "inference_budget": 0.01, "optimization_budget": 0.05, "num_samples": 4, **small_space()}  # fmt: skip
    _, first = oai.Completion.tune(**settings)
    endpoint.reset_stats()
    _, again = oai.Completion.tune(**settings)
    assert endpoint.stats()["requests"] == 0
    assert again.total_cost == 0 and again.saved_by_cache == pytest.approx(first.total_cost)
    assert [t.config for t in again.trials] == [t.config for t in first.trials]


RESUMABLE = textwrap.dedent(
    """
    import json, sys
    from ecoptigen import oai, sim
    from ecoptigen.tuning._flaml import tune as flaml_tune
    data = json.loads(sys.argv[3])
    oai.Completion.set_cache(seed=7, cache_path_root=sys.argv[2])
    def has_text(responses, **instance):
        return {"success": any(str(r).strip() for r in responses), "responses": len(responses)}
    config, analysis = oai.Completion.tune(
        data=data, metric="success", mode="max", eval_func=has_text, log_file_name=sys.argv[1],
        inference_budget=0.01, optimization_budget=0.05, num_samples=int(sys.argv[4]),
        model=["gpt-4o-mini", "gpt-4.1-nano"], prompt=["{definition}", "# Python 3{definition}"],
        n=flaml_tune.randint(1, 8), max_tokens=flaml_tune.lograndint(16, 128), show_progress=False)
    print(json.dumps({"trials": len(analysis.trials), "replayed": sum(t.replayed for t in analysis.trials),
                      "total_cost": analysis.total_cost, "unconfirmed": analysis.unconfirmed_cost}))
    """
)


def run_resumable(log, cache, samples, env):
    args = [sys.executable, "-W", "error", "-c", RESUMABLE, log, cache, json.dumps(DATA), str(samples)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def trial_lines(log):
    if not os.path.exists(log):
        return 0
    with open(log) as file:
        return sum('"kind": "trial"' in line for line in file)


def test_resume_after_a_kill_repays_nothing(endpoint, tmp_path):
    log, cache, samples = str(tmp_path / "tune.jsonl"), str(tmp_path / "cache"), 12
    env = dict(os.environ)
    killed = run_resumable(log, cache, samples, env)
    deadline = time.monotonic() + 120
    while trial_lines(log) < 3 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    done_before_kill = trial_lines(log)
    assert 3 <= done_before_kill < samples  # killed mid-run
    billed_before = billed(endpoint)

    resumed = run_resumable(log, cache, samples, env)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["replayed"] == done_before_kill and summary["trials"] == samples
    assert billed(endpoint) <= 0.05
    # known paid is what the server billed for answers that arrived; requests in flight at the kill are
    # unconfirmed, counted at their worst case: the two together never fall short of the bill
    assert summary["total_cost"] <= billed(endpoint) + 1e-9
    assert billed(endpoint) - 1e-9 <= summary["total_cost"] + summary["unconfirmed"] <= 0.05
    # the killed run had paid something, and the resumed run paid only for what was still to do
    assert 0 < billed_before < billed(endpoint)

    endpoint.reset_stats()
    again = run_resumable(log, cache, samples, env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["replayed"] == samples
    assert endpoint.stats()["requests"] == 0
