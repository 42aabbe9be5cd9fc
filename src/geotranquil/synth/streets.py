"""A synthetic but plausible street network with house numbers, and address lookup.

Each arrondissement gets 10 to 25 short streets (2 to 5 vertices, 200 m to 1.5 km) lying inside
it: well-known Marseille streets near their real places, completed by generated French names.
House numbers run from the start of the street, odd on the left and even on the right.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely import LineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from geotranquil.geography.reference import Geography
from geotranquil.synth.area import FloatArray, IntArray, StudyArea, geom_to_wgs84, to_l93, to_wgs84
from geotranquil.synth.intensity import SpatialModel

MIN_LENGTH_M: Final = 200.0
MAX_LENGTH_M: Final = 1500.0
#: Distance of a house-number point from the street axis (m).
HOUSE_OFFSET_M: Final = 6.0

#: Well-known streets near their real places (lon, lat vertices).
KNOWN_STREETS: Final[tuple[tuple[str, tuple[tuple[float, float], ...]], ...]] = (
    ("La Canebière", ((5.3752, 43.2960), (5.3800, 43.2975), (5.3850, 43.2993))),
    ("Rue de Rome", ((5.3790, 43.2955), (5.3808, 43.2910), (5.3830, 43.2865))),
    ("Cours Julien", ((5.3825, 43.2948), (5.3836, 43.2922))),
    ("Rue d'Aubagne", ((5.3800, 43.2955), (5.3815, 43.2920))),
    ("Rue des Feuillants", ((5.3815, 43.2985), (5.3830, 43.2962))),
    ("Rue Saint-Ferréol", ((5.3778, 43.2957), (5.3786, 43.2910))),
    ("Quai du Port", ((5.3655, 43.2955), (5.3700, 43.2962), (5.3745, 43.2963))),
    ("Quai de Rive-Neuve", ((5.3660, 43.2925), (5.3705, 43.2935), (5.3745, 43.2945))),
    ("Boulevard de la Libération", ((5.3870, 43.3002), (5.3930, 43.3020), (5.3985, 43.3040))),
    ("Boulevard Longchamp", ((5.3855, 43.3012), (5.3905, 43.3032), (5.3950, 43.3052))),
    ("Rue Paradis", ((5.3778, 43.2950), (5.3783, 43.2880), (5.3790, 43.2820))),
    ("Avenue du Prado", ((5.3825, 43.2830), (5.3795, 43.2760), (5.3770, 43.2720))),
    ("Boulevard National", ((5.3795, 43.3055), (5.3860, 43.3068), (5.3930, 43.3085))),
    ("Rue de la République", ((5.3735, 43.2968), (5.3700, 43.3000), (5.3660, 43.3040))),
    ("Boulevard des Dames", ((5.3680, 43.3035), (5.3720, 43.3038), (5.3760, 43.3042))),
    ("Corniche Kennedy", ((5.3590, 43.2870), (5.3605, 43.2800), (5.3640, 43.2730))),
    ("Boulevard Michelet", ((5.3870, 43.2790), (5.3895, 43.2720), (5.3915, 43.2660))),
    ("Rue Belle-de-Mai", ((5.3860, 43.3100), (5.3890, 43.3130), (5.3920, 43.3160))),
    ("Avenue Roger Salengro", ((5.3740, 43.3110), (5.3750, 43.3170), (5.3760, 43.3230))),
    ("Boulevard Baille", ((5.3860, 43.2880), (5.3930, 43.2885), (5.4000, 43.2890))),
    ("Rue de la Loubière", ((5.3905, 43.2905), (5.3920, 43.2945))),
    ("Avenue de la Timone", ((5.3975, 43.2895), (5.4020, 43.2880), (5.4070, 43.2860))),
    ("Boulevard Sakakini", ((5.3985, 43.2975), (5.4020, 43.2950), (5.4050, 43.2925))),
    ("Boulevard de la Blancarde", ((5.4010, 43.2980), (5.4060, 43.2995), (5.4110, 43.3010))),
    ("Avenue de Mazargues", ((5.3890, 43.2640), (5.3940, 43.2560), (5.3990, 43.2490))),
    ("Boulevard de Sainte-Marguerite", ((5.4030, 43.2610), (5.4060, 43.2560), (5.4100, 43.2510))),
    ("Avenue de Luminy", ((5.4300, 43.2420), (5.4320, 43.2370), (5.4350, 43.2330))),
    ("Boulevard de Saint-Loup", ((5.4230, 43.2810), (5.4280, 43.2785), (5.4330, 43.2760))),
    ("Avenue des Caillols", ((5.4300, 43.3000), (5.4380, 43.3010), (5.4450, 43.3020))),
    ("Boulevard de Saint-Marcel", ((5.4600, 43.2880), (5.4650, 43.2870), (5.4700, 43.2865))),
    ("Avenue de Saint-Menet", ((5.4950, 43.2890), (5.5000, 43.2905), (5.5050, 43.2920))),
    ("Avenue de Saint-Just", ((5.4050, 43.3150), (5.4090, 43.3200), (5.4120, 43.3250))),
    ("Avenue de la Rose", ((5.4200, 43.3400), (5.4260, 43.3440), (5.4320, 43.3470))),
    ("Chemin de Château-Gombert", ((5.4400, 43.3560), (5.4440, 43.3610), (5.4490, 43.3650))),
    ("Avenue du Merlan", ((5.3970, 43.3400), (5.4010, 43.3430), (5.4060, 43.3450))),
    ("Boulevard Capitaine Gèze", ((5.3700, 43.3300), (5.3750, 43.3320), (5.3790, 43.3340))),
    ("Rue de Lyon", ((5.3690, 43.3300), (5.3670, 43.3380), (5.3650, 43.3460))),
    ("Chemin du Littoral", ((5.3600, 43.3330), (5.3550, 43.3380), (5.3510, 43.3420))),
    ("Chemin de la Madrague-Ville", ((5.3610, 43.3340), (5.3630, 43.3390), (5.3650, 43.3430))),
    ("Avenue de Saint-Louis", ((5.3600, 43.3500), (5.3640, 43.3530), (5.3680, 43.3560))),
    ("Boulevard Henri Barnier", ((5.3500, 43.3600), (5.3550, 43.3650), (5.3600, 43.3700))),
    ("Boulevard Fenouil", ((5.3160, 43.3600), (5.3210, 43.3615), (5.3260, 43.3630))),
)

#: Street types: (type, weight in the centre, weight elsewhere).
STREET_TYPES: Final[tuple[tuple[str, float, float], ...]] = (
    ("Rue", 0.55, 0.25),
    ("Boulevard", 0.15, 0.12),
    ("Avenue", 0.08, 0.10),
    ("Impasse", 0.08, 0.08),
    ("Traverse", 0.04, 0.20),
    ("Chemin", 0.0, 0.18),
    ("Allée", 0.07, 0.04),
    ("Montée", 0.03, 0.03),
)
#: Name complements, as they follow the street type.
NAME_PARTS: Final[tuple[str, ...]] = (
    "des Lilas",
    "des Oliviers",
    "de la Martine",
    "du Moulin",
    "des Pins",
    "de la Fontaine",
    "des Platanes",
    "des Mimosas",
    "des Tilleuls",
    "des Cigales",
    "de la Source",
    "du Vallon",
    "de l'Église",
    "du Marché",
    "des Écoles",
    "des Jardins",
    "du Pont",
    "des Capucins",
    "Saint-Pierre",
    "Sainte-Anne",
    "Saint-Joseph",
    "Saint-Antoine",
    "Jean Jaurès",
    "Victor Hugo",
    "Pasteur",
    "Émile Zola",
    "Jules Ferry",
    "Édouard Herriot",
    "Frédéric Mistral",
    "Marcel Pagnol",
    "Edmond Rostand",
    "Paul Cézanne",
    "du Lavoir",
    "des Bergers",
    "de la Bastide",
    "du Castellet",
    "des Accoules",
    "de la Treille",
    "des Peupliers",
    "de la Verrerie",
    "des Amandiers",
    "des Figuiers",
    "de la Calade",
    "du Belvédère",
    "des Romarins",
    "de la Garrigue",
    "des Genêts",
    "de l'Huveaune",
    "des Mûriers",
    "du Four",
    "du Puits",
    "de la Croix",
    "des Tuileries",
    "des Pêcheurs",
    "des Tamaris",
    "des Bessons",
    "du Commandeur",
    "de la Bigotte",
    "des Grives",
    "du Tonkin",
    "de la Nerthe",
    "des Aires",
    "des Restanques",
    "du Colombier",
    "de la Pinède",
    "des Micocouliers",
    "de la Rouguière",
    "du Docteur Escat",
    "Louis Armand",
    "Albert Camus",
    "Jean Moulin",
    "Pierre Brossolette",
    "Gaston Crémieux",
    "Camille Pelletan",
    "Simone Veil",
    "Lucie Aubrac",
    "Rosa Parks",
    "du Stade",
    "de la Poste",
    "des Abeilles",
    "de la Gineste",
    "des Trois-Lucs",
    "de la Valbarelle",
    "des Olives",
    "de Saint-Jérôme",
    "de la Viste",
    "des Aygalades",
    "de Verduron",
    "de Séon",
    "du Canet",
    "de Montolivet",
    "de la Pomme",
    "des Camoins",
)
#: Arrondissements counted as "the centre" for the choice of street types.
CENTRAL: Final = ("13201", "13202", "13203", "13204", "13205", "13206", "13207")


@dataclass(frozen=True)
class Street:
    name: str
    arr: int
    line: LineString  # Lambert-93
    spacing: float


def _arr_land(area: StudyArea) -> list[BaseGeometry]:
    out: list[BaseGeometry] = []
    for g in area.arr_geoms:
        part = shapely.intersection(g, area.inner).buffer(-1.0)
        shapely.prepare(part)
        out.append(part)
    return out


def _longest_line(geom: BaseGeometry) -> LineString | None:
    parts = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, LineString)]
    parts = [p for p in parts if not p.is_empty]
    if not parts:
        return None
    return max(parts, key=lambda p: p.length)


def _known(area: StudyArea, lands: list[BaseGeometry]) -> list[tuple[str, int, LineString]]:
    out = []
    for name, coords in KNOWN_STREETS:
        lon, lat = np.array(coords).T
        x, y = to_l93(lon, lat)
        line = LineString(np.column_stack([x, y]))
        mid = line.interpolate(0.5, normalized=True)
        a = int(area.arrondissement_of(np.array([mid.x]), np.array([mid.y]))[0])
        clipped = _longest_line(shapely.intersection(line, lands[a]))
        if clipped is None or clipped.length < MIN_LENGTH_M:
            continue
        if clipped.length > MAX_LENGTH_M:
            piece = substring(clipped, 0, MAX_LENGTH_M)
            if not isinstance(piece, LineString):
                continue
            clipped = piece
        coords2 = np.asarray(clipped.coords)
        if len(coords2) > 5:
            clipped = LineString(coords2[np.linspace(0, len(coords2) - 1, 5).round().astype(int)])
        out.append((name, a, clipped))
    return out


def _street_count(area_km2: float) -> int:
    return int(np.clip(10 + round(np.sqrt(area_km2) * 2.5), 10, 25))


def _random_line(
    rng: np.random.Generator, start: tuple[float, float], land: BaseGeometry, central: bool
) -> LineString | None:
    for _ in range(30):
        n_pts = int(rng.integers(2, 6))
        length = rng.uniform(MIN_LENGTH_M, 800.0 if central else MAX_LENGTH_M)
        seg = length / (n_pts - 1) * rng.uniform(0.8, 1.2, n_pts - 1)
        seg *= length / seg.sum()
        heading = rng.uniform(0, 2 * np.pi) + np.concatenate(
            [[0.0], np.cumsum(rng.normal(0, np.radians(20), n_pts - 2))]
        )
        xs = start[0] + np.concatenate([[0.0], np.cumsum(seg * np.cos(heading))])
        ys = start[1] + np.concatenate([[0.0], np.cumsum(seg * np.sin(heading))])
        line = LineString(np.column_stack([xs, ys]))
        if land.contains(line):
            return line
    return None


def _pick_name(rng: np.random.Generator, central: bool, used: set[str]) -> str:
    types = [t[0] for t in STREET_TYPES]
    w = np.array([t[1] if central else t[2] for t in STREET_TYPES])
    for _ in range(200):
        kind = types[int(rng.choice(len(types), p=w / w.sum()))]
        part = NAME_PARTS[int(rng.integers(len(NAME_PARTS)))]
        name = f"{kind} {part}"
        if name not in used:
            used.add(name)
            return name
    n = len(used)
    name = f"Traverse n° {n}"
    used.add(name)
    return name


def build_streets(area: StudyArea, spatial: SpatialModel, rng: np.random.Generator) -> list[Street]:
    """Generate the street network of a study area (Lambert-93)."""
    lands = _arr_land(area)
    streets: list[Street] = []
    used_in: dict[str, set[str]] = {}  # street names are unique within a commune
    known = _known(area, lands)
    residents = spatial.kernels["residents"]
    for a, code in enumerate(area.arr_codes):
        used = used_in.setdefault(area.unit_communes[a] if area.unit_communes else "", set())
        mine = [(n, ln) for n, aa, ln in known if aa == a]
        for name, known_line in mine:
            used.add(name)
            streets.append(Street(name, a, known_line, float(rng.uniform(8.0, 16.0))))
        cells = np.flatnonzero(spatial.cell_arr == a)
        if cells.size == 0 or lands[a].is_empty:
            raise ValueError(f"arrondissement {code} has no land")
        target = _street_count(lands[a].area / 1e6)
        central = code in CENTRAL
        p = residents[cells] + 1e-12
        p = p / p.sum()
        made = len(mine)
        attempts = 0
        while made < target and attempts < 400:
            attempts += 1
            c = int(rng.choice(cells, p=p))
            start = (
                float(spatial.cx[c] + rng.uniform(-20, 20)),
                float(spatial.cy[c] + rng.uniform(-20, 20)),
            )
            line = _random_line(rng, start, lands[a], central)
            if line is None:
                continue
            name = _pick_name(rng, central, used)
            streets.append(Street(name, a, line, float(rng.uniform(8.0, 20.0))))
            made += 1
        if made == 0:
            raise ValueError(f"no street could be drawn in arrondissement {code}")
    return streets


def _max_number(length: float, spacing: float) -> int:
    # The lookup rounds the position to the nearest number slot: the last slot is rint(L / s).
    return 2 * int(np.rint(length / spacing)) + 2


def network_frame(area: StudyArea, streets: list[Street]) -> gpd.GeoDataFrame:
    """The network as a GeoDataFrame in EPSG:4326."""
    return gpd.GeoDataFrame(
        {
            "street_id": np.arange(1, len(streets) + 1),
            "name": [s.name for s in streets],
            "postcode": [area.arr_postcodes[s.arr] for s in streets],
            "arrondissement_code": [area.arr_codes[s.arr] for s in streets],
            "max_number": [_max_number(s.line.length, s.spacing) for s in streets],
            "spacing_m": [round(s.spacing, 3) for s in streets],
        },
        geometry=[geom_to_wgs84(s.line) for s in streets],
        crs=4326,
    )


def structure_rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Random streams of the city's structure (residential cores, streets) for a seed."""
    return np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])


