"""The polygon report's series by day, week or month (``bin``), against the served data set."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import Engine, text

from tests.api.conftest import headers_for
from tests.api.served import Served
from tests.api.test_reports import POLYGON, SQUARE

WKT = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in SQUARE) + "))"


def _report(http: httpx.Client, keys: dict[str, str], **extra: object) -> httpx.Response:
    body = {"geometry": POLYGON, "start": "2025-05-20", "end": "2025-07-09", **extra}
    return http.post("/reports", json=body, headers=headers_for("planner", keys))


def _sql_series(engine: Engine, bin: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT date_trunc(:bin, occurred_at AT TIME ZONE 'Europe/Paris')::date, count(*) "
                "FROM events WHERE ST_Intersects(geom, ST_GeomFromText(:wkt, 4326)) "
                "AND occurred_at >= CAST('2025-05-20' AS date) AT TIME ZONE 'Europe/Paris' "
                "AND occurred_at < CAST('2025-07-10' AS date) AT TIME ZONE 'Europe/Paris' "
                "GROUP BY 1"
            ),
            {"bin": bin, "wkt": WKT},
        ).all()
    return {r[0].isoformat(): int(r[1]) for r in rows}


def test_report_series_by_day_week_or_month(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    default = _report(http, api_keys).json()
    assert default["bin"] == "week"
    assert [{"week": x["start"], "n": x["n"]} for x in default["series"]] == default["weekly"]
    for b in ("day", "week", "month"):
        response = _report(http, api_keys, bin=b)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["bin"] == b
        assert doc["weekly"] == default["weekly"] and doc["totals"] == default["totals"]
        assert sum(x["n"] for x in doc["series"]) == doc["totals"]["n"] > 0
        assert {x["start"]: x["n"] for x in doc["series"] if x["n"]} == _sql_series(
            loaded_engine, b
        )
    days = _report(http, api_keys, bin="day").json()["series"]
    first = date(2025, 5, 20)
    assert [x["start"] for x in days] == [
        (first + timedelta(days=i)).isoformat() for i in range(51)
    ]
    months = _report(http, api_keys, bin="month").json()["series"]
    assert [x["start"] for x in months] == ["2025-05-01", "2025-06-01", "2025-07-01"]


def test_an_unknown_bin_is_a_400_in_french(
    http: httpx.Client, served: Served, api_keys: dict[str, str]
) -> None:
    response = _report(http, api_keys, bin="year")
    assert response.status_code == 400
    assert response.json()["description"] == (
        "bin : pas de temps « year » inconnu ; valeurs : day, week, month"
    )
