"""Every notebook runs, start to end, against the test database, and draws its pictures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.forecast.backtest import rolling_origin
from geotranquil.forecast.points import convex_hull_area, forecast_data_from_points
from geotranquil.forecast.registry import METHODS, RECOMMENDED
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.demo import DEMO_SOURCES
from geotranquil.services.forecasting import load_forecast_data
from geotranquil.synth import generate
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import IN_CI, OFFICIAL_DIR, SHARED_DATA

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))

#: notebook -> (pictures it must draw, JSON summary it writes)
OUTPUTS: dict[str, tuple[list[str], str]] = {
    "01_apercu_evenements.py": (["apercu_evenements.png"], "apercu.json"),
    "02_points_chauds.py": (
        ["carte_gi_star.png", "carte_tendances.png", "serie_cellule.png"],
        "points_chauds.json",
    ),
    "04_prevision.py": (
        ["couverture_marseille.png", "couverture_new_york.png", "carte_prevision.png"],
        "prevision.json",
    ),
}


#: notebooks that read the platform over HTTP only: run by tests/api/test_notebook_clients.py
HTTP_NOTEBOOKS = ("03_clients_api.py",)
#: needs weeks of data for its backtest: run by test_forecast_notebook below
FORECAST_NOTEBOOK = "04_prevision.py"
DATABASE_NOTEBOOKS = [n for n in NOTEBOOKS if n.name not in (*HTTP_NOTEBOOKS, FORECAST_NOTEBOOK)]


def test_every_notebook_is_known() -> None:
    assert [n.name for n in NOTEBOOKS] == sorted([*OUTPUTS, *HTTP_NOTEBOOKS])


def _run(notebook: Path, settings: Settings, out: Path) -> dict[str, Any]:
    env = {**os.environ, "GEOTRANQUIL_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, str(notebook), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pictures, summary = OUTPUTS[notebook.name]
    for picture in pictures:
        assert (out / picture).stat().st_size > 20_000, picture
    result: dict[str, Any] = json.loads((out / summary).read_text())
    return result


@pytest.mark.parametrize("notebook", DATABASE_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    notebook: Path, clean_events: Engine, settings: Settings, tmp_path: Path, dsn: str
) -> None:
    from tests.integration.test_overview import _ingest_small

    _ingest_small(tmp_path, dsn)
    summary = _run(notebook, settings, tmp_path / "out")
    with clean_events.connect() as conn:
        located = conn.execute(text("SELECT count(*) FROM events WHERE geom IS NOT NULL")).scalar()
        runs = conn.execute(text("SELECT count(*) FROM hotspot_runs")).scalar()
    if notebook.name == "01_apercu_evenements.py":
        assert summary == {"events": located, "cells": 2}
    else:
        # the hottest cell is the one with 5 of the 6 events (Vieux-Port)
        assert summary["hottest_total"] == 5
        assert runs is not None and runs >= 2


NYC_FILE = SHARED_DATA / "incidents" / "nyc_vehicle_thefts_2014_2015.csv"
WEEKS, NYC_WEEKS = 2, 1


@pytest.fixture(scope="module")
def synth_weeks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six months of synthetic Marseille incidents (about 26 weeks), at a tenth of the rate."""
    out = tmp_path_factory.mktemp("synth-forecast")
    geography = load_geography(OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None)
    generate(geography, out, months=6, seed=11, scale=0.1)
    return out


def _image(path: Path) -> None:
    """A real picture: a PNG of a sensible size, not one flat colour."""
    assert path.stat().st_size > 20_000, path.name
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert img.width >= 600 and img.height >= 400, (path.name, img.size)
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50, path.name


def _scores(summary: dict[str, Any], method: str) -> dict[str, float]:
    return {k: summary["scores"][method][k] for k in ("hit_5", "pai_1", "pai_5", "pai_10")}


