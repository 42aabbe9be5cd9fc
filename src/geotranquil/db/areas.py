"""The ``areas`` table: commune, arrondissements, quartiers (and, later, saved zones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
from shapely import MultiPolygon
from shapely import wkb as shapely_wkb
from sqlalchemy import Connection, text

from geotranquil.geography.reference import Geography

METRIC_CRS = 2154


@dataclass(frozen=True)
class AreaCounts:
    commune: int
    arrondissements: int
    quartiers: int


_UPSERT = text(
    """
    INSERT INTO areas (kind, code, name, parent_code, population, area_m2, origin, geom)
    VALUES (:kind, :code, :name, :parent_code, :population, :area_m2, :origin,
            ST_Multi(ST_GeomFromWKB(:wkb, 4326)))
    ON CONFLICT (kind, code) DO UPDATE SET
        name = EXCLUDED.name, parent_code = EXCLUDED.parent_code,
        population = EXCLUDED.population, area_m2 = EXCLUDED.area_m2,
        origin = EXCLUDED.origin, geom = EXCLUDED.geom
    """
)


def _area_m2(geom: MultiPolygon) -> float:
    return float(gpd.GeoSeries([geom], crs=4326).to_crs(METRIC_CRS).area.iloc[0])


def replace_reference_areas(*, conn: Connection, geography: Geography) -> AreaCounts:
    """Upsert the commune, arrondissements and quartiers; drop reference areas no longer there.

    Saved zones (kind ``zone``) are never touched.
    """
    rows: list[dict[str, Any]] = [
        {
            "kind": "commune",
            "code": geography.commune_code,
            "name": geography.commune_name,
            "parent_code": None,
            "population": geography.population,
            "geom": geography.commune,
        }
    ]
    for r in geography.arrondissements.itertuples():
        pop = None if r.population is None or str(r.population) == "<NA>" else int(r.population)
        rows.append(
            {
                "kind": "arrondissement",
                "code": r.code,
                "name": r.name,
                "parent_code": geography.commune_code,
                "population": pop,
                "geom": r.geometry,
            }
        )
    for q in geography.quartiers.itertuples():
        rows.append(
            {
                "kind": "quartier",
                "code": q.code,
                "name": q.name,
                "parent_code": q.arrondissement_code,
                "population": None,
                "geom": q.geometry,
            }
        )
    params = [
        {
            **{k: v for k, v in row.items() if k != "geom"},
            "area_m2": _area_m2(row["geom"]),
            "origin": geography.origin,
            "wkb": shapely_wkb.dumps(row["geom"]),
        }
        for row in rows
    ]
    conn.execute(_UPSERT, params)
    for kind in ("commune", "arrondissement", "quartier"):
        keep = [p["code"] for p in params if p["kind"] == kind]
        conn.execute(
            text("DELETE FROM areas WHERE kind = :kind AND NOT (code = ANY(:keep))"),
            {"kind": kind, "keep": keep},
        )
    return AreaCounts(1, len(geography.arrondissements), len(geography.quartiers))


def count_areas(*, conn: Connection) -> dict[str, int]:
    """Number of areas of each kind."""
    return {
        k: int(n) for k, n in conn.execute(text("SELECT kind, count(*) FROM areas GROUP BY kind"))
    }


def outlines(*, conn: Connection, kind: str) -> gpd.GeoDataFrame:
    """The outlines of every area of one kind (``commune``, ``arrondissement``, ...), in
    EPSG:4326, sorted by code."""
    rows = conn.execute(
        text("SELECT ST_AsBinary(geom) FROM areas WHERE kind = :kind ORDER BY code"),
        {"kind": kind},
    ).fetchall()
    return gpd.GeoDataFrame(geometry=[shapely_wkb.loads(bytes(r[0])) for r in rows], crs=4326)


def read_geography(*, conn: Connection) -> Geography | None:
    """The reference areas as loaded in the database, or None when none are."""
    rows = conn.execute(
        text(
            "SELECT kind, code, name, parent_code, population, origin, ST_AsBinary(geom) "
            "FROM areas WHERE kind IN ('commune', 'arrondissement', 'quartier') ORDER BY kind, code"
        )
    ).fetchall()
    communes = [r for r in rows if r.kind == "commune"]
    if not communes:
        return None
    commune = communes[0]

    def frame(kind: str, columns: dict[str, str]) -> gpd.GeoDataFrame:
        sel = [r for r in rows if r.kind == kind]
        return gpd.GeoDataFrame(
            {new: [getattr(r, old) for r in sel] for new, old in columns.items()},
            geometry=[shapely_wkb.loads(bytes(r[6])) for r in sel],
            crs=4326,
        )

    arrondissements = frame(
        "arrondissement", {"code": "code", "name": "name", "population": "population"}
    )
    arrondissements["postcode"] = None
    quartiers = frame(
        "quartier", {"code": "code", "name": "name", "arrondissement_code": "parent_code"}
    )
    geom = shapely_wkb.loads(bytes(commune[6]))
    assert isinstance(geom, MultiPolygon)
    return Geography(
        commune_code=commune.code,
        commune_name=commune.name,
        commune=geom,
        arrondissements=arrondissements,
        quartiers=quartiers,
        origin=commune.origin,
    )
