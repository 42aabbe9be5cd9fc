"""Planners' polygon reports and saved zones, against the served data set (exact counts)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import httpx
import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from tests.api.conftest import headers_for
from tests.api.served import HOT_DUMPING, HOT_VOL, START, WEEKS, Served
from tests.integration.ingest_helpers import RUE_DE_ROME

PARIS = ZoneInfo("Europe/Paris")
# about 700 m × 560 m around rue de Rome (the planted hot spot)
SQUARE = [[5.375, 43.289], [5.384, 43.289], [5.384, 43.294], [5.375, 43.294], [5.375, 43.289]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
HALF = START + timedelta(weeks=WEEKS // 2)  # second half of the data, and the first as before
LAST_DAY = START + timedelta(weeks=WEEKS) - timedelta(days=1)
TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)


def _post(http: httpx.Client, keys: dict[str, str], body: dict[str, Any], **params: str) -> Any:
    return http.post("/reports", json=body, headers=headers_for("planner", keys), params=params)


def _sql_counts(engine: Engine, start: date, end_inclusive: date) -> dict[str, int]:
    t0 = datetime.combine(start, time(), PARIS)
    t1 = datetime.combine(end_inclusive + timedelta(days=1), time(), PARIS)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT category, count(*) FROM events WHERE ST_Within(geom, "
                "ST_GeomFromText(:wkt, 4326)) AND occurred_at >= :t0 AND occurred_at < :t1 "
                "GROUP BY category"
            ),
            {
                "wkt": "POLYGON((" + ", ".join(f"{x} {y}" for x, y in SQUARE) + "))",
                "t0": t0,
                "t1": t1,
            },
        ).all()
    return {r[0]: r[1] for r in rows}


def test_report_counts_changes_and_weeks_are_exact(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    body = {"geometry": POLYGON, "start": HALF.isoformat(), "end": LAST_DAY.isoformat()}
    response = _post(http, api_keys, body)
    assert response.status_code == 200, response.text
    report = response.json()
    now = _sql_counts(loaded_engine, HALF, LAST_DAY)
    before = _sql_counts(loaded_engine, START, HALF - timedelta(days=1))
    got = {line["category"]: line for line in report["by_category"]}
    assert len(got) == 12
    for code, line in got.items():
        assert line["n"] == now.get(code, 0), code
        assert line["n_previous"] == before.get(code, 0), code
        assert line["change"] == line["n"] - line["n_previous"]
    # the planted hot spot is all in the second half, inside the square
    assert got["vol"]["n"] >= HOT_VOL and got["depot_sauvage"]["n"] >= HOT_DUMPING
    assert report["totals"]["n"] == sum(now.values())
    assert report["period"] == {
        "start": HALF.isoformat(),
        "end": LAST_DAY.isoformat(),
        "previous_start": START.isoformat(),
        "previous_end": (HALF - timedelta(days=1)).isoformat(),
        "days": str(7 * (WEEKS - WEEKS // 2)),
    }
    weeks = report["weekly"]
    assert [w["week"] for w in weeks] == [
        (HALF + timedelta(weeks=i)).isoformat() for i in range(WEEKS - WEEKS // 2)
    ]
    assert sum(w["n"] for w in weeks) == report["totals"]["n"]


def test_rates_and_ratio_to_the_city(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    report = _post(http, api_keys, {"geometry": POLYGON}).json()
    totals = report["totals"]
    residents = report["zone"]["residents"]
    assert residents > 100
    assert totals["rate_per_1000"] == pytest.approx(1000 * totals["n"] / residents, rel=1e-3)
    assert totals["city_n"] == served.total  # every served event is located in Marseille
    assert totals["ratio_to_city"] == pytest.approx(
        totals["rate_per_1000"] / totals["city_rate_per_1000"], rel=1e-2
    )
    assert totals["share_of_city"] == pytest.approx(totals["n"] / served.total, abs=1e-4)


def test_residents_of_an_arrondissement_match_its_population(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        code, population = conn.execute(
            text(
                "SELECT code, population FROM areas WHERE kind = 'arrondissement' "
                "AND population IS NOT NULL ORDER BY code LIMIT 1"
            )
        ).one()
        city = conn.execute(
            text("SELECT sum(population) FROM areas WHERE kind = 'arrondissement'")
        ).scalar_one()
    report = _post(http, api_keys, {"area": {"kind": "arrondissement", "code": code}}).json()
    assert report["zone"]["name"]
    # the grid spreads each arrondissement's residents over its cells: the area-weighted sum
    # over the arrondissement's own outline gives them back, up to the cells cut by the sea
    assert report["zone"]["residents"] == pytest.approx(population, rel=0.03)
    assert report["totals"]["city_n"] == served.total
    commune = _post(http, api_keys, {"area": {"kind": "commune", "code": _commune(loaded_engine)}})
    assert commune.json()["zone"]["residents"] == pytest.approx(city, rel=0.01)


def _commune(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT code FROM areas WHERE kind = 'commune'")).scalar_one())


def test_hot_cells_inside_include_the_planted_hot_spot(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    report = _post(http, api_keys, {"geometry": POLYGON}).json()
    planted = h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    hot = {f["properties"]["hex_id"]: f["properties"] for f in report["hot_cells"]["features"]}
    assert planted in hot
    assert hot[planted]["gi_bin"] >= 2
    assert report["runs"]["hot_spots"]["id"] == served.gi_run
    assert report["runs"]["emerging"]["id"] == served.emerging_run
    assert report["hot_cells"]["type"] == "FeatureCollection"


def test_lambert93_and_clockwise_rings_give_the_same_report(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    reference = _post(http, api_keys, {"geometry": POLYGON}).json()
    l93 = [list(TO_L93.transform(x, y)) for x, y in SQUARE]
    in_l93 = _post(
        http,
        api_keys,
        {"geometry": {"type": "Polygon", "coordinates": [l93]}, "crs": "EPSG:2154"},
    ).json()
    clockwise = _post(
        http, api_keys, {"geometry": {"type": "Polygon", "coordinates": [SQUARE[::-1]]}}
    ).json()
    for other in (in_l93, clockwise):
        assert other["by_category"] == reference["by_category"]
        assert other["zone"]["residents"] == pytest.approx(reference["zone"]["residents"], 1e-3)


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[5.37, 43.29], [5.39, 43.31], [5.39, 43.29], [5.37, 43.31], [5.37, 43.29]]
                ],
            },
            "se recoupe lui-même au point (5.38, 43.3)",
        ),
        (
            {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
            "n'est pas fermé",
        ),
        ({"type": "Point", "coordinates": [5.37, 43.29]}, "Point"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[x / 1000, 43.29 + (x % 2) / 1000] for x in range(5000, 5000 + 10_001)]
                    + [[5.0, 43.29]]
                ],
            },
            "sommets",
        ),
    ],
    ids=["self-intersection", "unclosed", "not-a-polygon", "too-many-vertices"],
)
def test_invalid_geometry_is_a_422_that_says_what_is_wrong(
    http: httpx.Client, served: Served, api_keys: dict[str, str], geometry: Any, expected: str
) -> None:
    response = _post(http, api_keys, {"geometry": geometry})
    assert response.status_code == 422, response.text
    assert expected in response.json()["description"]


def test_too_large_and_badly_specified_requests(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    huge = [[4.5, 43.0], [6.5, 43.0], [6.5, 44.0], [4.5, 44.0], [4.5, 43.0]]
    response = _post(http, api_keys, {"geometry": {"type": "Polygon", "coordinates": [huge]}})
    assert response.status_code == 422 and "au-delà de la limite" in response.json()["description"]
    both = _post(http, api_keys, {"geometry": POLYGON, "zone_id": 1})
    assert both.status_code == 400 and "exactement une zone" in both.json()["description"]
    unknown = _post(http, api_keys, {"area": {"kind": "quartier", "code": "nulle-part"}})
    assert unknown.status_code == 404
    category = _post(http, api_keys, {"geometry": POLYGON, "categories": ["licorne"]})
    assert category.status_code == 400 and "licorne" in category.json()["description"]
    reversed_period = _post(
        http, api_keys, {"geometry": POLYGON, "start": "2025-03-01", "end": "2025-02-01"}
    )
    assert reversed_period.status_code == 400
    # ten years of history is the longest period (GEOTRANQUIL_REPORT_MAX_YEARS), not one day more
    ten_years = _post(
        http, api_keys, {"geometry": POLYGON, "start": "2015-01-01", "end": "2024-12-31"}
    )
    assert ten_years.status_code == 200, ten_years.text
    too_long = _post(
        http, api_keys, {"geometry": POLYGON, "start": "2013-01-01", "end": "2024-12-31"}
    )
    assert too_long.status_code == 400
    assert "10 ans au plus" in too_long.json()["description"]


def test_saved_zones_lifecycle_and_their_reports(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    headers = headers_for("planner", api_keys)
    created = http.post(
        "/zones",
        json={"name": "Périmètre école rue de Rome", "description": "test", "geometry": POLYGON},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    zone = created.json()
    assert zone["geometry"]["type"] == "MultiPolygon"
    assert zone["area_km2"] == pytest.approx(0.7 * 0.556, rel=0.05)
    listed = http.get("/zones", headers=headers).json()["zones"]
    assert zone["id"] in [z["id"] for z in listed]
    by_zone = _post(http, api_keys, {"zone_id": zone["id"]}).json()
    by_polygon = _post(http, api_keys, {"geometry": POLYGON}).json()
    assert by_zone["by_category"] == by_polygon["by_category"]
    assert by_zone["zone"]["name"] == "Périmètre école rue de Rome"
    feature = http.get(f"/collections/zones/items/{zone['id']}", headers=headers).json()
    assert feature["properties"]["name"] == "Périmètre école rue de Rome"
    assert http.delete(f"/zones/{zone['id']}", headers=headers).status_code == 204
    assert http.get(f"/zones/{zone['id']}", headers=headers).status_code == 404
    assert _post(http, api_keys, {"zone_id": zone["id"]}).status_code == 404
    assert http.delete(f"/zones/{zone['id']}", headers=headers).status_code == 404


def test_report_figures_as_csv(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    response = _post(http, api_keys, {"geometry": POLYGON}, f="csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    report = _post(http, api_keys, {"geometry": POLYGON}).json()
    assert len(rows) == 13 and rows[-1]["category"] == "total"
    assert int(rows[-1]["n"]) == report["totals"]["n"]
    assert {r["category"]: int(r["n"]) for r in rows[:-1]} == {
        line["category"]: line["n"] for line in report["by_category"]
    }
