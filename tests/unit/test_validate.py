"""Pure validation pieces: time parsing across DST, coordinates, H3 ids."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from geotranquil.errors import MappingError
from geotranquil.grid.h3ids import cells_from_points, parent_ids, resolution_of
from geotranquil.ingest.mapping import packaged_mappings, parse_mapping
from geotranquil.ingest.validate import parse_times, parse_times_detailed
from geotranquil.taxonomy import load_taxonomy


def test_local_times_across_daylight_saving() -> None:
    values = pd.Series(
        [
            "15/01/2025 12:00",  # winter, UTC+1
            "15/07/2025 12:00",  # summer, UTC+2
            "30/03/2025 02:30",  # does not exist: flagged, never shifted
            "26/10/2025 02:30",  # happens twice: the summer reading
            "26/10/2025 03:30",  # after the change, UTC+1
            "30/03/2025 03:00",  # the first minute after the gap exists
        ]
    )
    times, missing, invalid, gap = parse_times_detailed(values, "%d/%m/%Y %H:%M", "Europe/Paris")
    assert [None if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M") for t in times] == [
        "2025-01-15 11:00",
        "2025-07-15 10:00",
        None,
        "2025-10-26 00:30",
        "2025-10-26 02:30",
        "2025-03-30 01:00",
    ]
    assert gap.tolist() == [False, False, True, False, False, False]
    assert not missing.any() and not invalid.any()
    # the three-mask form counts a nonexistent time as invalid
    _, _, invalid3 = parse_times(values, "%d/%m/%Y %H:%M", "Europe/Paris")
    assert invalid3.tolist() == gap.tolist()


def test_iso_times_keep_their_offset_and_naive_ones_are_local() -> None:
    values = pd.Series(
        ["2025-03-02T21:14:05Z", "2025-03-02T22:14:05+01:00", "2025-07-01T10:00:00", None, "x"]
    )
    times, missing, invalid = parse_times(values, "iso8601", "Europe/Paris")
    assert str(times[0]) == str(times[1]) == "2025-03-02 21:14:05+00:00"
    assert str(times[2]) == "2025-07-01 08:00:00+00:00"
    assert missing.tolist() == [False, False, False, True, False]
    assert invalid.tolist() == [False, False, False, False, True]


def test_cells_and_parents_match_h3() -> None:
    rng = np.random.default_rng(5)
    lon = rng.uniform(5.2, 5.6, 2000)
    lat = rng.uniform(43.1, 43.4, 2000)
    fine = cells_from_points(lon, lat, 12)
    assert fine.tolist() == [
        h3.str_to_int(h3.latlng_to_cell(b, a, 12)) for a, b in zip(lon, lat, strict=True)
    ]
    assert set(resolution_of(fine).tolist()) == {12}
    for res in (7, 8, 9, 10):
        assert parent_ids(fine, res).tolist() == [
            h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(c)), res)) for c in fine
        ]
    assert cells_from_points([np.nan], [43.3], 9).tolist() == [0]
    with pytest.raises(ValueError):
        parent_ids(parent_ids(fine, 9), 10)


def test_packaged_mappings_are_valid_and_cover_the_taxonomy_sources() -> None:
    known = {c.code for c in load_taxonomy()}
    mappings = packaged_mappings(known)
    assert set(mappings) == {"police_municipale", "csu", "services_espace_public", "habitants"}
    assert {m.location_kind for m in mappings.values()} == {
        "address",
        "camera",
        "geometry",
        "coordinates",
    }
    assert mappings["police_municipale"].encoding == "cp1252"
    assert mappings["services_espace_public"].crs == "EPSG:2154"


def test_mapping_with_unknown_category_is_refused_in_french() -> None:
    base = {
        "slug": "x",
        "format": {"type": "csv"},
        "id": {"field": "id"},
        "time": {"field": "d", "format": "iso8601"},
        "category": {"field": "c", "values": {"a": "pas_une_categorie"}},
        "location": {"x": "lon", "y": "lat"},
    }
    with pytest.raises(MappingError, match="catégories canoniques inconnues"):
        parse_mapping(base, {"vol"})
    with pytest.raises(MappingError, match="format"):
        parse_mapping({**base, "format": {"type": "xlsx"}}, None)
