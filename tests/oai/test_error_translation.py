import inspect

import httpx2
import openai
import pytest

from ecoptigen import errors
from ecoptigen.oai._errors import translate_sdk_error


def _status_error(cls, status, headers=None):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    body = {"error": {"message": "model is overloaded"}}
    if "message" not in inspect.signature(cls.__init__).parameters:
        return cls(response=response, body=body)
    return cls("boom", response=response, body=body)


def _sdk_error_classes():
    return [
        cls
        for _, cls in inspect.getmembers(openai, inspect.isclass)
        if issubclass(cls, openai.APIError) and cls is not openai.APIError
    ]


@pytest.mark.parametrize("cls", _sdk_error_classes(), ids=lambda c: c.__name__)
def test_every_sdk_api_error_is_mapped_to_a_specific_error(cls):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/completions")
    if issubclass(cls, openai.APIStatusError):
        status = getattr(cls, "status_code", None)
        exc = _status_error(cls, status if isinstance(status, int) else 418)
    elif issubclass(cls, openai.APIResponseValidationError):
        exc = cls(response=httpx2.Response(200, request=request), body=None)
    elif issubclass(cls, openai.APIConnectionError):
        exc = cls(request=request)
    else:
        exc = cls("boom", request=request, body=None)
    failure = translate_sdk_error(exc, "the test endpoint")
    assert isinstance(failure.error, errors.RequestError)
    assert "request to the test endpoint failed" not in str(failure.error), "fell through to the catch-all"


@pytest.mark.parametrize(
    ("cls", "status", "expected", "retryable"),
    [
        (openai.AuthenticationError, 401, errors.AuthenticationError, False),
        (openai.PermissionDeniedError, 403, errors.AuthenticationError, False),
        (openai.BadRequestError, 400, errors.RequestError, False),
        (openai.NotFoundError, 404, errors.RequestError, False),
        (openai.RateLimitError, 429, errors.RateLimitError, True),
        (openai.InternalServerError, 500, errors.RetryableError, True),
        (openai.InternalServerError, 503, errors.RetryableError, True),
    ],
)
def test_status_errors(cls, status, expected, retryable):
    failure = translate_sdk_error(_status_error(cls, status), "E")
    assert type(failure.error) is expected
    assert failure.retryable is retryable
    assert "model is overloaded" in str(failure.error)  # the endpoint's own message is kept
    assert failure.error.status_code == status


def test_auth_error_says_what_to_do():
    failure = translate_sdk_error(_status_error(openai.AuthenticationError, 401), "E")
    assert "OPENAI_API_KEY" in str(failure.error)


def test_retry_after_is_read_from_the_header():
    failure = translate_sdk_error(_status_error(openai.RateLimitError, 429, {"retry-after": "2.5"}), "E")
    assert failure.retry_after == 2.5


def _transport_error(sdk_class, cause):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/completions")
    exc = sdk_class(request=request)
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "billed", "cause"),
    [
        (_transport_error(openai.APIConnectionError, httpx2.ConnectError("refused")), "no", "connection lost"),
        (_transport_error(openai.APITimeoutError, httpx2.ConnectTimeout("slow")), "no", "timeout"),
        (_transport_error(openai.APITimeoutError, httpx2.PoolTimeout("busy")), "no", "timeout"),
        (_transport_error(openai.APITimeoutError, httpx2.WriteTimeout("slow")), "no", "timeout"),
        (_transport_error(openai.APITimeoutError, httpx2.ReadTimeout("slow")), "maybe", "timeout"),
        (_transport_error(openai.APIConnectionError, httpx2.RemoteProtocolError("gone")), "maybe", "connection lost"),
        (
            _transport_error(
                openai.APIConnectionError, httpx2.RemoteProtocolError("Server disconnected without sending a response.")
            ),
            "maybe",
            "connection dropped",
        ),
        (_transport_error(openai.APIConnectionError, httpx2.ReadError("reset")), "maybe", "connection lost"),
        (_transport_error(openai.APIConnectionError, None), "maybe", "connection lost"),
        (_status_error(openai.InternalServerError, 503), "no", "server error 503"),
        (_status_error(openai.RateLimitError, 429), "no", "rate limit"),
        (_status_error(openai.BadRequestError, 400), "no", "error 400"),
    ],
    ids=lambda v: v if isinstance(v, str) else f"{type(v).__name__}<-{type(v.__cause__).__name__}",
)
def test_failures_are_classified_by_whether_they_can_have_been_billed(exc, billed, cause):
    failure = translate_sdk_error(exc, "E")
    assert failure.billed == billed
    assert failure.cause == cause


def test_a_malformed_answer_may_have_been_billed():
    request = httpx2.Request("POST", "http://127.0.0.1/v1/completions")
    exc = openai.APIResponseValidationError(response=httpx2.Response(200, request=request), body=None)
    failure = translate_sdk_error(exc, "E")
    assert failure.retryable and failure.billed == "maybe" and failure.cause == "malformed response"
