import pytest

from ecoptigen import errors
from ecoptigen.client._errors import Failure
from ecoptigen.client._retry import RetryPolicy, call_with_retries


class Flaky:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def translate(exc):
    return exc.args[0]


def boom(failure):
    return RuntimeError(failure)


def test_retryable_failures_are_retried_until_success():
    waits = []
    flaky = Flaky(
        [boom(Failure(errors.RateLimitError("429"), True)), boom(Failure(errors.RetryableError("500"), True))]
    )
    assert call_with_retries(flaky, translate, RetryPolicy(retry_timeout=60), waits.append) == "ok"
    assert flaky.calls == 3
    assert len(waits) == 2 and all(0 < w <= 10 for w in waits)


def test_retry_after_is_honoured():
    waits = []
    flaky = Flaky([boom(Failure(errors.RateLimitError("429"), True, retry_after=3.0))])
    call_with_retries(flaky, translate, RetryPolicy(retry_timeout=60), waits.append)
    assert waits == [3.0]


def test_non_retryable_failure_raises_at_once():
    flaky = Flaky([boom(Failure(errors.AuthenticationError("401"), False))])
    with pytest.raises(errors.AuthenticationError):
        call_with_retries(flaky, translate, RetryPolicy(retry_timeout=60), lambda s: None)
    assert flaky.calls == 1


def test_gives_up_when_the_next_wait_would_pass_retry_timeout():
    waits = []
    failures = [boom(Failure(errors.RateLimitError("429"), True, retry_after=4.0)) for _ in range(10)]
    flaky = Flaky(failures)
    with pytest.raises(errors.RateLimitError):
        call_with_retries(flaky, translate, RetryPolicy(retry_timeout=0.0), waits.append)
    assert flaky.calls == 1 and waits == []


def test_backoff_grows_and_is_capped_by_retry_time():
    import random

    policy = RetryPolicy(retry_timeout=1000, retry_time=2.0, first_wait=0.5)
    rng = random.Random(0)
    failure = Failure(errors.RetryableError("500"), True)
    waits = [policy.wait_before(n, failure, rng) for n in range(2, 12)]
    assert max(waits) <= 2.0
    assert waits[0] <= 0.5 and waits[-1] >= 1.0
