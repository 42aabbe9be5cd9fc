"""The overview of what is in the store, as pictures: a hexagon map and a weekly chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import wkb as shapely_wkb
from sqlalchemy import Engine, text

from geotranquil.charts import hexagon_map, weekly_chart
from geotranquil.errors import NotReady


@dataclass(frozen=True)
class Overview:
    map_png: Path
    weekly_png: Path
    located_events: int
    cells_with_events: int


def load_cell_counts(engine: Engine, resolution: int) -> gpd.GeoDataFrame:
    """Every grid cell at ``resolution`` with its number of located events (zeros included)."""
    column = f"h3_r{resolution}"
    if resolution not in (7, 8, 9, 10):
        raise NotReady(f"résolution {resolution} non disponible (7 à 10)")
    sql = text(
        f"SELECT g.h3, ST_AsBinary(g.geom) AS wkb, coalesce(c.n, 0) AS events "
        f"FROM grid_cells g LEFT JOIN (SELECT {column} AS h3, count(*) AS n FROM events "
        f"WHERE {column} IS NOT NULL GROUP BY 1) c ON c.h3 = g.h3 "
        f"WHERE g.resolution = :res"
    )
    with engine.connect() as conn:
        rows = conn.execute(sql, {"res": resolution}).fetchall()
    if not rows:
        raise NotReady("la grille est vide : lancez « geotranquil grid build »")
    return gpd.GeoDataFrame(
        {"h3": [r.h3 for r in rows], "events": [int(r.events) for r in rows]},
        geometry=[shapely_wkb.loads(bytes(r.wkb)) for r in rows],
        crs=4326,
    )


def load_weekly(engine: Engine) -> pd.DataFrame:
    """Weekly event counts per source (columns), weeks starting on Monday, Europe/Paris."""
    sql = text(
        "SELECT date_trunc('week', e.occurred_at AT TIME ZONE 'Europe/Paris') AS week, "
        "s.name, count(*) AS n FROM events e JOIN sources s ON s.id = e.source_id "
        "GROUP BY 1, 2 ORDER BY 1"
    )
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(sql).fetchall(), columns=["week", "source", "n"])
    if frame.empty:
        return pd.DataFrame()
    return frame.pivot(index="week", columns="source", values="n").fillna(0)


def write_overview(engine: Engine, out_dir: Path, resolution: int = 9) -> Overview:
    """Write ``carte_evenements_r{res}.png`` and ``evenements_par_semaine.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = load_cell_counts(engine, resolution)
    with engine.connect() as conn:
        outlines_rows = conn.execute(
            text("SELECT ST_AsBinary(geom) FROM areas WHERE kind = 'arrondissement'")
        ).fetchall()
    outlines = gpd.GeoDataFrame(
        geometry=[shapely_wkb.loads(bytes(r[0])) for r in outlines_rows], crs=4326
    )
    total = int(cells["events"].sum())
    fig = hexagon_map(
        cells,
        outlines,
        f"Événements localisés par hexagone H3 (résolution {resolution}) — {total} événements",
    )
    map_png = out_dir / f"carte_evenements_r{resolution}.png"
    fig.savefig(map_png)
    weekly = load_weekly(engine)
    if weekly.empty:
        raise NotReady("aucun événement : ingérez d'abord des fichiers")
    chart = weekly_chart(weekly, "Événements par semaine et par source")
    weekly_png = out_dir / "evenements_par_semaine.png"
    chart.savefig(weekly_png)
    return Overview(map_png, weekly_png, total, int((cells["events"] > 0).sum()))
