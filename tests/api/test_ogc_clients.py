"""Real OGC API Features clients against the served data: GDAL, OWSLib, geopandas.

Every count and coordinate is compared with the database, read with SQL in the test.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import httpx
import pytest
from owslib.ogcapi.features import Features
from sqlalchemy import Engine, text

from tests.api.conftest import headers_for
from tests.api.served import Served

LAMBERT93 = "http://www.opengis.net/def/crs/EPSG/0/2154"
# a box around rue de Rome (lon, lat) holding the planted hot spot and its background
ROME_BOX = (5.3770, 43.2905, 5.3810, 43.2935)


def _scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _gdal(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a GDAL command line tool, with the API key header if given; fails on error."""
    cmd = [args[0]]
    if key is not None:
        cmd += ["--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {key}"]
    cmd += list(args[1:])
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def _feature_count(ogrinfo_so: str) -> int:
    match = re.search(r"^Feature Count: (\d+)$", ogrinfo_so, re.MULTILINE)
    assert match, ogrinfo_so
    return int(match.group(1))


# --- GDAL ------------------------------------------------------------------------------------


def test_ogrinfo_lists_collections_by_role(
    server_url: str, served: Served, api_keys: dict[str, str]
) -> None:
    public = _gdal("ogrinfo", "-ro", "-so", f"OAPIF:{server_url}").stdout
    layers = set(re.findall(r"^\d+: (\S+) ", public, re.MULTILINE))
    assert layers == {
        "counts-r7",
        "counts-r8",
        "grid-r7",
        "grid-r8",
        "grid-r9",
        "grid-r10",
        "commune",
        "arrondissements",
        "quartiers",
    }
    analyst = _gdal("ogrinfo", "-ro", "-so", f"OAPIF:{server_url}", key=api_keys["analyst"]).stdout
    layers = set(re.findall(r"^\d+: (\S+) ", analyst, re.MULTILINE))
    assert {"events", "counts-r9", "counts-r10", "hotspots", "emerging", "zones"} <= layers


