"""What the weekly bulletin shows, read from the store: counts per area and week, the latest
hot-spot, emerging and forecast runs drawn as maps, residents' reports in figures.

Only aggregates leave this module (:class:`geotranquil.bulletin.document.Content`): no event,
no address, no free text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from geotranquil.bulletin import figures
from geotranquil.bulletin.document import Content, Picture
from geotranquil.bulletin.weeks import IsoWeek
from geotranquil.charts.hotspots import gi_bin_map, pattern_map
from geotranquil.config import Settings
from geotranquil.db import bulletins as db
from geotranquil.db.areas import outlines
from geotranquil.db.forecasts import latest_forecast
from geotranquil.db.runs import default_run
from geotranquil.stats.emerging import PATTERN_LABELS_FR

Progress = Callable[[str], None]

#: the city's row of the table per arrondissement (its code is empty)
CITY = "Ensemble de la ville"


def _silent(_: str) -> None:
    return None


def _counts(
    engine: Engine, settings: Settings, unit: str, week: IsoWeek, first: IsoWeek
) -> pd.DataFrame:
    """Counts per ``unit`` and week label, from ``first`` to ``week`` included."""
    start, _ = first.bounds(settings.timezone)
    _, end = week.bounds(settings.timezone)
    with engine.connect() as conn:
        frame = db.weekly_counts(
            conn=conn, unit=unit, start=start, end=end, timezone=settings.timezone
        )
    frame["week"] = [IsoWeek.of(d).label for d in frame["week"]]
    return frame


def area_figures(
    engine: Engine, settings: Settings, week: IsoWeek
) -> tuple[pd.DataFrame, int, figures.Summary]:
    """The table per arrondissement with the city's row last, the unlocated events of the
    week, and the figures of the summary's first two sentences."""
    tz = settings.timezone
    earlier = week.previous(figures.BASELINE_WEEKS)
    counts = _counts(engine, settings, "arrondissement", week, earlier[0])
    last_year = _counts(engine, settings, "arrondissement", week.last_year(), week.last_year())
    with engine.connect() as conn:
        names = db.area_names(conn=conn, kind="arrondissement")
        totals = db.weekly_totals(
            conn=conn, start=earlier[0].bounds(tz)[0], end=week.bounds(tz)[1], timezone=tz
        )
        ly_totals = db.weekly_totals(
            conn=conn,
            start=week.last_year().bounds(tz)[0],
            end=week.last_year().bounds(tz)[1],
            timezone=tz,
        )
    table = figures.area_table(
        counts, names, week, last_year.set_index("code")["n"] if len(last_year) else pd.Series()
    )
    total = totals.get(week.monday, 0)
    baseline = sum(totals.get(w.monday, 0) for w in earlier) / len(earlier)
    ly_total = sum(ly_totals.values())
    city = pd.DataFrame(
        {
            "name": [CITY],
            "n": [total],
            "baseline": [baseline],
            "change": [figures.change_pct(total, baseline)],
            "last_year": [ly_total],
            "change_last_year": [figures.change_pct(total, ly_total)],
        },
        index=pd.Index([""], name="code"),
    ).astype({"change": object, "change_last_year": object})
    unlocated = total - int(table["n"].sum())
    summary = figures.summarize(total, baseline, table, None, None)
    return pd.concat([table, city]), unlocated, summary


def largest_changes(engine: Engine, settings: Settings, week: IsoWeek) -> tuple[pd.DataFrame, str]:
    """The ten quartiers (or, without quartiers, r9 cells) that moved most from their
    baseline; and the French name of the unit."""
    earlier = week.previous(figures.BASELINE_WEEKS)
    with engine.connect() as conn:
        quartiers = db.area_names(conn=conn, kind="quartier")
    unit = "quartier" if len(quartiers) else "cell"
    counts = _counts(engine, settings, unit, week, earlier[0])
    if unit == "quartier":
        names = quartiers
    else:
        codes = sorted(set(counts["code"]))
        names = pd.DataFrame({"code": codes, "name": [f"maille {int(c):x}" for c in codes]})
    table = figures.area_table(counts, names, week, pd.Series(dtype=int))
    label = "quartiers" if unit == "quartier" else "mailles H3 (résolution 9)"
    return figures.largest_changes(table), label


