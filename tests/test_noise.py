"""Each warning once per run, and no noise that says nothing: FLAML users' runs stay readable."""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time

import diskcache

from ecoptigen import oai, sim
from ecoptigen.tuning._progress import TuningProgress

# A fresh interpreter in which every network connection fails (tiktoken cannot download anything).
NO_NETWORK = textwrap.dedent(
    """
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    """
)


def run_python(code, **env):
    command = [sys.executable, "-W", "error", "-c", code]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_the_offline_legacy_encoding_fallback_is_reported_once(tmp_path):
    code = NO_NETWORK + textwrap.dedent(
        """
        import threading
        from ecoptigen.money.tokens import count_tokens
        threads = [threading.Thread(target=count_tokens, args=("hi", "text-davinci-003")) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(count_tokens("hello world", "text-davinci-003"))
        """
    )
    done = run_python(code, TIKTOKEN_CACHE_DIR=str(tmp_path / "tiktoken"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert done.stderr.count("'p50k_base' is not available offline") == 1


def test_unreadable_cache_entries_are_reported_once_by_name(endpoint, caplog):
    requests = [{"model": "gpt-4o-mini", "prompt": f"entry {i}", "max_tokens": 4} for i in range(3)]
    for request in requests:
        oai.Completion.create(**request)
    directory = oai.Completion.cache_path
    with diskcache.Cache(directory) as cache:
        keys = sorted(cache)
        for key in keys:
            cache.set(key, "{not json")
    oai.Completion._engine.close()  # reopen the cache from disk
    with caplog.at_level(logging.DEBUG, logger="ecoptigen.client._cache"):
        for request in requests:
            oai.Completion.create(**request)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and len([r for r in caplog.records if r.levelno == logging.DEBUG]) == 2
    assert any(key in warnings[0].getMessage() for key in keys) and directory in warnings[0].getMessage()
    assert endpoint.stats()["requests"] == 6  # each damaged entry was a miss, then overwritten


def test_importing_ecoptigen_keeps_flamls_automl_notice_away():
    done = run_python("import ecoptigen\nfrom flaml import tune\nprint(tune.randint(1, 5).lower)")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout.strip() == "1"


def test_a_client_that_goes_away_leaves_no_traceback_in_the_simulated_endpoint(capfd):
    with sim.serve(latency=0.3) as server:
        port = server.port
        body = json.dumps({"model": "gpt-4o-mini", "prompt": "bye", "max_tokens": 4}).encode()
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(
                b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # killed: the connection is reset while the server is still answering
        time.sleep(0.8)
        assert server.stats()["requests"] == 3  # the server did answer (into closed connections)
    assert "Traceback" not in capfd.readouterr().err


def test_the_progress_bar_shows_a_small_budget_as_it_is(capsys):
    with TuningProgress(total=2, budget=0.004, metric="success") as bar:
        bar.update(paid=0.0012, best=0.5)
    shown = capsys.readouterr().err
    assert "$0.001200 of $0.004000" in shown and "of $0.00 " not in shown


def test_a_quiet_tuning_prints_nothing_on_stderr():
    code = textwrap.dedent(
        """
        from ecoptigen import oai, sim
        import tempfile
        with sim.serve(seed=1) as server:
            oai.ChatCompletion.set_cache(0, tempfile.mkdtemp())
            oai.ChatCompletion.tune(
                data=[{"q": "1+1"}, {"q": "2+2"}], metric="ok", mode="max", optimization_budget=0.01,
                eval_func=lambda responses, q: {"ok": float(bool(responses[0]))}, num_samples=3,
                model=["gpt-4o-mini", "gpt-4.1-nano"], prompt="{q}", max_tokens=8, show_progress=False,
                base_url=server.base_url, api_key="sk-sim")
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no optuna study announcements, no flaml notices
