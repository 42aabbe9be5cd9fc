"""The H3 grid covers the commune with no gap and no overlap, at every analysis resolution."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import Engine, text

from geotranquil.grid.h3ids import FINE_RESOLUTION, cells_from_points, parent_ids


@pytest.mark.parametrize("res", [7, 8, 9, 10])
def test_grid_covers_commune_without_gap(loaded_engine: Engine, res: int) -> None:
    with loaded_engine.connect() as conn:
        gap_m2 = conn.execute(
            text(
                "SELECT ST_Area(ST_Transform(ST_Difference(a.geom, g.u), 2154)) FROM areas a, "
                "(SELECT ST_Union(geom) AS u FROM grid_cells WHERE resolution = :r) g "
                "WHERE a.kind = 'commune'"
            ),
            {"r": res},
        ).scalar_one()
    # union of hexagons may differ from the outline only by floating-point slivers
    assert gap_m2 < 1.0


@pytest.mark.parametrize("res", [7, 9, 10])
def test_grid_cells_do_not_overlap(loaded_engine: Engine, res: int) -> None:
    with loaded_engine.connect() as conn:
        total, union = conn.execute(
            text(
                "SELECT sum(ST_Area(ST_Transform(geom, 2154))), "
                "ST_Area(ST_Transform(ST_Union(geom), 2154)) FROM grid_cells WHERE resolution = :r"
            ),
            {"r": res},
        ).one()
    assert abs(total - union) / union < 1e-6


def test_every_cell_touches_commune_and_has_zones(loaded_engine: Engine) -> None:
    with loaded_engine.connect() as conn:
        far, far_land, total = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE NOT ST_Intersects(g.geom, a.geom)), "
                "max(g.land_share) FILTER (WHERE NOT ST_Intersects(g.geom, a.geom)), count(*) "
                "FROM grid_cells g, areas a WHERE a.kind = 'commune'"
            )
        ).one()
        missing = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE arrondissement_code IS NULL")
        ).scalar_one()
        wrong_res = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE h3_resolution(h3) <> resolution")
        ).scalar_one()
        # the cell containing the Vieux-Port is in the 1er or 2e/7e arrondissement
        arr = conn.execute(
            text(
                "SELECT arrondissement_code FROM grid_cells WHERE resolution = 10 AND "
                "ST_Contains(geom, ST_SetSRID(ST_MakePoint(5.3745, 43.2951), 4326))"
            )
        ).scalar_one()
    # only the H3 parents added for hierarchy consistency lie off the outline, with no land
    assert far < 0.005 * total
    assert far_land is None or far_land == 0
    assert missing == 0
    assert wrong_res == 0
    assert arr in {"13201", "13202", "13207"}


def test_every_point_of_the_commune_has_its_cells_in_the_grid(loaded_engine: Engine) -> None:
    """Whatever the event, its bit-operation parents at 7-10 are grid cells (H3 is not nested)."""
    with loaded_engine.connect() as conn:
        wkb = conn.execute(
            text("SELECT ST_AsBinary(geom) FROM areas WHERE kind = 'commune'")
        ).scalar_one()
        grid = {
            (int(h), int(r)) for h, r in conn.execute(text("SELECT h3, resolution FROM grid_cells"))
        }
    commune = shapely.from_wkb(bytes(wkb))
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = commune.bounds
    lon = rng.uniform(minx, maxx, 60_000)
    lat = rng.uniform(miny, maxy, 60_000)
    inside = shapely.contains_xy(commune, lon, lat)
    # plus points right on the outline, where the hierarchy matters most
    edge = shapely.get_coordinates(commune.boundary)
    lon = np.concatenate([lon[inside], edge[:, 0]])
    lat = np.concatenate([lat[inside], edge[:, 1]])
    fine = cells_from_points(lon, lat, FINE_RESOLUTION)
    for res in (7, 8, 9, 10):
        missing = {int(c) for c in parent_ids(fine, res)} - {h for h, r in grid if r == res}
        assert missing == set(), f"res {res}: {len(missing)} parents not in the grid"
