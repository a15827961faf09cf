"""Errors raised in a trial's thread, shown from the user's code down."""

from __future__ import annotations

import concurrent.futures
import os
import threading
from concurrent.futures import Future
from types import TracebackType
from typing import Any

import ecoptigen
from ecoptigen.errors import EcoptigenError

__all__ = ["result_raised_here"]


def result_raised_here(future: Future) -> Any:
    """The trial's result. An ecoptigen error it raised (eval_func's result lacks the metric, a request in
    eval_func has no key, ...) is raised again here with only the frames of the user's code (and below
    it) from the trial's thread: the thread pool's and the tuner's frames say nothing about the mistake,
    and made such errors 50-line tracebacks."""
    try:
        return future.result()
    except EcoptigenError as exc:
        cause = exc.__cause__
        if cause is not None:
            cause.with_traceback(_from_user_code(cause.__traceback__))
        raise exc.with_traceback(_from_user_code(exc.__traceback__)) from cause


# Frames of these files are the machinery between the tuning and the user's code.
_MACHINERY = (os.path.dirname(ecoptigen.__file__) + os.sep, os.path.dirname(concurrent.futures.__file__) + os.sep,
              threading.__file__)  # fmt: skip


def _from_user_code(traceback: TracebackType | None) -> TracebackType | None:
    """``traceback`` from its first frame outside the machinery (``None`` if it has none)."""
    while traceback is not None and traceback.tb_frame.f_code.co_filename.startswith(_MACHINERY):
        traceback = traceback.tb_next
    return traceback
