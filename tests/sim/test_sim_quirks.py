"""The simulated endpoint can ignore parameters as real servers do (``serve(quirks=...)``, ``--quirk``)."""

import os
import subprocess
import sys

import openai
import pytest

from ecoptigen import errors, sim
from ecoptigen.sim._humaneval import problems

PROMPT = problems()["HumanEval/0"].prompt


def completion(server, **kwargs):
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        return client.completions.create(model="code-davinci-002", prompt=PROMPT, max_tokens=40, **kwargs)


def test_without_quirks_every_parameter_is_honoured():
    with sim.serve(seed=0) as server:
        answer = completion(server, n=3, temperature=1)
        assert len(answer.choices) == 3 and answer.usage is not None
        assert completion(server, seed=5).choices[0].text == completion(server, seed=5).choices[0].text


def test_ignore_n_answers_with_one_choice_and_bills_only_it():
    with sim.serve(seed=0, quirks={"ignore_n"}) as server:
        answer = completion(server, n=3, best_of=4, temperature=1)
        assert len(answer.choices) == 1
        stats = server.stats()["models"]["code-davinci-002"]
        assert stats["requests"] == 1 and stats["completion_tokens"] == answer.usage.completion_tokens


def test_no_usage_drops_usage_but_still_bills():
    with sim.serve(seed=0, quirks=["no_usage"]) as server:
        answer = completion(server, n=2)
        assert answer.usage is None and len(answer.choices) == 2
        assert server.stats()["models"]["code-davinci-002"]["completion_tokens"] > 0


def test_ignore_seed_does_not_repeat_a_seeded_request():
    with sim.serve(seed=0, quirks={"ignore_seed"}) as server:
        texts = {completion(server, seed=5, temperature=1).choices[0].text for _ in range(4)}
        assert len(texts) > 1


def test_unknown_quirk_is_rejected():
    with pytest.raises(errors.ConfigurationError, match="ignore_n"):
        sim.serve(quirks={"ignore_everything"})


def test_cli_takes_quirks(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "ecoptigen.sim", "--port", "0", "--quirk", "ignore_n", "--quirk", "no_usage"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert "ignore_n, no_usage" in lines[1]
        base_url = lines[2].split()[-1]
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0) as client:
            answer = client.completions.create(model="code-davinci-002", prompt="x", max_tokens=5, n=2)
        assert len(answer.choices) == 1 and answer.usage is None
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_cli_rejects_an_unknown_quirk():
    done = subprocess.run(
        [sys.executable, "-m", "ecoptigen.sim", "--port", "0", "--quirk", "bogus"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "invalid choice: 'bogus'" in done.stderr


def test_reject_n_refuses_more_than_one_choice_as_llama_server_does():
    with sim.serve(seed=0, quirks={"reject_n"}) as server:
        with pytest.raises(openai.BadRequestError, match="Only one completion choice"):
            completion(server, n=2)
        assert len(completion(server, n=1).choices) == 1
        assert server.stats()["errors"] == 1
