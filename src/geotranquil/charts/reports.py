"""The picture of a planner's polygon report: categories against the previous period, weeks."""

from __future__ import annotations

from datetime import date
from typing import Any

from matplotlib.figure import Figure

from geotranquil.charts.overview import QUALITATIVE


def report_figure(report: dict[str, Any]) -> Figure:
    """Two panels: events by category (period and previous period), and the weekly series.

    ``report`` is the document of ``POST /reports``
    (:func:`geotranquil.services.reports.finish_report`). Labels in French.

    Examples
    --------
    >>> doc = {"zone": {"name": "Test", "residents": 1000.0},
    ...        "period": {"start": "2025-01-06", "end": "2025-01-19"},
    ...        "totals": {"n": 3, "rate_per_1000": 3.0, "ratio_to_city": 1.5},
    ...        "by_category": [{"label": "Vols", "n": 3, "n_previous": 1}],
    ...        "weekly": [{"week": "2025-01-06", "n": 1}, {"week": "2025-01-13", "n": 2}]}
    >>> len(report_figure(doc).axes)
    2
    """
    lines = [x for x in report["by_category"] if x["n"] or x["n_previous"]]
    lines.sort(key=lambda x: x["n"])
    fig = Figure(figsize=(11, 5.5), dpi=110, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.1, 1])
    ys = range(len(lines))
    left.barh(
        [y + 0.2 for y in ys], [x["n"] for x in lines], 0.4, color=QUALITATIVE[5], label="période"
    )
    left.barh(
        [y - 0.2 for y in ys],
        [x["n_previous"] for x in lines],
        0.4,
        color=QUALITATIVE[4],
        label="période précédente",
    )
    left.set_yticks(list(ys), [x["label"] for x in lines])
    left.set_xlabel("événements")
    left.legend(loc="lower right", frameon=False)
    left.set_title("Par catégorie")
    weeks = [date.fromisoformat(w["week"]) for w in report["weekly"]]
    right.plot(
        weeks, [w["n"] for w in report["weekly"]], color=QUALITATIVE[0], marker="o", markersize=3
    )
    right.set_ylabel("événements par semaine")
    right.set_ylim(bottom=0)
    right.set_title("Par semaine")
    right.tick_params(axis="x", labelrotation=30)
    totals = report["totals"]
    rate = totals.get("rate_per_1000")
    ratio = totals.get("ratio_to_city")
    detail = f"{totals['n']} événements"
    if rate is not None:
        detail += f", {rate:.1f} pour 1 000 habitants"
    if ratio is not None:
        detail += f", {ratio:.2f} fois le taux de la ville"
    period = report["period"]
    fig.suptitle(
        f"{report['zone']['name']} — du {period['start']} au {period['end']} : {detail}",
        fontsize=11,
    )
    return fig
