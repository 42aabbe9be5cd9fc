"""The reference geography of the study area: commune, arrondissements, quartiers.

Read from the official GeoJSON files when a directory holds them, otherwise the built-in coarse
geography. Geometries are reprojected to EPSG:4326, repaired and made MultiPolygons.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely import MultiPolygon, Polygon, make_valid
from shapely.geometry.base import BaseGeometry

from geotranquil.errors import InvalidInput
from geotranquil.geography import builtin

COMMUNE_FILE = "commune.geojson"
ARRONDISSEMENTS_FILE = "arrondissements.geojson"
QUARTIERS_FILE = "quartiers.geojson"
POPULATION_FILE = "population_arrondissements.csv"


@dataclass(frozen=True)
class Geography:
    """Reference areas of one commune, all in EPSG:4326.

    ``arrondissements`` has columns ``code, name, postcode, population, geometry``;
    ``quartiers`` has ``code, name, arrondissement_code, geometry`` (empty for the built-in one).
    """

    commune_code: str
    commune_name: str
    commune: MultiPolygon
    arrondissements: gpd.GeoDataFrame
    quartiers: gpd.GeoDataFrame
    origin: str  # "official:<dir>" or "builtin"

    @property
    def population(self) -> int:
        """Total residents over the arrondissements."""
        return int(self.arrondissements["population"].fillna(0).sum())


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Repair a geometry and keep its polygonal parts as one MultiPolygon.

    Examples
    --------
    >>> from shapely import Polygon
    >>> bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-intersecting
    >>> fixed = as_multipolygon(bowtie)
    >>> fixed.is_valid, fixed.geom_type, round(fixed.area, 2)
    (True, 'MultiPolygon', 0.5)
    """
    if not geom.is_valid:
        geom = make_valid(geom)
    polys: list[Polygon] = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if isinstance(g, Polygon):
            if not g.is_empty:
                polys.append(g)
        elif hasattr(g, "geoms"):
            stack.extend(g.geoms)
    if not polys:
        raise InvalidInput("la géométrie ne contient aucun polygone")
    polys.sort(key=lambda p: -float(p.area))
    return MultiPolygon(polys)


def slugify(text: str) -> str:
    """Lower-case ASCII slug of a name.

    Examples
    --------
    >>> slugify("Saint-Jean-du-Désert")
    'saint-jean-du-desert'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _read(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    frame["geometry"] = [as_multipolygon(g) for g in frame.geometry]
    return frame


def has_official_files(directory: Path | None) -> bool:
    """Whether ``directory`` holds the official commune and arrondissement files."""
    return directory is not None and all(
        (directory / name).is_file() for name in (COMMUNE_FILE, ARRONDISSEMENTS_FILE)
    )


def load_official(directory: Path) -> Geography:
    """Read the official files (commune, arrondissements, quartiers, populations)."""
    commune = _read(directory / COMMUNE_FILE)
    arr = _read(directory / ARRONDISSEMENTS_FILE)
    code_col = next(c for c in ("insee_arm", "code", "code_insee") if c in arr.columns)
    arrondissements = gpd.GeoDataFrame(
        {
            "code": arr[code_col].astype(str),
            "name": arr["nom"].astype(str) if "nom" in arr.columns else arr[code_col].astype(str),
        },
        geometry=list(arr.geometry),
        crs=4326,
    )
    populations: dict[str, tuple[str, int]] = {}
    pop_path = directory / POPULATION_FILE
    if pop_path.is_file():
        with pop_path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                populations[row["code_insee"]] = (row["code_postal"], int(row["population"]))
    arrondissements["postcode"] = [
        populations.get(c, (None, None))[0] for c in arrondissements.code
    ]
    arrondissements["population"] = pd.array(
        [populations.get(c, (None, None))[1] for c in arrondissements.code], dtype="Int64"
    )
    arrondissements = arrondissements.sort_values("code").reset_index(drop=True)

    quartiers_path = directory / QUARTIERS_FILE
    if quartiers_path.is_file():
        q = _read(quartiers_path)
        quartiers = (
            gpd.GeoDataFrame(
                {
                    "code": [
                        f"{d}-{slugify(n)}" for d, n in zip(q["depco"], q["nom_qua"], strict=True)
                    ],
                    "name": q["nom_qua"].astype(str).str.title(),
                    "arrondissement_code": q["depco"].astype(str),
                },
                geometry=list(q.geometry),
                crs=4326,
            )
            .sort_values("code")
            .reset_index(drop=True)
        )
    else:
        quartiers = _empty_quartiers()
    props = commune.iloc[0]
    return Geography(
        commune_code=str(props.get("code", "13055")),
        commune_name=str(props.get("nom", "Marseille")),
        commune=as_multipolygon(commune.union_all()),
        arrondissements=arrondissements,
        quartiers=quartiers,
        origin=f"official:{directory}",
    )


def _empty_quartiers() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [], "name": [], "arrondissement_code": []}, geometry=[], crs=4326
    )


def load_builtin() -> Geography:
    """The built-in coarse geography (see :mod:`geotranquil.geography.builtin`)."""
    zones = dict(builtin.arrondissement_zones())
    rows = builtin.ARRONDISSEMENTS
    arrondissements = gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "postcode": [r[2] for r in rows],
            "population": pd.array([r[3] for r in rows], dtype="Int64"),
        },
        geometry=[zones[r[0]] for r in rows],
        crs=4326,
    )
    return Geography(
        commune_code="13055",
        commune_name="Marseille",
        commune=builtin.commune_outline(),
        arrondissements=arrondissements,
        quartiers=_empty_quartiers(),
        origin="builtin",
    )


def load_geography(directory: Path | None) -> Geography:
    """Official geography from ``directory`` when its files are there, else the built-in one."""
    if has_official_files(directory):
        assert directory is not None
        return load_official(directory)
    return load_builtin()
