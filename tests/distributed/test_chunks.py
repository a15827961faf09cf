"""A worker's side of a chunk of eval_func calls, without a cluster: calls run at once, each forwarding its
own requests; the driver deals calls into chunks."""

from __future__ import annotations

import threading
import time

from ecoptigen import oai
from ecoptigen.distributed._executor import deal
from ecoptigen.distributed._relay import Answer
from ecoptigen.distributed._worker import run_chunk
from ecoptigen.run_context._forwarding import current_forwarder, forwarding_in_context, forwarding_to


class _Relay:
    """Stands in for Ray and the relay actor handle: answers every request at once, recording its name."""

    def __init__(self):
        self.names: list[tuple[str, str]] = []
        self.call = self
        self._lock = threading.Lock()

    def remote(self, call_id, key, payload):
        with self._lock:
            self.names.append((call_id, key))
        return Answer({"choices": [{"text": f"answer for {call_id}"}], "cost": 0.0})

    def get(self, answer):
        return answer


class _InFlight:
    def __init__(self):
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __enter__(self):
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc):
        with self._lock:
            self.now -= 1


def test_a_chunk_runs_its_calls_at_once_and_each_call_forwards_under_its_own_name():
    relay, in_flight = _Relay(), _InFlight()

    def eval_func(responses, *, q):
        with in_flight:
            time.sleep(0.2)
            answer = oai.Completion.create({"q": q}, model="gpt-3.5-turbo-instruct", prompt="{q}", max_tokens=3)
        return {"q": q, "answer": answer["choices"][0]["text"]}

    calls = [([], {"q": q}, f"run-{q}") for q in range(6)]
    started = time.perf_counter()
    answers = run_chunk(relay, relay, eval_func, calls, "run-chunk", threads=3)
    seconds = time.perf_counter() - started

    assert [a.unwrap() for a in answers] == [{"q": q, "answer": f"answer for run-{q}"} for q in range(6)]
    assert in_flight.most == 3 and seconds < 0.2 * 6 / 2
    assert sorted(call_id for call_id, _ in relay.names) == [f"run-{q}" for q in range(6)]
    assert current_forwarder() is None  # nothing is left installed once the chunk is done


def test_one_thread_per_chunk_runs_the_calls_one_after_another():
    in_flight = _InFlight()

    def eval_func(responses, *, q):
        with in_flight:
            time.sleep(0.02)
        return {"q": q}

    calls = [([], {"q": q}, f"run-{q}") for q in range(4)]
    relay = _Relay()
    answers = run_chunk(relay, relay, eval_func, calls, "run-chunk", threads=1)
    assert [a.unwrap()["q"] for a in answers] == [0, 1, 2, 3] and in_flight.most == 1


def test_a_thread_eval_func_starts_without_its_context_forwards_under_the_chunks_name():
    relay = _Relay()

    def eval_func(responses, *, q):
        result = {}

        def ask():  # a bare thread: contextvars are not copied into it
            result["text"] = oai.Completion.create({"q": q}, model="gpt-3.5-turbo-instruct", prompt="{q}")["choices"]

        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
        return {"q": q, "text": result["text"][0]["text"]}

    calls = [([], {"q": q}, f"run-{q}") for q in range(2)]
    answers = run_chunk(relay, relay, eval_func, calls, "run-chunk", threads=2)
    assert [a.unwrap()["text"] for a in answers] == ["answer for run-chunk"] * 2
    assert {call_id for call_id, _ in relay.names} == {"run-chunk"}


def test_an_eval_func_error_is_its_calls_answer_only():
    def eval_func(responses, *, q):
        if q == 1:
            raise ValueError("bad instance")
        return {"q": q}

    calls = [([], {"q": q}, f"run-{q}") for q in range(3)]
    relay = _Relay()
    answers = run_chunk(relay, relay, eval_func, calls, "run-chunk", threads=3)
    assert [a.error is None for a in answers] == [True, False, True]
    assert isinstance(answers[1].error, ValueError)


def test_the_context_forwarder_wins_over_the_process_one_and_is_reset_after():
    def process(chat, context, kwargs):
        return "process"

    def call(chat, context, kwargs):
        return "call"

    with forwarding_to(process):
        with forwarding_in_context(call):
            assert current_forwarder() is call
        assert current_forwarder() is process
    assert current_forwarder() is None


def test_calls_are_dealt_round_robin_into_at_most_one_chunk_per_slot():
    assert deal(list(range(7)), 3) == [[0, 3, 6], [1, 4], [2, 5]]
    assert deal([4, 9], 8) == [[4], [9]]
