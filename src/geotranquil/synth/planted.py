"""Planted ground truth: persistent, emerging and fading hot spots, and control areas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import h3
import numpy as np

from geotranquil.synth.area import StudyArea, to_l93, to_wgs84
from geotranquil.synth.intensity import (
    ACTIVITY_CENTRES,
    EventArrays,
    SpatialModel,
    expected_background,
)
from geotranquil.synth.timegrid import TimeGrid, TimeProfile, add_months
from geotranquil.synth.vocab import CATEGORIES, CATEGORY_INDEX

PERSISTENT: Final = "persistent"
EMERGING: Final = "emerging"
FADING: Final = "fading"
CONTROL: Final = "control"

#: Minimum distance between planted items, and from a control to an activity centre (m).
MIN_SEPARATION_M: Final = 1500.0
#: Minimum distance from an item's centre to the commune boundary (m).
MIN_DEPTH_M: Final = 500.0
#: H3 resolution of the cell lists.
H3_RES: Final = 9


@dataclass(frozen=True)
class PlantedSpec:
    """What to plant: a nominal place, a radius, categories, a time profile and a strength.

    ``multiplier`` is the minimum ratio (background + excess) / background for the item's
    categories; ``floor_all`` makes the excess at least that many times the local background of
    *all* categories, so the spot also stands out in an all-category analysis.
    """

    name: str
    kind: str
    lon: float
    lat: float
    arrondissement: str
    radius_m: float
    categories: tuple[str, ...]
    profile: TimeProfile
    multiplier: float
    floor_all: float


SPECS: Final[tuple[PlantedSpec, ...]] = (
    PlantedSpec(
        name="point_de_deal_belle_de_mai",
        kind=PERSISTENT,
        lon=5.3840,
        lat=43.3140,
        arrondissement="13203",
        radius_m=250,
        categories=("trafic_stupefiants",),
        profile=TimeProfile("afternoon", "none", "flat"),
        multiplier=8.0,
        floor_all=0.6,
    ),
    PlantedSpec(  # La Plaine, 400 m east of Cours Julien: night life
        name="rixes_la_plaine",
        kind=PERSISTENT,
        lon=5.3880,
        lat=43.2940,
        arrondissement="",
        radius_m=250,
        categories=("rixe_violence",),
        profile=TimeProfile("night", "weekend_night", "flat"),
        multiplier=5.0,
        floor_all=0.3,
    ),
    PlantedSpec(
        name="depots_sauvages_saint_louis",
        kind=PERSISTENT,
        lon=5.3650,
        lat=43.3520,
        arrondissement="13215",
        radius_m=250,
        categories=("depot_sauvage",),
        profile=TimeProfile("day", "none", "flat"),
        multiplier=16.0,
        floor_all=0.6,
    ),
    PlantedSpec(
        name="rodeos_le_merlan",
        kind=EMERGING,
        lon=5.3990,
        lat=43.3420,
        arrondissement="13214",
        radius_m=250,
        categories=("rodeo_urbain", "occupation_illicite"),
        profile=TimeProfile("evening", "weekend", "flat"),
        multiplier=15.0,
        floor_all=4.0,
    ),
    PlantedSpec(
        name="degradations_la_capelette",
        kind=FADING,
        lon=5.4000,
        lat=43.2810,
        arrondissement="13210",
        radius_m=250,
        categories=("tag_graffiti", "degradation_bien_public"),
        profile=TimeProfile("night", "none", "flat"),
        multiplier=6.0,
        floor_all=1.0,
    ),
    PlantedSpec(
        name="temoin_saint_barnabe",
        kind=CONTROL,
        lon=5.4180,
        lat=43.3030,
        arrondissement="13212",
        radius_m=400,
        categories=CATEGORIES,
        profile=TimeProfile(),
        multiplier=1.0,
        floor_all=0.0,
    ),
    PlantedSpec(
        name="temoin_mazargues",
        kind=CONTROL,
        lon=5.3950,
        lat=43.2480,
        arrondissement="13209",
        radius_m=400,
        categories=CATEGORIES,
        profile=TimeProfile(),
        multiplier=1.0,
        floor_all=0.0,
    ),
    PlantedSpec(
        name="temoin_saint_just",
        kind=CONTROL,
        lon=5.4150,
        lat=43.3280,
        arrondissement="13213",
        radius_m=400,
        categories=CATEGORIES,
        profile=TimeProfile(),
        multiplier=1.0,
        floor_all=0.0,
    ),
)


@dataclass(frozen=True)
class PlacedItem:
    """A planted item at its final place, with its window and its expected counts."""

    spec: PlantedSpec
    x: float
    y: float
    lon: float
    lat: float
    arrondissement: str
    window: tuple[int, int]  # local day indices [start, end)
    expected_background: float
    expected_excess: float
    h3_res9: tuple[int, ...]

    @property
    def multiplier(self) -> float:
        """Effective ratio (background + excess) / background for the item's categories."""
        if self.expected_background <= 0:
            return 1.0
        return (self.expected_background + self.expected_excess) / self.expected_background


