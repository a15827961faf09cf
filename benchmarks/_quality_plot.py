"""The plot of ``search_quality.py``: the tuners' held-out success against dollars spent, and the frontier.

Left: per tuner, the mean over seeds of the incumbent's held-out success at each checkpoint of the
largest budget's runs (a line; x is dollars billed) and of the configuration returned at each budget
(markers), with the best configuration within the inference budget as a dashed line. Right: the frontier,
held-out success against dollars per instance, the inference budget and the best configuration marked.
"""

from __future__ import annotations

from pathlib import Path

COLOURS = {"ecoptigen": "tab:blue", "flaml_2_7_0": "tab:orange"}


def draw(results: dict, frontier: dict, path: Path) -> None:
    """Write the plot to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    best = results["frontier_best"]["test_success_mean"]
    for tuner, data in results["plot_data"].items():
        colour = COLOURS.get(tuner)
        curve = data["incumbent_curve"]
        if curve:
            left.plot(
                [p["dollars"] for p in curve],
                [p["held_out_success_mean"] for p in curve],
                "-o",
                color=colour,
                label=f"{tuner}: incumbent ({data.get('curve_seeds', '?')} seeds; none yet counts 0)",
            )
        left.plot(
            [p["budget"] for p in data["returned"]],
            [p["held_out_success_mean"] for p in data["returned"]],
            "s",
            color=colour,
            markersize=9,
            markerfacecolor="none",
            label=f"{tuner}: returned at each budget",
        )
    left.axhline(best, linestyle="--", color="grey", label=f"best within the inference budget ({best:.3f})")
    left.set_xscale("log")
    left.set_xlabel("dollars billed during the tuning")
    left.set_ylabel("held-out success (mean over seeds)")
    left.set_title("the search: held-out success vs dollars spent")
    left.legend(fontsize=7, loc="lower right")
    points = frontier["frontier"]
    right.step([p["dollars"] for p in points], [p["success"] for p in points], where="post", color="black")
    budget = frontier["setting"]["inference_budget"]
    right.axvline(budget, linestyle=":", color="grey", label=f"inference budget ${budget:g}")
    if frontier.get("best"):
        chosen = frontier["best"]
        right.plot(
            [chosen["screened_dollars"]],
            [chosen["test_success_mean"]],
            "*",
            color="tab:red",
            markersize=12,
            label="best within the budget (test(), 2 seeds)",
        )
    right.set_xscale("log")
    right.set_xlabel("dollars per instance")
    right.set_ylabel("held-out success")
    right.set_title(f"the frontier ({frontier['configurations_scored']} configurations)")
    right.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
