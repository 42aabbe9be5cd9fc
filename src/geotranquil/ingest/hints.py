"""Hints for a data manager whose rows are rejected: what in the mapping is probably wrong.

Pure: raw values and the study area in, French sentences out. Used by the dry run
(``geotranquil sources check``), never by the ingestion itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

#: Systems a French partner's coordinates are commonly in, tried when positions fall outside.
CANDIDATE_CRS: dict[str, str] = {
    "EPSG:4326": "longitude/latitude WGS 84 (GPS)",
    "EPSG:2154": "Lambert-93",
    "EPSG:27572": "Lambert II étendu",
    "EPSG:3943": "Lambert conique conforme CC43",
    "EPSG:32631": "UTM zone 31N",
    "EPSG:3857": "Web Mercator",
}

#: Share of located rows outside the study area from which a hint is looked for.
MOSTLY_OUTSIDE = 0.5


@dataclass(frozen=True)
class Reading:
    """How much of a sample falls inside the study area when read one way."""

    crs: str
    swapped: bool
    inside: float  # share of the sample, 0..1


def _inside_share(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], crs: str, area: BaseGeometry
) -> float:
    if crs.upper() in ("EPSG:4326", "OGC:CRS84", "CRS84"):
        lon, lat = x, y
    else:
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return 0.0
    inside = np.zeros(len(lon), dtype=bool)
    inside[ok] = shapely.contains_xy(area, lon[ok], lat[ok])
    return float(inside.mean())


def readings(
    x: Sequence[float] | npt.NDArray[np.float64],
    y: Sequence[float] | npt.NDArray[np.float64],
    declared_crs: str,
    area: BaseGeometry,
) -> list[Reading]:
    """Share of the sample inside ``area`` for each candidate system, axes as given or swapped;
    the declared reading first, then the others from best to worst.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> marseille = box(5.2, 43.17, 5.56, 43.40)
    >>> r = readings([43.29, 43.30], [5.38, 5.40], "EPSG:4326", marseille)  # lat, lon
    >>> (r[0].crs, r[0].swapped, r[0].inside), (r[1].crs, r[1].swapped, r[1].inside)
    (('EPSG:4326', False, 0.0), ('EPSG:4326', True, 1.0))
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if not len(xs):
        return []
    declared = Reading(declared_crs, False, _inside_share(xs, ys, declared_crs, area))
    others = []
    for crs in dict.fromkeys([declared_crs, *CANDIDATE_CRS]):
        for swapped in (False, True):
            if crs == declared_crs and not swapped:
                continue
            a, b = (ys, xs) if swapped else (xs, ys)
            with np.errstate(all="ignore"):
                others.append(Reading(crs, swapped, _inside_share(a, b, crs, area)))
    others.sort(key=lambda r: (-r.inside, r.swapped, r.crs != declared_crs))
    return [declared, *others]


def _percent(share: float) -> str:
    return f"{round(100 * share)} %"


def location_hint(
    x: Sequence[float] | npt.NDArray[np.float64],
    y: Sequence[float] | npt.NDArray[np.float64],
    declared_crs: str,
    area: BaseGeometry,
    x_field: str = "x",
    y_field: str = "y",
) -> str | None:
    """A sentence saying which reading of the coordinates would put the sample inside the
    study area, when the declared one leaves most of it outside; None otherwise.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> marseille = box(5.2, 43.17, 5.56, 43.40)
    >>> print(location_hint([43.29, 43.30], [5.38, 5.40], "EPSG:4326", marseille, "X", "Y"))
    0 % de l'échantillon tombe dans la zone d'étude tel que lu (x = « X », y = « Y », \
EPSG:4326) ; 100 % y tomberait en échangeant x et y : écrivez x = "Y" et y = "X" dans [location].
    """
    found = readings(x, y, declared_crs, area)
    if not found or found[0].inside >= 1 - MOSTLY_OUTSIDE:
        return None
    declared, best = found[0], found[1]
    said = (
        f"{_percent(declared.inside)} de l'échantillon tombe dans la zone d'étude tel que lu "
        f"(x = « {x_field} », y = « {y_field} », {declared_crs})"
    )
    if best.inside <= declared.inside or best.inside < MOSTLY_OUTSIDE:
        return (
            f"{said} ; aucun des systèmes courants ({', '.join(CANDIDATE_CRS)}), axes échangés "
            "ou non, ne les y place : vérifiez les colonnes x et y, et la zone d'étude."
        )
    fixes = []
    if best.swapped:
        fixes.append(f'x = "{y_field}" et y = "{x_field}"')
    if best.crs != declared_crs:
        fixes.append(f'crs = "{best.crs}" ({CANDIDATE_CRS.get(best.crs, best.crs)})')
    how = (
        "en échangeant x et y"
        if best.swapped and best.crs == declared_crs
        else f"lu en {best.crs}" + (" avec x et y échangés" if best.swapped else "")
    )
    return (
        f"{said} ; {_percent(best.inside)} y tomberait {how} : écrivez {' et '.join(fixes)} "
        "dans [location]."
    )


