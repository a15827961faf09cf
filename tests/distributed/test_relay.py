"""The relay between workers and the driver, without a cluster: each request is made once per eval_func call."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from ecoptigen.distributed._relay import Answer, RelayClient, RequestRelay, portable
from ecoptigen.errors import BudgetExceededError
from ecoptigen.money import ledger as spend


def test_a_request_repeated_by_a_rerun_call_is_queued_once_and_gets_the_first_answer():
    async def scenario():
        relay = RequestRelay()
        first = asyncio.ensure_future(relay.call("c1", "k/0", "payload"))
        rerun = asyncio.ensure_future(relay.call("c1", "k/0", "payload"))  # the same call, run again elsewhere
        other = asyncio.ensure_future(relay.call("c2", "k/0", "payload"))  # another call: a request of its own
        queued = await relay.take(1.0)
        await relay.answer("c1", "k/0", Answer("response-1"))
        await relay.answer("c2", "k/0", Answer("response-2"))
        late = await relay.call("c1", "k/0", "payload")  # after the answer: served without queuing
        again = await relay.take(0.01)
        return queued, [await first, await rerun, await other, late], again

    queued, answers, again = asyncio.run(scenario())
    assert [(call_id, key) for call_id, key, _ in queued] == [("c1", "k/0"), ("c2", "k/0")]
    assert [a.value for a in answers] == ["response-1", "response-1", "response-2", "response-1"]
    assert again == []


def test_forgotten_calls_are_queued_anew():
    async def scenario():
        relay = RequestRelay()
        pending = asyncio.ensure_future(relay.call("c1", "k/0", "p"))
        await relay.take(1.0)
        await relay.answer("c1", "k/0", Answer(1))
        await pending
        await relay.forget(["c1"])
        waiting = asyncio.ensure_future(relay.call("c1", "k/0", "p"))
        queued = await relay.take(1.0)
        waiting.cancel()
        return queued

    assert len(asyncio.run(scenario())) == 1


class _Recorder:
    """Stands in for Ray and the relay actor handle: records what the client asks."""

    def __init__(self):
        self.keys = []
        self.call = self

    def remote(self, call_id, key, payload):
        self.keys.append((call_id, key))
        return Answer({"echo": payload})

    def get(self, answer):
        return answer


def test_identical_requests_of_one_call_are_numbered_so_a_rerun_matches_them_in_order():
    recorder = _Recorder()
    client = RelayClient(recorder, recorder, "c7")
    client(True, {"q": 1}, {"model": "m", "filter_func": print})
    client(True, {"q": 1}, {"model": "m", "filter_func": print})
    client(True, {"q": 2}, {"model": "m"})
    keys = [key for _, key in recorder.keys]
    digests = [key.split("/")[0] for key in keys]
    assert digests[0] == digests[1] != digests[2]
    assert [key.split("/")[1] for key in keys] == ["0", "1", "0"]
    rerun = RelayClient(recorder, recorder, "c7")
    rerun(True, {"q": 1}, {"model": "m", "filter_func": print})
    assert recorder.keys[-1] == ("c7", keys[0])


def test_an_error_on_the_other_side_is_raised_here():
    with pytest.raises(BudgetExceededError, match="does not fit"):
        Answer(error=portable(BudgetExceededError("a request does not fit"))).unwrap()

    class Unpicklable(Exception):
        def __reduce__(self):
            raise TypeError("no")

    assert isinstance(portable(Unpicklable("x")), RuntimeError)


class _FakeRelay:
    """The relay actor's handle, as the pump uses it: take() finds nothing; answers are recorded."""

    def __init__(self):
        self.answers = {}
        self.take = self.answer = self.forget = self

    def remote(self, *args):
        if len(args) == 3:
            self.answers[args[0], args[1]] = args[2]
        return []


class _FakeRay:
    @staticmethod
    def get(value):
        time.sleep(0.01)
        return value


def test_the_driver_makes_relayed_requests_charged_to_the_submitting_context(endpoint):
    from ecoptigen.distributed._relay import RelayPump

    relay = _FakeRelay()
    pump = RelayPump(_FakeRay(), relay, concurrency=2)
    trial = spend.SpendLedger(budget=1.0, name="trial")
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    try:
        with trial.activate():
            pump.open_calls(["c1"], contextvars.copy_context())
        pump._serve("c1", "k/0", (True, None, request))
        pump.close_calls(["c1"])
        pump._serve("c1", "k/1", (True, None, request))  # the call was given up: nothing is sent for it
    finally:
        pump.close()
    answer = relay.answers["c1", "k/0"]
    assert answer.error is None and answer.value["cost"] > 0
    assert trial.paid == pytest.approx(answer.value["cost"])
    assert isinstance(relay.answers["c1", "k/1"].error, RuntimeError)
    assert endpoint.stats()["requests"] == 1


def test_a_worker_remembers_per_run_and_only_its_last_runs():
    from ecoptigen.distributed._worker import _MEMORIES_KEPT, _memory_of

    first = _memory_of("run-a")
    assert _memory_of("run-a") is first and _memory_of("run-b") is not first
    for other in range(_MEMORIES_KEPT):
        _memory_of(f"run-{other}")
    assert _memory_of("run-a") is not first  # forgotten: the worker keeps only its last runs' memories


def test_a_relayed_request_refused_for_money_held_in_flight_waits_for_it_instead_of_failing(endpoint):
    from ecoptigen.distributed._relay import RelayPump

    relay = _FakeRelay()
    pump = RelayPump(_FakeRay(), relay, concurrency=2)
    trial = spend.SpendLedger(budget=0.01, name="trial")
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    with trial.activate():
        in_flight = spend.reserve(0.01)  # another request's worst case: nothing is left to hold
        context = contextvars.copy_context()
    settles = threading.Timer(0.3, in_flight.release)
    try:
        pump.open_calls(["c1"], context)
        settles.start()
        started = time.perf_counter()
        pump._serve("c1", "k/0", (True, None, request))
        waited = time.perf_counter() - started
        pump.close_calls(["c1"])
        with spend.SpendLedger(budget=0.01, name="spent", paid=0.01).activate():
            context = contextvars.copy_context()  # nothing held and nothing fits: refused at once
        pump.open_calls(["c2"], context)
        pump._serve("c2", "k/0", (True, None, {**request, "use_cache": False}))
    finally:
        settles.cancel()
        pump.close()
    answer = relay.answers["c1", "k/0"]
    assert answer.error is None and answer.value["cost"] > 0 and waited >= 0.25
    assert isinstance(relay.answers["c2", "k/0"].error, BudgetExceededError)
    assert endpoint.stats()["requests"] == 1
