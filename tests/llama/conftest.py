"""A real llama.cpp server (``python -m llama_cpp.server``) on 127.0.0.1, serving a tiny random model.

Every test here needs llama-cpp-python[server] and gguf, installed by ``bash .ci/install-llama-cpp``
(which also puts llama.cpp's vocab-only GGUF in the cache folder). Without them the tests fail, with
that command in the message; run ``python -m pytest -m "not llama"`` to leave them out locally.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ecoptigen import oai

INSTALL = "bash .ci/install-llama-cpp"
CACHE = Path(os.environ.get("ECOPTIGEN_LLAMA_CACHE") or Path.home() / ".cache" / "ecoptigen" / "llama")
VOCAB = CACHE / "ggml-vocab-llama-spm.gguf"
# The packages `python -m llama_cpp.server` imports (its `server` extra).
SERVER_MODULES = ("llama_cpp", "gguf", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


@dataclass
class LlamaServer:
    base_url: str
    process: subprocess.Popen
    log: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _require_installed() -> None:
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(
            f"the llama.cpp server tests need llama-cpp-python[server] and gguf (missing: {', '.join(missing)}). "
            f"Install them with: {INSTALL}  (builds llama.cpp once per machine, ~10 min on 2 cores). "
            "To leave these tests out: python -m pytest -m 'not llama'",
            pytrace=False,
        )
    if not VOCAB.is_file():
        pytest.fail(f"llama.cpp's vocabulary {VOCAB} is missing; run: {INSTALL}", pytrace=False)


def _wait_until_serving(process: subprocess.Popen, base_url: str, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the llama.cpp server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base_url + "/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.terminate()
    pytest.fail(f"the llama.cpp server did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """``python -m llama_cpp.server`` serving the tiny model on a free port of 127.0.0.1, for the session."""
    _require_installed()
    from tiny_model import tiny_model  # imports gguf, so only once it is known to be installed

    model = tiny_model(VOCAB, CACHE / "models")
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--n_batch", "64",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", process, log)
    try:
        _wait_until_serving(process, server.base_url, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def llama(llama_server, monkeypatch, tmp_path):
    """Point ecoptigen at the llama.cpp server (a private cache, fresh endpoint memory) for one test."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    engine = oai.Completion._engine
    monkeypatch.setattr(engine, "quirks", type(engine.quirks)())
    previous = (oai.Completion.seed, engine.cache_path_root)
    oai.Completion.set_cache(seed=7, cache_path_root=str(tmp_path / "cache"))
    yield llama_server
    oai.Completion.set_cache(*previous)


class _FlakyProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str, failures: int):
        self.target, self.failures, self.requests = target, failures, 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}/v1"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _FlakyProxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with self.server.lock:
            self.server.requests += 1
            fail = self.server.requests <= self.server.failures
        if fail:
            self._reply(503, b'{"error": {"message": "overloaded (test proxy)", "type": "server_error"}}', "0")
            return
        host, port = self.server.target.split("//")[1].split("/")[0].split(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            upstream.request("POST", self.path, body, {"content-type": "application/json"})
            answer = upstream.getresponse()
            self._reply(answer.status, answer.read())
        finally:
            upstream.close()

    def _reply(self, status: int, payload: bytes, retry_after: str | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        if retry_after is not None:
            self.send_header("retry-after", retry_after)
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def flaky_proxy(llama_server):
    """``flaky_proxy(k)``: a proxy on 127.0.0.1 to the llama.cpp server that answers the first k requests 503."""
    proxies: list[_FlakyProxy] = []

    def start(failures: int) -> _FlakyProxy:
        proxy = _FlakyProxy(llama_server.base_url, failures)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.shutdown()
        proxy.server_close()
