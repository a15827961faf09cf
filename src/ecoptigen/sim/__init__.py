"""A simulated OpenAI-compatible endpoint: free, offline, reproducible. It is a SIMULATION.

No model runs here. The simulated models answer HumanEval problems with the canonical solution or
with plausible mistakes, at rates calibrated on published pass@1 figures, and their own MATH-style
algebra problems (:mod:`ecoptigen.sim.math_problems`) with reasoning that ends in a boxed answer, at
rates set on FLAML's MATH case study; any other prompt gets a generic answer that varies with the
model, the temperature and the sample. Use it for dry runs of a tuning plan, for tests, and for
benchmarks; never to judge which real model is best. See ``docs/sim.md``.

Example:
    >>> import openai
    >>> from ecoptigen import sim
    >>> with sim.serve(seed=0) as server, openai.OpenAI(base_url=server.base_url, api_key="sk-sim") as client:
    ...     reply = client.completions.create(model="text-davinci-003", prompt="Hello", max_tokens=5)
    ...     server.stats()["requests"]
    1
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ecoptigen.sim._http import SimHTTPServer
from ecoptigen.sim._prompt_cache import CachePolicy
from ecoptigen.sim._protocol import FAULT_KINDS, Simulator
from ecoptigen.sim._quirks import QUIRKS, QuirkySimulator

__all__ = ["FAULT_KINDS", "QUIRKS", "CachePolicy", "SimServer", "serve"]

BANNER = "SIMULATED OpenAI-compatible endpoint (ecoptigen.sim): no real model answers here."


class SimServer:
    """A running simulated endpoint. Use as a context manager, or call :meth:`close`."""

    def __init__(self, simulator: Simulator, port: int = 0):
        self._simulator = simulator
        self._http = SimHTTPServer(simulator, port=port)
        self.port = self._http.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._http.serve_forever, name="ecoptigen-sim", daemon=True)
        self._thread.start()

    def stats(self) -> dict[str, Any]:
        """What the simulated provider served and billed (priced with ecoptigen's price table)."""
        return self._simulator.stats()

    def reset_stats(self) -> None:
        """Zero the statistics."""
        self._simulator.reset_stats()

    def close(self) -> None:
        """Stop serving; requests left hanging by a ``hang`` fault are released."""
        self._simulator.closing.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve(
    port: int = 0,
    seed: int | None = None,
    latency: float = 0.0,
    per_token_latency: float = 0.0,
    faults: dict[str, float] | None = None,
    rate_limits: dict[str, dict[str, int]] | None = None,
    api_key: str | None = None,
    fault_plan: list[str | None] | None = None,
    prompt_cache: CachePolicy | bool = True,
    quirks: Iterable[str] | None = None,
) -> SimServer:
    """Start a simulated endpoint on ``127.0.0.1:port`` (a free port when 0) in a background thread.

    Args:
        port: the port to listen on; 0 picks a free one.
        seed: makes every answer reproducible: the k-th identical request gets the same answer in
            every run, however requests interleave. An answer lost to a fault, or whose client went away
            before it was sent, is drawn again by the next identical request, so a run with faults (or
            killed and resumed) sees the samples of a run without them. ``None``: fresh
            randomness.
        latency: seconds before an answer starts (time to first token); jittered by +-10%.
        per_token_latency: seconds per output token of the longest choice.
        faults: probability of each fault per request: ``"429"``, ``"500"``, ``"503"``, ``"disconnect"``
            (the connection is dropped before an answer is generated: not billed), and three faults that
            strike after the answer was generated, so it is billed and lost, as a real provider bills it:
            ``"hang"`` (no answer until the client gives up), ``"malformed"`` (a 200 with invalid JSON),
            ``"truncated"`` (the connection dies halfway through the body). ``stats()["billed_but_lost"]``
            counts those and the answers whose client went away, ``stats()["billed_but_lost_usd"]`` sums
            their bill.
        fault_plan: the faults of the first requests to reach a model, in order (``None``: no fault), before
            ``faults`` apply; for tests that need a fault at an exact request.
        rate_limits: per model ``{"rpm": requests, "tpm": tokens}`` per minute, answered with 429.
        api_key: when set, requests must carry it (``Authorization: Bearer`` or ``api-key``), else 401.
        prompt_cache: automatic prompt caching as OpenAI's (``True``, the default), off (``False``), or
            with other numbers (a :class:`CachePolicy`); see ``docs/sim.md``.
        quirks: behave like a real server that ignores some parameters: ``"ignore_n"`` (one choice
            per answer), ``"no_usage"`` (no ``usage`` in answers), ``"ignore_seed"`` (a request's ``seed``
            is dropped); see :data:`QUIRKS`.

    Returns:
        A :class:`SimServer` with ``base_url`` (ending in ``/v1``), ``stats()`` and ``close()``.

    Raises:
        ConfigurationError: an unknown fault kind or quirk, or fault probabilities that do not add up.
    """
    basics = (seed, latency, per_token_latency, faults, rate_limits, api_key)
    if quirks:
        simulator: Simulator = QuirkySimulator(*basics, quirks=quirks, fault_plan=fault_plan, prompt_cache=prompt_cache)
    else:
        simulator = Simulator(*basics, fault_plan=fault_plan, prompt_cache=prompt_cache)
    return SimServer(simulator, port)
