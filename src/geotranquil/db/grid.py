"""The ``grid_cells`` table: H3 cells covering the study area at the analysis resolutions."""

from __future__ import annotations

import geopandas as gpd
from sqlalchemy import Connection, text

from geotranquil.db.copy import copy_frame

_STAGE_COLUMNS = [
    "h3",
    "resolution",
    "wkt",
    "area_m2",
    "land_share",
    "population",
    "arrondissement_code",
    "quartier_code",
]


def replace_grid(*, conn: Connection, grid: gpd.GeoDataFrame) -> int:
    """Replace the cells of the resolutions present in ``grid``; return the number stored.

    Uses ``COPY`` into a temporary table, then one set-based swap, inside the caller's
    transaction: a failure leaves the previous grid in place.
    """
    resolutions = sorted({int(r) for r in grid["resolution"]})
    conn.execute(
        text(
            "CREATE TEMP TABLE grid_stage (h3 bigint, resolution smallint, wkt text, "
            "area_m2 float8, land_share float8, population float8, arrondissement_code text, "
            "quartier_code text) "
            "ON COMMIT DROP"
        )
    )
    copy_frame(
        conn,
        "grid_stage",
        grid.assign(wkt=grid.geometry.to_wkt(rounding_precision=9)),
        _STAGE_COLUMNS,
    )
    conn.execute(text("DELETE FROM grid_cells WHERE resolution = ANY(:res)"), {"res": resolutions})
    result = conn.execute(
        text(
            "INSERT INTO grid_cells (h3, resolution, geom, area_m2, land_share, population, "
            "arrondissement_code, quartier_code) "
            "SELECT h3, resolution, ST_GeomFromText(wkt, 4326), area_m2, land_share, population, "
            "arrondissement_code, quartier_code FROM grid_stage"
        )
    )
    return int(result.rowcount)


def count_cells(*, conn: Connection) -> dict[int, int]:
    """Number of grid cells at each resolution."""
    return {
        int(r): int(n)
        for r, n in conn.execute(
            text("SELECT resolution, count(*) FROM grid_cells GROUP BY resolution ORDER BY 1")
        )
    }
