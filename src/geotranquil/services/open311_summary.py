"""Residents' reports in figures: per service, how many, where they stand, how fast handled.

:func:`summarize` is pure (a frame of reports in, two frames out); :func:`reports_summary`
reads the reports of a period and draws the picture for analysts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import open311 as db

TOTAL = "Total"
COLUMNS = (
    "filed",
    "open",
    "resolved",
    "rejected",
    "duplicates",
    "median_hours_to_first_action",
    "median_days_to_resolution",
)


def summarize(reports: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-service figures and weekly counts of residents' reports.

    Parameters
    ----------
    reports : pandas.DataFrame
        One row per report: ``service_name``, ``state``, ``requested_at``, ``duplicate``
        (linked to an open report), ``first_action_at`` and ``resolved_at`` (NaT when none).
    timezone : str
        Time zone of the weeks (they start on Monday, local time).

    Returns
    -------
    table : pandas.DataFrame
        Indexed by service name plus a ``Total`` row, with :data:`COLUMNS`: reports filed,
        still open (received or in progress), resolved, rejected (duplicate or abuse), linked
        as duplicates, the median hours from filing to the first staff action and the median
        days from filing to resolution (NaN when none).
    weekly : pandas.DataFrame
        Reports per local week (index: Monday) and service (columns).

    Examples
    --------
    >>> t = pd.Timestamp("2026-10-05 08:00", tz="UTC")
    >>> h = pd.Timedelta(hours=1)
    >>> reports = pd.DataFrame({
    ...     "service_name": ["Tags", "Tags", "Voirie"],
    ...     "state": ["resolved", "received", "in_progress"],
    ...     "requested_at": [t, t + 24 * h, t + 200 * h],
    ...     "duplicate": [False, True, False],
    ...     "first_action_at": [t + 6 * h, pd.NaT, t + 210 * h],
    ...     "resolved_at": [t + 48 * h, pd.NaT, pd.NaT],
    ... })
    >>> table, weekly = summarize(reports, "Europe/Paris")
    >>> table.loc["Tags", ["filed", "open", "resolved", "duplicates"]].tolist()
    [2, 1, 1, 1]
    >>> float(table.loc["Tags", "median_days_to_resolution"])
    2.0
    >>> float(table.loc[TOTAL, "median_hours_to_first_action"])
    8.0
    >>> weekly.to_dict("list")
    {'Tags': [2, 0], 'Voirie': [0, 1]}
    """
    frame = reports.copy()
    for column in ("requested_at", "first_action_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["open"] = frame["state"].isin(["received", "in_progress"])
    frame["resolved"] = frame["state"].eq("resolved")
    frame["rejected"] = frame["state"].str.startswith("rejected_")
    frame["hours_to_first_action"] = (
        frame["first_action_at"] - frame["requested_at"]
    ).dt.total_seconds() / 3600
    frame["days_to_resolution"] = (
        frame["resolved_at"] - frame["requested_at"]
    ).dt.total_seconds() / 86400

    def figures(group: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "filed": len(group),
                "open": int(group["open"].sum()),
                "resolved": int(group["resolved"].sum()),
                "rejected": int(group["rejected"].sum()),
                "duplicates": int(group["duplicate"].astype(bool).sum()),
                "median_hours_to_first_action": group["hours_to_first_action"].median(),
                "median_days_to_resolution": group["days_to_resolution"].median(),
            }
        )

    rows = {name: figures(group) for name, group in frame.groupby("service_name", sort=True)}
    rows[TOTAL] = figures(frame)
    table = pd.DataFrame.from_dict(rows, orient="index")[list(COLUMNS)]
    for column in COLUMNS[:5]:
        table[column] = table[column].astype(int)
    local = frame["requested_at"].dt.tz_convert(timezone).dt.tz_localize(None)
    frame["week"] = local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")
    weekly = frame.pivot_table(
        index="week", columns="service_name", values="state", aggfunc="count", fill_value=0
    )
    if len(weekly):
        weeks = pd.date_range(weekly.index.min(), weekly.index.max(), freq="7D")
        weekly = weekly.reindex(weeks, fill_value=0)
    weekly.columns.name = None
    return table, weekly.astype(int)


@dataclass(frozen=True)
class ReportsSummary:
    start: datetime
    end: datetime
    table: pd.DataFrame
    weekly: pd.DataFrame
    picture: Path | None


def reports_summary(
    engine: Engine,
    settings: Settings,
    *,
    days: int = 90,
    end: datetime | None = None,
    picture: Path | None = None,
) -> ReportsSummary:
    """The reports filed in the ``days`` before ``end`` (now), and their picture if asked."""
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    with engine.connect() as conn:
        rows = db.summary_rows(conn=conn, start=start, end=end)
    columns = [
        "service_code",
        "service_name",
        "state",
        "requested_at",
        "duplicate",
        "first_action_at",
        "resolved_at",
    ]
    table, weekly = summarize(pd.DataFrame(rows, columns=columns), settings.timezone)
    written = None
    if picture is not None and len(rows):
        from geotranquil.charts.open311 import reports_figure

        picture.parent.mkdir(parents=True, exist_ok=True)
        zone = ZoneInfo(settings.timezone)
        last = (end - timedelta(microseconds=1)).astimezone(zone)
        title = (
            f"Signalements des habitants du {start.astimezone(zone):%d/%m/%Y} au {last:%d/%m/%Y}"
        )
        reports_figure(table, weekly, title).savefig(picture)
        written = picture
    return ReportsSummary(start, end, table, weekly, written)
