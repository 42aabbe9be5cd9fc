"""What the weekly bulletin reads (counts per area and local week, run cells with their
hexagons) and the ``bulletins`` table (one PDF per ISO week)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, text

#: how events are grouped: an area column of ``grid_cells`` (through the event's r10 cell),
#: or the event's own r9 cell
UNITS = {
    "arrondissement": "g.arrondissement_code",
    "quartier": "g.quartier_code",
    "cell": "e.h3_r9",
}


def weekly_counts(
    *, conn: Connection, unit: str, start: datetime, end: datetime, timezone: str
) -> pd.DataFrame:
    """Events in ``[start, end)`` per ``unit`` (a key of :data:`UNITS`) and local week
    (``timezone``): columns ``code`` (text), ``week`` (its Monday), ``n``. An event belongs to
    the area of its resolution-10 cell; events in no area are not counted."""
    column = UNITS[unit]
    join = "" if unit == "cell" else "JOIN grid_cells g ON g.h3 = e.h3_r10 AND g.resolution = 10 "
    rows = conn.execute(
        text(
            f"SELECT CAST({column} AS text) AS code, "
            "CAST(date_trunc('week', e.occurred_at AT TIME ZONE :tz) AS date) AS week, "
            f"count(*) AS n FROM events e {join}"
            f"WHERE e.occurred_at >= :s AND e.occurred_at < :e AND {column} IS NOT NULL "
            "GROUP BY 1, 2"
        ),
        {"tz": timezone, "s": start, "e": end},
    ).all()
    return pd.DataFrame(rows, columns=["code", "week", "n"]).astype({"n": int})


def weekly_totals(
    *, conn: Connection, start: datetime, end: datetime, timezone: str
) -> dict[date, int]:
    """Every event in ``[start, end)``, located or not, per local week (its Monday)."""
    rows = conn.execute(
        text(
            "SELECT CAST(date_trunc('week', occurred_at AT TIME ZONE :tz) AS date), count(*) "
            "FROM events WHERE occurred_at >= :s AND occurred_at < :e GROUP BY 1"
        ),
        {"tz": timezone, "s": start, "e": end},
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def area_names(*, conn: Connection, kind: str) -> pd.DataFrame:
    """``code``, ``name`` of the areas of one kind, by code."""
    rows = conn.execute(
        text("SELECT code, name FROM areas WHERE kind = :k ORDER BY code"), {"k": kind}
    ).all()
    return pd.DataFrame(rows, columns=["code", "name"])


def run_cell_shapes(*, conn: Connection, run_id: int) -> gpd.GeoDataFrame:
    """The cells of a hot-spot run: ``h3``, ``gi_bin``, ``pattern`` and the hexagon."""
    return gpd.read_postgis(
        text(
            "SELECT c.h3, c.gi_bin, c.pattern, g.geom FROM hotspot_cells c "
            "JOIN grid_cells g ON g.h3 = c.h3 WHERE c.run_id = :r ORDER BY c.h3"
        ),
        conn,
        geom_col="geom",
        params={"r": run_id},
    )


def save_bulletin(
    *, conn: Connection, week: str, week_start: date, pdf: bytes, sha256: str
) -> datetime:
    """Store the PDF of ``week``, replacing any earlier one; when it was built."""
    built: datetime = conn.execute(
        text(
            "INSERT INTO bulletins (week, week_start, built_at, sha256, size, pdf) "
            "VALUES (:w, :d, now(), :h, :n, :p) ON CONFLICT (week) DO UPDATE SET "
            "built_at = excluded.built_at, sha256 = excluded.sha256, size = excluded.size, "
            "pdf = excluded.pdf, emailed_at = NULL RETURNING built_at"
        ),
        {"w": week, "d": week_start, "h": sha256, "n": len(pdf), "p": pdf},
    ).scalar_one()
    return built


def list_bulletins(*, conn: Connection) -> list[dict[str, Any]]:
    """Every stored bulletin, newest week first, without its PDF."""
    rows = conn.execute(
        text(
            "SELECT week, week_start, built_at, sha256, size, emailed_at FROM bulletins "
            "ORDER BY week_start DESC"
        )
    ).all()
    return [dict(r._mapping) for r in rows]


def get_bulletin(*, conn: Connection, week: str) -> dict[str, Any] | None:
    """A stored bulletin with its PDF, or None."""
    row = conn.execute(
        text(
            "SELECT week, week_start, built_at, sha256, size, emailed_at, pdf FROM bulletins "
            "WHERE week = :w"
        ),
        {"w": week},
    ).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["pdf"] = bytes(out["pdf"])
    return out


def mark_emailed(*, conn: Connection, week: str, sha256: str) -> None:
    """Record that the bulletin of ``week`` (this very PDF) was e-mailed."""
    conn.execute(
        text("UPDATE bulletins SET emailed_at = now() WHERE week = :w AND sha256 = :h"),
        {"w": week, "h": sha256},
    )
