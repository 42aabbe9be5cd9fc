"""Video-protection cameras of the supervision centre (CSU), and which camera sees an event."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import shapely

from geotranquil.synth.area import FloatArray, IntArray, StudyArea, to_l93, to_wgs84
from geotranquil.synth.intensity import SpatialModel
from geotranquil.synth.planted import CONTROL, PlacedItem
from geotranquil.synth.streets import Addresser, Street
from geotranquil.synth.timegrid import local_midnight

#: A camera sees events up to this distance (m).
CAMERA_RANGE_M: Final = 120.0
#: A camera of a neighbouring commune shared with the CSU (outside the study area).
OUTSIDE_CAMERA: Final = ("Aubagne, Cours Foch (convention intercommunale)", 5.5706, 43.2927)
FIRST_INSTALL: Final = date(2012, 1, 1)

_TYPE_RE = re.compile(
    r"^(La |Le |Rue |Boulevard |Avenue |Cours |Quai |Chemin |Traverse |Impasse |Allée |"
    r"Montée |Corniche )"
)
_ARTICLE_RE = re.compile(r"^(de la |de l'|des |du |de |d')")


def short_street_name(name: str) -> str:
    """Street name without its type and article, as on a camera label.

    Examples
    --------
    >>> short_street_name("Rue des Feuillants"), short_street_name("La Canebière")
    ('Feuillants', 'Canebière')
    """
    out = _ARTICLE_RE.sub("", _TYPE_RE.sub("", name))
    return out[:1].upper() + out[1:] if out else name


def camera_count(scale: float) -> int:
    """Number of cameras for a scale: about 220 at scale 1, between 40 and 300."""
    return int(np.clip(round(220 * np.sqrt(max(scale, 0.0))), 40, 300))


@dataclass
class Cameras:
    """Cameras sorted by installation date; ``outside`` is the index of the one outside."""

    ids: list[str]
    x: FloatArray
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    labels: list[str]
    installed_on: list[str]
    installed_t: IntArray
    outside: int

    def nearest(
        self, x: FloatArray, y: FloatArray, t: IntArray, max_distance: float = CAMERA_RANGE_M
    ) -> tuple[IntArray, FloatArray]:
        """Nearest camera installed by ``t`` within ``max_distance`` (never the outside one).

        Returns the camera index and the distance in metres; ``-1`` and ``inf`` when no camera
        is in range.
        """
        n = x.size
        best = np.full(n, -1, np.int64)
        dist = np.full(n, np.inf)
        usable = np.ones(len(self.ids), bool)
        usable[self.outside] = False
        cx, cy, ct = self.x[usable], self.y[usable], self.installed_t[usable]
        index = np.flatnonzero(usable)
        # Only events in a grid cell next to a camera's cell can be in range.
        size = max(max_distance, 1.0)
        ckx, cky = np.floor(cx / size).astype(np.int64), np.floor(cy / size).astype(np.int64)
        near_keys = np.unique(
            np.concatenate(
                [(ckx + dx) * 1_000_003 + (cky + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
            )
        )
        ekeys = np.floor(x / size).astype(np.int64) * 1_000_003 + np.floor(y / size).astype(
            np.int64
        )
        candidates = np.flatnonzero(np.isin(ekeys, near_keys))
        for chunk in np.array_split(candidates, max(1, candidates.size // 20000 + 1)):
            if chunk.size == 0:
                continue
            d = np.hypot(x[chunk, None] - cx[None, :], y[chunk, None] - cy[None, :])
            d[(t[chunk, None] < ct[None, :]) | (d > max_distance)] = np.inf
            j = np.argmin(d, axis=1)
            dj = d[np.arange(chunk.size), j]
            ok = np.isfinite(dj)
            best[chunk[ok]] = index[j[ok]]
            dist[chunk[ok]] = dj[ok]
        return best, dist


def build_cameras(
    area: StudyArea,
    spatial: SpatialModel,
    streets: list[Street],
    items: list[PlacedItem],
    count: int,
    start: date,
    end: date,
    rng: np.random.Generator,
) -> Cameras:
    """Place ``count`` cameras (one of them outside the commune) and label them."""
    n_inside = count - 1
    n_items = round(0.15 * n_inside)
    n_centres = round(0.55 * n_inside)
    n_res = n_inside - n_items - n_centres
    xs, ys = [], []
    x, y = spatial.sample("centres_all", n_centres, rng)
    xs.append(x)
    ys.append(y)
    x, y = spatial.sample("residents", n_res, rng)
    xs.append(x)
    ys.append(y)
    spots = [it for it in items if it.spec.kind != CONTROL]
    which = rng.integers(0, len(spots), n_items) if spots else np.zeros(0, np.int64)
    px = np.array([spots[i].x for i in which]) + rng.normal(0, 200, n_items)
    py = np.array([spots[i].y for i in which]) + rng.normal(0, 200, n_items)
    bad = ~area.inside(px, py)
    if bad.any():
        fx, fy = spatial.sample("residents", int(bad.sum()), rng)
        px[bad], py[bad] = fx, fy
    xs.append(px)
    ys.append(py)
    x = np.concatenate(xs)
    y = np.concatenate(ys)

    ox, oy = (float(v) for v in to_l93(OUTSIDE_CAMERA[1], OUTSIDE_CAMERA[2]))
    if area.commune_l93.contains(shapely.Point(ox, oy)):  # another study area: go far away
        ox, oy = (float(v) for v in to_l93(2.3522, 48.8566))
    x = np.append(x, ox)
    y = np.append(y, oy)

    # Installation dates: most before the period, some during its first half.
    before = (start - FIRST_INSTALL).days
    during = max(1, (end - start).days // 2)
    late = rng.random(count) < 0.12
    late[-1] = False
    offsets = np.where(
        late, before + rng.integers(0, during, count), rng.integers(0, max(1, before), count)
    )
    order = np.lexsort((np.arange(count), offsets))
    x, y, offsets = x[order], y[order], offsets[order]
    outside = int(np.flatnonzero(order == count - 1)[0])
    days = [FIRST_INSTALL + timedelta(days=int(o)) for o in offsets]
    lon, lat = to_wgs84(x, y)
    labels = _labels(area, streets, x, y)
    labels[outside] = OUTSIDE_CAMERA[0]
    width = max(4, len(str(count)))
    return Cameras(
        ids=[f"CAM-{i + 1:0{width}d}" for i in range(count)],
        x=x,
        y=y,
        lon=lon.round(6),
        lat=lat.round(6),
        labels=labels,
        installed_on=[d.isoformat() for d in days],
        installed_t=np.array([local_midnight(d) for d in days], dtype=np.int64),
        outside=outside,
    )


def _labels(area: StudyArea, streets: list[Street], x: FloatArray, y: FloatArray) -> list[str]:
    arr = area.arrondissement_of(x, y)
    addr = Addresser(streets).lookup(x, y, arr)
    lines = [s.line for s in streets]
    pts = shapely.points(x, y)
    raw = shapely.distance(np.array(lines, dtype=object)[None, :], np.asarray(pts)[:, None])
    dist: FloatArray = np.asarray(raw, dtype=np.float64)
    labels = []
    for i in range(x.size):
        first = int(addr.street[i])
        d = dist[i].copy()
        name_a = streets[first].name
        same = np.array([s.name == name_a for s in streets])
        d[same] = np.inf
        second = int(np.argmin(d))
        if d[second] <= 250.0:
            a = short_street_name(name_a)
            b = short_street_name(streets[second].name)
            labels.append(f"Angle {a} / {b}")
        else:
            labels.append(f"{name_a}, face au n° {int(addr.number[i])}")
    return labels
