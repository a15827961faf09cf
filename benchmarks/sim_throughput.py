"""Requests per second the simulated endpoint serves on one core with latency off.

The server runs in its own process pinned to CPU 0 (``taskset``); the load comes from another
process over keep-alive connections. The peer, measured in the same run the same way, is a bare
stdlib HTTP/1.1 server that answers every POST with a fixed JSON body: the ceiling of the plumbing.
Target (issue 3): at least 500 small requests/s.

Run: python benchmarks/sim_throughput.py [--seconds 5] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx2
from _common import add_common_args, write_results

ECHO_SERVER = textwrap.dedent(
    """
    import socket, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    BODY = b'{"id":"x","object":"text_completion","choices":[{"text":"hi","index":0}]}'
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        def log_message(self, *a): pass
        def do_POST(self):
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)
REQUEST = {"model": "davinci-002", "prompt": "Say hello", "max_tokens": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def pinned(command: list[str], port: int):
    prefix = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    proc = subprocess.Popen(prefix + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def load(url: str, seconds: float, connections: int) -> float:
    counts = [0] * connections
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        with httpx2.Client() as http:
            while time.monotonic() < stop:
                http.post(url, json=REQUEST).raise_for_status()
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds = 0.5
    results = {"benchmark": "simulated endpoint requests/s, latency off, server pinned to one core"}
    port = free_port()
    with pinned([sys.executable, "-m", "ecoptigen.sim", "--port", str(port), "--seed", "0"], port):
        url = f"http://127.0.0.1:{port}/v1/completions"
        load(url, 1.0, 1)  # warm up: tokenizer and HumanEval tables load lazily
        results["sim_requests_per_s"] = load(url, args.seconds, args.connections)
    port = free_port()
    with pinned([sys.executable, "-c", ECHO_SERVER, str(port)], port):
        url = f"http://127.0.0.1:{port}/v1/completions"
        load(url, 1.0, 1)
        results["bare_stdlib_server_requests_per_s"] = load(url, args.seconds, args.connections)
    results["ratio_sim_to_bare_server"] = results["sim_requests_per_s"] / results["bare_stdlib_server_requests_per_s"]
    results["target_requests_per_s"] = 500
    write_results("sim_throughput", results, args)


if __name__ == "__main__":
    main()
