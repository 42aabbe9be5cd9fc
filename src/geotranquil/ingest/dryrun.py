"""A dry run of a mapping on a file: the same readers and checks as the ingestion, nothing written.

What a partner's data manager needs while writing a mapping: the first rows as they would be
stored, the rejections by reason with an example each, and hints on what to fix
(:mod:`geotranquil.ingest.hints`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geotranquil.ingest.hints import (
    autumn_hint,
    category_hint,
    first_of_repeated_hour,
    location_hint,
    time_gap_hint,
)
from geotranquil.ingest.mapping import SourceMapping
from geotranquil.ingest.readers import GEOM_X, GEOM_Y, read_chunks, record_word
from geotranquil.ingest.validate import Rejection, ValidationContext, validate_chunk

#: Raw coordinates kept to try other readings of them (axes swapped, other systems).
COORDINATE_SAMPLE = 2000


@dataclass
class CheckReport:
    """What a dry run found."""

    source: str
    file_name: str
    record_word: str  # « ligne » (CSV, physical line, header = 1) or « enregistrement »
    rows_read: int = 0
    accepted: int = 0
    unlocated: int = 0
    rejections_by_reason: dict[str, int] = field(default_factory=dict)
    examples: dict[str, Rejection] = field(default_factory=dict)  # first rejection per reason
    first_rows: list[dict[str, Any]] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(self.rejections_by_reason.values())


def _coordinates(columns: dict[str, list[Any]], mapping: SourceMapping) -> tuple[Any, Any] | None:
    if mapping.location_kind == "geometry":
        return columns.get(GEOM_X, []), columns.get(GEOM_Y, [])
    if mapping.location_kind == "coordinates" and mapping.x and mapping.y:
        return columns.get(mapping.x, []), columns.get(mapping.y, [])
    return None


def _floats(values: list[Any]) -> list[float]:
    out = []
    for v in values:
        try:
            out.append(float(str(v).strip().replace(",", ".")))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def check_file(
    path: Path,
    mapping: SourceMapping,
    *,
    known_categories: set[str],
    study_area: BaseGeometry | None,
    cameras: dict[str, tuple[float, float]] | None = None,
    first_rows: int = 10,
    chunk_rows: int = 50_000,
) -> CheckReport:
    """Read and check the whole file with ``mapping``; write nothing, return what was found."""
    report = CheckReport(mapping.slug, path.name, record_word(mapping.format))
    ctx = ValidationContext(
        known_categories=known_categories, study_area=study_area, cameras=cameras or {}
    )
    reasons: Counter[str] = Counter()
    unknown_words: Counter[str] = Counter()
    xs: list[float] = []
    ys: list[float] = []
    repeated = 0
    for chunk in read_chunks(path, mapping, chunk_rows):
        vc = validate_chunk(chunk, mapping, ctx)
        repeated += first_of_repeated_hour(vc.rows["occurred_at"], mapping.timezone)
        report.rows_read = chunk.last_row
        report.accepted += len(vc.rows)
        report.unlocated += vc.unlocated
        index = {record: i for i, record in enumerate(chunk.row_numbers)}
        natives = chunk.columns.get(mapping.category_field, [])
        for r in vc.rejections:
            reasons[r.reason] += 1
            report.examples.setdefault(r.reason, r)
            if r.reason == "unknown_category" and (r.record or r.row_number) in index:
                unknown_words[str(natives[index[r.record or r.row_number]]).strip()] += 1
        coords = _coordinates(chunk.columns, mapping)
        if coords is not None and len(xs) < COORDINATE_SAMPLE:
            room = COORDINATE_SAMPLE - len(xs)
            xs.extend(_floats(list(coords[0])[:room]))
            ys.extend(_floats(list(coords[1])[:room]))
        if len(report.first_rows) < first_rows:
            report.first_rows.extend(
                _shown(vc.rows.head(first_rows - len(report.first_rows)), chunk, vc, mapping)
            )
    report.rejections_by_reason = dict(sorted(reasons.items()))
    located = report.accepted - report.unlocated + reasons["outside_study_area"]
    if (
        study_area is not None
        and located
        and reasons["outside_study_area"] / located > 0.5
        and xs
        and (hint := _location_hint(xs, ys, mapping, study_area))
    ):
        report.hints.append(hint)
    for hint in (
        time_gap_hint(reasons["nonexistent_local_time"], mapping.timezone),
        autumn_hint(repeated, mapping.timezone),
        category_hint(dict(unknown_words)),
    ):
        if hint:
            report.hints.append(hint)
    return report


def _location_hint(
    xs: list[float], ys: list[float], mapping: SourceMapping, area: BaseGeometry
) -> str | None:
    if mapping.location_kind == "geometry":
        return location_hint(xs, ys, mapping.crs, area, "geometry x", "geometry y")
    return location_hint(xs, ys, mapping.crs, area, mapping.x or "x", mapping.y or "y")


def _shown(rows: pd.DataFrame, chunk: Any, vc: Any, mapping: SourceMapping) -> list[dict[str, Any]]:
    """Mapped rows as a person reads them: local time of the mapping's zone, rounded position."""
    out = []
    numbers = vc.row_numbers[: len(rows)]
    for (_, row), record in zip(rows.iterrows(), numbers, strict=True):
        when = row["occurred_at"]
        lon, lat = row["lon"], row["lat"]
        out.append(
            {
                "number": chunk.line(int(record)),
                "external_id": row["external_id"],
                "occurred_at": when.tz_convert(mapping.timezone).isoformat(),
                "category": row["category"],
                "native_category": row["native_category"],
                "lon": None if np.isnan(lon) else round(float(lon), 6),
                "lat": None if np.isnan(lat) else round(float(lat), 6),
                "location_precision": row["location_precision"],
                "address": row["address"],
                "attributes": row["attributes"],
            }
        )
    return out
