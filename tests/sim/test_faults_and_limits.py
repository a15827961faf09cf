"""Fault injection, rate limits and determinism behave as configured."""

import contextlib
import json
import socket
import threading
import time

import httpx2
import openai
import pytest

from ecoptigen import sim
from ecoptigen.errors import ConfigurationError


def test_fault_rates_follow_the_configuration():
    faults = {"429": 0.2, "500": 0.1, "503": 0.1}
    with sim.serve(seed=11, faults=faults) as server, httpx2.Client() as http:
        statuses = [
            http.post(server.base_url + "/completions", json={"model": "davinci-002", "prompt": "x"}).status_code
            for _ in range(1000)
        ]
    assert 150 < statuses.count(429) < 250
    assert 60 < statuses.count(500) < 140 and 60 < statuses.count(503) < 140
    assert server.stats()["errors"] == 1000 - statuses.count(200)


def test_429_faults_carry_retry_after():
    with sim.serve(faults={"429": 1.0}) as server:
        response = httpx2.post(server.base_url + "/completions", json={"model": "davinci-002", "prompt": "x"})
    assert response.status_code == 429 and float(response.headers["retry-after"]) > 0
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("fault", "raised", "billed"),
    [
        ("disconnect", openai.APIConnectionError, False),  # dropped before the answer was generated
        ("malformed", json.JSONDecodeError, True),  # generated, billed, garbled on the way
        ("truncated", openai.APIConnectionError, True),  # generated, billed, cut halfway through the body
        ("hang", openai.APITimeoutError, True),  # generated and billed; the client gives up first
    ],
)
def test_transport_faults_are_billed_as_a_provider_bills_them(fault, raised, billed):
    with (
        sim.serve(faults={fault: 1.0}) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.5) as client,
    ):
        with pytest.raises(raised) as info:
            client.completions.create(model="davinci-002", prompt="x", max_tokens=3)
        assert type(info.value) is raised
        stats = server.stats()
    assert (stats["total_billed_usd"] > 0) is billed
    assert stats["billed_but_lost"] == int(billed)


def test_requests_per_minute_limit():
    with (
        sim.serve(rate_limits={"gpt-4o-mini": {"rpm": 3}}) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        for _ in range(3):
            ok = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], max_tokens=2
            )
            assert int(ok.headers["x-ratelimit-limit-requests"]) == 3
        with pytest.raises(openai.RateLimitError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
        headers = info.value.response.headers
        assert float(headers["retry-after"]) > 50 and headers["x-ratelimit-remaining-requests"] == "0"
        # Other models are not limited.
        assert client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}]).choices


def test_tokens_per_minute_limit():
    with (
        sim.serve(rate_limits={"davinci-002": {"tpm": 50}}) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client,
    ):
        client.completions.create(model="davinci-002", prompt="hello", max_tokens=30)
        with pytest.raises(openai.RateLimitError):
            client.completions.create(model="davinci-002", prompt="hello", max_tokens=30)


def _texts(seed, prompts):
    with sim.serve(seed=seed) as server, openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
        return [
            c.completions.create(model="davinci-002", prompt=p, max_tokens=20, temperature=1, n=3).choices[0].text
            for p in prompts
        ]


def test_seeded_server_repeats_itself_whatever_the_interleaving():
    a = _texts(5, ["a", "b", "a", "c", "a"])
    b = _texts(5, ["c", "a", "b", "a", "a"])
    assert [a[0], a[2], a[4]] == [b[1], b[3], b[4]]  # the k-th "a" is the same in both runs
    assert a[1] == b[2] and a[3] == b[0]


def test_latency_is_applied():
    with sim.serve(latency=0.2) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as client:
            start = time.perf_counter()
            client.completions.create(model="davinci-002", prompt="x", max_tokens=2)
        elapsed = time.perf_counter() - start
    assert elapsed >= 0.17  # a lower bound on the simulated delay, not a speed requirement


