"""The SQL H3 functions (bit operations) agree with the h3 library."""

from __future__ import annotations

import h3
import numpy as np
from sqlalchemy import Engine, text

from geotranquil.grid.h3ids import parent_ids


def _random_cells(n: int, res: int, seed: int = 7) -> list[int]:
    rng = np.random.default_rng(seed)
    lats = rng.uniform(-85, 85, n)
    lons = rng.uniform(-180, 180, n)
    return [h3.str_to_int(h3.latlng_to_cell(a, o, res)) for a, o in zip(lats, lons, strict=True)]


def test_sql_parent_matches_h3_everywhere(engine: Engine) -> None:
    cases = []
    for fine in (15, 12, 10, 9):
        for cell in _random_cells(200, fine, seed=fine):
            for res in range(0, fine + 1):
                cases.append(
                    (cell, res, h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), res)))
                )
    with engine.connect() as conn:
        got = conn.execute(
            text("SELECT h3_parent(c, r), h3_resolution(c) FROM unnest(:cells, :res) AS t(c, r)"),
            {"cells": [c for c, _, _ in cases], "res": [r for _, r, _ in cases]},
        ).fetchall()
    assert [g[0] for g in got] == [e for _, _, e in cases]
    assert all(
        g[1] == h3.get_resolution(h3.int_to_str(c)) for g, (c, _, _) in zip(got, cases, strict=True)
    )


def test_sql_parent_edge_cases(engine: Engine) -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(43.2951, 5.3745, 9))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT h3_parent(:c, 9), h3_parent(:c, 10), h3_parent(:c, -1), h3_parent(NULL, 3)"
            ),
            {"c": cell},
        ).one()
    assert row == (cell, None, None, None)


def test_python_parent_matches_h3() -> None:
    cells = _random_cells(500, 12, seed=3)
    for res in (7, 8, 9, 10, 11, 12):
        expected = [h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), res)) for c in cells]
        assert parent_ids(cells, res).tolist() == expected
