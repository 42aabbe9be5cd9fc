"""Runs are stored with what they show, and read back by run, by cell and as the latest."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from geotranquil.db.runs import (
    RunRecord,
    cell_history,
    cells_in_area,
    get_run,
    insert_run,
    latest_run,
    run_cells,
)
from geotranquil.errors import NotFound


def _run(kind: str = "gi_star") -> RunRecord:
    return RunRecord(
        kind=kind,
        resolution=9,
        period_start=date(2025, 1, 6),
        period_end=date(2025, 3, 31),
        bin="week",
        categories=["nuisance_sonore"],
        value="counts",
        neighbourhood={"type": "k_ring", "k": 1},
        parameters={"permutations": 99, "seed": 1},
        data_window={"events": 12},
        code_version="test",
        timings={"aggregate": 0.1},
        n_cells=3,
    )


def test_store_and_read_back(loaded_engine: Engine) -> None:
    with loaded_engine.begin() as conn:
        conn.execute(text("TRUNCATE hotspot_runs CASCADE"))
        cells = pd.DataFrame(
            {
                "h3": [11, 12, 13],
                "value": [5.0, 0.0, 1.0],
                "z": [3.2, -0.1, np.nan],
                "p": [0.001, 0.9, None],
                "significant": [True, False, None],
                "gi_bin": [3, 0, None],
            }
        )
        first = insert_run(conn=conn, run=_run(), cells=cells)
        second = insert_run(
            conn=conn,
            run=_run("emerging"),
            cells=pd.DataFrame({"h3": [11], "value": [5.0], "pattern": ["new_hot"]}),
        )
    with loaded_engine.connect() as conn:
        back = run_cells(conn=conn, run_id=first)
        record = get_run(conn=conn, run_id=first)
        latest = latest_run(conn=conn, kind="gi_star", resolution=9)
        history = cell_history(conn=conn, h3=11)
        with pytest.raises(NotFound):
            get_run(conn=conn, run_id=987654)
    assert back["h3"].tolist() == [11, 12, 13]
    assert back["gi_bin"].tolist()[:2] == [3, 0] and back["gi_bin"].isna().tolist()[2]
    assert back["significant"].tolist()[:2] == [True, False]
    assert np.isnan(back["z"].astype(float).iloc[2])
    assert record["neighbourhood"] == {"type": "k_ring", "k": 1}
    assert record["categories"] == ["nuisance_sonore"]
    assert latest is not None and latest["id"] == first
    assert [h["run_id"] for h in history] == [second, first]
    with loaded_engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = :i"), {"i": first})
        left = conn.execute(
            text("SELECT count(*) FROM hotspot_cells WHERE run_id = :i"), {"i": first}
        ).scalar_one()
    assert left == 0


def test_cells_of_a_run_by_area(loaded_engine: Engine) -> None:
    with loaded_engine.begin() as conn:
        cells = (
            conn.execute(text("SELECT h3 FROM grid_cells WHERE resolution = 9 ORDER BY h3"))
            .scalars()
            .all()
        )
        run_id = insert_run(
            conn=conn,
            run=_run(),
            cells=pd.DataFrame({"h3": cells, "value": np.zeros(len(cells))}),
        )
        first_arr = conn.execute(
            text(
                "SELECT count(*) FROM grid_cells g JOIN areas a ON ST_Intersects(g.geom, a.geom) "
                "WHERE g.resolution = 9 AND a.kind = 'arrondissement' AND a.code = '13201'"
            )
        ).scalar_one()
        inside = cells_in_area(conn=conn, run_id=run_id, kind="arrondissement", code="13201")
        with pytest.raises(NotFound):
            cells_in_area(conn=conn, run_id=run_id, kind="arrondissement", code="99999")
    assert 10 < len(inside) == first_arr < len(cells) / 10


def test_distance_band_neighbourhood_matches_rings() -> None:
    """A band just over the distance between neighbouring centres gives the 1-ring."""
    import h3

    from geotranquil.services.hotspots import HotspotParams, neighbourhood

    centre = h3.latlng_to_cell(43.2951, 5.3745, 9)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 3)), dtype=np.int64)
    ring = neighbourhood(cells, HotspotParams(k=1))
    spacing = h3.average_hexagon_edge_length(9, unit="m") * np.sqrt(3)
    band = neighbourhood(cells, HotspotParams(distance_m=spacing * 1.2))
    assert (ring.sparse != band.sparse).nnz == 0
    wider = neighbourhood(cells, HotspotParams(distance_m=spacing * 2.2))
    assert wider.sparse.sum() > band.sparse.sum()
