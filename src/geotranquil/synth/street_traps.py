"""Real-world traps for a geocoder, added to the synthetic BAN of Marseille (issue 17).

The random network of :mod:`geotranquil.synth.streets` has one street per name and only
well-separated names. Real Marseille does not: :func:`trap_ban` adds BAN rows for

- **split streets**: one name on both sides of an arrondissement boundary, one BAN street per
  arrondissement (two street keys, two postcodes), the numbers of the second piece following
  on from the first (:data:`SPLIT_STREETS`);
- **near-homonyms** one arrondissement apart ("Rue Brandis" / "Rue Paradis") and **homonyms
  once folded** ("Rue de Tours" / "Rue des Tours", "Rue Sainte-Cécile" / "Rue Sainte Cécile");
- **names ending in a country or region** ("Impasse Jeune France", "Rue d'Italie");
- **one name, two types** in one arrondissement ("Impasse Honnorat" / "Rue Honnorat");
- **a street named after a place that is not in the BAN** ("Rue du Château d'If"), the place
  itself being listed in :data:`ABSENT_PLACES` (a query naming it has no right answer).

Positions are drawn inside the real arrondissements (Lambert-93 geometry of the study area);
the rows have the columns of :data:`geotranquil.geocode.ban.ADDRESS_COLUMNS` and street keys
``<insee>_9NNN`` that the random network never uses.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import LineString, Point

from geotranquil.geography.reference import Geography
from geotranquil.synth.area import StudyArea, geom_to_wgs84
from geotranquil.synth.ban import ban_frame

#: (name, arrondissement of the first piece, arrondissement of the second piece)
SPLIT_STREETS: Final[tuple[tuple[str, int, int], ...]] = (
    ("Boulevard Chave", 5, 4),
    ("Rue Sainte", 1, 7),
    ("Rue Breteuil", 6, 8),
    ("Boulevard de la Fourragère", 11, 12),
    ("Chemin de Sainte-Marthe", 14, 13),
    ("Boulevard de Paris", 2, 3),
)
#: (name, arrondissement): single streets set as traps for one another
SINGLE_STREETS: Final[tuple[tuple[str, int], ...]] = (
    ("Rue Brandis", 5),  # Rue Paradis is in the 6th
    ("Rue de Tours", 1),
    ("Rue des Tours", 4),
    ("Avenue de Jarre", 9),
    ("Avenue de la Jarre", 9),
    ("Rue Sainte-Cécile", 5),
    ("Rue Sainte Cécile", 10),
    ("Impasse Jeune France", 4),
    ("Traverse de la Nouvelle France", 15),
    ("Rue d'Italie", 6),
    ("Impasse Honnorat", 3),
    ("Rue Honnorat", 3),
    ("Rue du Château d'If", 7),
    ("Montée des Oblats", 7),
    ("Traverse du Parc Chanot", 8),
)
#: Real landmarks of Marseille that are not in the (synthetic) BAN: (name, lon, lat).
ABSENT_PLACES: Final[tuple[tuple[str, float, float], ...]] = (
    ("Château d'If", 5.3254, 43.2797),
    ("Parc Chanot", 5.3917, 43.2727),
    ("Îles du Frioul", 5.3000, 43.2800),
    ("Calanque de Sormiou", 5.4180, 43.2110),
    ("Mucem", 5.3608, 43.2966),
    ("Cité radieuse", 5.3962, 43.2616),
    ("Stade Delort", 5.3911, 43.2685),
    ("Hôpital Nord", 5.3918, 43.3793),
    ("Gare de l'Estaque", 5.3160, 43.3630),
    ("Parc de la Colline Saint-Joseph", 5.3995, 43.3290),
)
FIRST_KEY: Final = 9001
SPACING_M: Final = 12.0


def _piece(land: shapely.Geometry, line: LineString) -> LineString | None:
    got = shapely.intersection(land, line)
    parts = [g for g in getattr(got, "geoms", [got]) if isinstance(g, LineString) and g.length]
    return max(parts, key=lambda g: g.length) if parts else None


def _split_line(area: StudyArea, a: int, b: int) -> tuple[LineString, LineString] | None:
    """Two pieces of one straight street crossing the boundary of arrondissements a and b."""
    ga, gb = area.arr_geoms[a], area.arr_geoms[b]
    seam = shapely.intersection(ga.buffer(2.0), gb.buffer(2.0))
    if seam.is_empty:
        return None
    p = shapely.point_on_surface(seam)
    disk = Point(p.x, p.y).buffer(300.0)
    ca = shapely.centroid(shapely.intersection(ga, disk))
    cb = shapely.centroid(shapely.intersection(gb, disk))
    u = np.array([cb.x - ca.x, cb.y - ca.y])
    if not np.isfinite(u).all() or np.hypot(*u) == 0:
        return None
    u /= np.hypot(*u)
    line = LineString([(p.x - 450 * u[0], p.y - 450 * u[1]), (p.x + 450 * u[0], p.y + 450 * u[1])])
    one = _piece(shapely.intersection(ga, area.inner), line)
    two = _piece(shapely.intersection(gb, area.inner), line)
    if one is not None and two is not None and min(one.length, two.length) >= 150.0:
        return one, two
    return None


def _single_line(area: StudyArea, a: int, rng: np.random.Generator) -> LineString | None:
    land = shapely.intersection(area.arr_geoms[a], area.inner).buffer(-5.0)
    p = shapely.point_on_surface(land)
    for _ in range(60):
        q = Point(p.x + rng.uniform(-1500, 1500), p.y + rng.uniform(-1500, 1500))
        if not land.contains(q):
            continue
        h = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(250.0, 500.0)
        line = LineString([(q.x, q.y), (q.x + length * np.cos(h), q.y + length * np.sin(h))])
        if land.contains(line):
            return line
    return None


def trap_ban(geography: Geography, seed: int = 0) -> pd.DataFrame:
    """BAN rows of the trap streets (columns of ``ADDRESS_COLUMNS``), sorted by id.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> rows = trap_ban(load_geography(None), seed=1)
    >>> chave = rows[rows["nom_voie"] == "Boulevard Chave"]
    >>> sorted(set(chave["code_postal"]))
    ['13004', '13005']
    >>> first, second = (g["numero"] for _, g in chave.groupby("code_postal", sort=False))
    >>> bool(second.min() > first.max()) or bool(first.min() > second.max())
    True
    """
    area = StudyArea.from_geography(geography)
    index = {int(code) - 13200: i for i, code in enumerate(area.arr_codes)}
    rng = np.random.default_rng([seed, 17])
    pieces: list[tuple[str, int, LineString, int]] = []  # name, arr index, line, first number
    for name, a, b in SPLIT_STREETS:
        got = _split_line(area, index[a], index[b])
        if got is None:
            continue
        one, two = got
        if one.distance(Point(two.coords[0])) > one.distance(Point(two.coords[-1])):
            two = LineString(list(two.coords)[::-1])  # the second piece goes on from the first
        if Point(one.coords[0]).distance(two) < Point(one.coords[-1]).distance(two):
            one = LineString(list(one.coords)[::-1])
        pieces.append((name, index[a], one, 1))
        pieces.append((name, index[b], two, 2 * int(np.rint(one.length / SPACING_M)) + 3))
    for name, a in SINGLE_STREETS:
        line = _single_line(area, index[a], rng)
        if line is not None:
            pieces.append((name, index[a], line, 1))
    ids = np.arange(FIRST_KEY, FIRST_KEY + len(pieces))
    network = gpd.GeoDataFrame(
        {
            "street_id": ids,
            "name": [p[0] for p in pieces],
            "postcode": [area.arr_postcodes[p[1]] for p in pieces],
            "arrondissement_code": [area.arr_codes[p[1]] for p in pieces],
            "max_number": [2 * int(np.rint(p[2].length / SPACING_M)) + 2 for p in pieces],
            "spacing_m": SPACING_M,
        },
        geometry=[geom_to_wgs84(p[2]) for p in pieces],
        crs=4326,
    )
    rows = ban_frame(network, ())
    offset = pd.Series({sid: p[3] - 1 for sid, p in zip(ids, pieces, strict=True)})
    sid = rows["street_key"].str.split("_").str[1].astype(int)
    rows["numero"] = rows["numero"] + offset.reindex(sid).to_numpy()
    rows["id"] = [
        f"{k}_{n:05d}{'_' + r if r else ''}"
        for k, n, r in zip(rows["street_key"], rows["numero"], rows["rep"], strict=True)
    ]
    return rows.sort_values("id", kind="stable", ignore_index=True)