def test_a_burst_of_new_connections_is_served_without_dropped_handshakes():
    # A tuner opens many connections at once (its request pool, plus the requests it relays for eval_funcs
    # on a Ray cluster). A listen backlog smaller than the burst makes the kernel drop handshakes: those
    # connections wait for a retransmission (1 s, then 3 s, ...) or die, and an answer lost that way
    # counts as maybe billed, which changes a tuning's decisions near the end of its budget.
    body = json.dumps({"model": "davinci-002", "prompt": "x", "max_tokens": 2}).encode()
    request = b"POST /v1/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n"
    request += b"content-length: %d\r\n\r\n%s" % (len(body), body)
    burst, seconds, answers = 64, [], []
    with sim.serve(latency=0.2) as server:
        address = ("127.0.0.1", int(server.base_url.rsplit(":", 1)[1].split("/")[0]))
        ready = threading.Barrier(burst)

        def one() -> None:
            ready.wait()
            started = time.perf_counter()
            with socket.create_connection(address, timeout=10) as connection:
                connection.sendall(request)
                answers.append(connection.recv(100).split(b" ")[1])
            seconds.append(time.perf_counter() - started)

        threads = [threading.Thread(target=one) for _ in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [b"200"] * burst
    assert max(seconds) < 1.0  # no connection waited for a retransmitted handshake


def test_bad_fault_configuration_is_rejected():
    with pytest.raises(ConfigurationError, match="unknown fault"):
        sim.serve(faults={"explode": 0.1})
    with pytest.raises(ConfigurationError, match="add up"):
        sim.serve(faults={"429": 0.7, "500": 0.7})


def test_an_answer_lost_to_a_fault_is_drawn_again_by_the_retry():
    # Common random numbers: a seeded run with faults sees the samples of the same run without them, so
    # comparing the two measures what the faults cost (benchmarks/faults.py), not which samples each drew.
    def answers(fault_plan):
        question = [{"role": "user", "content": "Is 9 prime? Answer Yes or No."}]
        request = {"model": "gpt-4.1-nano", "messages": question, "max_tokens": 4, "temperature": 1.5, "n": 12}
        texts = []
        with sim.serve(seed=3, fault_plan=fault_plan) as server, httpx2.Client() as http:
            for _ in fault_plan:
                response = http.post(server.base_url + "/chat/completions", json=request)
                with contextlib.suppress(json.JSONDecodeError):  # the malformed answer: billed, lost
                    texts.append([c["message"]["content"] for c in response.json()["choices"]])
            return texts, server.stats()

    clean, clean_stats = answers([None, None])
    faulty, faulty_stats = answers(["malformed", None, None])
    assert len(faulty) == 2 and faulty == clean  # the retry got the lost sample; the next one is the clean run's
    assert clean[0] != clean[1]  # identical requests still draw new samples
    assert faulty_stats["billed_but_lost"] == 1 and faulty_stats["repeated_requests"] == 2
    lost_bill = faulty_stats["total_billed_usd"] - clean_stats["total_billed_usd"]
    assert faulty_stats["billed_but_lost_usd"] == pytest.approx(lost_bill) and lost_bill > 0


def test_an_answer_whose_client_went_away_is_billed_and_drawn_again():
    # A tuning killed mid-request: the endpoint bills the answer, nobody receives it, and the resumed run's
    # identical request gets that sample, as the uninterrupted run did.
    request = {"model": "gpt-4.1-nano", "messages": [{"role": "user", "content": "Is 9 prime? Answer Yes or No."}]}
    request |= {"max_tokens": 4, "temperature": 1.5, "n": 12}
    with sim.serve(seed=3, latency=0.4) as server, httpx2.Client(timeout=10) as http:
        first = http.post(server.base_url + "/chat/completions", json=request).json()
    body = json.dumps(request).encode()
    with sim.serve(seed=3, latency=0.4) as server, httpx2.Client(timeout=10) as http:
        address = ("127.0.0.1", int(server.base_url.rsplit(":", 1)[1].split("/")[0]))
        with socket.create_connection(address) as connection:  # sends the request, then goes away
            head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\n"
            connection.sendall(head + b"content-length: %d\r\n\r\n%s" % (len(body), body))
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while server.stats()["billed_but_lost"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        lost = server.stats()
        again = http.post(server.base_url + "/chat/completions", json=request).json()
        second = http.post(server.base_url + "/chat/completions", json=request).json()
    assert lost["billed_but_lost"] == 1 and lost["total_billed_usd"] > 0
    assert lost["billed_but_lost_usd"] == pytest.approx(lost["total_billed_usd"])
    texts = [[c["message"]["content"] for c in answer["choices"]] for answer in (first, again, second)]
    assert texts[1] == texts[0] and texts[2] != texts[0]
