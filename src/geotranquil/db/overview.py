"""What the overview pictures read: events per grid cell, events per week and source."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely import wkb as shapely_wkb
from sqlalchemy import Connection, text

#: Resolutions with an H3 column on ``events``.
RESOLUTIONS = (7, 8, 9, 10)


def cell_event_counts(*, conn: Connection, resolution: int) -> gpd.GeoDataFrame:
    """Every grid cell at ``resolution`` (one of :data:`RESOLUTIONS`) with its number of
    located events, zeros included: columns ``h3``, ``events``, ``geometry``."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution}")
    column = f"h3_r{int(resolution)}"
    rows = conn.execute(
        text(
            f"SELECT g.h3, ST_AsBinary(g.geom) AS wkb, coalesce(c.n, 0) AS events "
            f"FROM grid_cells g LEFT JOIN (SELECT {column} AS h3, count(*) AS n FROM events "
            f"WHERE {column} IS NOT NULL GROUP BY 1) c ON c.h3 = g.h3 "
            f"WHERE g.resolution = :res ORDER BY g.h3"
        ),
        {"res": resolution},
    ).fetchall()
    return gpd.GeoDataFrame(
        {"h3": [r.h3 for r in rows], "events": [int(r.events) for r in rows]},
        geometry=[shapely_wkb.loads(bytes(r.wkb)) for r in rows],
        crs=4326,
    )


def weekly_source_counts(*, conn: Connection, timezone: str) -> pd.DataFrame:
    """Events per local week (starting on Monday in ``timezone``) and source name: columns
    ``week`` (naive local midnight), ``source``, ``n``."""
    rows = conn.execute(
        text(
            "SELECT date_trunc('week', e.occurred_at AT TIME ZONE :tz) AS week, "
            "s.name, count(*) AS n FROM events e JOIN sources s ON s.id = e.source_id "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"tz": timezone},
    ).fetchall()
    return pd.DataFrame(rows, columns=["week", "source", "n"])
