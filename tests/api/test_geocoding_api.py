"""Geocoding over HTTP: ``/geocode`` and ``/reverse`` on a synthetic BAN loaded for real."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest

from geotranquil.geocode.evaluation import HIGH_CONFIDENCE


def test_geocode_an_address(http: httpx.Client, ban: pd.DataFrame) -> None:
    row = ban[(ban["numero"] < 99999) & (ban["rep"] == "")].iloc[100]
    query = f"{row['numero']} {row['nom_voie']} {row['code_postal']}".upper()
    body = http.get("/geocode", params={"q": query}).json()
    result = body["result"]
    assert result["ban_id"] == row["id"]
    assert (result["lon"], result["lat"]) == pytest.approx((row["lon"], row["lat"]), abs=1e-7)
    assert result["precision"] == "housenumber" and result["score"] > 0.9


def test_unknown_address_and_bad_parameters(http: httpx.Client, ban: pd.DataFrame) -> None:
    body = http.get("/geocode", params={"q": "12 impasse des Licornes Bleues 13001"}).json()
    assert body["result"] is None or body["result"]["score"] < HIGH_CONFIDENCE
    assert http.get("/geocode").status_code == 400
    assert http.get("/reverse", params={"lon": 200, "lat": 43}).status_code == 400


def test_reverse(http: httpx.Client, ban: pd.DataFrame, tmp_path: Path) -> None:
    row = ban[(ban["numero"] < 99999)].iloc[7]
    body = http.get("/reverse", params={"lon": row["lon"], "lat": row["lat"]}).json()
    assert body["address"]["id"] == row["id"]
    assert body["address"]["distance_m"] < 0.01
    assert set(body["areas"]) >= {"commune", "arrondissement"}


def test_analysts_review_of_unplaced_addresses(
    http: httpx.Client, ban: pd.DataFrame, api_keys: dict[str, str]
) -> None:
    """Issue 17: the review queue and the pick are for analysts (raw events), in JSON."""
    from tests.api.conftest import headers_for

    analyst = headers_for("analyst", api_keys)
    body = http.get("/geocode/review", headers=analyst).json()
    assert isinstance(body["events"], list)
    for event in body["events"]:
        assert event["candidates"] and {"label", "lon", "lat", "score"} <= set(
            event["candidates"][0]
        )
    assert http.get("/geocode/review").status_code == 401
    assert http.get("/geocode/review", headers=headers_for("planner", api_keys)).status_code == 403
    missing = http.post("/geocode/review/999999/pick", params={"n": 1}, headers=analyst)
    assert missing.status_code == 404 and "candidats" in missing.text
