"""Counts per cell and time bin: exact, local-time bins, zeros included, residents per cell."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import h3
import numpy as np
import pytest
from sqlalchemy import Engine, text

from geotranquil.db.counts import CountQuery, count_cube
from geotranquil.errors import InvalidInput
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.taxonomy import load_taxonomy

VIEUX_PORT = (5.3745, 43.2951)
CHATEAU_GOMBERT = (5.4450, 43.3600)


def _ingest(tmp_path: Path, dsn: str, reports: list[tuple[str, str, tuple[float, float]]]) -> None:
    records = [
        {
            "report_id": i,
            "created": created,
            "category": cat,
            "location": {"lon": where[0], "lat": where[1]},
        }
        for i, (created, cat, where) in enumerate(reports)
    ]
    path = tmp_path / "h.json"
    path.write_text(json.dumps(records), "utf-8")
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    assert ingest_file(dsn, path, mapping).inserted == len(records)


def _cell(where: tuple[float, float], res: int) -> int:
    """The H3 parent at ``res`` of the point's resolution-12 cell (as stored on events)."""
    fine = h3.latlng_to_cell(where[1], where[0], 12)
    return h3.str_to_int(h3.cell_to_parent(fine, res))


def test_weekly_cube_is_exact_with_local_week_boundaries(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    _ingest(
        tmp_path,
        dsn,
        [
            ("2025-03-03T10:00:00+01:00", "bruit", VIEUX_PORT),  # Monday, week 1
            ("2025-03-09T23:30:00+01:00", "bruit", VIEUX_PORT),  # Sunday night: still week 1
            ("2025-03-10T00:30:00+01:00", "bruit", VIEUX_PORT),  # Monday 00:30 local: week 2
            ("2025-03-12T12:00:00+01:00", "tag", VIEUX_PORT),  # week 2, another category
            ("2025-03-20T12:00:00+01:00", "bruit", CHATEAU_GOMBERT),  # week 3
            ("2025-04-02T12:00:00+02:00", "bruit", CHATEAU_GOMBERT),  # after the period
        ],
    )
    query = CountQuery(resolution=9, start=date(2025, 3, 3), end=date(2025, 3, 24), bin="week")
    with clean_events.connect() as conn:
        cube = count_cube(conn=conn, query=query)
        n_cells = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 9")
        ).scalar_one()
    assert cube.bins == [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)]
    assert cube.counts.shape == (n_cells, 3)
    port = int(np.flatnonzero(cube.cells == _cell(VIEUX_PORT, 9))[0])
    gombert = int(np.flatnonzero(cube.cells == _cell(CHATEAU_GOMBERT, 9))[0])
    assert cube.counts[port].tolist() == [2, 2, 0]
    assert cube.counts[gombert].tolist() == [0, 0, 1]
    assert int(cube.counts.sum()) == 5  # zeros everywhere else
    with clean_events.connect() as conn:
        noise = count_cube(
            conn=conn,
            query=CountQuery(9, date(2025, 3, 3), date(2025, 3, 24), "week", ("nuisance_sonore",)),
        )
        monthly = count_cube(
            conn=conn, query=CountQuery(10, date(2025, 3, 1), date(2025, 5, 1), "month")
        )
        daily = count_cube(
            conn=conn, query=CountQuery(8, date(2025, 3, 9), date(2025, 3, 11), "day")
        )
    assert noise.counts[port].tolist() == [2, 1, 0]
    assert monthly.bins == [date(2025, 3, 1), date(2025, 4, 1)]
    assert int(monthly.counts[:, 0].sum()) == 5 and int(monthly.counts[:, 1].sum()) == 1
    assert daily.bins == [date(2025, 3, 9), date(2025, 3, 10)]
    assert daily.counts.sum(axis=0).tolist() == [1, 1]


def test_bad_queries_are_clear_errors(clean_events: Engine) -> None:
    with clean_events.connect() as conn:
        for bad in (
            CountQuery(11, date(2025, 1, 1), date(2025, 2, 1)),
            CountQuery(9, date(2025, 1, 1), date(2025, 2, 1), "hour"),
            CountQuery(9, date(2025, 2, 1), date(2025, 1, 1)),
        ):
            with pytest.raises(InvalidInput):
                count_cube(conn=conn, query=bad)


@pytest.mark.parametrize("res", [7, 9, 10])
def test_residents_are_spread_to_cells_without_loss(loaded_engine: Engine, res: int) -> None:
    with loaded_engine.connect() as conn:
        total, in_cells, negative = conn.execute(
            text(
                "SELECT (SELECT sum(population) FROM areas WHERE kind = 'arrondissement'), "
                "sum(population), count(*) FILTER (WHERE population < 0) "
                "FROM grid_cells WHERE resolution = :r"
            ),
            {"r": res},
        ).one()
    assert total == 870_321
    assert negative == 0
    assert abs(in_cells - total) < 0.01  # nobody lost or invented
