"""The tuning progress bar: trials done, dollars paid of the budget, best metric so far, and waits.

``tqdm.auto`` picks a notebook widget in Jupyter and a text bar in terminals.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["TuningProgress", "format_usd"]


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
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="tuning", unit="trial", leave=True)

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

    def __enter__(self) -> TuningProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