def time_gap_hint(count: int, timezone: str) -> str | None:
    """What to check when local times fall in the spring-forward gap.

    Examples
    --------
    >>> time_gap_hint(0, "Europe/Paris") is None
    True
    """
    if count == 0:
        return None
    return (
        f"{count} heure(s) locale(s) n'existent pas en {timezone} (l'heure sautée au passage à "
        "l'heure d'été) : elles sont rejetées, jamais décalées. Si le fichier donne en réalité "
        'des heures UTC, écrivez timezone = "UTC" dans [time] ; sinon corrigez-les à la source.'
    )


def category_hint(unknown: dict[str, int], limit: int = 10) -> str | None:
    """The native category words not mapped yet, most frequent first, as TOML lines to add.

    Examples
    --------
    >>> print(category_hint({"Rixe": 3, "Squat": 5}))
    valeurs de catégorie sans correspondance (à ajouter dans [category.values]) : "Squat" = "?" \
(5 fois), "Rixe" = "?" (3 fois)
    """
    if not unknown:
        return None
    top = sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    listed = ", ".join(f'"{k}" = "?" ({n} fois)' for k, n in top)
    more = f" … et {len(unknown) - limit} autres" if len(unknown) > limit else ""
    return (
        f"valeurs de catégorie sans correspondance (à ajouter dans [category.values]) : "
        f"{listed}{more}"
    )


def autumn_hint(count: int, timezone: str) -> str | None:
    """Say how the hour that happens twice (clocks going back) was read.

    Examples
    --------
    >>> print(autumn_hint(2, "Europe/Paris"))
    2 heure(s) tombent dans l'heure vécue deux fois au passage à l'heure d'hiver en \
Europe/Paris : sans décalage écrit, elles sont lues comme la première (heure d'été). Écrivez le \
décalage (+01:00) à la source pour la seconde.
    """
    if count == 0:
        return None
    return (
        f"{count} heure(s) tombent dans l'heure vécue deux fois au passage à l'heure d'hiver en "
        f"{timezone} : sans décalage écrit, elles sont lues comme la première (heure d'été). "
        "Écrivez le décalage (+01:00) à la source pour la seconde."
    )


def first_of_repeated_hour(utc: pd.Series, timezone: str) -> int:
    """How many instants are the first reading of a repeated local hour (the default choice).

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2025-10-26 00:30", "2025-10-26 01:30", "2025-07-01 10:00"],
    ...                              utc=True))
    >>> first_of_repeated_hour(t, "Europe/Paris")  # 02:30 summer time, 02:30 winter time, July
    1
    """
    if not len(utc):
        return 0
    local = utc.dt.tz_convert(timezone)
    naive = local.dt.tz_localize(None)
    probe = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    # ambiguous, and the earlier reading: one hour later in UTC shows the same wall time
    again = (utc + pd.Timedelta(hours=1)).dt.tz_convert(timezone).dt.tz_localize(None)
    return int((probe.isna() & (again == naive)).sum())
