"""A new statistic is its module, one registry entry and its test: nothing else changes.

The test registers a statistic of its own (a plain z-score of each cell's count, with two
outputs that have no column in ``hotspot_cells``), then computes it through the service,
reads it back from the database, and fetches it from the running API as its own OGC
collection, filtered on its own output, and from the web map's settings as a layer.
"""

from __future__ import annotations

from typing import Any

import h3
import httpx
import numpy as np
import pytest
from sqlalchemy import Engine

from geotranquil.db.runs import get_run, run_cells
from geotranquil.errors import InvalidInput
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.stats.registry import STATISTICS, Output, Statistic, register, statistic
from tests.api.conftest import headers_for
from tests.api.extra_statistic import count_z, registered  # noqa: F401  (the fixture)
from tests.api.served import END, HOT_DUMPING, HOT_VOL, START, WEEKS, Served
from tests.integration.ingest_helpers import RUE_DE_ROME


def test_the_registry_refuses_what_would_clash() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(STATISTICS["gi_star"])
    with pytest.raises(ValueError, match="collection"):
        register(Statistic("other", "Autre", "hotspots", count_z))
    with pytest.raises(ValueError, match="output names"):
        register(Statistic("other", "Autre", "autre", count_z, (Output("z", "number", "z"),)))
    with pytest.raises(InvalidInput, match="count_z"):
        statistic("count_z")  # not registered outside the test below
    assert "other" not in STATISTICS


@pytest.mark.usefixtures("registered")
def test_a_registered_statistic_is_computed_stored_and_served(
    served: Served,
    loaded_engine: Engine,
    http: httpx.Client,
    api_keys: dict[str, str],
) -> None:
    summary = compute_run(
        loaded_engine,
        HotspotParams(statistic="count_z", resolution=9, start=START, end=END, seed=1),
    )
    with loaded_engine.connect() as conn:
        cells = run_cells(conn=conn, run_id=summary.run_id)
        record = get_run(conn=conn, run_id=summary.run_id)
    values = cells["value"].to_numpy(float)
    z = (values - values.mean()) / values.std()
    # every event of the served set is inside the period and on land
    assert values.sum() == served.total and record["kind"] == "count_z"
    np.testing.assert_allclose(cells["z"].to_numpy(float), z, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cells["excess"].to_numpy(float), values - values.mean(), atol=1e-9)
    assert cells["gi_bin"].isna().all() and cells["p_sim"].isna().all()
    assert sum(summary.classes.values()) == len(cells) == summary.n_cells
    rome = h3.str_to_int(h3.latlng_to_cell(RUE_DE_ROME[1], RUE_DE_ROME[0], 9))
    hottest = cells.loc[cells["value"].idxmax()]
    assert int(hottest["h3"]) == rome and hottest["band"] == "high"
    # 2 background events a week and the planted ones, within ~60 m of rue de Rome
    assert hottest["value"] >= HOT_VOL + HOT_DUMPING + 2 * WEEKS // 2

    analyst = headers_for("analyst", api_keys)
    listed = http.get("/collections", headers=analyst).json()["collections"]
    described = next(c for c in listed if c["id"] == "count-z")
    assert described["title"] == "Score z des nombres — dernier calcul"
    queryables = http.get("/collections/count-z/queryables", headers=analyst).json()
    assert queryables["properties"]["band_label"]["title"] == "Classe"
    assert queryables["properties"]["excess"]["type"] == "number"
    items = http.get(
        "/collections/count-z/items",
        params={"f": "json", "filter": "band = 'high'", "limit": 1000},
        headers=analyst,
    )
    assert items.status_code == 200, items.text
    features: list[dict[str, Any]] = items.json()["features"]
    expected = cells[cells["band"] == "high"]
    assert sorted(f["properties"]["hex_id"] for f in features) == sorted(
        format(int(c), "x") for c in expected["h3"]
    )
    by_hex = {f["properties"]["hex_id"]: f["properties"] for f in features}
    top = by_hex[format(rome, "x")]
    assert top["run_id"] == summary.run_id and top["band_label"] == "Élevé"
    assert top["z"] == pytest.approx(float(hottest["z"]), abs=1e-12)
    assert top["excess"] == pytest.approx(float(hottest["excess"]), abs=1e-9)
    assert "gi_bin" not in top and "pattern" not in top  # only its own outputs
    assert http.get("/collections/count-z/items").status_code == 401

    layers = http.get("/carte/config.json").json()["statistics"]
    assert [(s["layer"], s["kind"], s["style"], s["follows_bin"]) for s in layers] == [
        ("hotspots", "gi_star", "gi_bins", False),
        ("emerging", "emerging", "patterns", True),
        ("count-z", "count_z", "z", False),
    ]
