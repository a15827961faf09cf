"""Exceptions raised by ecoptigen.

Every exception ecoptigen raises on purpose derives from :class:`EcoptigenError`::

    EcoptigenError
     ├── ConfigurationError        bad arguments, templates, config lists or search spaces
     │    ├── TemplateError        a template names a key the context does not have
     │    ├── UnknownPriceError    a budget must be enforced but a model has no price
     │    └── EvalFuncError        eval_func raised, or returned no usable number for the metric
     ├── BudgetExceededError       a request would take spending past a budget
     ├── TuningError               a tuning ended without any configuration fully evaluated within budget
     ├── StorageError              a file a tuning keeps (its journal) could not be written, e.g. a full disk
     ├── RunStopped                a request was refused because its run is stopping (Ctrl-C, a disk error)
     ├── RequestError             the endpoint answered with an error that retrying cannot fix
     │    ├── AuthenticationError  the endpoint refused the credentials
     │    ├── EndpointUnreachableError  an endpoint that never answered cannot be connected to
     │    └── RetryableError       every attempt failed with an error worth retrying
     │         ├── RateLimitError  the endpoint kept answering 429
     │         └── RequestTimeout  the endpoint kept timing out or dropping the connection
     └── SandboxError              generated code could not be run with the isolation asked for

and every warning it gives on purpose from :class:`EcoptigenWarning`::

    EcoptigenWarning (UserWarning)
     └── InferenceBudgetWarning    tune found no configuration within the inference budget

SDK exceptions from ``openai`` are translated into this tree in exactly one place,
:func:`ecoptigen.client._errors.translate_sdk_error`.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BudgetExceededError",
    "ConfigurationError",
    "EcoptigenError",
    "EcoptigenWarning",
    "EndpointUnreachableError",
    "EvalFuncError",
    "InferenceBudgetWarning",
    "RateLimitError",
    "RequestError",
    "RequestTimeout",
    "RetryableError",
    "RunStopped",
    "SandboxError",
    "StorageError",
    "TemplateError",
    "TuningError",
    "UnknownPriceError",
]


class EcoptigenError(Exception):
    """Base class of every error ecoptigen raises on purpose."""


class ConfigurationError(EcoptigenError, ValueError):
    """Raised when arguments, a config list, a template or a search space cannot be used as given."""


class TemplateError(ConfigurationError, KeyError):
    """Raised before any request when a template refers to a key the context does not provide."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class UnknownPriceError(ConfigurationError):
    """Raised when a budget must be enforced and a model that would be called has no known price."""


class EvalFuncError(ConfigurationError):
    """Raised when a tuning's eval_func raises, or returns a result without a usable number for the metric.

    Attributes:
        row: the index of the data instance it was called on.
        config: the ``create`` arguments it was evaluating (credentials left out).
    """

    def __init__(self, message: str, row: int, config: dict):
        super().__init__(message)
        self.row = row
        self.config = config


class BudgetExceededError(EcoptigenError):
    """Raised when a request's worst-case cost does not fit in what is left of a budget.

    Attributes:
        analysis: raised by ``tune`` (the budget ran out before any configuration was fully
            evaluated), what the tuning did try (:class:`ecoptigen.tuning.Analysis`); else ``None``.
        worst_case: the most the refused request could have cost, in dollars (``None`` if unknown).
    """

    def __init__(self, message: str, analysis: object = None, worst_case: float | None = None):
        super().__init__(message)
        self.analysis = analysis
        self.worst_case = worst_case


class TuningError(EcoptigenError):
    """Raised when a tuning ends without any configuration fully evaluated within the inference budget.

    Attributes:
        analysis: what the tuning did try (:class:`ecoptigen.tuning.Analysis`).
    """

    def __init__(self, message: str, analysis: object = None):
        super().__init__(message)
        self.analysis = analysis


class StorageError(EcoptigenError):
    """Raised when a file a tuning keeps (its resume journal) cannot be written: a full disk, an I/O error.

    Attributes:
        path: the file that could not be written.
        analysis: raised by ``tune`` (no configuration was fully evaluated before the failure), what the
            tuning did try (:class:`ecoptigen.tuning.Analysis`); else ``None``.
    """

    def __init__(self, message: str, path: str, analysis: object = None):
        super().__init__(message)
        self.path = path
        self.analysis = analysis


class RunStopped(EcoptigenError):
    """Raised inside a tuning for a request that would start after the run was told to stop (Ctrl-C, a disk
    error): no new request is sent while the requests in flight settle."""


class RequestError(EcoptigenError):
    """Raised when the endpoint answered with an error that retrying will not fix (e.g. a bad request).

    Attributes:
        status_code: the HTTP status the endpoint answered with, or ``None`` when no answer came.
    """

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class AuthenticationError(RequestError):
    """Raised when the endpoint refused the API key (HTTP 401 or 403)."""


class EndpointUnreachableError(RequestError):
    """Raised at once, without retrying, when an endpoint that has not answered once cannot be connected to
    (connection refused, unknown host, no route): most likely a wrong ``base_url`` or a server not started."""


class RetryableError(RequestError):
    """Raised when every attempt failed with an error that is normally transient (429, 5xx, timeouts)."""


class RateLimitError(RetryableError):
    """Raised when the endpoint kept answering 429 until ``retry_timeout`` ran out."""


class RequestTimeout(RetryableError):
    """Raised when the endpoint kept timing out or dropping the connection until ``retry_timeout`` ran out."""


class SandboxError(EcoptigenError):
    """Raised when generated code cannot be run with the isolation that was asked for."""


class EcoptigenWarning(UserWarning):
    """Base class of every warning ecoptigen gives on purpose."""


class InferenceBudgetWarning(EcoptigenWarning):
    """Given by ``tune`` when no configuration fits the inference budget: it returns the best one found
    over it (FLAML's contract), and ``analysis.inference_budget_met`` is ``False``."""
