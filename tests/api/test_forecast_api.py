"""A stored forecast on the served data, and the forecast as a served layer."""

from __future__ import annotations

from pathlib import Path

import h3
import httpx
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.services.forecasting import ForecastSummary, compute_forecast, forecast_picture
from tests.api.conftest import headers_for
from tests.api.served import Served
from tests.integration.ingest_helpers import RUE_DE_ROME


@pytest.fixture
def forecast(served: Served, loaded_engine: Engine, settings: Settings) -> ForecastSummary:
    return compute_forecast(loaded_engine, settings, method="naive", resolution=9)


def test_the_forecast_is_stored_ranked_and_classed(
    forecast: ForecastSummary, loaded_engine: Engine
) -> None:
    planted = h3.str_to_int(h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9))
    with loaded_engine.connect() as conn:
        land = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 9 AND land_share > 0")
        ).scalar_one()
        rows = conn.execute(
            text(
                "SELECT h3, rank, area_share, top_class FROM forecast_cells WHERE run_id = :r "
                "ORDER BY rank"
            ),
            {"r": forecast.run_id},
        ).all()
    assert forecast.n_cells == land == len(rows)
    assert [r.rank for r in rows] == list(range(1, land + 1))
    # the planted hot spot of the last six weeks is the naive forecast's first cell
    assert rows[0].h3 == planted and rows[0].top_class == 1
    shares = [r.area_share for r in rows]
    assert shares == sorted(shares) and shares[-1] == pytest.approx(1.0)
    for r in rows:
        expected = next((c for c in (1, 5, 10, 20) if r.area_share <= c / 100 + 1e-12), None)
        assert r.top_class == expected


def test_the_forecast_is_a_served_layer(
    forecast: ForecastSummary, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    planner = headers_for("planner", api_keys)
    items = http.get(
        "/collections/forecasts/items", params={"sortby": "rank", "limit": 3}, headers=planner
    ).json()
    first = items["features"][0]["properties"]
    assert first["rank"] == 1 and first["run_id"] == forecast.run_id
    assert first["hex_id"] == h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9)
    assert http.get(f"/collections/forecast-{forecast.run_id}", headers=planner).status_code == 200
    rows = http.get("/collections/forecasts/h3", params={"f": "json"}, headers=planner).json()
    assert len(rows) == forecast.n_cells
    assert http.get("/collections/forecasts/items").status_code == 401


def test_the_forecast_map_is_drawn(
    forecast: ForecastSummary, loaded_engine: Engine, tmp_path: Path
) -> None:
    picture = forecast_picture(loaded_engine, forecast.run_id, tmp_path / "prevision.png")
    assert picture.stat().st_size > 20_000
