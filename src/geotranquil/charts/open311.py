"""The residents' reports picture: reports per week and service, and where they stand."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from geotranquil.charts.overview import QUALITATIVE

#: workflow outcomes, in the order drawn, with their French names and colours
OUTCOMES = (
    ("resolved", "résolus", "#009E73"),
    ("open", "en attente ou en cours", "#E69F00"),
    ("rejected", "rejetés (doublon, abus)", "#999999"),
)


def reports_figure(table: pd.DataFrame, weekly: pd.DataFrame, title: str) -> Figure:
    """Stacked weekly bars per service (left) and each service's outcomes (right).

    ``table`` and ``weekly`` are those of :func:`geotranquil.services.open311_summary.summarize`
    (the ``Total`` row is left out of the right panel).
    """
    fig = Figure(figsize=(12, 4.8), dpi=110)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    positions = list(range(len(weekly.index)))
    bottom = [0] * len(positions)
    for i, service in enumerate(weekly.columns):
        values = weekly[service].to_list()
        left.bar(
            positions,
            values,
            width=0.8,
            bottom=bottom,
            label=str(service),
            color=QUALITATIVE[i % len(QUALITATIVE)],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    left.set_xticks(positions, [f"{w:%d/%m}" for w in weekly.index], rotation=45, ha="right")
    left.set_xlabel("semaine du")
    left.set_ylabel("signalements par semaine")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=3, fontsize=8)
    left.grid(axis="y", alpha=0.3)
    services = table.drop(index="Total", errors="ignore")
    start = pd.Series(0, index=services.index)
    for column, label, colour in OUTCOMES:
        right.barh(services.index, services[column], left=start, color=colour, label=label)
        start = start + services[column]
    right.invert_yaxis()
    right.set_xlabel("signalements")
    right.set_xlim(0, max(1.0, float(start.max())) * 1.35)  # room for the first-action labels
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3, fontsize=8)
    ends = start.to_numpy(dtype=float)
    hours_all = services["median_hours_to_first_action"].to_numpy(dtype=float)
    for y, (end, hours) in enumerate(zip(ends, hours_all, strict=True)):
        if hours == hours:  # not NaN
            right.annotate(
                f"1re action : {hours:.0f} h",
                (end, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return fig
