"""The one place where ``openai`` SDK exceptions become ecoptigen's (see :mod:`ecoptigen.errors`)."""

from __future__ import annotations

from dataclasses import dataclass

import openai

from ecoptigen import errors

__all__ = ["Failure", "translate_sdk_error"]

_OPENAI_CREDENTIALS = "OPENAI_API_KEY, or 'api_key' in the config list"


@dataclass(frozen=True)
class Failure:
    """What one failed attempt means for the caller.

    Attributes:
        error: the ecoptigen exception to raise if no further attempt is made.
        retryable: whether another attempt may succeed (429, 5xx, timeouts, dropped connections).
        billed_maybe: whether the provider may have billed the attempt although its answer was lost.
        retry_after: seconds the endpoint asked us to wait (``Retry-After``), if it said.
    """

    error: errors.EcoptigenError
    retryable: bool
    billed_maybe: bool = False
    retry_after: float | None = None


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
    if isinstance(exc, openai.APITimeoutError):
        return Failure(errors.RequestTimeout(f"{where} did not answer in time"), True, billed_maybe=True)
    if isinstance(exc, openai.APIConnectionError):
        return Failure(
            errors.RequestTimeout(f"lost the connection to {where}: {exc.__cause__ or exc}"),
            True,
            billed_maybe=True,
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure(
            errors.RetryableError(f"{where} sent a response that is not valid: {exc.message}"),
            True,
            billed_maybe=True,
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc, where, credentials)
    if isinstance(exc, openai.APIError):  # an error the endpoint reported without an HTTP status
        return Failure(errors.RequestError(f"{where} reported an error: {exc.message}"), False)
    return _client_failure(exc, where, credentials)


def _client_failure(exc: openai.OpenAIError, where: str, credentials: str) -> Failure:
    """The SDK's errors raised before or after the HTTP exchange, not by the endpoint."""
    name = type(exc).__name__
    if name == "SubjectTokenProviderError":  # a workload-identity token could not be obtained
        return Failure(errors.AuthenticationError(f"no token for {where}: {exc}. Check {credentials}."), False)
    if isinstance(exc, (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError)):
        return Failure(errors.RequestError(f"{where} stopped the completion: {exc}"), False)
    if name.startswith("WebSocket"):
        return Failure(errors.RequestTimeout(f"lost the connection to {where}: {exc}"), True, billed_maybe=True)
    # The client refused its own settings (no key, both a key and an Entra ID token, ...).
    return Failure(
        errors.ConfigurationError(f"the openai SDK refused the settings for {where}: {exc} ({credentials})"), False
    )


def _status_failure(exc: openai.APIStatusError, where: str, credentials: str) -> Failure:
    status = exc.status_code
    message = f"{where} answered {status}: {_endpoint_message(exc)}"
    if status in (401, 403):
        hint = f" Check the credentials ({credentials})."
        return Failure(errors.AuthenticationError(message + hint, status), False)
    if status == 429:
        return Failure(errors.RateLimitError(message, status), True, retry_after=_retry_after(exc))
    if status >= 500 or status == 408:
        return Failure(errors.RetryableError(message, status), True, retry_after=_retry_after(exc))
    return Failure(errors.RequestError(message, status), False)
