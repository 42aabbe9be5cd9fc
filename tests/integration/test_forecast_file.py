"""``geotranquil forecast file``: any city's points file, no database (here Lyon)."""

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
    frame["quand"] = frame["quand"].astype(str)
    frame.loc[len(frame)] = ["pas une date", 4.83, 45.76]  # dropped, and counted
    csv = tmp_path / "lyon.csv"
    frame.to_csv(csv, sep=";", index=False)
    zone = tmp_path / "zone.geojson"
    gpd.GeoDataFrame(geometry=[AREA], crs=4326).to_crs(2154).to_file(zone)  # any CRS
    out = tmp_path / "out"
    text = _run(
        "forecast",
        "file",
        str(csv),
        "--zone",
        str(zone),
        "--time-column",
        "quand",
        "--origins",
        "6",
        "--methods",
        "naive,kde",
        "-m",
        "kde",
        "--out",
        str(out),
    )
    # 200 points in 20 full weeks; the undated row is dropped, the partial week left out
    assert "200 points" in text and "20 périodes (2025-01-06 → 2025-05-19)" in text
    assert "4 écarté(s) sur 204." in text
    assert "écartés — sans date lisible : 1" in text
    assert "écartés — dans la dernière période, incomplète : 3" in text
    assert "hors de la zone" not in text and "sans position" not in text
    # not a terminal: one line per stage, through the final fit, instead of a bar
    stages = [
        "Prévision sur fichier …",
        "  Lecture des points et de la zone",
        "  Backtest des méthodes",
        "  Backtest : naive",
        "  Backtest : kde",
        "  Ajustement de la prévision finale",
        "  Écriture de la prévision",
        "Prévision sur fichier : terminé (14/14,",
    ]
    positions = [text.index(line) for line in stages]
    assert positions == sorted(positions)
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
        "file",
        str(path),
        "--origins",
        "4",
        "--methods",
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
        (["forecast", "file", str(tmp_path / "absent.csv")], "fichier introuvable"),
        (["forecast", "file", str(csv)], "aucune colonne de date"),
        (["forecast", "file", str(lyon), "--zone", str(far)], "aucune donnée exploitable"),
        (["forecast", "file", str(lyon), "--origins", "15"], "pas assez de périodes"),
        (["forecast", "file", str(lyon), "--methods", "tarot"], "méthode(s) inconnue(s)"),
        # the French names of earlier versions still work (hidden aliases)
        (["forecast", "fichier", str(lyon), "--origines", "15"], "pas assez de périodes"),
    ):
        bad = CliRunner().invoke(app, args, env=ENV)
        assert bad.exit_code == 2, bad.output
        assert message in bad.output
        assert "Rien n'est perdu" not in bad.output


def test_tab_separated_and_gzip_files_with_named_columns(tmp_path: Path) -> None:
    """A .tsv and a .csv.gz are read; coordinate columns of any name are given by option."""
    frame = _points(5).rename(columns={"quand": "date_faits", "longitude": "X", "latitude": "Y"})
    frame["X"] = frame["X"].astype(str)
    frame.loc[0, "X"] = "?"  # no position: dropped, and said
    tsv = tmp_path / "vols.tsv"
    frame.to_csv(tsv, sep="\t", index=False)
    gz = tmp_path / "vols.csv.gz"
    frame.to_csv(gz, sep=",", index=False, compression="gzip")
    for path in (tsv, gz):
        points = read_points(path, time_column="date_faits", x_column="X", y_column="Y")
        assert len(points) == 203
        assert int(points["lon"].isna().sum()) == 1 and int(points["time"].isna().sum()) == 0
    unknown = tmp_path / "inconnu.csv"
    frame.rename(columns={"X": "abscisse"}).to_csv(unknown, index=False)
    bad = CliRunner().invoke(app, ["forecast", "file", str(unknown)], env=ENV)
    assert bad.exit_code == 2, bad.output
    assert "aucune colonne de longitude (x) reconnue" in bad.output
    assert "--x-column NOM" in bad.output
    text = _run(
        "forecast",
        "file",
        str(gz),
        "--time-column",
        "date_faits",
        "--x-column",
        "X",
        "--y-column",
        "Y",
        "--origins",
        "4",
        "--methods",
        "naive",
        "-m",
        "naive",
        "--out",
        str(tmp_path / "out"),
    )
    assert "4 écarté(s) sur 203." in text
    assert "écartés — sans position lisible : 1" in text
    assert "écartés — dans la dernière période, incomplète : 3" in text


def test_files_that_are_not_what_they_should_be(tmp_path: Path) -> None:
    """A zone that is not spatial, a compressed zone, an unreadable points file: a French
    message and exit code 2, never an internal error nor the ingestion's "nothing lost"."""
    lyon = tmp_path / "lyon.csv"
    _points().rename(columns={"quand": "time"}).to_csv(lyon, index=False)
    table_zone = tmp_path / "zone.csv"
    pd.DataFrame({"nom": ["Lyon"], "surface": [48]}).to_csv(table_zone, index=False)
    gz_zone = tmp_path / "zone.geojson.gz"
    gz_zone.write_bytes(b"\x1f\x8b not really")
    sheet = tmp_path / "points.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a spreadsheet either")
    for args, message in (
        (["--zone", str(table_zone)], "zone d'étude zone.csv sans géométrie"),
        (["--zone", str(gz_zone)], "zone d'étude zone.geojson.gz : fichier compressé non lu"),
    ):
        bad = CliRunner().invoke(app, ["forecast", "file", str(lyon), *args], env=ENV)
        assert bad.exit_code == 2, bad.output
        assert message in bad.output
        assert "Erreur interne" not in bad.output and "Rien n'est perdu" not in bad.output
    bad = CliRunner().invoke(app, ["forecast", "file", str(sheet)], env=ENV)
    assert bad.exit_code == 2, bad.output
    assert "fichier de points points.xlsx illisible : format non reconnu" in bad.output
    assert "Rien n'est perdu" not in bad.output
