"""Scoring a geocoder on queries with known answers: exact shares on hand-made results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from geotranquil.geocode.evaluation import (
    HIGH_CONFIDENCE,
    MEASURES,
    distances_m,
    evaluate,
    format_table,
)
from geotranquil.geocode.query_kinds import DEGRADED_KINDS, KINDS
from geotranquil.geocode.result import GeocodeResult
from geotranquil.geography.reference import load_geography
from geotranquil.synth.address_queries import address_queries
from geotranquil.synth.streets import house_numbers, street_network

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def queries() -> pd.DataFrame:
    network = street_network(load_geography(None), seed=1)
    h = house_numbers(network)
    ban = pd.DataFrame(
        {
            "id": [f"{s}_{n}" for s, n in zip(h["street_id"], h["number"], strict=True)],
            "street_key": h["street_id"].astype(str),
            "numero": h["number"],
            "rep": np.where(h["number"] % 7 == 0, "bis", ""),
            "nom_voie": h["name"],
            "code_postal": h["postcode"],
            "nom_commune": "Marseille",
            "lon": h["lon"],
            "lat": h["lat"],
        }
    )
    place = pd.DataFrame(
        {
            "id": ["ld1"],
            "numero": [99999],
            "rep": [""],
            "nom_voie": ["Le Vieux-Port"],
            "code_postal": ["13001"],
            "nom_commune": ["Marseille"],
            "lon": [5.3725],
            "lat": [43.2950],
        }
    )
    return address_queries(pd.concat([ban, place], ignore_index=True), network, n_per_kind=20)


def _row(table: pd.DataFrame, kind: str) -> list[float]:
    """One row of an evaluation table as plain numbers."""
    return [float(v) for v in table.loc[kind, list(MEASURES)].to_numpy()]


def _moved(q: pd.DataFrame, metres: float, score: float) -> list[GeocodeResult | None]:
    """A geocoder that places every real address ``metres`` north-east of its truth."""
    out: list[GeocodeResult | None] = []
    for lon, lat, prec in zip(q["true_lon"], q["true_lat"], q["expected_precision"], strict=True):
        if np.isnan(lon):
            out.append(None)
            continue
        lon2, lat2, _ = GEOD.fwd(lon, lat, 45.0, metres) if metres else (lon, lat, 0.0)
        out.append(GeocodeResult(float(lon2), float(lat2), score, prec, "x"))
    return out


def test_rows_and_columns(queries: pd.DataFrame) -> None:
    table = evaluate(queries, _moved(queries, 0.0, 1.0))
    assert list(table.index) == [*KINDS, "degraded", "all"]
    assert list(table.columns) == list(MEASURES)
    assert table.index.name == "kind"
    assert table["n"].tolist() == [20] * 12 + [8 * 20, 240]
    assert table.attrs["tolerance_m"] == 50.0


def test_a_perfect_geocoder(queries: pd.DataFrame) -> None:
    table = evaluate(queries, _moved(queries, 0.0, 1.0))
    placeable = [k for k in KINDS if k != "unknown_street"]
    assert (table.loc[placeable, "within"] == 1.0).all()
    assert (table.loc[placeable, "placed"] == 1.0).all()
    assert (table["wrong_high"] == 0.0).all()
    assert _row(table, "unknown_street") == [20, 0.0, 0.0, 0.0, 1.0]
    assert _row(table, "degraded") == [160, 1.0, 1.0, 0.0, 0.0]
    assert table.loc["all", "within"] == pytest.approx(220 / 240)
    assert table.loc["all", "unplaced"] == pytest.approx(20 / 240)


def test_off_by_60_m_and_sure(queries: pd.DataFrame) -> None:
    results = _moved(queries, 60.0, 0.9)
    table = evaluate(queries, results)
    placeable = [k for k in KINDS if k != "unknown_street"]
    assert (table.loc[placeable, "within"] == 0.0).all()
    assert (table.loc[placeable, "wrong_high"] == 1.0).all()
    # the same answers are right with a 100 m tolerance, and not "sure" from 0.95
    assert (evaluate(queries, results, tolerance_m=100.0).loc[placeable, "within"] == 1.0).all()
    assert (evaluate(queries, results, high_confidence=0.95)["wrong_high"] == 0.0).all()
    # 40 m off is within 50 m
    assert (evaluate(queries, _moved(queries, 40.0, 0.9)).loc[placeable, "within"] == 1.0).all()


def test_unknown_street_placed_with_confidence_is_wrong(queries: pd.DataFrame) -> None:
    unknown = queries[queries["kind"] == "unknown_street"].reset_index(drop=True)
    sure = [GeocodeResult(5.37, 43.29, 0.95, "street", "Rue X")] * len(unknown)
    assert _row(evaluate(unknown, sure), "unknown_street") == [20, 1.0, 0.0, 1.0, 0.0]
    unsure = [GeocodeResult(5.37, 43.29, 0.4, "street", "Rue X")] * len(unknown)
    assert _row(evaluate(unknown, unsure), "unknown_street") == [20, 1.0, 0.0, 0.0, 0.0]
    # the threshold itself counts as sure
    at = [GeocodeResult(5.37, 43.29, HIGH_CONFIDENCE, "street", "Rue X")] * len(unknown)
    assert evaluate(unknown, at).loc["unknown_street", "wrong_high"] == 1.0


def test_exact_shares_on_a_small_set() -> None:
    # truth points, and answers at known distances north of them
    q = pd.DataFrame(
        {
            "kind": ["clean"] * 4 + ["typo"] * 3 + ["abbreviated"] * 2 + ["unknown_street"] * 3,
            "true_lon": [5.37] * 9 + [np.nan] * 3,
            "true_lat": [43.29] * 9 + [np.nan] * 3,
        }
    )

    def north(m: float, score: float) -> GeocodeResult:
        lon, lat, _ = GEOD.fwd(5.37, 43.29, 0.0, m)
        return GeocodeResult(float(lon), float(lat), score, "housenumber", "x")

    results: list[GeocodeResult | None] = [
        north(0.0, 0.99),  # clean: right
        north(49.0, 0.85),  # clean: right
        north(51.0, 0.85),  # clean: wrong, sure
        None,  # clean: not placed
        north(300.0, 0.5),  # typo: wrong, unsure
        north(10.0, 0.3),  # typo: right (low score does not matter)
        north(2000.0, 0.81),  # typo: wrong, sure
        north(5.0, 0.9),  # abbreviated: right
        None,  # abbreviated: not placed
        north(0.0, 0.95),  # unknown: wrong, sure
        north(0.0, 0.2),  # unknown: placed, unsure
        None,  # unknown: right answer
    ]
    table = evaluate(q, results)
    assert list(table.index) == [
        "clean",
        "abbreviated",
        "typo",
        "unknown_street",
        "degraded",
        "all",
    ]
    expected = {
        "clean": [4, 3 / 4, 2 / 4, 1 / 4, 1 / 4],
        "abbreviated": [2, 1 / 2, 1 / 2, 0.0, 1 / 2],
        "typo": [3, 1.0, 1 / 3, 1 / 3, 0.0],
        "unknown_street": [3, 2 / 3, 0.0, 1 / 3, 1 / 3],
        "degraded": [5, 4 / 5, 2 / 5, 1 / 5, 1 / 5],
        "all": [12, 9 / 12, 4 / 12, 3 / 12, 3 / 12],
    }
    for kind, values in expected.items():
        assert _row(table, kind) == pytest.approx(values), kind
    assert format_table(table) == "\n".join(
        [
            "type             n  < 50 m  faux sûr  non placé",
            "clean            4  50,0 %    25,0 %     25,0 %",
            "abbreviated      2  50,0 %     0,0 %     50,0 %",
            "typo             3  33,3 %    33,3 %      0,0 %",
            "unknown_street   3   0,0 %    33,3 %     33,3 %",
            "degraded         5  40,0 %    20,0 %     20,0 %",
            "all             12  33,3 %    25,0 %     25,0 %",
        ]
    )
    wide = format_table(evaluate(q, results, tolerance_m=100.0))
    assert wide.splitlines()[0] == "type             n  < 100 m  faux sûr  non placé"
    assert wide.splitlines()[1] == "clean            4   75,0 %     0,0 %     25,0 %"


def test_other_kinds_and_no_degraded_row() -> None:
    q = pd.DataFrame(
        {"kind": ["mine", "clean"], "true_lon": [5.37, 5.37], "true_lat": [43.29, 43.29]}
    )
    r = [GeocodeResult(5.37, 43.29, 1.0, "housenumber", "x"), None]
    table = evaluate(q, r)
    assert list(table.index) == ["clean", "mine", "all"]
    assert _row(table, "mine") == [1, 1.0, 1.0, 0.0, 0.0]


def test_a_result_without_position_is_not_placed() -> None:
    q = pd.DataFrame({"kind": ["clean"], "true_lon": [5.37], "true_lat": [43.29]})
    r = [GeocodeResult(float("nan"), float("nan"), 0.99, "housenumber", "x")]
    assert _row(evaluate(q, r), "clean") == [1, 0.0, 0.0, 0.0, 1.0]


def test_lengths_must_match() -> None:
    q = pd.DataFrame({"kind": ["clean"], "true_lon": [5.37], "true_lat": [43.29]})
    with pytest.raises(ValueError, match="0 results for 1 queries"):
        evaluate(q, [])


def test_distances() -> None:
    lon2, lat2, _ = GEOD.fwd(5.37, 43.29, 123.0, 60.0)
    d = distances_m(np.array([5.37]), np.array([43.29]), np.array([lon2]), np.array([lat2]))
    assert d[0] == pytest.approx(60.0, abs=1e-6)
    assert set(DEGRADED_KINDS) < set(KINDS)


def test_one_threshold_the_placing_one() -> None:
    """Issue 17, class 9: "confidently wrong" counts from the score that places an event."""
    from geotranquil.config import Settings

    assert HIGH_CONFIDENCE == Settings().geocode_min_score == 0.7
    queries = pd.DataFrame({"kind": ["clean"], "true_lon": [5.37], "true_lat": [43.29]})
    far = [GeocodeResult(5.37, 43.30, 0.75, "housenumber", "1 Rue A")]  # 1.1 km off, 0.75
    assert evaluate(queries, far).loc["clean", "wrong_high"] == 1.0
