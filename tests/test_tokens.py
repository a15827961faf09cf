import hashlib
import os
import subprocess
import sys
import textwrap

# Run in a fresh interpreter in which every network connection fails.
NO_NETWORK = textwrap.dedent(
    """
    import socket
    import sys
    def refuse(*args, **kwargs):
        print("NETWORK ATTEMPTED", file=sys.stderr)
        raise OSError("network disabled by the test")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    """
)


def run_offline(code, cache_dir):
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache_dir)}
    script = NO_NETWORK + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )


def test_token_counting_works_on_a_fresh_machine_with_no_network(tmp_path):
    result = run_offline(
        """
        from ecoptigen.money.tokens import count_tokens, count_message_tokens
        print(count_tokens("hello world", "gpt-4"), count_tokens("hello world", "gpt-4o-mini"),
              count_message_tokens([{"role": "user", "content": "hi"}], "gpt-4o"))
        """,
        tmp_path / "tiktoken",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "2", "8"]
    assert len(os.listdir(tmp_path / "tiktoken")) == 2  # cl100k_base and o200k_base, seeded from the package


def test_legacy_encoding_falls_back_with_a_logged_warning(tmp_path):
    result = run_offline(
        """
        from ecoptigen.money.tokens import count_tokens, encoding_for
        print(encoding_for("text-davinci-003").name, count_tokens("def f(x):", "code-davinci-002"))
        """,
        tmp_path / "tiktoken",
    )
    assert result.returncode == 0, result.stderr
    name, count = result.stdout.split()
    assert name == "cl100k_base" and int(count) > 0
    assert "approximate" in result.stderr and "does not download" in result.stderr
    assert "NETWORK ATTEMPTED" not in result.stderr  # tests and offline users never wait on a download


def test_gpt_oss_encoding_comes_from_the_shipped_file(tmp_path):
    result = run_offline(
        """
        from ecoptigen.money.tokens import count_tokens, encoding_for
        print(encoding_for("gpt-oss-120b").name, count_tokens("hello world", "gpt-oss-120b"))
        """,
        tmp_path / "tiktoken",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["o200k_harmony", "2"]
    assert "NETWORK ATTEMPTED" not in result.stderr


def test_a_legacy_file_in_tiktokens_cache_is_handed_to_tiktoken(tmp_path):
    # A file under p50k_base's cache name makes ecoptigen ask tiktoken for it; this one is not the real
    # file, so tiktoken rejects it (and tries to fetch a fresh copy), and counting falls back.
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    url = "https://openaipublic.blob.core.windows.net/encodings/p50k_base.tiktoken"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"not the real file")
    result = run_offline(
        """
        from ecoptigen.money.tokens import encoding_for
        print(encoding_for("text-davinci-003").name)
        """,
        cache,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cl100k_base"]
    assert "could not be loaded" in result.stderr and "NETWORK ATTEMPTED" in result.stderr
