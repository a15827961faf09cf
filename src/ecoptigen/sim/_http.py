"""HTTP plumbing for the simulated endpoint: a threaded HTTP/1.1 server with keep-alive."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ecoptigen.sim._protocol import Reply, Simulator

__all__ = ["SimHTTPServer"]

_HANG_SECONDS = 120  # longer than any sensible client timeout; ended early when the server closes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every request on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # the default writes every request to stderr
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            reply = self.server.simulator.handle(method, self.path, headers, body)
        except Exception as exc:  # the simulator must never take the server down
            reply = Reply(500, {"error": {"message": f"simulator bug: {exc!r}", "type": "server_error", "code": None}})
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if reply.transport_fault == "hang":
            self.server.simulator.closing.wait(_HANG_SECONDS)
            self.close_connection = True
            return
        if reply.transport_fault == "disconnect":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.status == 200 and reply.transport_fault is None and self._client_gone():
            self.server.simulator.lost(reply)  # billed, as a provider bills it; never received
            self.close_connection = True
            return
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if reply.transport_fault == "truncated":  # the connection dies halfway through the body
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(payload)

    def _client_gone(self) -> bool:
        """Whether the client closed its end while its answer was being generated (killed, or gave up). An
        HTTP/1.1 client sends nothing more on a connection while it waits for an answer, so a readable socket
        with no data means the connection was closed."""
        try:
            if hasattr(select, "poll"):  # poll has no limit on descriptor numbers, unlike select
                poller = select.poll()
                poller.register(self.connection, select.POLLIN)
                readable = bool(poller.poll(0))
            else:
                readable = bool(select.select([self.connection], [], [], 0)[0])
            return readable and not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:  # reset by the peer
            return True
        except ValueError:  # cannot tell: answer as if the client were there
            return False


class SimHTTPServer(ThreadingHTTPServer):
    """Serves a :class:`Simulator` on a loopback port, one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 is far below a tuner's burst of new connections (a pool of
    # requests, plus those relayed for eval_funcs on a cluster): the kernel then drops handshakes, and
    # some connections stall for seconds or die -- answers lost, money counted as maybe billed.
    request_queue_size = socket.SOMAXCONN

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0):
        self.simulator = simulator
        super().__init__((host, port), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away mid-request (killed, timed out) is normal here: no traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]