def hotspot_pictures(
    engine: Engine, out_dir: Path
) -> tuple[list[Picture], int | None, int | None, list[str]]:
    """The maps of the default Gi* and emerging runs; hot spots and emerging cells counted;
    notes saying which runs they are."""
    pictures, notes = [], []
    hot: int | None = None
    emerging: int | None = None
    with engine.connect() as conn:
        arrondissements = outlines(conn=conn, kind="arrondissement")
        runs = {kind: default_run(conn=conn, kind=kind) for kind in ("gi_star", "emerging")}
        cells = {
            kind: db.run_cell_shapes(conn=conn, run_id=int(run["id"]))
            for kind, run in runs.items()
            if run is not None
        }
    for kind, caption in (
        ("gi_star", "Points chauds (Gi*)"),
        ("emerging", "Tendances émergentes"),
    ):
        run = runs[kind]
        if run is None:
            pictures.append(Picture(caption, None, "aucun calcul disponible"))
            continue
        frame = cells[kind]
        span = f"{run['period_start']:%d/%m/%Y} – {run['period_end']:%d/%m/%Y}"
        title = f"{caption}, période {span}"
        if kind == "gi_star":
            hot = int((frame["gi_bin"].fillna(0) > 0).sum())
            fig = gi_bin_map(frame, arrondissements, title)
        else:
            emerging = int(frame["pattern"].isin(figures.EMERGING_PATTERNS).sum())
            fig = pattern_map(frame, arrondissements, PATTERN_LABELS_FR, title)
        path = out_dir / f"{kind}.png"
        fig.savefig(path, dpi=90)
        pictures.append(Picture(title, path))
        notes.append(
            f"{caption} : calcul n° {run['id']} du {run['created_at']:%d/%m/%Y}, période {span}."
        )
    return pictures, hot, emerging, notes


def forecast_picture(engine: Engine, out_dir: Path) -> tuple[Picture, list[str]]:
    """The map of the latest forecast run, and a note naming it."""
    from geotranquil.services.forecasting import forecast_picture as draw

    with engine.connect() as conn:
        run = latest_forecast(conn=conn)
    caption = "Prévision : les zones les plus exposées la semaine prochaine"
    if run is None:
        return Picture(caption, None, "aucune prévision calculée"), []
    path = draw(engine, int(run["id"]), out_dir / "forecast.png")
    note = (
        f"Prévision : calcul n° {run['id']} ({run['method']}), "
        f"à partir du {run['origin']:%d/%m/%Y}."
    )
    return Picture(caption, path), [note]


def residents_reports(engine: Engine, settings: Settings, week: IsoWeek) -> dict[str, int]:
    """Residents' reports filed during the week: how many, resolved and still open now."""
    from geotranquil.services.open311_summary import TOTAL, reports_summary

    end = week.bounds(settings.timezone)[1]
    summary = reports_summary(engine, settings, days=7, end=end)
    if TOTAL not in summary.table.index or summary.table.empty:
        return {"received": 0, "resolved": 0, "open": 0}
    total = summary.table.loc[TOTAL].to_dict()
    return {
        "received": int(total["filed"]),
        "resolved": int(total["resolved"]),
        "open": int(total["open"]),
    }


def content(
    engine: Engine,
    settings: Settings,
    week: IsoWeek,
    out_dir: Path,
    *,
    now: datetime,
    progress: Progress = _silent,
) -> Content:
    """Everything the bulletin of ``week`` shows; its pictures are written into ``out_dir``."""
    progress("comptes par arrondissement")
    areas, unlocated, summary = area_figures(engine, settings, week)
    progress("zones qui ont le plus changé")
    changes, unit = largest_changes(engine, settings, week)
    progress("cartes des points chauds")
    pictures, hot, emerging, notes = hotspot_pictures(engine, out_dir)
    progress("carte de prévision")
    forecast, forecast_notes = forecast_picture(engine, out_dir)
    progress("signalements des habitants")
    reports = residents_reports(engine, settings, week)
    summary = figures.Summary(
        summary.total,
        summary.baseline,
        summary.rise_name,
        summary.rise_n,
        summary.rise_baseline,
        hot,
        emerging,
    )
    return Content(
        week=week,
        built_at=now,
        sentences=figures.sentences(summary, week),
        areas=areas,
        unlocated=unlocated,
        last_year=week.last_year(),
        changes=changes,
        changes_unit=unit,
        hotspot_pictures=pictures,
        forecast_picture=forecast,
        reports=reports,
        notes=notes + forecast_notes,
    )
