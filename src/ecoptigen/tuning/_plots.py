"""Drawing the tuning plots from :func:`ecoptigen.tuning._plot_data.plot_data` (matplotlib is an optional
extra).

Left: the best metric found vs dollars paid, with the optimization budget. Right: every trial's inference
cost vs metric, one colour per model; filled circles were evaluated on all the data within the inference
budget, hollow circles on all the data but over it, hollow triangles were stopped once they could not
win (their mean so far), crosses in the bottom strip got no score (pruned, stopped early, failed); the
inference budget is a dashed line and the chosen configuration a star.
"""

from __future__ import annotations

from typing import Any

from ecoptigen.errors import ConfigurationError

__all__ = ["draw"]

# kind -> (marker, filled, legend label)
_MARKERS = {
    "evaluated": ("o", True, "evaluated within the inference budget"),
    "over": ("o", False, "evaluated, over the inference budget"),
    "partial": ("^", False, "stopped: could not win (mean so far)"),
    "unscored": ("x", True, "not scored (pruned, stopped early or failed)"),
}


def draw(data: dict[str, Any], path: str) -> None:
    """Save the two plots of ``data`` (:meth:`Analysis.plot_data`) to ``path``.

    Raises:
        ConfigurationError: matplotlib is not installed.

    Example:
        >>> import tempfile, os
        >>> from ecoptigen.tuning.analysis import Analysis, Trial
        >>> t = Trial(0, {}, {"model": "m"}, "ok", {"success": 0.5}, 0.01, 0.2, 0.2, 0.2)
        >>> path = os.path.join(tempfile.mkdtemp(), "tuning.png")
        >>> draw(Analysis("success", "max", [t], budget=1.0).plot_data(), path)
        >>> os.path.getsize(path) > 0
        True
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigurationError('plots need matplotlib: pip install matplotlib (or the "plot" extra)') from None
    figure = Figure(figsize=(13, 5))
    spend_axes, trials_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.35]})
    _draw_spend(spend_axes, data)
    _draw_trials(trials_axes, data)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _draw_spend(axes: Any, data: dict[str, Any]) -> None:
    metric = data["metric"]
    if data["spend"]:
        dollars, best = zip(*data["spend"], strict=True)
        axes.step(dollars, best, where="post", marker="o", markersize=3)
    if data.get("budget"):
        axes.axvline(data["budget"], linestyle="--", color="grey", label="optimization budget")
        axes.legend(loc="lower right")
    axes.set(xlabel="dollars paid", ylabel=f"best {metric}", title=f"best {metric} vs dollars spent")


def _draw_trials(axes: Any, data: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D

    metric, points = data["metric"], data["trials"]
    colours = {model: f"C{i % 10}" for i, model in enumerate(data["models"])}
    scored = [p.value for p in points if p.value is not None]
    low, high = (min(scored), max(scored)) if scored else (0.0, 1.0)
    strip = low - 0.12 * ((high - low) or 1.0)  # where trials without a score are drawn
    positive = [p.cost for p in points if p.cost > 0]
    # Costs of different models differ by orders of magnitude: a log axis; a trial that bought nothing
    # (cost 0) sits at its left edge.
    floor = min(positive) / 2 if positive else 1e-6
    if positive:
        axes.set_xscale("log")
    for kind, (marker, filled, _) in _MARKERS.items():
        for model, colour in colours.items():
            chosen = [p for p in points if p.kind == kind and p.model == model]
            if not chosen:
                continue
            xs = [max(p.cost, floor) for p in chosen]
            ys = [strip if p.value is None else p.value for p in chosen]
            if marker == "x":  # a line-only marker: it has no face
                axes.scatter(xs, ys, marker=marker, s=36, color=colour, alpha=0.8, linewidths=1.2)
                continue
            face = colour if filled else "none"
            axes.scatter(xs, ys, marker=marker, s=36, facecolors=face, edgecolors=colour, alpha=0.8, linewidths=1.2)
    best = [p for p in points if p.chosen]
    for p in best:
        y = p.value if p.value is not None else strip
        star: dict[str, Any] = {"marker": "*", "s": 320, "color": colours[p.model], "edgecolors": "black", "zorder": 5}
        axes.scatter([max(p.cost, floor)], [y], linewidths=1.0, **star)
    if data.get("inference_budget"):
        axes.axvline(data["inference_budget"], linestyle="--", color="grey")
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=m) for m, c in colours.items()]
    for kind, (marker, filled, label) in _MARKERS.items():
        if any(p.kind == kind for p in points):
            face = "black" if filled else "none"
            handles.append(
                Line2D([], [], marker=marker, linestyle="", color="black", markerfacecolor=face, label=label)
            )
    if best:
        style: dict[str, Any] = {"marker": "*", "markersize": 14, "color": "grey", "markeredgecolor": "black"}
        handles.append(Line2D([], [], linestyle="", label="chosen configuration", **style))
    if data.get("inference_budget"):
        handles.append(Line2D([], [], linestyle="--", color="grey", label="inference budget"))
    axes.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    if any(p.value is None for p in points):
        ticks = [t for t in axes.get_yticks() if low - 1e-9 <= t <= high + 1e-9]
        axes.set_yticks([strip, *ticks], ["not scored", *(f"{t:.3g}" for t in ticks)])
    axes.set(
        xlabel=r"inference cost (\$ per instance; trials stopped early: \$ per row answered)",
        ylabel=metric,
        title=f"every trial: inference cost vs {metric} ({len(points)} trials)",
    )