def test_forecast_notebook(
    clean_events: Engine, settings: Settings, synth_weeks: Path, tmp_path: Path, dsn: str
) -> None:
    if not NYC_FILE.is_file() and IN_CI:
        pytest.fail(f"real incident data missing in CI: {NYC_FILE}")
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    for file_name, slug in DEMO_SOURCES.items():
        if slug != "police_municipale":  # addresses only: placed by the geocoder, later
            ingest_file(dsn, synth_weeks / file_name, mappings[slug])
    with clean_events.connect() as conn:
        runs_before = conn.execute(text("SELECT count(*) FROM forecast_runs")).scalar_one()

    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            str(NOTEBOOK_DIR / FORECAST_NOTEBOOK),
            *("--out", str(out), "--weeks", str(WEEKS), "--nyc-weeks", str(NYC_WEEKS)),
        ],
        env={**os.environ, "GEOTRANQUIL_DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pictures, summary_file = OUTPUTS[FORECAST_NOTEBOOK]
    summary = json.loads((out / summary_file).read_text())
    assert json.loads(done.stdout.strip().splitlines()[-1]) == summary
    if NYC_FILE.is_file():
        assert summary["nyc"] is not None
    else:  # outside CI without the shared data: that part alone is skipped, and said so
        assert summary["nyc"] is None and "partie New York sautée" in done.stdout
        pictures = [p for p in pictures if "new_york" not in p]
    for picture in pictures:
        _image(out / picture)

    # Marseille: the same figures as the library's backtest on the service's weekly data
    data = load_forecast_data(clean_events, settings, resolution=9)
    marseille = summary["marseille"]
    assert (marseille["cells"], marseille["periods"], marseille["events"]) == (
        data.n_cells,
        data.n_periods,
        len(data.events),
    )
    assert data.n_periods >= 20 and len(data.events) > 500
    assert set(marseille["scores"]) == set(METHODS)
    first = data.n_periods - WEEKS
    assert marseille["origins"] == [data.periods[t].isoformat() for t in (first, first + 1)]
    direct = rolling_origin(
        data,
        [METHODS["kde"][1], METHODS["naive"][1]],
        first_origin=first,
        n_origins=WEEKS,
        area=data.area_m2,
    ).summary()
    for method in ("kde", "naive"):
        assert _scores(marseille, method) == pytest.approx(
            direct.loc[method, ["hit_5", "pai_1", "pai_5", "pai_10"]].to_dict(), rel=1e-12
        )
    assert marseille["scores"]["kde"]["pai_5"] > 1  # better than flagging cells at random
    best = max(marseille["scores"], key=lambda m: marseille["scores"][m]["pai_5"])
    assert marseille["best_pai_5"] == best

    # New York: the weeks of 2015, from its ISO week 1 (Monday 2014-12-29)
    if summary["nyc"] is not None:
        nyc = summary["nyc"]
        assert nyc["origins"] == ["2014-12-29"]
        raw = pd.read_csv(NYC_FILE, usecols=["date_single", "longitude", "latitude"])
        points = pd.DataFrame(
            {
                "lon": raw["longitude"],
                "lat": raw["latitude"],
                "time": pd.to_datetime(
                    raw["date_single"], format="%Y-%m-%d %H:%M", errors="coerce"
                ),
            }
        )
        nyc_data = forecast_data_from_points(points, convex_hull_area(points, 200.0))
        assert nyc_data.periods[-1] == date(2015, 12, 28)  # partial: the notebook drops it
        assert nyc["periods"] == nyc_data.n_periods - 1 == 104
        assert nyc["cells"] == nyc_data.n_cells
        direct = rolling_origin(
            nyc_data, [METHODS["kde"][1], METHODS["naive"][1]], first_origin=52, n_origins=1
        ).summary()
        for method in ("kde", "naive"):
            assert _scores(nyc, method) == pytest.approx(
                direct.loc[method, ["hit_5", "pai_1", "pai_5", "pai_10"]].to_dict(), rel=1e-12
            )
        assert set(nyc["scores"]) == set(METHODS)

    # next week's forecast: one more stored run, every land cell ranked
    forecast = summary["forecast"]
    assert forecast["method"] == RECOMMENDED and forecast["cells"] == data.n_cells
    assert forecast["origin"] == (data.periods[-1] + timedelta(days=7)).isoformat()
    with clean_events.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM forecast_runs")).scalar_one()
        stored = conn.execute(
            text("SELECT method, origin FROM forecast_runs WHERE id = :r"),
            {"r": forecast["run_id"]},
        ).one()
        ranks = conn.execute(
            text("SELECT h3, expected FROM forecast_cells WHERE run_id = :r ORDER BY rank"),
            {"r": forecast["run_id"]},
        ).all()
    assert runs == runs_before + 1
    assert (stored.method, stored.origin.isoformat()) == (RECOMMENDED, forecast["origin"])
    assert len(ranks) == data.n_cells and ranks[0].h3 == forecast["first_cell"]
    expected = np.array([r.expected for r in ranks])
    assert (np.diff(expected) <= 0).all() and expected[0] > 0
