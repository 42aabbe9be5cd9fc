"""Load the reference areas and build the H3 grid over them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import Engine

from geotranquil.db.areas import AreaCounts, read_geography, replace_reference_areas
from geotranquil.db.grid import replace_grid
from geotranquil.db.maintenance import analyze_tables
from geotranquil.errors import NotReady
from geotranquil.geography.reference import Geography, load_geography
from geotranquil.grid.cells import build_grid


def load_areas(engine: Engine, directory: Path | None) -> tuple[Geography, AreaCounts]:
    """Load commune, arrondissements and quartiers (official files if present, else built-in)."""
    geography = load_geography(directory)
    with engine.begin() as conn:
        counts = replace_reference_areas(conn=conn, geography=geography)
    with engine.begin() as conn:  # planner statistics of what was loaded (autovacuum may be off)
        analyze_tables(conn=conn, tables=("areas",))
    return geography, counts


def build_cells(
    engine: Engine,
    resolutions: Sequence[int],
    progress: Callable[[int], None] | None = None,
) -> dict[int, int]:
    """Fill ``grid_cells`` at ``resolutions`` over the areas loaded in the database."""
    with engine.connect() as conn:
        geography = read_geography(conn=conn)
    if geography is None:
        raise NotReady("aucune zone chargée : lancez d'abord « geotranquil areas load »")
    grid = build_grid(geography, resolutions, progress)
    with engine.begin() as conn:
        replace_grid(conn=conn, grid=grid)
    with engine.begin() as conn:  # tiles join grid_cells: plan them on real statistics
        analyze_tables(conn=conn, tables=("grid_cells",))
    return {int(r): int(n) for r, n in grid.groupby("resolution").size().items()}
