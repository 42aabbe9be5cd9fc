"""The overview of what is in the store, as pictures: a hexagon map and a weekly chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from geotranquil.charts import hexagon_map, weekly_chart
from geotranquil.config import Settings
from geotranquil.db import overview as db
from geotranquil.db.areas import outlines
from geotranquil.errors import NotReady

#: The study area's time zone when the caller gives none (the settings' default).
DEFAULT_TIMEZONE: str = Settings.model_fields["timezone"].default


@dataclass(frozen=True)
class Overview:
    map_png: Path
    weekly_png: Path
    located_events: int
    cells_with_events: int


def load_cell_counts(engine: Engine, resolution: int) -> gpd.GeoDataFrame:
    """Every grid cell at ``resolution`` with its number of located events (zeros included)."""
    if resolution not in db.RESOLUTIONS:
        raise NotReady(f"résolution {resolution} non disponible (7 à 10)")
    with engine.connect() as conn:
        cells = db.cell_event_counts(conn=conn, resolution=resolution)
    if cells.empty:
        raise NotReady("la grille est vide : lancez « geotranquil grid build »")
    return cells


def load_weekly(engine: Engine, timezone: str = DEFAULT_TIMEZONE) -> pd.DataFrame:
    """Weekly event counts per source (columns), weeks starting on Monday in ``timezone``
    (the study area's, ``settings.timezone``)."""
    with engine.connect() as conn:
        frame = db.weekly_source_counts(conn=conn, timezone=timezone)
    if frame.empty:
        return pd.DataFrame()
    return frame.pivot(index="week", columns="source", values="n").fillna(0)


def write_overview(
    engine: Engine, out_dir: Path, resolution: int = 9, *, timezone: str = DEFAULT_TIMEZONE
) -> Overview:
    """Write ``carte_evenements_r{res}.png`` and ``evenements_par_semaine.png`` into ``out_dir``.

    Weeks are local weeks of ``timezone``: pass ``settings.timezone``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = load_cell_counts(engine, resolution)
    with engine.connect() as conn:
        arrondissements = outlines(conn=conn, kind="arrondissement")
    total = int(cells["events"].sum())
    fig = hexagon_map(
        cells,
        arrondissements,
        f"Événements localisés par hexagone H3 (résolution {resolution}) — {total} événements",
    )
    map_png = out_dir / f"carte_evenements_r{resolution}.png"
    fig.savefig(map_png)
    weekly = load_weekly(engine, timezone)
    if weekly.empty:
        raise NotReady("aucun événement : ingérez d'abord des fichiers")
    chart = weekly_chart(weekly, "Événements par semaine et par source")
    weekly_png = out_dir / "evenements_par_semaine.png"
    chart.savefig(weekly_png)
    return Overview(map_png, weekly_png, total, int((cells["events"] > 0).sum()))