def item_window(kind: str, months_days: list[int], n_days: int) -> tuple[int, int]:
    """Day window of an item kind; ``months_days[m]`` is the first day of month ``m``."""
    months = len(months_days) - 1
    if kind == EMERGING:
        k = min(4, max(1, months // 3))
        return months_days[months - k], n_days
    if kind == FADING:
        k = min(12, max(1, months // 2))
        return 0, months_days[k]
    return 0, n_days


def cells_within(lon: float, lat: float, radius_m: float) -> tuple[int, ...]:
    """H3 res-9 cells (as integers) whose centres lie within ``radius_m`` of a point.

    Examples
    --------
    >>> cells = cells_within(5.3745, 43.2951, 250)
    >>> 1 <= len(cells) <= 4
    True
    """
    x0, y0 = to_l93(lon, lat)
    centre = h3.latlng_to_cell(lat, lon, H3_RES)
    ring = max(2, int(radius_m / 150) + 2)
    cells = sorted(h3.grid_disk(centre, ring))
    latlng = np.array([h3.cell_to_latlng(c) for c in cells])
    cx, cy = to_l93(latlng[:, 1], latlng[:, 0])
    inside = np.hypot(cx - x0, cy - y0) <= radius_m
    return tuple(sorted(h3.str_to_int(c) for c, ok in zip(cells, inside, strict=True) if ok))


def _place(
    spec: PlantedSpec, area: StudyArea, taken: list[tuple[float, float]]
) -> tuple[float, float]:
    """The nominal place if it fits, else the nearest fitting point (preferring its district)."""
    x0, y0 = (float(v) for v in to_l93(spec.lon, spec.lat))
    centres = [tuple(float(v) for v in to_l93(*c)) for c in ACTIVITY_CENTRES.values()]
    want = (
        area.arr_codes.index(spec.arrondissement) if spec.arrondissement in area.arr_codes else -1
    )

    def fits(x: float, y: float, strict_district: bool) -> bool:
        if area.depth(x, y) < MIN_DEPTH_M:
            return False
        if any(np.hypot(x - tx, y - ty) < MIN_SEPARATION_M for tx, ty in taken):
            return False
        if spec.kind == CONTROL and any(
            np.hypot(x - cx, y - cy) < MIN_SEPARATION_M for cx, cy in centres
        ):
            return False
        if strict_district and want >= 0:
            return int(area.arrondissement_of(np.array([x]), np.array([y]))[0]) == want
        return True

    step = 100.0
    offsets = [(0.0, 0.0)]
    for ring in range(1, 61):
        r = ring * step
        n = 8 * ring
        ang = np.arange(n) * 2 * np.pi / n
        offsets += [(float(r * np.cos(a)), float(r * np.sin(a))) for a in ang]
    for strict in (True, False):
        for dx, dy in offsets:
            if fits(x0 + dx, y0 + dy, strict):
                return x0 + dx, y0 + dy
    raise ValueError(f"no room for the planted item {spec.name}")


def place_items(
    area: StudyArea,
    spatial: SpatialModel,
    grid: TimeGrid,
    scale: float,
    specs: tuple[PlantedSpec, ...] = SPECS,
) -> list[PlacedItem]:
    """Place every planted item and compute its window and its expected counts."""
    months_days = _month_starts(grid)
    placed: list[PlacedItem] = []
    taken: list[tuple[float, float]] = []
    for spec in specs:
        x, y = _place(spec, area, taken)
        taken.append((x, y))
        lon, lat = (float(v) for v in to_wgs84(x, y))
        window = item_window(spec.kind, months_days, grid.n_days)
        bg = expected_background(spatial, grid, spec.categories, x, y, spec.radius_m, window, scale)
        excess = 0.0
        if spec.kind != CONTROL:
            bg_all = expected_background(
                spatial, grid, CATEGORIES, x, y, spec.radius_m, window, scale
            )
            excess = max((spec.multiplier - 1.0) * bg, spec.floor_all * bg_all)
        arr = area.arr_codes[int(area.arrondissement_of(np.array([x]), np.array([y]))[0])]
        placed.append(
            PlacedItem(
                spec=spec,
                x=x,
                y=y,
                lon=round(lon, 6),
                lat=round(lat, 6),
                arrondissement=arr,
                window=window,
                expected_background=bg,
                expected_excess=excess,
                h3_res9=cells_within(lon, lat, spec.radius_m),
            )
        )
    return placed


def _month_starts(grid: TimeGrid) -> list[int]:
    out = []
    m = 0
    while True:
        day = add_months(grid.start, m)
        if day >= grid.end:
            out.append(grid.n_days)
            return out
        out.append(grid.day_of(day))
        m += 1


def sample_planted(
    items: list[PlacedItem],
    spatial: SpatialModel,
    grid: TimeGrid,
    scale: float,
    rng: np.random.Generator,
) -> EventArrays:
    """Draw the excess events of the planted items (uniform in their disk, in their window)."""
    parts = []
    for index, item in enumerate(items):
        if item.expected_excess <= 0:
            continue
        spec = item.spec
        shares = np.array(
            [
                expected_background(
                    spatial, grid, (c,), item.x, item.y, spec.radius_m, item.window, scale
                )
                for c in spec.categories
            ]
        )
        shares = (
            shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1 / len(shares))
        )
        for cat, share in zip(spec.categories, shares, strict=True):
            n = int(rng.poisson(item.expected_excess * share))
            t = grid.sample(spec.profile, n, rng, item.window)
            r = spec.radius_m * np.sqrt(rng.random(n))
            theta = rng.uniform(0, 2 * np.pi, n)
            x = item.x + r * np.cos(theta)
            y = item.y + r * np.sin(theta)
            ok = spatial.area.inside(x, y)
            parts.append(
                EventArrays(
                    t[ok],
                    x[ok],
                    y[ok],
                    np.full(int(ok.sum()), CATEGORY_INDEX[cat], np.int16),
                    np.full(int(ok.sum()), index, np.int16),
                    np.zeros(int(ok.sum()), bool),
                )
            )
    return EventArrays.concat(parts)
