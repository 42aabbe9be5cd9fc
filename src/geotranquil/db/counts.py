"""Counts per H3 cell and time bin, aggregated in PostGIS, zeros included.

The cube has every grid cell of the resolution (from ``grid_cells``) and every time bin of the
period, so the statistics see the places and times where nothing happened. Bins are calendar
days, weeks (Monday) or months in the study area's local time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, bindparam, text

from geotranquil.errors import InvalidInput, NotReady

BIN_SIZES = ("day", "week", "month")
RESOLUTIONS = (7, 8, 9, 10)


@dataclass(frozen=True)
class CountQuery:
    """What to count: a resolution, a period ``[start, end)`` of local dates, a bin size."""

    resolution: int
    start: date
    end: date
    bin: str = "week"
    categories: tuple[str, ...] | None = None
    timezone: str = "Europe/Paris"

    def check(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise InvalidInput(f"résolution {self.resolution} indisponible (7 à 10)")
        if self.bin not in BIN_SIZES:
            raise InvalidInput(f"pas de temps « {self.bin} » inconnu (day, week ou month)")
        if self.end <= self.start:
            raise InvalidInput(f"période vide : {self.start} → {self.end}")


@dataclass(frozen=True)
class CountCube:
    """``counts[i, t]``: events of cell ``cells[i]`` in the bin starting at ``bins[t]``."""

    cells: npt.NDArray[np.int64]
    bins: list[date]
    counts: npt.NDArray[np.int64]
    land_share: npt.NDArray[np.float64]
    area_m2: npt.NDArray[np.float64]
    population: npt.NDArray[np.float64]

    @property
    def totals(self) -> npt.NDArray[np.int64]:
        """Events per cell over the whole period."""
        return np.asarray(self.counts.sum(axis=1), dtype=np.int64)


def bin_starts(start: date, end: date, size: str) -> list[date]:
    """Local start dates of the bins that meet ``[start, end)``.

    Examples
    --------
    >>> bin_starts(date(2025, 3, 5), date(2025, 3, 20), "week")
    [datetime.date(2025, 3, 3), datetime.date(2025, 3, 10), datetime.date(2025, 3, 17)]
    >>> bin_starts(date(2025, 1, 15), date(2025, 3, 1), "month")
    [datetime.date(2025, 1, 1), datetime.date(2025, 2, 1)]
    """
    if size == "day":
        first = start
    elif size == "week":
        first = start - timedelta(days=start.weekday())
    else:
        first = start.replace(day=1)
    out = []
    current = first
    while current < end:
        out.append(current)
        if size == "day":
            current += timedelta(days=1)
        elif size == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


_COUNTS = """
SELECT {col} AS h3,
       date_trunc(:bin, occurred_at AT TIME ZONE :tz)::date AS bin,
       count(*) AS n
FROM events
WHERE occurred_at >= :t0 AND occurred_at < :t1
  AND {col} IS NOT NULL
  {category_filter}
GROUP BY 1, 2
"""


def count_cube(*, conn: Connection, query: CountQuery) -> CountCube:
    """Aggregate events into the cube of :class:`CountQuery` (one GROUP BY in PostGIS)."""
    query.check()
    zone = ZoneInfo(query.timezone)
    bins = bin_starts(query.start, query.end, query.bin)
    grid = conn.execute(
        text(
            "SELECT h3, land_share, area_m2, coalesce(population, 0) FROM grid_cells "
            "WHERE resolution = :r ORDER BY h3"
        ),
        {"r": query.resolution},
    ).fetchall()
    if not grid:
        raise NotReady(
            f"aucune cellule de résolution {query.resolution} : lancez « geotranquil grid build »"
        )
    cells = np.array([g[0] for g in grid], dtype=np.int64)
    sql = _COUNTS.format(
        col=f"h3_r{query.resolution}",  # whitelisted by CountQuery.check
        category_filter="AND category IN :cats" if query.categories else "",
    )
    statement = text(sql)
    params: dict[str, object] = {
        "bin": query.bin,
        "tz": query.timezone,
        "t0": datetime.combine(query.start, time(), zone),
        "t1": datetime.combine(query.end, time(), zone),
    }
    if query.categories:
        statement = statement.bindparams(bindparam("cats", expanding=True))
        params["cats"] = list(query.categories)
    rows = conn.execute(statement, params).fetchall()
    counts = np.zeros((len(cells), len(bins)), dtype=np.int64)
    if rows:
        h3s = np.array([r[0] for r in rows], dtype=np.int64)
        bin_index = {b: i for i, b in enumerate(bins)}
        cols = np.array([bin_index[r[1]] for r in rows], dtype=np.int64)
        idx = np.searchsorted(cells, h3s)
        ok = (idx < len(cells)) & (cells[np.minimum(idx, len(cells) - 1)] == h3s)
        np.add.at(counts, (idx[ok], cols[ok]), np.array([r[2] for r in rows])[ok])
    return CountCube(
        cells=cells,
        bins=bins,
        counts=counts,
        land_share=np.array([g[1] for g in grid], dtype=np.float64),
        area_m2=np.array([g[2] for g in grid], dtype=np.float64),
        population=np.array([g[3] for g in grid], dtype=np.float64),
    )
