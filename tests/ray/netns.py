"""Running a Ray scenario in a network namespace of its own, with only loopback up.

Ray binds to the machine's interface address by default; the rule of these machines is that tests send
traffic to loopback only. So every Ray scenario runs in a child process inside a fresh network namespace
(``unshare -n``, then ``ip link set lo up``), where the only interface is ``lo``. While it runs, the
scenario samples the namespace's sockets (:class:`SocketWatch`) and reports any that is not on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).with_name("scenarios.py")
_PROC_NET = ("tcp", "tcp6", "udp", "udp6")
_LOOPBACK_V6 = "00000000000000000000000001000000"
_MAPPED_V4_PREFIX = "0000000000000000FFFF0000"


def _is_loopback(hex_address: str) -> bool:
    """Whether a /proc/net address (hex, as the kernel stores it) is on loopback."""
    if len(hex_address) == 8:  # IPv4, little-endian: 127.x.y.z ends in 7F
        return hex_address.endswith("7F")
    if hex_address == _LOOPBACK_V6:
        return True
    return hex_address.startswith(_MAPPED_V4_PREFIX) and hex_address.endswith("7F")


def _is_unconnected(hex_address: str) -> bool:
    return set(hex_address) == {"0"}


def sockets() -> list[tuple[str, str, str]]:
    """``(protocol, local, remote)`` of every socket in this network namespace (hex addresses with ports)."""
    found = []
    for protocol in _PROC_NET:
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            found.append((protocol, fields[1], fields[2]))
    return found


def off_loopback(entries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Sockets bound to, or connected to, anything but loopback."""
    bad = []
    for protocol, local, remote in entries:
        local_ok = _is_loopback(local.split(":")[0])
        remote_address = remote.split(":")[0]
        remote_ok = _is_loopback(remote_address) or _is_unconnected(remote_address)
        if not (local_ok and remote_ok):
            bad.append((protocol, local, remote))
    return bad


class SocketWatch:
    """Samples the namespace's sockets every ``interval`` seconds until stopped."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.samples = 0
        self.largest = 0
        self.bad: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        entries = sockets()
        self.samples += 1
        self.largest = max(self.largest, len(entries))
        self.bad.update(off_loopback(entries))

    def __enter__(self) -> SocketWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def report(self) -> dict[str, Any]:
        return {"samples": self.samples, "most_sockets": self.largest, "off_loopback": sorted(self.bad)}


def run_scenario(name: str, timeout: float = 240) -> dict[str, Any]:
    """Run ``scenarios.py <name>`` in a new network namespace with only ``lo`` up; return what it wrote.

    Fails (never skips) when the namespace cannot be made: the Ray tests need root, ``unshare`` and ``ip``.
    """
    import pytest

    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(
            "the Ray tests run in a network namespace of their own: they need root and the unshare and ip "
            f"commands (util-linux, iproute2); missing: {missing or 'root'}",
            pytrace=False,
        )
    # A short folder: Ray's session keeps unix sockets there, whose paths the kernel limits to 107 bytes.
    work = tempfile.mkdtemp(prefix="eray-", dir="/tmp")
    try:
        out = os.path.join(work, "result.json")
        script = f'ip link set lo up && exec "{sys.executable}" "{SCENARIOS}" {name} "{out}" "{work}"'
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": os.path.join(work, "ray")}
        for variable in ("RAY_ADDRESS", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            env.pop(variable, None)
        run = subprocess.run(
            ["unshare", "-n", "--", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=timeout
        )
        if run.returncode != 0 or not os.path.exists(out):
            pytest.fail(f"scenario {name} failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-6000:]}")
        with open(out) as file:
            return json.load(file)
    finally:
        shutil.rmtree(work, ignore_errors=True)
