"""``geotranquil forecast fichier``: any city's points file, no database (here Lyon)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely import box
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.errors import InvalidInput
from geotranquil.services.points_forecast import read_area, read_points

HOT = (4.8357, 45.7640)  # Lyon, place Bellecour
AREA = box(4.80, 45.74, 4.87, 45.78)
ENV = {"COLUMNS": "200"}


def _points(seed: int = 3) -> pd.DataFrame:
    """20 full weeks from Monday 2025-01-06: 4 a week at the hot spot, 6 a week spread over the
    area, plus 3 on Monday 2025-05-26 (a partial 21st week)."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-01-06 09:00", tz="Europe/Paris")
    for week in range(20):
        for k in range(4):
            rows.append((start + pd.Timedelta(days=7 * week + k), *HOT))
        for k in range(6):
            lon, lat = rng.uniform(4.81, 4.86), rng.uniform(45.745, 45.775)  # inside
            rows.append((start + pd.Timedelta(days=7 * week + k, hours=3), lon, lat))
    rows += [(pd.Timestamp("2025-05-26 10:00", tz="Europe/Paris"), *HOT)] * 3
    return pd.DataFrame(rows, columns=["quand", "longitude", "latitude"])


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=ENV)
    assert result.exit_code == 0, result.output
    return result.output


def test_csv_with_a_zone(tmp_path: Path) -> None:
    frame = _points()
    frame.loc[len(frame)] = ["pas une date", 4.83, 45.76]  # dropped, and counted
    csv = tmp_path / "lyon.csv"
    frame.to_csv(csv, sep=";", index=False)
    zone = tmp_path / "zone.geojson"
    gpd.GeoDataFrame(geometry=[AREA], crs=4326).to_crs(2154).to_file(zone)  # any CRS
    out = tmp_path / "out"
    text = _run(
        "forecast",
        "fichier",
        str(csv),
        "--zone",
        str(zone),
        "--colonne-temps",
        "quand",
        "--origines",
        "6",
        "--methodes",
        "naive,kde",
        "-m",
        "kde",
        "--out",
        str(out),
    )
    # 200 points in 20 full weeks; the undated row is dropped, the partial week left out
    assert "200 points" in text and "20 périodes (2025-01-06 → 2025-05-19)" in text
    assert "1 écarté(s)" in text
    assert "kde" in text and "naive" in text
    assert (out / "courbes_de_couverture.png").stat().st_size > 10_000
    cells = gpd.read_file(out / "prevision.geojson")
    assert cells.crs.to_epsg() == 4326
    assert set(cells.columns) >= {"h3", "expected", "rank", "top_share", "geometry"}
    hot = h3.latlng_to_cell(HOT[1], HOT[0], 9)
    assert cells.loc[cells["rank"] == 1, "h3"].item() == hot
    assert len(cells) == len(h3.geo_to_cells(AREA, 9))


def test_geojson_without_a_zone(tmp_path: Path) -> None:
    frame = _points(4).rename(columns={"quand": "horodatage"})
    path = tmp_path / "lyon.geojson"
    gpd.GeoDataFrame(
        {"horodatage": frame["horodatage"].astype(str)},
        geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
        crs=4326,
    ).to_file(path)
    points = read_points(path)
    assert len(points) == 203 and points["time"].notna().all()
    out = tmp_path / "out"
    text = _run(
        "forecast",
        "fichier",
        str(path),
        "--origines",
        "4",
        "--methodes",
        "kde",
        "-m",
        "naive",
        "--out",
        str(out),
    )
    assert "Prévision (naive)" in text
    first = json.loads((out / "prevision.geojson").read_text())["features"][0]["properties"]
    assert first["h3"] == h3.latlng_to_cell(HOT[1], HOT[0], 9) and first["rank"] == 1


def test_clear_errors(tmp_path: Path) -> None:
    csv = tmp_path / "sans_date.csv"
    pd.DataFrame({"lon": [4.8], "lat": [45.7], "valeur": [1]}).to_csv(csv, index=False)
    with pytest.raises(InvalidInput, match="aucune colonne de date ou heure reconnue"):
        read_points(csv)
    with pytest.raises(InvalidInput, match="colonne « jour » absente"):
        read_points(csv, time_column="jour")
    polygons = tmp_path / "polygones.geojson"
    gpd.GeoDataFrame({"time": ["2025-01-06"]}, geometry=[AREA], crs=4326).to_file(polygons)
    with pytest.raises(InvalidInput, match="aucun point"):
        read_points(polygons)
    only_points = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=gpd.points_from_xy([4.8], [45.7]), crs=4326).to_file(only_points)
    with pytest.raises(InvalidInput, match="aucun polygone"):
        read_area(only_points)
    lyon = tmp_path / "lyon.csv"
    _points().rename(columns={"quand": "time"}).to_csv(lyon, index=False)
    far = tmp_path / "ailleurs.geojson"
    gpd.GeoDataFrame(geometry=[box(2.3, 48.8, 2.4, 48.9)], crs=4326).to_file(far)  # Paris
    for args, message in (
        (["forecast", "fichier", str(tmp_path / "absent.csv")], "fichier introuvable"),
        (["forecast", "fichier", str(csv)], "aucune colonne de date"),
        (["forecast", "fichier", str(lyon), "--zone", str(far)], "aucune donnée exploitable"),
        (["forecast", "fichier", str(lyon), "--origines", "15"], "pas assez de périodes"),
        (["forecast", "fichier", str(lyon), "--methodes", "tarot"], "méthode(s) inconnue(s)"),
    ):
        bad = CliRunner().invoke(app, args, env=ENV)
        assert bad.exit_code == 2, bad.output
        assert message in bad.output
