"""Hex EWKB of points built by numpy equals GEOS's (shapely) byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geotranquil.ingest.ewkb import points_hex_ewkb


@pytest.mark.parametrize("srid", [4326, 2154])
def test_equal_to_shapely_for_random_points(srid: int) -> None:
    rng = np.random.default_rng(18)
    x = np.concatenate([rng.uniform(-180, 180, 5000), [0.0, -0.0, 5.3698, 1e-300, -1e15]])
    y = np.concatenate([rng.uniform(-90, 90, 5000), [0.0, 0.0, 43.2965, -1e-300, 1e15]])
    expected = shapely.to_wkb(
        shapely.set_srid(shapely.points(x, y), srid), hex=True, include_srid=True
    )
    got = points_hex_ewkb(x, y, srid=srid)
    assert got.dtype == object and all(isinstance(v, str) for v in got[:3])
    assert got.tolist() == expected.tolist()


def test_empty_and_mismatched() -> None:
    assert points_hex_ewkb([], []).tolist() == []
    with pytest.raises(ValueError, match="same length"):
        points_hex_ewkb([1.0, 2.0], [1.0])
