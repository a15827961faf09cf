"""Overhead of ``oai.Completion.create`` over a raw ``openai`` SDK call, and cache-hit latency.

Both peers send the same chat request to the same simulated endpoint (latency off, running in its
own process) and end with the response as a dict, which is what ``create`` returns: the raw peer is
``client.chat.completions.create(...).model_dump()``. Rounds alternate between them so drift affects
both alike. ``create`` reads the raw HTTP response instead of building the SDK's pydantic objects,
which is why it can come out faster than the raw call.
Targets (issue 2): create's overhead under 5% with the cache off; cache-hit median under 1 ms.

Run: python benchmarks/create_overhead.py [--requests 400] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import openai
from _common import add_common_args, sim_process, write_results

from ecoptigen import oai

MESSAGES = [{"role": "user", "content": "Reply with a short greeting."}]


def time_calls(fn, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests per peer per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache-hits", type=int, default=2000, help="cache hits timed")
    add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds, args.cache_hits = 20, 1, 200

    with sim_process() as base_url, tempfile.TemporaryDirectory() as cache_root:
        raw = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        oai.Completion.set_cache(seed=0, cache_path_root=cache_root)

        def raw_call():
            raw.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=8).model_dump()

        def ours_uncached():
            oai.ChatCompletion.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                max_tokens=8,
                base_url=base_url,
                api_key="sk-bench",
                use_cache=False,
            )

        def ours_cached():
            oai.ChatCompletion.create(
                model="gpt-4o-mini", messages=MESSAGES, max_tokens=8, base_url=base_url, api_key="sk-bench"
            )

        time_calls(raw_call, 50)  # warm up connections and imports
        time_calls(ours_uncached, 50)
        raw_times, our_times = [], []
        for _ in range(args.rounds):
            raw_times += time_calls(raw_call, args.requests)
            our_times += time_calls(ours_uncached, args.requests)
        ours_cached()  # fills the cache
        hit_times = time_calls(ours_cached, args.cache_hits)

    raw_median, our_median = statistics.median(raw_times), statistics.median(our_times)
    results = {
        "benchmark": "create overhead vs raw openai SDK, and cache-hit latency",
        "requests_per_peer": len(raw_times),
        "raw_sdk_median_ms": raw_median * 1000,
        "create_no_cache_median_ms": our_median * 1000,
        "overhead_ratio": our_median / raw_median,
        "overhead_percent": (our_median / raw_median - 1) * 100,
        "cache_hit_median_ms": statistics.median(hit_times) * 1000,
        "cache_hit_p95_ms": sorted(hit_times)[int(len(hit_times) * 0.95)] * 1000,
        "targets": {"overhead_percent": "< 5", "cache_hit_median_ms": "< 1"},
    }
    write_results("create_overhead", results, args)


if __name__ == "__main__":
    main()
