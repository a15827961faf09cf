"""Drawing the tuning plots from :meth:`Analysis.plot_data` (matplotlib is an optional extra)."""

from __future__ import annotations

from typing import Any

from ecoptigen.errors import ConfigurationError

__all__ = ["draw"]


def draw(data: dict[str, Any], path: str) -> None:
    """Save two panels to ``path``: best metric vs dollars paid, and inference cost vs metric per trial.

    Raises:
        ConfigurationError: matplotlib is not installed.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tuning.png")
        >>> draw({"spend": [(0.1, 0.4), (0.3, 0.6)], "trials": [(0.01, 0.4, False), (0.02, 0.6, True)],
        ...       "metric": "success", "budget": 1.0}, path)
        >>> os.path.getsize(path) > 0
        True
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigurationError('plots need matplotlib: pip install "ecoptigen[plot]"') from None
    figure = Figure(figsize=(11, 4.2))
    spend_axes, trials_axes = figure.subplots(1, 2)
    metric = data["metric"]
    if data["spend"]:
        dollars, best = zip(*data["spend"], strict=True)
        spend_axes.step(dollars, best, where="post", marker="o")
    if data.get("budget"):
        spend_axes.axvline(data["budget"], linestyle="--", color="grey", label="optimization budget")
        spend_axes.legend(loc="lower right")
    spend_axes.set(xlabel="dollars paid", ylabel=f"best {metric}", title=f"best {metric} vs dollars spent")
    others = [(c, m) for c, m, is_best in data["trials"] if not is_best]
    best_points = [(c, m) for c, m, is_best in data["trials"] if is_best]
    if others:
        trials_axes.scatter(*zip(*others, strict=True), alpha=0.6, label="trials")
    if best_points:
        trials_axes.scatter(*zip(*best_points, strict=True), marker="*", s=220, color="red", label="tuned config")
        trials_axes.legend(loc="lower right")
    trials_axes.set(xlabel="inference cost ($ per instance)", ylabel=metric, title=f"inference cost vs {metric}")
    figure.tight_layout()
    figure.savefig(path)
