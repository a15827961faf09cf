"""The one place where ``openai`` SDK exceptions become ecoptigen's (see :mod:`ecoptigen.errors`).

Each failure is also classified by whether the provider can have billed the attempt, because that
decides what the spend ledger keeps of the attempt's hold (see ``docs/tuning.md``, "Failed requests
and money"):

===================================================  ========  =====================================
failure (SDK exception, its httpx cause)              billed?   why
===================================================  ========  =====================================
HTTP error status (``APIStatusError``: 4xx, 5xx)      no        the server refused or failed the
                                                                request; providers bill only answers
connect error / connect or pool timeout               no        the request never reached the server
write timeout                                         no        the request was not fully sent
read timeout (``APITimeoutError`` on reading)         maybe     the server may be generating (and
                                                                billing) an answer nobody will read
connection closed before any byte of the answer       maybe,    providers bill finished generations;
("connection dropped")                                no if     one that ended sooner than half the
                                                      too soon  fastest answer of this endpoint and
                                                                model cannot have carried one (engine)
connection dropped after sending (read error,         maybe     the answer may have been generated
remote protocol error) and other transport errors               and lost on the way
malformed 2xx body (``APIResponseValidationError``)   maybe     the server answered, so it billed;
                                                                what it billed is unreadable
===================================================  ========  =====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import openai

from ecoptigen import errors
from ecoptigen.client._endpoints import Endpoint

__all__ = ["CANNOT_CONNECT", "Failure", "never_answered", "translate_sdk_error"]

Billed = Literal["no", "maybe"]
# Transport errors raised before the request was (fully) handed to the server. Matched by name because
# the SDK raises them from httpx2, or from httpx when an application installed the legacy client.
_NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "WriteTimeout", "UnsupportedProtocol"})
_OPENAI_CREDENTIALS = "OPENAI_API_KEY, or 'api_key' in the config list"
# The cause of a failure to open a connection (refused, unknown host, no route, connect timeout).
CANNOT_CONNECT = "cannot connect"
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


@dataclass(frozen=True)
class Failure:
    """What one failed attempt means for the caller.

    Attributes:
        error: the ecoptigen exception to raise if no further attempt is made.
        retryable: whether another attempt may succeed (429, 5xx, timeouts, dropped connections).
        billed: ``"no"`` when the provider cannot have billed the attempt, ``"maybe"`` when it may have
            although its answer was lost (see the module docstring).
        retry_after: seconds the endpoint asked us to wait (``Retry-After``), if it said.
        cause: a few words naming the failure for logs and the progress bar, e.g. ``"rate limit"``;
            ``"connection dropped"`` when the server closed the connection before sending any byte,
            :data:`CANNOT_CONNECT` when no connection could be opened.
    """

    error: errors.EcoptigenError
    retryable: bool
    billed: Billed = "no"
    retry_after: float | None = None
    cause: str = "error"


def _endpoint_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(exc.message)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def translate_sdk_error(exc: openai.OpenAIError, where: str, credentials: str = _OPENAI_CREDENTIALS) -> Failure:
    """Translate an SDK exception raised while talking to ``where`` (an endpoint description); an
    authentication error points to ``credentials`` (where the endpoint's key comes from).

    Every ``openai.OpenAIError`` maps to a :class:`Failure`; a test walks all of the SDK's exception
    classes to make sure none is left to the catch-all.
    """
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
        return _transport_failure(exc, where)
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure(
            errors.RetryableError(f"{where} sent a response that is not valid: {exc.message}"),
            True,
            billed="maybe",
            cause="malformed response",
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, where, credentials)
    if isinstance(exc, openai.APIError):  # an error the endpoint reported without an HTTP status
        return Failure(errors.RequestError(f"{where} reported an error: {exc.message}"), False, "maybe")
    return _client_failure(exc, where, credentials)


def _transport_failure(exc: openai.APIConnectionError, where: str) -> Failure:
    cause = exc.__cause__
    never_sent = cause is not None and any(
        k.__name__ in _NEVER_SENT and k.__module__.split(".")[0] in ("httpx", "httpx2") for k in type(cause).__mro__
    )
    billed: Billed = "no" if never_sent else "maybe"
    if isinstance(exc, openai.APITimeoutError):
        stage = "connecting" if never_sent else "waiting for the answer"
        return Failure(errors.RequestTimeout(f"{where} timed out ({stage})"), True, billed, cause="timeout")
    detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
    if never_sent:
        return Failure(
            errors.RequestTimeout(f"could not connect to {where} ({detail})"), True, billed, cause=CANNOT_CONNECT
        )
    # httpcore's words for a connection closed before a single byte of the answer came back
    silent = "without sending a response" in str(cause)
    label = "connection dropped" if silent else "connection lost"
    return Failure(errors.RequestTimeout(f"lost the connection to {where} ({detail})"), True, billed, cause=label)


def never_answered(failure: Failure, endpoint: Endpoint) -> Failure:
    """``failure`` (:data:`CANNOT_CONNECT`) of an endpoint that has not answered once: not worth retrying.

    A wrong ``base_url`` or a server that is not running fails the same way on every attempt, so the
    caller learns it at once, with the URL and what to check, instead of after ``retry_timeout``.
    """
    url = endpoint.base_url or "https://api.openai.com/v1"
    fixes = [
        "check base_url (in the config or config_list, or the OPENAI_BASE_URL environment variable"
        + (", or AZURE_OPENAI_ENDPOINT)" if endpoint.is_azure else ")"),
        "and that the server there is running",
    ]
    parsed = urlsplit(url)
    if parsed.hostname in _LOCAL_HOSTS:
        port = f" --port {parsed.port}" if parsed.port else ""
        fixes.append(f"if it is ecoptigen's simulated endpoint, start it with: python -m ecoptigen.sim{port}")
    message = (
        f"{url} cannot be reached and has not answered once ({failure.error}). Nothing was sent and nothing "
        f"is retried: {'; '.join(fixes)}."
    )
    return Failure(errors.EndpointUnreachableError(message), False, "no", cause="unreachable")


def _client_failure(exc: openai.OpenAIError, where: str, credentials: str) -> Failure:
    """The SDK's errors raised before or after the HTTP exchange, not by the endpoint."""
    name = type(exc).__name__
    if name == "SubjectTokenProviderError":  # a workload-identity token could not be obtained
        return Failure(errors.AuthenticationError(f"no token for {where}: {exc}. Check {credentials}."), False)
    if isinstance(exc, (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError)):
        # raised while parsing an answer the endpoint finished: it was billed
        return Failure(errors.RequestError(f"{where} stopped the completion: {exc}"), False, "maybe")
    if name.startswith("WebSocket"):
        error = errors.RequestTimeout(f"lost the connection to {where}: {exc}")
        return Failure(error, True, "maybe", cause="connection lost")
    # The client refused its own settings (no key, both a key and an Entra ID token, ...).
    return Failure(
        errors.ConfigurationError(f"the openai SDK refused the settings for {where}: {exc} ({credentials})"), False
    )


def _status_failure(exc: openai.APIStatusError, where: str, credentials: str) -> Failure:
    status = exc.status_code
    message = f"{where} answered {status}: {_endpoint_message(exc)}"
    if status in (401, 403):
        hint = f" Check the credentials ({credentials})."
        return Failure(errors.AuthenticationError(message + hint, status), False, cause="authentication")
    if status == 429:
        return Failure(errors.RateLimitError(message, status), True, retry_after=_retry_after(exc), cause="rate limit")
    if status >= 500 or status == 408:
        cause = f"server error {status}"
        return Failure(errors.RetryableError(message, status), True, retry_after=_retry_after(exc), cause=cause)
    return Failure(errors.RequestError(message, status), False, cause=f"error {status}")
