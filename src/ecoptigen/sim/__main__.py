"""``python -m ecoptigen.sim``: run the simulated endpoint until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import signal
import sys
import threading

from ecoptigen.sim import BANNER, QUIRKS, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecoptigen.sim", description=BANNER)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--seed", type=int, default=None, help="make every answer reproducible")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to first token")
    parser.add_argument("--per-token-latency", type=float, default=0.0, help="seconds per output token")
    parser.add_argument("--faults", type=json.loads, default=None, help='e.g. \'{"429": 0.1, "hang": 0.01}\'')
    parser.add_argument("--rate-limits", type=json.loads, default=None, help='e.g. \'{"gpt-4": {"rpm": 60}}\'')
    parser.add_argument("--api-key", default=None, help="require this API key")
    parser.add_argument(
        "--quirk",
        action="append",
        choices=sorted(QUIRKS),
        default=[],
        help="ignore a parameter as some real servers do (repeatable): "
        + "; ".join(f"{name}: {what}" for name, what in sorted(QUIRKS.items())),
    )
    args = parser.parse_args(argv)
    try:
        server = serve(
            port=args.port,
            seed=args.seed,
            latency=args.latency,
            per_token_latency=args.per_token_latency,
            faults=args.faults,
            rate_limits=args.rate_limits,
            api_key=args.api_key,
            quirks=args.quirk,
        )
    except OSError as exc:
        print(f"python -m ecoptigen.sim: {_cannot_listen(args.port, exc)}", file=sys.stderr)
        return 2
    print(BANNER)
    if args.quirk:
        print(f"emulating servers that ignore parameters: {', '.join(sorted(args.quirk))}")
    print(f"listening on {server.base_url}")
    print("point ecoptigen (or any OpenAI client) at it with:")
    print(f"  export OPENAI_BASE_URL={server.base_url}")
    print(f"  export OPENAI_API_KEY={args.api_key or 'sk-simulated'}")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.close()
    return 0


def _cannot_listen(port: int, exc: OSError) -> str:
    """One line saying why the server cannot listen on ``port``, and what to do."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on 127.0.0.1 is already in use (by another server, or a simulated endpoint already "
            "running): pick another with --port N, or --port 0 for any free port."
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} on 127.0.0.1: use a port above 1023 (--port 8000), or --port 0."
    return f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}): pick another port with --port N."


if __name__ == "__main__":
    sys.exit(main())
