"""The tuning progress bar: trials done, dollars paid of the budget, best metric so far.

``tqdm.auto`` picks a notebook widget in Jupyter and a text bar in terminals.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TuningProgress"]


class TuningProgress:
    """A progress bar that can be turned off (then every method does nothing).

    Example:
        >>> with TuningProgress(total=None, budget=1.0, metric="success", enabled=False) as bar:
        ...     bar.update(paid=0.1, best=0.5)
    """

    def __init__(self, total: int | None, budget: float | None, metric: str, enabled: bool = True):
        self.budget, self.metric, self._bar = budget, metric, None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="tuning", unit="trial", leave=True)

    def update(self, paid: float, best: float | None, trials: int = 1) -> None:
        """Count ``trials`` more trials and show the money and the best metric."""
        if self._bar is None:
            return
        budget = "" if self.budget is None else f"/{_dollars(self.budget)}"
        best_text = "-" if best is None else f"{best:.4g}"
        self._bar.set_postfix_str(f"${paid:.4f}{budget} best {self.metric}={best_text}", refresh=False)
        self._bar.update(trials)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> TuningProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _dollars(amount: float) -> str:
    """Dollars as a budget is written: cents from $1 up, three significant digits below ($0.004, $0.0125).

    Example:
        >>> _dollars(3), _dollars(0.004), _dollars(0.0125)
        ('3.00', '0.004', '0.0125')
    """
    return f"{amount:.2f}" if amount >= 1 else f"{amount:.3g}"
