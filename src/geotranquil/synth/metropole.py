"""A plausible study area the size of the Aix-Marseille-Provence Métropole (synthetic).

No official boundary of the Métropole is at hand, so this builds a *plausible* one: the real
Marseille commune (from the geography given, official or built-in) plus a synthetic hinterland
on land, north and east of Marseille (the sea is south and west), cut into Voronoi communes.
The whole covers :data:`AREA_KM2` km² in :data:`COMMUNES` communes of
:data:`POPULATION` residents in all (Marseille keeps its own arrondissements and population).
Everything is deterministic for a seed. This is a zone d'étude plausible, **not** the
official limit of the Métropole: names, codes, outlines and populations of the other
communes are invented.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import MultiPolygon, Polygon
from shapely.geometry import mapping

from geotranquil.geography.reference import (
    ARRONDISSEMENTS_FILE,
    COMMUNE_FILE,
    POPULATION_FILE,
    QUARTIERS_FILE,
    Geography,
    as_multipolygon,
    slugify,
)
from geotranquil.synth.area import geom_to_l93, geom_to_wgs84, to_wgs84
from geotranquil.synth.planted import CONTROL, EMERGING, PERSISTENT, PlantedSpec
from geotranquil.synth.timegrid import TimeProfile
from geotranquil.synth.vocab import CATEGORIES

#: Target size of the study area (km²), number of communes and residents (Métropole AMP).
AREA_KM2: Final = 3150.0
COMMUNES: Final = 92
POPULATION: Final = 1_900_000
#: Code and name of the synthetic study area (the Métropole's SIREN, as a label only).
METROPOLE_CODE: Final = "200054807"
METROPOLE_NAME: Final = "Métropole Aix-Marseille-Provence (zone d'étude synthétique)"
#: INSEE-like codes of the synthetic communes start here (no real code of the département
#: 13 uses 13301 and up; Marseille's arrondissements are 13201-13216).
FIRST_CODE: Final = 13301
#: Their postcodes start here (one per commune).
FIRST_POSTCODE: Final = 13301

_PREFIXES: Final = (
    "Saint-",
    "Sainte-",
    "La ",
    "Le ",
    "Les ",
    "",
    "",
    "",
)
_ROOTS: Final = (
    "Garrigue",
    "Olivier",
    "Cigale",
    "Roquette",
    "Baume",
    "Cabasse",
    "Pennes",
    "Fuveau",
    "Barjols",
    "Auriol",
    "Mimet",
    "Peynier",
    "Rognac",
    "Velaux",
    "Venelles",
    "Meyrargues",
    "Cadolive",
    "Pélissanne",
    "Lançon",
    "Eguilles",
    "Bouc",
    "Calas",
    "Gréasque",
    "Trets",
    "Puyloubier",
    "Jouques",
    "Peyrolles",
    "Rousset",
    "Simiane",
    "Septèmes",
    "Cabriès",
    "Ventabren",
    "Coudoux",
    "Gardanne",
    "Luynes",
    "Bouilladisse",
)
_SUFFIXES: Final = (
    "",
    "",
    "",
    "-en-Provence",
    "-sur-Arc",
    "-les-Pins",
    "-la-Colline",
    "-de-l'Étoile",
    "-les-Vignes",
    "-du-Cengle",
)


@dataclass(frozen=True)
class Metropole:
    """The synthetic Métropole: a geography to generate over, and its communes.

    ``geography`` has the Métropole outline as its commune and, as its units (the
    ``arrondissements`` frame), Marseille's arrondissements followed by the other communes;
    that frame also has ``commune`` (the commune's name, "Marseille" for an arrondissement)
    and ``centre_lon``/``centre_lat`` (the centre of a synthetic commune, NaN for
    Marseille's arrondissements). ``communes`` has one row per commune (Marseille first):
    ``code, name, postcode, population, centre_lon, centre_lat, geometry`` (EPSG:4326).
    """

    geography: Geography
    communes: gpd.GeoDataFrame

    @property
    def area_km2(self) -> float:
        """Area of the whole study area (Lambert-93)."""
        return float(geom_to_l93(self.geography.commune).area / 1e6)


def _wobble(rng: np.random.Generator) -> np.ndarray:
    """Relative radius of the outline at 180 headings: a few random harmonics."""
    theta = np.linspace(0, 2 * np.pi, 181)[:-1]
    wobble = np.zeros(theta.size)
    for k in range(2, 6):
        amplitude, phase = rng.uniform(0.02, 0.07), rng.uniform(0, 2 * np.pi)
        wobble += amplitude * np.cos(k * theta + phase)
    return 1 + wobble


def _outline(marseille_l93: MultiPolygon, wobble: np.ndarray, radius: float) -> Polygon:
    """A wobbly blob north-east of Marseille, with the sea (south and west) cut off."""
    minx, miny, maxx, maxy = marseille_l93.bounds
    cx, cy = (minx + maxx) / 2 + 6_000.0, (miny + maxy) / 2 + 24_000.0
    theta = np.linspace(0, 2 * np.pi, wobble.size + 1)[:-1]
    r = radius * wobble
    blob = Polygon(np.column_stack([cx + 1.25 * r * np.cos(theta), cy + 0.85 * r * np.sin(theta)]))
    sea = shapely.union_all(
        [
            shapely.box(minx - 200_000, miny - 200_000, maxx + 200_000, miny + 2_000),
            shapely.box(minx - 200_000, miny - 200_000, minx + 500, maxy + 4_000),
        ]
    )
    land = shapely.union(shapely.difference(blob, sea), marseille_l93)
    parts = sorted(getattr(land, "geoms", [land]), key=lambda p: -p.area)
    return Polygon(parts[0].exterior)


def _seeds(region: MultiPolygon, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points inside ``region``, kept apart (dart throwing with a shrinking spacing)."""
    minx, miny, maxx, maxy = region.bounds
    spacing = 0.75 * np.sqrt(region.area / n)
    shapely.prepare(region)
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        for _ in range(4000):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if not shapely.contains_xy(region, x, y):
                continue
            if pts and np.min(np.hypot(*(np.array(pts) - (x, y)).T)) < spacing:
                continue
            pts.append((x, y))
            if len(pts) == n:
                break
        spacing *= 0.9
    return np.array(pts)


def _names(n: int, rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    used: set[str] = set()
    while len(names) < n:
        name = (
            _PREFIXES[int(rng.integers(len(_PREFIXES)))]
            + _ROOTS[int(rng.integers(len(_ROOTS)))]
            + _SUFFIXES[int(rng.integers(len(_SUFFIXES)))]
        )
        if name not in used and name.lower() != "marseille":
            used.add(name)
            names.append(name)
    return names


def _populations(total: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Rank-size (Zipf) populations summing exactly to ``total``, in random order."""
    w = 1.0 / np.arange(1, n + 1) ** 1.05
    pops = np.floor(w / w.sum() * total).astype(np.int64)
    pops[0] += total - int(pops.sum())
    return pops[rng.permutation(n)]


def build_metropole(marseille: Geography, seed: int = 42) -> Metropole:
    """Build the synthetic Métropole around a Marseille geography.

    Parameters
    ----------
    marseille
        The commune of Marseille and its arrondissements (official or built-in).
    seed
        Seed of the outline, the communes, their names and populations.

    Returns
    -------
    Metropole
        :data:`COMMUNES` communes (Marseille and 91 synthetic ones) covering
        :data:`AREA_KM2` km² (within 1 %) with :data:`POPULATION` residents.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> m = build_metropole(load_geography(None), seed=1)
    >>> len(m.communes), int(m.communes["population"].sum()), abs(m.area_km2 - 3150) < 2
    (92, 1900000, True)
    >>> m.communes["name"].iloc[0], m.communes["code"].iloc[1]
    ('Marseille', '13301')
    """
    rng = np.random.default_rng([seed, 77])
    marseille_l93 = as_multipolygon(geom_to_l93(marseille.commune))
    wobble = _wobble(rng)
    lo, hi = 15_000.0, 60_000.0
    outline = _outline(marseille_l93, wobble, hi)
    for _ in range(40):  # the radius that gives the target area
        mid = (lo + hi) / 2
        outline = _outline(marseille_l93, wobble, mid)
        area = outline.area / 1e6
        if abs(area - AREA_KM2) < 0.5:
            break
        lo, hi = (mid, hi) if area < AREA_KM2 else (lo, mid)
    hinterland = as_multipolygon(shapely.difference(outline, marseille_l93))
    others = COMMUNES - 1
    seeds = _seeds(hinterland, others, rng)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=shapely.box(*outline.buffer(10_000).bounds)
    )
    polys = list(getattr(cells, "geoms", []))
    geoms: list[MultiPolygon] = []
    for x, y in seeds:
        cell = next(p for p in polys if p.contains(shapely.Point(x, y)))
        geoms.append(as_multipolygon(shapely.intersection(cell, hinterland)))
    marseille_pop = int(marseille.population) or 870_321
    pops = _populations(POPULATION - marseille_pop, others, rng)
    names = _names(others, rng)
    codes = [str(FIRST_CODE + i) for i in range(others)]
    postcodes = [str(FIRST_POSTCODE + i) for i in range(others)]
    clon, clat = to_wgs84(seeds[:, 0], seeds[:, 1])
    wgs = [as_multipolygon(geom_to_wgs84(g)) for g in geoms]

    m_centroid = marseille_l93.centroid
    mlon, mlat = (float(v) for v in to_wgs84(m_centroid.x, m_centroid.y))
    communes = gpd.GeoDataFrame(
        {
            "code": [marseille.commune_code, *codes],
            "name": [marseille.commune_name, *names],
            "postcode": ["", *postcodes],
            "population": np.array([marseille_pop, *pops], dtype=np.int64),
            "centre_lon": np.round([mlon, *clon], 6),
            "centre_lat": np.round([mlat, *clat], 6),
        },
        geometry=[marseille.commune, *wgs],
        crs=4326,
    )
    arr = marseille.arrondissements.sort_values("code").reset_index(drop=True)
    units = gpd.GeoDataFrame(
        {
            "code": [*arr["code"].astype(str), *codes],
            "name": [*arr["name"].astype(str), *names],
            "postcode": [*arr["postcode"], *postcodes],
            "population": pd.array([*arr["population"], *pops], dtype="Int64"),
            "commune": [marseille.commune_name] * len(arr) + names,
            "centre_lon": [np.nan] * len(arr) + list(np.round(clon, 6)),
            "centre_lat": [np.nan] * len(arr) + list(np.round(clat, 6)),
        },
        geometry=[*arr.geometry, *wgs],
        crs=4326,
    )
    whole = as_multipolygon(geom_to_wgs84(shapely.union(outline, marseille_l93)))
    geography = Geography(
        commune_code=METROPOLE_CODE,
        commune_name=METROPOLE_NAME,
        commune=whole,
        arrondissements=units,
        quartiers=marseille.quartiers,
        origin=f"metropole-synthetique:{seed}:{marseille.origin}",
    )
    return Metropole(geography, communes)


def planted_specs(metropole: Metropole) -> tuple[PlantedSpec, ...]:
    """Planted items outside Marseille, at the centres of synthetic communes.

    A persistent dumping hot spot in the most populated one, an emerging rodeo hot spot in the
    second, a control area in the fifth (they add to Marseille's items of
    :data:`geotranquil.synth.planted.SPECS`).

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> specs = planted_specs(build_metropole(load_geography(None), seed=1))
    >>> [s.kind for s in specs], all(s.arrondissement >= "13301" for s in specs)
    (['persistent', 'emerging', 'control'], True)
    """
    others = metropole.communes.iloc[1:].sort_values(
        ["population", "code"], ascending=[False, True]
    )
    first, second, fifth = (others.iloc[i] for i in (0, 1, 4))

    def slug(row: pd.Series) -> str:
        return slugify(str(row["name"])).replace("-", "_")

    return (
        PlantedSpec(
            name=f"depots_sauvages_{slug(first)}",
            kind=PERSISTENT,
            lon=float(first["centre_lon"]),
            lat=float(first["centre_lat"]),
            arrondissement=str(first["code"]),
            radius_m=250,
            categories=("depot_sauvage",),
            profile=TimeProfile("day", "none", "flat"),
            multiplier=16.0,
            floor_all=0.6,
        ),
        PlantedSpec(
            name=f"rodeos_{slug(second)}",
            kind=EMERGING,
            lon=float(second["centre_lon"]),
            lat=float(second["centre_lat"]),
            arrondissement=str(second["code"]),
            radius_m=250,
            categories=("rodeo_urbain", "occupation_illicite"),
            profile=TimeProfile("evening", "weekend", "flat"),
            multiplier=15.0,
            floor_all=4.0,
        ),
        PlantedSpec(
            name=f"temoin_{slug(fifth)}",
            kind=CONTROL,
            lon=float(fifth["centre_lon"]),
            lat=float(fifth["centre_lat"]),
            arrondissement=str(fifth["code"]),
            radius_m=400,
            categories=CATEGORIES,
            profile=TimeProfile(),
            multiplier=1.0,
            floor_all=0.0,
        ),
    )


def write_geography(metropole: Metropole, directory: Path) -> Path:
    """Write the Métropole as reference files (``geotranquil areas load`` reads them).

    The outline is the commune, Marseille's arrondissements and the other communes are the
    arrondissements (with their populations), Marseille's quartiers are kept when known.
    """
    directory.mkdir(parents=True, exist_ok=True)
    geo = metropole.geography

    def collection(features: Sequence[Mapping[str, object]]) -> str:
        return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)

    commune = {
        "type": "Feature",
        "properties": {"code": geo.commune_code, "nom": geo.commune_name},
        "geometry": mapping(geo.commune),
    }
    (directory / COMMUNE_FILE).write_text(collection([commune]), encoding="utf-8")
    units = [
        {
            "type": "Feature",
            "properties": {"code": str(r.code), "nom": str(r.name)},
            "geometry": mapping(r.geometry),
        }
        for r in geo.arrondissements.itertuples()
    ]
    (directory / ARRONDISSEMENTS_FILE).write_text(collection(units), encoding="utf-8")
    with (directory / POPULATION_FILE).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code_insee", "code_postal", "population"])
        for r in geo.arrondissements.itertuples():
            writer.writerow([r.code, r.postcode or "", int(r.population)])
    if len(geo.quartiers):
        quartiers = [
            {
                "type": "Feature",
                "properties": {"depco": str(q.arrondissement_code), "nom_qua": str(q.name)},
                "geometry": mapping(q.geometry),
            }
            for q in geo.quartiers.itertuples()
        ]
        (directory / QUARTIERS_FILE).write_text(collection(quartiers), encoding="utf-8")
    return directory