def street_network(geography: Geography, seed: int) -> gpd.GeoDataFrame:
    """The synthetic street network used by :func:`geotranquil.synth.generate` for a seed.

    Parameters
    ----------
    geography
        Commune and arrondissements.
    seed
        The same seed as the one given to ``generate`` gives the same network.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per street: ``street_id``, ``name``, ``postcode``, ``arrondissement_code``,
        ``max_number`` (highest house number), ``spacing_m`` (frontage of one number, along
        the street) and a LineString ``geometry`` in EPSG:4326. Odd numbers are on the left
        of the street's direction, even numbers on the right; number ``n`` sits at
        ``((n - 1) // 2) * spacing_m`` metres from the start.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> net = street_network(load_geography(None), seed=1)
    >>> bool(net.groupby("postcode").size().between(10, 25).all())
    True
    >>> "La Canebière" in set(net["name"])
    True
    """
    area = StudyArea.from_geography(geography)
    rng_space, rng_streets = structure_rngs(seed)
    spatial = SpatialModel(area, rng_space)
    return network_frame(area, build_streets(area, spatial, rng_streets))


def house_numbers(network: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every house number of a network with its position (for an address file).

    Returns a DataFrame ``street_id, name, postcode, number, lon, lat``; each number is placed
    :data:`HOUSE_OFFSET_M` metres off the street axis on its side.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> net = street_network(load_geography(None), seed=1)
    >>> numbers = house_numbers(net)
    >>> int(numbers.groupby("street_id")["number"].max().sum()) == int(net["max_number"].sum())
    True
    """
    parts: dict[str, list[NDArray[np.generic]]] = {
        k: [] for k in ("street_id", "name", "postcode", "number", "lon", "lat")
    }
    for sid, name, postcode, max_no, spacing, geom in zip(
        network["street_id"],
        network["name"],
        network["postcode"],
        network["max_number"],
        network["spacing_m"],
        network.geometry,
        strict=True,
    ):
        lon, lat = np.asarray(geom.coords).T
        x, y = to_l93(lon, lat)
        line = LineString(np.column_stack([x, y]))
        numbers = np.arange(1, int(max_no) + 1)
        u = np.minimum((numbers - 1) // 2 * float(spacing), line.length)
        pts = shapely.line_interpolate_point(line, u)
        ahead = shapely.line_interpolate_point(line, np.minimum(u + 1.0, line.length))
        behind = shapely.line_interpolate_point(line, np.maximum(u - 1.0, 0.0))
        dx = shapely.get_x(ahead) - shapely.get_x(behind)
        dy = shapely.get_y(ahead) - shapely.get_y(behind)
        norm = np.hypot(dx, dy)
        norm[norm == 0] = 1.0
        left = np.where(numbers % 2 == 1, 1.0, -1.0)
        px = shapely.get_x(pts) - dy / norm * HOUSE_OFFSET_M * left
        py = shapely.get_y(pts) + dx / norm * HOUSE_OFFSET_M * left
        plon, plat = to_wgs84(px, py)
        parts["street_id"].append(np.full(numbers.size, sid, dtype=np.int64))
        parts["name"].append(np.full(numbers.size, name, dtype=object))
        parts["postcode"].append(np.full(numbers.size, postcode, dtype=object))
        parts["number"].append(numbers)
        parts["lon"].append(plon.round(6))
        parts["lat"].append(plat.round(6))
    return pd.DataFrame({k: np.concatenate(v) for k, v in parts.items()})


@dataclass
class Addresses:
    """Nearest address of each point: street index, house number, and distance to the street."""

    street: IntArray
    number: IntArray
    distance: FloatArray


class Addresser:
    """Finds, for points, the nearest street of their arrondissement and the house number."""

    def __init__(self, streets: list[Street]) -> None:
        self.streets = streets
        self._segments: dict[int, NDArray[np.float64]] = {}
        by_arr: dict[int, list[list[float]]] = {}
        for i, s in enumerate(streets):
            c = np.asarray(s.line.coords)
            cum = 0.0
            for (x1, y1), (x2, y2) in itertools.pairwise(c):
                by_arr.setdefault(s.arr, []).append([x1, y1, x2, y2, float(i), cum, s.spacing])
                cum += float(np.hypot(x2 - x1, y2 - y1))
        for a, rows in by_arr.items():
            self._segments[a] = np.array(rows, dtype=float)

    def lookup(self, x: FloatArray, y: FloatArray, arr: IntArray) -> Addresses:
        """Address of each point (its arrondissement ``arr`` decides where to look)."""
        n = x.size
        street = np.zeros(n, np.int64)
        number = np.zeros(n, np.int64)
        dist = np.zeros(n)
        for a in np.unique(arr):
            seg = self._segments[int(a)]
            idx = np.flatnonzero(arr == a)
            for chunk in np.array_split(idx, max(1, idx.size // 20000 + 1)):
                if chunk.size == 0:
                    continue
                px = x[chunk][:, None]
                py = y[chunk][:, None]
                ax, ay, bx, by = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
                dx, dy = bx - ax, by - ay
                len2 = dx * dx + dy * dy
                tau = np.clip(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
                qx = ax + tau * dx
                qy = ay + tau * dy
                d2 = (px - qx) ** 2 + (py - qy) ** 2
                best = np.argmin(d2, axis=1)
                rows = np.arange(chunk.size)
                t_best = tau[rows, best]
                u = seg[best, 5] + t_best * np.sqrt(len2[best])
                cross = dx[best] * (py[:, 0] - ay[best]) - dy[best] * (px[:, 0] - ax[best])
                spacing = seg[best, 6]
                k = np.rint(u / spacing).astype(np.int64)
                street[chunk] = seg[best, 4].astype(np.int64)
                number[chunk] = 2 * k + np.where(cross >= 0, 1, 2)
                dist[chunk] = np.sqrt(d2[rows, best])
        return Addresses(street, number, dist)
