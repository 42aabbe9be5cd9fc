"""The background intensity of incidents in space and time, and vectorised sampling from it.

Space is a 50 m raster over the land (Lambert-93). Each *spatial kernel* is a probability over
the raster cells: residents (each arrondissement's population spread around a few residential
cores), activity centres (Gaussian mixtures around the places where people go out), the northern
arrondissements, the beaches... Each *component* of the background is one category with one
kernel, one temporal profile (:class:`~geotranquil.synth.timegrid.TimeProfile`) and a yearly
rate, so the category mix differs by place and by time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from geotranquil.synth.area import FloatArray, IntArray, StudyArea, to_l93
from geotranquil.synth.timegrid import TimeGrid, TimeProfile
from geotranquil.synth.vocab import CATEGORY_INDEX

CELL_M: Final = 50.0

#: Activity centres (lon, lat): where people go out, shop, travel.
ACTIVITY_CENTRES: Final[dict[str, tuple[float, float]]] = {
    "vieux_port": (5.3745, 43.2951),
    "cours_julien": (5.3830, 43.2935),
    "canebiere": (5.3800, 43.2975),
    "saint_charles": (5.3810, 43.3030),
    "prado_plages": (5.3720, 43.2610),
    "joliette": (5.3665, 43.3060),
}
#: The reference centre of the city (distances for the residential gradient).
CITY_CENTRE: Final = ACTIVITY_CENTRES["vieux_port"]

#: Gaussian mixtures over activity centres: kernel -> ((centre, sigma_m, weight), ...).
CENTRE_MIXTURES: Final[dict[str, tuple[tuple[str, float, float], ...]]] = {
    "nightlife": (
        ("vieux_port", 350, 0.35),
        ("cours_julien", 300, 0.35),
        ("canebiere", 300, 0.2),
        ("joliette", 300, 0.1),
    ),
    "daytime_centres": (
        ("vieux_port", 400, 0.25),
        ("canebiere", 400, 0.25),
        ("saint_charles", 350, 0.2),
        ("joliette", 400, 0.15),
        ("cours_julien", 300, 0.1),
        ("prado_plages", 500, 0.05),
    ),
    "centres_all": (
        ("vieux_port", 400, 0.2),
        ("canebiere", 400, 0.2),
        ("saint_charles", 400, 0.15),
        ("joliette", 400, 0.15),
        ("cours_julien", 350, 0.2),
        ("prado_plages", 500, 0.1),
    ),
    "beach": (("prado_plages", 600, 1.0),),
}
#: Residents-based kernels restricted to some arrondissements (INSEE codes).
RESIDENT_SUBSETS: Final[dict[str, tuple[str, ...]]] = {
    "north": ("13213", "13214", "13215", "13216"),
    "deal_areas": ("13201", "13203", "13213", "13214", "13215", "13216"),
}

#: Global multiplier of the yearly rates below (scale = 1).
BASE_RATE: Final = 1.1


@dataclass(frozen=True)
class Component:
    """One background process: a category, a spatial kernel, a time profile, a yearly rate."""

    category: str
    kernel: str
    profile: TimeProfile
    annual: float


def _c(category: str, kernel: str, hours: str, week: str, season: str, annual: float) -> Component:
    return Component(category, kernel, TimeProfile(hours, week, season), annual * BASE_RATE)


#: The background: about 26,000 events a year at scale 1 before near-repeats.
COMPONENTS: Final[tuple[Component, ...]] = (
    _c("nuisance_sonore", "residents", "night", "weekend_night", "summer_mild", 2300),
    _c("nuisance_sonore", "nightlife", "night", "weekend_night", "flat", 1100),
    _c("nuisance_sonore", "beach", "night", "weekend_night", "beach", 500),
    _c("rixe_violence", "nightlife", "night", "weekend_night", "summer_mild", 650),
    _c("rixe_violence", "residents", "night", "weekend_night", "flat", 450),
    _c("vol", "daytime_centres", "day", "none", "summer_mild", 1300),
    _c("vol", "residents", "day", "none", "flat", 700),
    _c("trafic_stupefiants", "deal_areas", "afternoon", "none", "flat", 750),
    _c("trafic_stupefiants", "residents", "afternoon", "none", "flat", 150),
    _c("occupation_illicite", "nightlife", "evening", "weekend_night", "summer_mild", 250),
    _c("occupation_illicite", "beach", "evening", "weekend_night", "beach", 250),
    _c("occupation_illicite", "residents", "evening", "none", "summer_mild", 250),
    _c("rodeo_urbain", "north", "evening", "weekend", "summer", 420),
    _c("rodeo_urbain", "residents", "evening", "weekend", "summer", 60),
    _c("depot_sauvage", "residents", "day", "none", "flat", 3600),
    _c("depot_sauvage", "uniform", "day", "none", "flat", 900),
    _c("tag_graffiti", "residents", "night", "none", "flat", 1300),
    _c("tag_graffiti", "centres_all", "night", "none", "flat", 900),
    _c("degradation_bien_public", "residents", "night", "weekend_night", "flat", 1100),
    _c("degradation_bien_public", "centres_all", "night", "weekend_night", "flat", 600),
    _c("voirie_degradee", "residents", "day", "workdays", "winter_mild", 1600),
    _c("voirie_degradee", "uniform", "day", "workdays", "winter_mild", 400),
    _c("eclairage_defaillant", "residents", "dark", "none", "winter_nights", 1500),
    _c("stationnement_genant", "residents", "commute", "workdays", "flat", 1800),
    _c("stationnement_genant", "daytime_centres", "commute", "workdays", "flat", 900),
)


class SpatialModel:
    """Raster kernels over the land of a study area, and sampling from them."""

    def __init__(self, area: StudyArea, rng: np.random.Generator) -> None:
        self.area = area
        minx, miny, maxx, maxy = area.land.bounds
        gx = np.arange(minx + CELL_M / 2, maxx, CELL_M)
        gy = np.arange(miny + CELL_M / 2, maxy, CELL_M)
        xx, yy = np.meshgrid(gx, gy)
        xx, yy = xx.ravel(), yy.ravel()
        keep = area.inside(xx, yy)
        self.cx: FloatArray = xx[keep]
        self.cy: FloatArray = yy[keep]
        self.cell_arr: IntArray = area.arrondissement_of(self.cx, self.cy)
        ccx, ccy = to_l93(*CITY_CENTRE)
        self.d_centre: FloatArray = np.hypot(self.cx - ccx, self.cy - ccy)
        self.kernels: dict[str, FloatArray] = {}
        self._residents_raw: FloatArray = np.zeros(self.cx.size)
        self.kernels["residents"] = self._residents(rng)
        for name, codes in RESIDENT_SUBSETS.items():
            self.kernels[name] = self._residents_subset(codes)
        self.kernels["uniform"] = self._normalise(np.ones(self.cx.size))
        for name, mixture in CENTRE_MIXTURES.items():
            self.kernels[name] = self._mixture(mixture)
        self._cum = {k: np.cumsum(v) for k, v in self.kernels.items()}
        self._disk_cache: dict[tuple[str, float, float, float], float] = {}

    @staticmethod
    def _normalise(w: FloatArray) -> FloatArray:
        total = w.sum()
        if total <= 0:
            raise ValueError("empty spatial kernel")
        return np.asarray(w / total, dtype=float)

    def _residents(self, rng: np.random.Generator) -> FloatArray:
        """Each arrondissement's residents: 35 % spread with a gradient, 65 % around cores."""
        w = np.zeros(self.cx.size)
        pops = self.area.arr_population
        for a in range(len(self.area.arr_codes)):
            cells = np.flatnonzero(self.cell_arr == a)
            if cells.size == 0 or pops[a] <= 0:
                continue
            d_centre = self._unit_distance(a, cells)
            grad = np.exp(-d_centre / 8000.0)
            spread = grad / grad.sum()
            area_km2 = cells.size * CELL_M**2 / 1e6
            k = 2 + round(float(np.sqrt(area_km2)))
            p = np.exp(-d_centre / 4000.0)
            cores = rng.choice(cells, size=k, replace=True, p=p / p.sum())
            sigmas = rng.uniform(400.0, 900.0, size=k)
            dens = np.zeros(cells.size)
            for core, sigma in zip(cores, sigmas, strict=True):
                d2 = (self.cx[cells] - self.cx[core]) ** 2 + (self.cy[cells] - self.cy[core]) ** 2
                g = np.exp(-d2 / (2 * sigma**2))
                dens += g / g.sum()
            dens /= k
            w[cells] = pops[a] * (0.35 * spread + 0.65 * dens)
        self._residents_raw = w
        return self._normalise(w)

    def _unit_distance(self, unit: int, cells: IntArray) -> FloatArray:
        """Distance of cells to the centre of their unit: the city centre for an arrondissement
        of the city, the commune's own centre for another commune of a wider study area."""
        centres = self.area.unit_centres
        if centres is None or np.isnan(centres[unit]).any():
            return self.d_centre[cells]
        x0, y0 = centres[unit]
        return np.asarray(np.hypot(self.cx[cells] - x0, self.cy[cells] - y0), dtype=float)

    def _residents_subset(self, codes: tuple[str, ...]) -> FloatArray:
        idx = [i for i, c in enumerate(self.area.arr_codes) if c in codes]
        mask = np.isin(self.cell_arr, idx)
        if not mask.any():  # another city: fall back on all residents
            return self.kernels["residents"]
        return self._normalise(np.where(mask, self._residents_raw, 0.0))

    def _mixture(self, mixture: tuple[tuple[str, float, float], ...]) -> FloatArray:
        w = np.zeros(self.cx.size)
        for centre, sigma, weight in mixture:
            x0, y0 = to_l93(*ACTIVITY_CENTRES[centre])
            g = np.exp(-((self.cx - x0) ** 2 + (self.cy - y0) ** 2) / (2 * sigma**2))
            if g.sum() > 0:
                w += weight * g / g.sum()
        if w.sum() <= 0:
            return self.kernels["residents"]
        return self._normalise(w)

    def sample(
        self, kernel: str, n: int, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Draw ``n`` points (Lambert-93) from a kernel; every point lies inside the land."""
        cum = self._cum[kernel]
        cells = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
        cells = np.minimum(cells, cum.size - 1)
        x = np.empty(n)
        y = np.empty(n)
        todo = np.arange(n)
        for _ in range(40):
            if todo.size == 0:
                break
            c = cells[todo]
            px = self.cx[c] + rng.uniform(-CELL_M / 2, CELL_M / 2, todo.size)
            py = self.cy[c] + rng.uniform(-CELL_M / 2, CELL_M / 2, todo.size)
            ok = self.area.inside(px, py)
            x[todo[ok]] = px[ok]
            y[todo[ok]] = py[ok]
            todo = todo[~ok]
        # Cell centres are inside the land by construction: use them for the last stragglers.
        x[todo] = self.cx[cells[todo]]
        y[todo] = self.cy[cells[todo]]
        return x, y

    def disk_mass(self, kernel: str, x0: float, y0: float, radius: float) -> float:
        """Probability mass of a kernel inside a disk (cells weighted by their covered share)."""
        key = (kernel, x0, y0, radius)
        if key in self._disk_cache:
            return self._disk_cache[key]
        near = np.flatnonzero(np.hypot(self.cx - x0, self.cy - y0) <= radius + CELL_M)
        if near.size == 0:
            self._disk_cache[key] = 0.0
            return 0.0
        sub = (np.arange(5) + 0.5) / 5 * CELL_M - CELL_M / 2
        ox, oy = np.meshgrid(sub, sub)
        px = self.cx[near][:, None] + ox.ravel()[None, :]
        py = self.cy[near][:, None] + oy.ravel()[None, :]
        share = (np.hypot(px - x0, py - y0) <= radius).mean(axis=1)
        self._disk_cache[key] = float((self.kernels[kernel][near] * share).sum())
        return self._disk_cache[key]


@dataclass
class EventArrays:
    """Events as parallel arrays: instant (epoch s), position (Lambert-93), category, origin.

    ``origin`` is ``-1`` for the background, else the index of the planted item that produced
    the event; ``offspring`` marks near-repeat events.
    """

    t: IntArray
    x: FloatArray
    y: FloatArray
    category: NDArray[np.int16]
    origin: NDArray[np.int16]
    offspring: NDArray[np.bool_]

    @classmethod
    def empty(cls) -> EventArrays:
        """No events."""
        return cls(
            np.zeros(0, np.int64),
            np.zeros(0),
            np.zeros(0),
            np.zeros(0, np.int16),
            np.zeros(0, np.int16),
            np.zeros(0, bool),
        )

    @classmethod
    def concat(cls, parts: list[EventArrays]) -> EventArrays:
        """Concatenate several sets of events."""
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.t for p in parts]).astype(np.int64),
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.y for p in parts]),
            np.concatenate([p.category for p in parts]).astype(np.int16),
            np.concatenate([p.origin for p in parts]).astype(np.int16),
            np.concatenate([p.offspring for p in parts]).astype(bool),
        )

    def __len__(self) -> int:
        return int(self.t.size)

    def take(self, idx: NDArray[np.int64] | NDArray[np.bool_]) -> EventArrays:
        """A subset (by index or boolean mask)."""
        return EventArrays(
            self.t[idx],
            self.x[idx],
            self.y[idx],
            self.category[idx],
            self.origin[idx],
            self.offspring[idx],
        )

    def sorted(self) -> EventArrays:
        """Chronological order (ties broken by position, for determinism)."""
        return self.take(np.lexsort((self.y, self.x, self.t)))


def sample_background(
    spatial: SpatialModel, grid: TimeGrid, scale: float, rng: np.random.Generator
) -> EventArrays:
    """Draw the background events of every component over the grid's period."""
    parts = []
    for comp in COMPONENTS:
        n = int(rng.poisson(grid.expected(comp.profile, comp.annual * scale, None)))
        t = grid.sample(comp.profile, n, rng)
        x, y = spatial.sample(comp.kernel, n, rng)
        parts.append(
            EventArrays(
                t,
                x,
                y,
                np.full(n, CATEGORY_INDEX[comp.category], np.int16),
                np.full(n, -1, np.int16),
                np.zeros(n, bool),
            )
        )
    return EventArrays.concat(parts)


def expected_background(
    spatial: SpatialModel,
    grid: TimeGrid,
    categories: tuple[str, ...],
    x0: float,
    y0: float,
    radius: float,
    window: tuple[int, int] | None,
    scale: float,
) -> float:
    """Expected number of background events of some categories in a disk during a window."""
    total = 0.0
    for comp in COMPONENTS:
        if comp.category in categories:
            mass = spatial.disk_mass(comp.kernel, x0, y0, radius)
            total += mass * grid.expected(comp.profile, comp.annual * scale, window)
    return total


#: Near-repeat contagion: mean offspring per event, radius (m), delay range (days).
OFFSPRING_MEAN: Final = 0.25
OFFSPRING_RADIUS_M: Final = 150.0
OFFSPRING_DAYS: Final = (1, 7)


def sample_offspring(
    parents: EventArrays,
    area: StudyArea,
    t_end: int,
    windows_end: NDArray[np.int64],
    rng: np.random.Generator,
) -> EventArrays:
    """One generation of near-repeats: Poisson(0.25) children per event, same category,
    uniformly within 150 m, 1 to 7 days later (same time of day, give or take an hour).

    Children falling outside the land or after ``t_end`` are dropped; so are the children of a
    planted event after its item's period (``windows_end[origin]``, epoch seconds).
    """
    k = rng.poisson(OFFSPRING_MEAN, len(parents))
    idx = np.repeat(np.arange(len(parents)), k)
    n = idx.size
    days = rng.integers(OFFSPRING_DAYS[0], OFFSPRING_DAYS[1] + 1, n)
    jitter = np.clip(rng.normal(0.0, 3600.0, n), -3 * 3600, 3 * 3600)
    delay = np.clip(days * 86400 + jitter, OFFSPRING_DAYS[0] * 86400, OFFSPRING_DAYS[1] * 86400)
    t = parents.t[idx] + delay.astype(np.int64)
    x = np.empty(n)
    y = np.empty(n)
    ok = np.zeros(n, bool)
    todo = np.arange(n)
    for _ in range(6):
        if todo.size == 0:
            break
        r = OFFSPRING_RADIUS_M * np.sqrt(rng.random(todo.size))
        theta = rng.uniform(0, 2 * np.pi, todo.size)
        px = parents.x[idx[todo]] + r * np.cos(theta)
        py = parents.y[idx[todo]] + r * np.sin(theta)
        inside = area.inside(px, py)
        x[todo[inside]] = px[inside]
        y[todo[inside]] = py[inside]
        ok[todo[inside]] = True
        todo = todo[~inside]
    origin = parents.origin[idx]
    limit = np.where(origin >= 0, windows_end[np.maximum(origin, 0)], t_end)
    keep = ok & (t < np.minimum(limit, t_end))
    children = EventArrays(t, x, y, parents.category[idx], origin, np.ones(n, bool))
    return children.take(keep)