def test_ogrinfo_reads_events_over_several_pages(
    server_url: str, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    expected = _scalar(loaded_engine, "SELECT count(*) FROM events")
    assert expected == served.total == 405
    done = _gdal(
        "ogrinfo",
        "-ro",
        "-al",
        "-q",
        "-oo",
        "PAGE_SIZE=50",
        "--debug",
        "on",
        f"OAPIF:{server_url}",
        "events",
        key=api_keys["analyst"],
    )
    ids = [int(v) for v in re.findall(r"^\s+id \(Integer\) = (\d+)$", done.stdout, re.MULTILINE)]
    assert len(ids) == expected
    assert len(set(ids)) == expected
    # GDAL really walked the pages: limit=50, then the 8 next links, each after the last id of
    # the page before (keyset paging)
    cursors = sorted({int(c) for c in re.findall(r"items\?[^\s]*after=(\d+)", done.stderr)})
    by_id = sorted(ids)
    assert cursors == [by_id[n * 50 - 1] for n in range(1, 9)]


def test_ogr2ogr_copies_events_to_geopackage(
    server_url: str,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    tmp_path: Path,
) -> None:
    out = tmp_path / "events.gpkg"
    _gdal(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(out),
        "-oo",
        "PAGE_SIZE=100",
        f"OAPIF:{server_url}",
        "events",
        key=api_keys["analyst"],
    )
    expected = _scalar(loaded_engine, "SELECT count(*) FROM events")
    assert _feature_count(_gdal("ogrinfo", "-ro", "-so", str(out), "events").stdout) == expected
    gdf = gpd.read_file(out, layer="events")
    assert len(gdf) == expected
    assert gdf["id"].nunique() == expected
    assert gdf.crs.to_epsg() == 4326
    with loaded_engine.connect() as conn:
        vols = conn.execute(text("SELECT count(*) FROM events WHERE category = 'vol'")).scalar_one()
    assert int((gdf["category"] == "vol").sum()) == vols


def test_ogrinfo_reads_public_quartiers(
    server_url: str, served: Served, loaded_engine: Engine
) -> None:
    expected = _scalar(loaded_engine, "SELECT count(*) FROM areas WHERE kind = 'quartier'")
    assert expected > 0
    done = _gdal(
        "ogrinfo", "-ro", "-al", "-q", "-oo", "PAGE_SIZE=40", f"OAPIF:{server_url}", "quartiers"
    )
    codes = re.findall(r"^\s+code \(String\) = (\S+)$", done.stdout, re.MULTILINE)
    assert len(codes) == expected
    assert len(set(codes)) == expected


def test_ogrinfo_refuses_events_without_key(server_url: str, served: Served) -> None:
    done = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{server_url}", "events"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "events" not in re.findall(r"^\d+: (\S+) ", done.stdout, re.MULTILINE)


# --- OWSLib ----------------------------------------------------------------------------------


@pytest.fixture
def owslib_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh copy of OWSLib's default headers for each test.

    OWSLib's ``API.__init__`` updates its module-level ``REQUEST_HEADERS`` dict in place with the
    ``headers`` given, so an API key would leak into every later client (a public client would
    then be an analyst).
    """
    import owslib.ogcapi

    monkeypatch.setattr(owslib.ogcapi, "REQUEST_HEADERS", dict(owslib.ogcapi.REQUEST_HEADERS))


def test_owslib_reads_collections_and_items(
    server_url: str,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    owslib_headers: None,
) -> None:
    api = Features(server_url, headers=headers_for("analyst", api_keys))
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"events", "hotspots", "quartiers", "counts-r9"} <= ids
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    assert api.collection("events")["id"] == "events"

    page = api.collection_items("events", limit=7)
    assert page["numberReturned"] == 7
    assert page["numberMatched"] == served.total
    with loaded_engine.connect() as conn:
        first = [r[0] for r in conn.execute(text("SELECT id FROM events ORDER BY id LIMIT 7"))]
    assert [f["id"] for f in page["features"]] == first

    in_box = api.collection_items("events", bbox=list(ROME_BOX), limit=1000)
    with loaded_engine.connect() as conn:
        expected = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT id FROM events "
                    "WHERE ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"
                ),
                dict(zip(("x0", "y0", "x1", "y1"), ROME_BOX, strict=True)),
            )
        }
    # rue de Rome: 52 background events + 60 vols + 30 dumps, all within 70 m
    assert len(expected) == 142
    assert {f["id"] for f in in_box["features"]} == expected
    assert in_box["numberMatched"] == len(expected)

    both = api.collection_items("events", bbox=list(ROME_BOX), category="vol", limit=5)
    assert both["numberMatched"] == 60
    assert both["numberReturned"] == 5
    assert {f["properties"]["category"] for f in both["features"]} == {"vol"}


def test_owslib_public_sees_quartiers_not_events(
    server_url: str, served: Served, loaded_engine: Engine, owslib_headers: None
) -> None:
    api = Features(server_url)
    ids = {c["id"] for c in api.collections()["collections"]}
    assert "events" not in ids
    assert "quartiers" in ids
    expected = _scalar(loaded_engine, "SELECT count(*) FROM areas WHERE kind = 'quartier'")
    items = api.collection_items("quartiers", limit=1000)
    assert items["numberReturned"] == expected
    with pytest.raises(RuntimeError):  # OWSLib raises on the 401
        api.collection_items("events", limit=1)


# --- geopandas ---------------------------------------------------------------------------------


def _download(http: httpx.Client, path: str, params: dict[str, str], dest: Path) -> Path:
    r = http.get(path, params=params)
    assert r.status_code == 200, r.text
    dest.write_bytes(r.content)
    return dest


def test_geopandas_reads_items_url(
    server_url: str, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    query = urlencode({"limit": 60, "api_key": api_keys["analyst"]})
    gdf = gpd.read_file(f"{server_url}/collections/events/items?{query}")
    assert len(gdf) == 60
    assert gdf.crs.to_epsg() == 4326
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, category, ST_X(geom), ST_Y(geom) FROM events ORDER BY id LIMIT 60")
        ).all()
    assert gdf["id"].tolist() == [r[0] for r in rows]
    assert gdf["category"].tolist() == [r[1] for r in rows]
    for point, row in zip(gdf.geometry, rows, strict=True):
        assert point.x == pytest.approx(row[2], abs=1e-7)
        assert point.y == pytest.approx(row[3], abs=1e-7)

    public = gpd.read_file(f"{server_url}/collections/quartiers/items?limit=1000")
    expected = _scalar(loaded_engine, "SELECT count(*) FROM areas WHERE kind = 'quartier'")
    assert len(public) == expected
    assert public.crs.to_epsg() == 4326


def test_parquet_export_counts_and_crs(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    tmp_path: Path,
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    expected = _scalar(loaded_engine, "SELECT count(*) FROM events")
    path = _download(http, "/collections/events/export", {"f": "parquet"}, tmp_path / "a.parquet")
    gdf = gpd.read_parquet(path)
    assert len(gdf) == expected
    assert gdf.crs.to_epsg() == 4326

    path = _download(
        http,
        "/collections/events/export",
        {"f": "parquet", "crs": LAMBERT93},
        tmp_path / "l93.parquet",
    )
    l93 = gpd.read_parquet(path)
    assert len(l93) == expected
    assert l93.crs.to_epsg() == 2154
    with loaded_engine.connect() as conn:
        truth = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                text(
                    "SELECT id, ST_X(ST_Transform(geom, 2154)), ST_Y(ST_Transform(geom, 2154)) "
                    "FROM events"
                )
            )
        }
    assert set(l93["id"]) == set(truth)
    for fid, point in zip(l93["id"], l93.geometry, strict=True):
        x, y = truth[fid]
        assert abs(point.x - x) < 0.01
        assert abs(point.y - y) < 0.01
        # metres of Lambert-93 in Marseille, not degrees
        assert 880_000 < point.x < 910_000
        assert 6_240_000 < point.y < 6_260_000


@pytest.mark.parametrize("fmt", ["gpkg", "fgb", "geojson"])
def test_file_exports_read_back(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    tmp_path: Path,
    fmt: str,
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    expected = _scalar(loaded_engine, "SELECT count(*) FROM events")
    path = _download(http, "/collections/events/export", {"f": fmt}, tmp_path / f"e.{fmt}")
    gdf = gpd.read_file(path)
    assert len(gdf) == expected
    assert gdf["id"].nunique() == expected
    assert gdf.crs.to_epsg() == 4326
    vols = _scalar(loaded_engine, "SELECT count(*) FROM events WHERE category = 'vol'")
    assert int((gdf["category"] == "vol").sum()) == vols


def test_filtered_export_matches_sql(
    http: httpx.Client,
    served: Served,
    api_keys: dict[str, str],
    loaded_engine: Engine,
    tmp_path: Path,
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    params = {"f": "gpkg", "category": "depot_sauvage", "datetime": "2025-06-01/.."}
    path = _download(http, "/collections/events/export", params, tmp_path / "f.gpkg")
    expected = _scalar(
        loaded_engine,
        "SELECT count(*) FROM events WHERE category = 'depot_sauvage' "
        "AND occurred_at >= '2025-06-01T00:00:00+02:00'",
    )
    every_dump = _scalar(
        loaded_engine, "SELECT count(*) FROM events WHERE category = 'depot_sauvage'"
    )
    assert 0 < expected < every_dump  # the period really cuts
    assert len(gpd.read_file(path)) == expected


def test_csv_export_lonlat_is_exact(
    http: httpx.Client, served: Served, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    http.headers.update(headers_for("analyst", api_keys))
    r = http.get("/collections/events/export", params={"f": "csv", "geometry": "lonlat"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    with loaded_engine.connect() as conn:
        truth = {
            r[0]: (r[1], r[2], r[3])
            for r in conn.execute(text("SELECT id, ST_X(geom), ST_Y(geom), category FROM events"))
        }
    assert len(rows) == len(truth) == served.total
    assert "wkt" not in rows[0]
    for row in rows:
        lon, lat, category = truth[int(row["id"])]
        assert float(row["x"]) == lon
        assert float(row["y"]) == lat
        assert row["category"] == category
