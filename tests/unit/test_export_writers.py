"""Export writers, read back with the real readers (json, csv, pandas, geopandas, ogrinfo)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

from geotranquil.exports.writers import (
    EXPORT_FORMATS,
    csv_stream,
    geojson_stream,
    write_file,
)

PARIS = ZoneInfo("Europe/Paris")
SIZES = (1000, 1000, 1000, 7)
N = sum(SIZES)
COLUMNS = ["fid", "name", "count", "score", "active", "occurred_at", "day", "nothing"]
TYPES = {
    "fid": "integer",
    "name": "string",
    "count": "integer",
    "score": "number",
    "active": "boolean",
    "occurred_at": "datetime",
    "day": "date",
    "nothing": "string",
}
NAMES = ["Noailles «é»", 'Rue de Rome, "bis"', None, "La Joliette", "ligne\nnouvelle"]
NULL_GEOMETRY_FID = 6


def _point(i: int, *, lambert: bool = False) -> shapely.Point:
    if lambert:  # Marseille in Lambert-93
        return shapely.Point(892_000 + (i % 100) * 10.0, 6_247_000 + (i // 100) * 10.0)
    return shapely.Point(5.37 + (i % 100) * 1e-4, 43.29 + (i // 100) * 1e-4)


def _geometry(i: int, kind: str) -> shapely.Geometry:
    point = _point(i, lambert=kind == "lambert")
    if kind == "polygon":
        return shapely.box(point.x, point.y, point.x + 5e-5, point.y + 5e-5)
    return point


def _row(i: int, kind: str, null_geometry: bool) -> dict[str, Any]:
    geometry = _geometry(i, kind)
    missing = null_geometry and i + 1 == NULL_GEOMETRY_FID
    return {
        "fid": i + 1,
        "name": NAMES[i % 5],
        "count": i if i % 7 else None,
        "score": [Decimal("1.25"), i * 0.5, None][i % 3],
        "active": [True, False, None][i % 3],
        "occurred_at": None
        if i % 11 == 0
        else dt.datetime(2024, 3, 1, 8, tzinfo=PARIS) + dt.timedelta(minutes=i),
        "day": dt.date(2024, 1, 1) + dt.timedelta(days=i % 300),
        "nothing": None,
        "geometry_wkb": None if missing else memoryview(shapely.to_wkb(geometry)),
    }


def _chunks(
    kind: str = "point", *, null_geometry: bool = False, sizes: tuple[int, ...] = SIZES
) -> Iterator[list[dict[str, Any]]]:
    start = 0
    for size in sizes:
        yield [_row(i, kind, null_geometry) for i in range(start, start + size)]
        start += size


def _null(value: Any) -> Any:
    """None for every missing value a reader may give (None, NaN, NaT)."""
    return None if value is None or value is pd.NaT or (value != value) else value


def _expected(column: str) -> list[Any]:
    values = [row[column] for chunk in _chunks() for row in chunk]
    if column == "score":
        return [None if v is None else float(v) for v in values]
    return values


def _utc(value: dt.datetime | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def _check_frame(df: pd.DataFrame, *, count_is_float: bool = True) -> None:
    """Values of a frame read back from a file, sorted by fid."""
    df = df.sort_values("fid").reset_index(drop=True)
    assert df["fid"].tolist() == list(range(1, N + 1))
    assert [_null(v) for v in df["name"]] == _expected("name")
    assert [_null(v) for v in df["count"]] == _expected("count")
    assert [_null(v) for v in df["score"]] == _expected("score")
    assert [None if _null(v) is None else bool(v) for v in df["active"]] == _expected("active")
    expected_times = [_utc(v) for v in _expected("occurred_at")]
    assert [_null(v) for v in df["occurred_at"]] == expected_times
    assert [pd.Timestamp(v).date() for v in df["day"]] == _expected("day")
    assert df["nothing"].isna().all()


# --- formats ---------------------------------------------------------------------------------


def test_export_formats() -> None:
    assert set(EXPORT_FORMATS) == {"geojson", "csv", "parquet", "gpkg", "fgb"}
    assert EXPORT_FORMATS["geojson"].media_type == "application/geo+json"
    assert EXPORT_FORMATS["csv"].media_type == "text/csv; charset=utf-8"
    assert EXPORT_FORMATS["parquet"].media_type == "application/vnd.apache.parquet"
    assert EXPORT_FORMATS["gpkg"].media_type == "application/geopackage+sqlite3"
    assert EXPORT_FORMATS["fgb"].media_type == "application/flatgeobuf"
    assert {f.name: f.extension for f in EXPORT_FORMATS.values()} == {
        "geojson": ".geojson",
        "csv": ".csv",
        "parquet": ".parquet",
        "gpkg": ".gpkg",
        "fgb": ".fgb",
    }
    assert [f.name for f in EXPORT_FORMATS.values() if f.streamed] == ["geojson", "csv"]


# --- GeoJSON ---------------------------------------------------------------------------------


def test_geojson_streams_chunk_by_chunk() -> None:
    consumed: list[int] = []

    def tracked() -> Iterator[list[dict[str, Any]]]:
        for number, chunk in enumerate(_chunks()):
            consumed.append(number)
            yield chunk

    pieces = geojson_stream(tracked(), columns=COLUMNS)
    assert next(pieces) == b'{"type":"FeatureCollection","features":['
    assert consumed == []
    next(pieces)
    assert consumed == [0]
    assert len(list(pieces)) == len(SIZES) - 1 + 1  # remaining chunks, then the closing


def test_geojson_values(tmp_path: Path) -> None:
    body = b"".join(geojson_stream(_chunks(null_geometry=True), columns=COLUMNS))
    document = json.loads(body)
    features = document["features"]
    assert document["type"] == "FeatureCollection"
    assert "crs" not in document
    assert len(features) == N
    first = features[0]
    assert first["id"] == 1
    assert list(first["properties"]) == COLUMNS
    assert first["properties"]["score"] == 1.25
    assert first["properties"]["occurred_at"] is None
    assert features[1]["properties"]["occurred_at"] == "2024-03-01T08:01:00+01:00"
    assert features[1]["properties"]["day"] == "2024-01-02"
    assert first["geometry"] == {"type": "Point", "coordinates": [5.37, 43.29]}
    assert features[NULL_GEOMETRY_FID - 1]["geometry"] is None
    assert [f["properties"]["name"] for f in features[:5]] == NAMES

    path = tmp_path / "items.geojson"
    path.write_bytes(body)
    frame = gpd.read_file(path)
    assert len(frame) == N
    assert frame.crs.to_epsg() == 4326
    assert frame["name"].tolist()[:2] == NAMES[:2]
    assert frame.geometry.isna().sum() == 1


def test_geojson_without_fid_has_no_id() -> None:
    document = json.loads(b"".join(geojson_stream(_chunks(sizes=(3,)), columns=["name"])))
    assert [list(f) for f in document["features"]] == [["type", "geometry", "properties"]] * 3


def test_geojson_polygons() -> None:
    document = json.loads(b"".join(geojson_stream(_chunks("polygon"), columns=["fid"])))
    geometry = shapely.geometry.shape(document["features"][0]["geometry"])
    assert geometry.equals(_geometry(0, "polygon"))


# --- CSV -------------------------------------------------------------------------------------


def test_csv_wkt() -> None:
    text = b"".join(csv_stream(_chunks(null_geometry=True), columns=COLUMNS)).decode("utf-8")
    assert not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [*COLUMNS, "wkt"]
    assert len(rows) == N + 1
    assert rows[1] == [
        "1",
        "Noailles «é»",
        "",
        "1.25",
        "true",
        "",
        "2024-01-01",
        "",
        "POINT (5.37 43.29)",
    ]
    assert rows[2][1] == 'Rue de Rome, "bis"'
    assert rows[2][5] == "2024-03-01T08:01:00+01:00"
    assert rows[5][1] == "ligne\nnouvelle"
    assert rows[NULL_GEOMETRY_FID][-1] == ""

    frame = pd.read_csv(io.StringIO(text))
    assert len(frame) == N
    assert frame["fid"].tolist() == list(range(1, N + 1))
    assert [_null(v) for v in frame["name"]] == _expected("name")
    assert [_null(v) for v in frame["score"]] == _expected("score")
    assert frame["nothing"].isna().all()
    texts = frame["wkt"].tolist()
    assert _null(texts[NULL_GEOMETRY_FID - 1]) is None
    points = [shapely.from_wkt(t) for i, t in enumerate(texts) if i != NULL_GEOMETRY_FID - 1]
    assert points == [_point(i) for i in range(N) if i != NULL_GEOMETRY_FID - 1]


def test_csv_lonlat_points_and_polygons() -> None:
    frame = pd.read_csv(
        io.BytesIO(b"".join(csv_stream(_chunks(), columns=["fid"], geometry="lonlat")))
    )
    assert frame.columns.tolist() == ["fid", "x", "y"]
    assert len(frame) == N
    assert (frame.loc[123, "x"], frame.loc[123, "y"]) == (_point(123).x, _point(123).y)

    body = b"".join(csv_stream(_chunks("polygon"), columns=["fid"], geometry="lonlat"))
    frame = pd.read_csv(io.BytesIO(body))
    inside = shapely.contains_xy(
        [_geometry(i, "polygon") for i in range(N)], frame["x"].to_numpy(), frame["y"].to_numpy()
    )
    assert inside.all()


def test_csv_lonlat_missing_geometry_is_empty() -> None:
    body = b"".join(csv_stream(_chunks(null_geometry=True), columns=["fid"], geometry="lonlat"))
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[NULL_GEOMETRY_FID] == [str(NULL_GEOMETRY_FID), "", ""]


def test_csv_without_geometry() -> None:
    body = b"".join(csv_stream(_chunks(), columns=COLUMNS, geometry="none"))
    frame = pd.read_csv(io.BytesIO(body))
    assert frame.columns.tolist() == COLUMNS
    assert len(frame) == N
    assert frame["active"].dropna().tolist()[:2] == [True, False]


def test_csv_rejects_bad_modes() -> None:
    with pytest.raises(ValueError, match="geometry mode"):
        csv_stream([], columns=["a"], geometry="geojson")
    with pytest.raises(ValueError, match="clash"):
        csv_stream([], columns=["x"], geometry="lonlat")


# --- GeoParquet ------------------------------------------------------------------------------


@pytest.mark.parametrize(("srid", "kind"), [(4326, "point"), (2154, "lambert"), (4326, "polygon")])
def test_parquet(tmp_path: Path, srid: int, kind: str) -> None:
    path = tmp_path / "items.parquet"
    geometry_type = "Polygon" if kind == "polygon" else "Point"
    count = write_file(
        _chunks(kind, null_geometry=True),
        path=path,
        fmt="parquet",
        columns=COLUMNS,
        types=TYPES,
        srid=srid,
        layer="items",
        geometry_type=geometry_type,
    )
    assert count == N
    assert pq.ParquetFile(path).metadata.num_row_groups == len(SIZES)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == [geometry_type]

    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() == srid
    assert len(frame) == N
    assert frame.columns.tolist() == [*COLUMNS, "geometry"]
    assert {c: str(t) for c, t in frame.dtypes.items() if c != "geometry"} == {
        "fid": "int64",
        "name": "str",
        "count": "float64",  # nulls: pandas' default conversion
        "score": "float64",
        "active": "object",
        "occurred_at": "datetime64[us, UTC]",
        "day": "object",
        "nothing": "str",
    }
    _check_frame(frame)
    assert frame.geometry.iloc[NULL_GEOMETRY_FID - 1] is None
    assert frame.geometry.iloc[42].equals(_geometry(42, kind))


# --- GeoPackage ------------------------------------------------------------------------------


def _ogrinfo(path: Path) -> str:
    result = subprocess.run(
        ["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    )
    assert "Warning" not in result.stderr, result.stderr
    return result.stdout


def test_gpkg(tmp_path: Path) -> None:
    path = tmp_path / "items.gpkg"
    count = write_file(
        _chunks("lambert", null_geometry=True),
        path=path,
        fmt="gpkg",
        columns=COLUMNS,
        types=TYPES,
        srid=2154,
        layer="evenements",
        geometry_type="Point",
    )
    assert count == N
    frame = gpd.read_file(path, fid_as_index=True).reset_index()
    assert frame.crs.to_epsg() == 2154
    assert len(frame) == N
    _check_frame(frame)
    assert frame.geometry.isna().sum() == 1

    info = _ogrinfo(path)
    assert "Layer name: evenements" in info
    assert f"Feature Count: {N}" in info
    assert "Geometry: Point" in info
    for line in (
        "name: String",
        "count: Integer64",
        "score: Real",
        "active: Integer(Boolean)",
        "occurred_at: DateTime",
        "day: Date",
        "nothing: String",
    ):
        assert line in info
    assert 'ID["EPSG",2154]' in info


def test_gpkg_with_a_text_fid(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    rows = [{"fid": "Z1", "geometry_wkb": shapely.to_wkb(_point(0))}]
    write_file(
        [rows],
        path=path,
        fmt="gpkg",
        columns=["fid"],
        types={"fid": "string"},
        srid=4326,
        layer="zones",
        geometry_type="Point",
    )
    assert gpd.read_file(path)["fid"].tolist() == ["Z1"]


# --- FlatGeobuf ------------------------------------------------------------------------------


@pytest.mark.parametrize("null_geometry", [False, True])
def test_fgb(tmp_path: Path, null_geometry: bool) -> None:
    path = tmp_path / "items.fgb"
    count = write_file(
        _chunks("polygon", null_geometry=null_geometry),
        path=path,
        fmt="fgb",
        columns=COLUMNS,
        types=TYPES,
        srid=4326,
        layer="cells",
        geometry_type="Polygon",
    )
    assert count == N
    assert [p.name for p in tmp_path.iterdir()] == ["items.fgb"]  # no staging file left
    info = pyogrio.read_info(path)
    assert info["layer_name"] == "cells"
    assert info["features"] == N
    assert info["capabilities"]["fast_spatial_filter"] is not null_geometry  # the index
    frame = gpd.read_file(path)
    assert frame.crs.to_epsg() == 4326
    assert len(frame) == N
    _check_frame(frame)
    assert frame.geometry.isna().sum() == int(null_geometry)
    by_fid = frame.set_index("fid").geometry
    assert by_fid.loc[43].equals(_geometry(42, "polygon"))


# --- empty results ---------------------------------------------------------------------------


def test_empty_streams() -> None:
    document = json.loads(b"".join(geojson_stream([], columns=COLUMNS)))
    assert document == {"type": "FeatureCollection", "features": []}
    for mode, extra in (("wkt", ["wkt"]), ("lonlat", ["x", "y"]), ("none", [])):
        body = b"".join(csv_stream([[]], columns=COLUMNS, geometry=mode))
        assert pd.read_csv(io.BytesIO(body)).columns.tolist() == [*COLUMNS, *extra]


def test_empty_geojson_reads(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"".join(geojson_stream([[]], columns=COLUMNS)))
    assert len(gpd.read_file(path)) == 0


@pytest.mark.parametrize("fmt", ["parquet", "gpkg", "fgb"])
def test_empty_files(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty.{fmt}"
    count = write_file(
        iter([]),
        path=path,
        fmt=fmt,
        columns=COLUMNS,
        types=TYPES,
        srid=2154,
        layer="items",
        geometry_type="MultiPolygon",
    )
    assert count == 0
    if fmt == "parquet":
        frame = gpd.read_parquet(path)
        assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]"
        assert str(frame["count"].dtype) == "int64"
        assert str(frame["nothing"].dtype) == "str"
    else:
        frame = gpd.read_file(path, fid_as_index=fmt == "gpkg").reset_index()
        info = pyogrio.read_info(path)
        assert info["geometry_type"] == "MultiPolygon"
        assert dict(zip(info["fields"], info["ogr_types"], strict=True))["occurred_at"] == (
            "OFTDateTime"
        )
    assert len(frame) == 0
    assert set(COLUMNS) <= set(frame.columns)
    assert frame.crs.to_epsg() == 2154
    if fmt == "gpkg":
        assert "Feature Count: 0" in _ogrinfo(path)


def test_write_file_rejects_bad_arguments(tmp_path: Path) -> None:
    common: dict[str, Any] = {"srid": 4326, "layer": "l", "geometry_type": "Point"}
    with pytest.raises(ValueError, match="file format"):
        write_file([], path=tmp_path / "a.shp", fmt="shp", columns=[], types={}, **common)
    with pytest.raises(ValueError, match="known type"):
        write_file(
            [], path=tmp_path / "a.gpkg", fmt="gpkg", columns=["a"], types={"a": "x"}, **common
        )


def test_nan_is_null() -> None:
    rows = [{"v": math.nan, "geometry_wkb": None}]
    document = json.loads(b"".join(geojson_stream([rows], columns=["v"])))
    assert document["features"][0] == {
        "type": "Feature",
        "geometry": None,
        "properties": {"v": None},
    }
