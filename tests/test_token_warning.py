"""The approximate-token-count warning: at most once per process, and never for a model whose
tokenizer is available offline."""

import os
import subprocess
import sys
import textwrap

from test_noise import NO_NETWORK


def run_offline(code, cache_dir):
    command = [sys.executable, "-W", "error", "-c", NO_NETWORK + textwrap.dedent(code)]
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache_dir)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_two_missing_legacy_encodings_give_one_warning(tmp_path):
    done = run_offline(
        """
        from ecoptigen.money.tokens import count_tokens
        print(count_tokens("hello world", "text-davinci-003"), count_tokens("hello world", "text-ada-001"))
        """,
        tmp_path / "tiktoken",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "2"]
    assert done.stderr.count("is not available offline") == 1, done.stderr


def test_models_whose_tokenizer_ships_with_ecoptigen_give_no_warning(tmp_path):
    done = run_offline(
        """
        from ecoptigen.money.tokens import count_tokens
        for model in ("gpt-3.5-turbo-instruct", "gpt-4o-mini", "gpt-4.1-nano", "o4-mini", "some-unknown-model"):
            count_tokens("hello world", model)
        """,
        tmp_path / "tiktoken",
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
