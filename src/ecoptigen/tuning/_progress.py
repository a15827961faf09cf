"""The tuning progress bar: trials done, dollars paid of the budget, best metric so far, and waits.

``tqdm.auto`` picks a notebook widget in Jupyter and a text bar in terminals. While a bar is shown, log
records written to the console (by any logger's stream handler on stderr/stdout, or by logging's
last-resort handler) go through tqdm's writer (:func:`lines_above_the_bar`), so a warning gets a line
of its own above the bar instead of being glued to the end of the bar's line.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["TuningProgress", "format_usd", "lines_above_the_bar"]


class _AboveTheBar(io.TextIOBase):
    """A console stream whose writes clear the progress bars, write, and redraw the bars (tqdm's writer)."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        from tqdm import tqdm

        with tqdm.external_write_mode(file=self.stream):
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


class _ConsoleRedirect:
    """Counts the bars shown in the process: the first one redirects the console handlers, the last one
    to close puts them back. Handlers belong to the process, not to a run, so tunings that show bars at
    the same time share one redirect instead of undoing each other's. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bars = 0
        self._swapped: list[tuple[logging.StreamHandler, Any]] = []
        self._last_resort: logging.Handler | None = None

    def enter(self) -> None:
        with self._lock:
            self._bars += 1
            if self._bars == 1:
                self._redirect()

    def exit(self) -> None:
        with self._lock:
            self._bars -= 1
            if self._bars == 0:
                self._restore()

    def _redirect(self) -> None:
        consoles = {id(sys.stderr), id(sys.stdout), id(sys.__stderr__), id(sys.__stdout__)}
        loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                if isinstance(handler, logging.StreamHandler) and id(handler.stream) in consoles:
                    original = handler.stream
                    try:
                        handler.setStream(_AboveTheBar(original))
                    except AttributeError:  # a handler whose stream cannot be set (logging's _StderrHandler)
                        continue
                    self._swapped.append((handler, original))
        if logging.lastResort is not None:
            self._last_resort = logging.lastResort
            replacement = logging.StreamHandler(_AboveTheBar(sys.stderr))
            replacement.setLevel(logging.lastResort.level)
            logging.lastResort = replacement

    def _restore(self) -> None:
        for handler, original in self._swapped:
            if isinstance(handler.stream, _AboveTheBar):  # unless someone set another stream meanwhile
                handler.setStream(original)
        self._swapped.clear()
        if self._last_resort is not None:
            logging.lastResort = self._last_resort
            self._last_resort = None


_CONSOLE = _ConsoleRedirect()


@contextmanager
def lines_above_the_bar() -> Iterator[None]:
    """While inside, console log records are written through tqdm's writer (see the module docstring)."""
    _CONSOLE.enter()
    try:
        yield
    finally:
        _CONSOLE.exit()


def format_usd(amount: float, budget: float | None = None) -> str:
    """Dollars with enough digits to be read against ``budget`` (a $0.004 budget is not "$0.00").

    Example:
        >>> format_usd(0.0012, budget=0.004), format_usd(1.23456, budget=3)
        ('$0.001200', '$1.2346')
    """
    scale = budget if budget is not None else amount
    return f"${amount:.6f}" if scale < 0.1 else f"${amount:.4f}"


class TuningProgress:
    """A progress bar that can be turned off (then every method does nothing). Thread-safe.

    Example:
        >>> with TuningProgress(total=None, budget=1.0, metric="success", enabled=False) as bar:
        ...     bar.update(paid=0.1, best=0.5)
        ...     bar.waiting("rate limit", 60.0)
        ...     bar.note("resumed 3 trials, $0.10 already paid")
    """

    def __init__(self, total: int | None, budget: float | None, metric: str, enabled: bool = True):
        self.budget, self.metric, self._bar = budget, metric, None
        self._money = f"{format_usd(0.0, budget)}{self._of_budget()}"
        self._best = "-"
        self._lock = threading.Lock()
        self._redirected = False
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="tuning", unit="trial", leave=True)
            _CONSOLE.enter()
            self._redirected = True

    def _of_budget(self) -> str:
        return "" if self.budget is None else f" of {format_usd(self.budget, self.budget)}"

    def update(self, paid: float, best: float | None, unconfirmed: float = 0.0, trials: int = 1) -> None:
        """Count ``trials`` more trials and show the money (paid, and unconfirmed if any) and the best metric."""
        if self._bar is None:
            return
        extra = f" (+{format_usd(unconfirmed, self.budget)} unconfirmed)" if unconfirmed > 0 else ""
        with self._lock:
            self._money = f"{format_usd(paid, self.budget)}{extra}{self._of_budget()}"
            self._best = "-" if best is None else f"{best:.4g}"
            self._bar.set_postfix_str(self._status(), refresh=False)
            self._bar.update(trials)

    def note(self, text: str) -> None:
        """Print ``text`` on a line of its own above the bar (nothing when the bar is off)."""
        if self._bar is None:
            return
        with self._lock:
            self._bar.write(text)

    def waiting(self, cause: str, seconds: float) -> None:
        """Show that requests wait (e.g. ``"waiting 60 s (rate limit)"``) until the next update."""
        if self._bar is None:
            return
        with self._lock:
            self._bar.set_postfix_str(f"{self._status()} | waiting {seconds:.3g} s ({cause})", refresh=True)

    def _status(self) -> str:
        return f"{self._money} best {self.metric}={self._best}"

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
        if self._redirected:
            self._redirected = False
            _CONSOLE.exit()

    def __enter__(self) -> TuningProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
