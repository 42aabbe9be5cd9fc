"""Row validation and mapping: native records become canonical events or reasoned rejections.

Pure: no database. Everything is vectorised per chunk with pandas/numpy; the first failing
check of a row gives its reason (codes in :data:`REASONS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from geotranquil.grid.h3ids import (
    ANALYSIS_RESOLUTIONS,
    FINE_RESOLUTION,
    cells_from_points,
    parent_ids,
)
from geotranquil.ingest.mapping import SourceMapping
from geotranquil.ingest.readers import GEOM_TYPE, GEOM_X, GEOM_Y, RawChunk, record_word

#: Every rejection reason, with what it means (for the CLI summary and the docs).
REASONS: dict[str, str] = {
    "malformed_row": "ligne illisible (champs, JSON, encodage)",
    "missing_id": "identifiant manquant",
    "duplicate_id": "identifiant répété dans le même fichier",
    "missing_date": "date manquante",
    "invalid_date": "date illisible",
    "nonexistent_local_time": "heure locale qui n'existe pas (passage à l'heure d'été)",
    "date_out_of_range": "date impossible (avant 1970 ou dans le futur)",
    "missing_category": "catégorie manquante",
    "unknown_category": "catégorie inconnue pour cette source",
    "invalid_coordinates": "coordonnées non numériques ou incomplètes",
    "invalid_geometry": "géométrie qui n'est pas un point",
    "outside_study_area": "position hors de la zone d'étude",
    "unknown_camera": "caméra absente du fichier des caméras",
    "missing_location": "ni position ni adresse",
}

STAGE_COLUMNS = [
    "external_id",
    "category",
    "native_category",
    "occurred_at",
    "reported_at",
    "lon",
    "lat",
    "h3_fine",
    "h3_r7",
    "h3_r8",
    "h3_r9",
    "h3_r10",
    "location_precision",
    "address",
    "attributes",
]

# an offset only counts after a time of day: "2025-06-15" is a naive date, not "-15" hours
_OFFSET = re.compile(
    r"[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$",
    re.IGNORECASE,
)


@dataclass
class Rejection:
    """One rejected record."""

    row_number: int  # as people read it: physical line (CSV) or record number
    reason: str
    detail: str
    raw: str
    record: int = 0  # the reader's record number (resume checkpoints); 0 = row_number


@dataclass
class ValidationContext:
    """What validation needs besides the chunk: reference data and the state across chunks."""

    known_categories: set[str]
    study_area: BaseGeometry | None
    cameras: dict[str, tuple[float, float]] = field(default_factory=dict)
    seen_ids: dict[str, int] = field(default_factory=dict)
    now: datetime | None = None


@dataclass
class ValidatedChunk:
    """Canonical rows (columns :data:`STAGE_COLUMNS`) and the rejections of one chunk."""

    rows: pd.DataFrame
    rejections: list[Rejection]
    last_row: int
    row_numbers: npt.NDArray[np.int64]  # record numbers of ``rows``

    def after(self, row: int) -> ValidatedChunk:
        """The part of the chunk after record ``row`` (a resume checkpoint)."""
        keep = self.row_numbers > row
        return ValidatedChunk(
            rows=self.rows[keep].reset_index(drop=True),
            rejections=[r for r in self.rejections if (r.record or r.row_number) > row],
            last_row=self.last_row,
            row_numbers=self.row_numbers[keep],
        )

    @property
    def unlocated(self) -> int:
        return int(self.rows["lon"].isna().sum())


def _text(values: Sequence[Any]) -> pd.Series:
    """Values as stripped strings; None/empty become NA."""
    s = pd.Series(values, dtype=object)
    s = s.where(s.isna(), s.astype(str).str.strip())
    return s.where(s != "", None)


def parse_times(
    values: pd.Series, fmt: str, timezone: str
) -> tuple[pd.Series, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Parse date strings to UTC; return (times, missing mask, invalid mask).

    Naive values are local times of ``timezone``. In the autumn hour that happens twice
    (02:00-02:59 on the last Sunday of October in Europe/Paris) the first one, summer time,
    is taken; a time in the spring-forward gap (02:00-02:59 on the last Sunday of March) does
    not exist: it is invalid here, never shifted (see :func:`parse_times_detailed`). Values
    that carry an offset (``Z``, ``+01:00``) keep it.

    Examples
    --------
    >>> t, missing, bad = parse_times(pd.Series(["02/03/2025 22:14", "", "31/02/2025 10:00"]),
    ...                               "%d/%m/%Y %H:%M", "Europe/Paris")
    >>> str(t[0]), missing.tolist(), bad.tolist()
    ('2025-03-02 21:14:00+00:00', [False, True, False], [False, False, True])
    """
    times, missing, invalid, gap = parse_times_detailed(values, fmt, timezone)
    return times, missing, invalid | gap


def parse_times_detailed(
    values: pd.Series, fmt: str, timezone: str
) -> tuple[pd.Series, npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Like :func:`parse_times`, with the local times that do not exist apart.

    Returns (times, missing, invalid, nonexistent): a nonexistent local time (the hour skipped
    when clocks go forward) is NaT, flagged in the fourth mask and not in ``invalid``.

    Examples
    --------
    >>> t, missing, bad, gap = parse_times_detailed(
    ...     pd.Series(["30/03/2025 02:30", "26/10/2025 02:30", "30/03/2025 03:00"]),
    ...     "%d/%m/%Y %H:%M", "Europe/Paris")
    >>> gap.tolist(), bad.tolist()
    ([True, False, False], [False, False, False])
    >>> str(t[1]), str(t[2])  # autumn: the summer-time reading; 03:00 CEST exists
    ('2025-10-26 00:30:00+00:00', '2025-03-30 01:00:00+00:00')
    """
    n = len(values)
    text = values.reset_index(drop=True)
    text = text.where(text.isna() | (text.astype(str).str.strip() != ""), None)
    missing = text.isna().to_numpy()
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    gap = np.zeros(n, dtype=bool)
    present = text[~missing].astype(str)

    def local(part: pd.Series, parsed: pd.Series) -> None:
        converted, skipped = _localize(parsed, timezone)
        out.loc[part.index] = converted
        gap[part.index.to_numpy()] = skipped

    if fmt.lower() == "iso8601":
        aware_mask = present.str.contains(_OFFSET)
        aware = present[aware_mask]
        naive = present[~aware_mask]
        if len(aware):
            out.loc[aware.index] = pd.to_datetime(
                aware, format="ISO8601", utc=True, errors="coerce"
            )
        if len(naive):
            local(naive, pd.to_datetime(naive, format="ISO8601", errors="coerce"))
    elif "%z" in fmt:
        out.loc[present.index] = pd.to_datetime(present, format=fmt, utc=True, errors="coerce")
    else:
        local(present, pd.to_datetime(present, format=fmt, errors="coerce"))
    invalid = (~missing) & out.isna().to_numpy() & ~gap
    return out, missing, invalid, gap


def _localize(parsed: pd.Series, timezone: str) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """UTC times of local ones, and the mask of those that do not exist (spring gap)."""
    if parsed.dt.tz is not None:
        return parsed.dt.tz_convert("UTC"), np.zeros(len(parsed), dtype=bool)
    local = parsed.dt.tz_localize(
        timezone, ambiguous=np.ones(len(parsed), dtype=bool), nonexistent="NaT"
    )
    skipped = (parsed.notna() & local.isna()).to_numpy(dtype=bool)
    return local.dt.tz_convert("UTC"), skipped


def _numbers(values: Sequence[Any]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Coordinates as floats (decimal commas accepted) and a mask of present values."""
    s = pd.Series(values, dtype=object)
    stripped = s.astype(str).str.strip()
    present = ~(s.isna() | (stripped == ""))
    as_text = stripped.str.replace(",", ".", regex=False)
    num = pd.to_numeric(as_text.where(present, None), errors="coerce").astype(float)
    out = np.asarray(num.to_numpy(), dtype=np.float64)
    return out, present.to_numpy(dtype=bool)


def validate_chunk(
    chunk: RawChunk, mapping: SourceMapping, ctx: ValidationContext
) -> ValidatedChunk:
    """Map and check one chunk; every record ends up valid or rejected with one reason."""
    n = len(chunk)
    cols = chunk.columns
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)

    def reject(
        mask: npt.NDArray[np.bool_],
        code: str,
        messages: Sequence[str] | npt.NDArray[Any] | str | Callable[[int], str],
    ) -> None:
        """Give ``code`` to the rows of ``mask`` not yet rejected.

        ``messages`` is one message, one per row, or a function of the row index, called only
        for the rows rejected here (so that valid rows cost no message formatting).
        """
        todo = mask & (reason == "")
        if not todo.any():
            return
        reason[todo] = code
        if isinstance(messages, str):
            detail[todo] = messages
        elif callable(messages):
            for i in np.flatnonzero(todo).tolist():
                detail[i] = messages(i)
        else:
            msgs = np.asarray(messages, dtype=object)
            detail[todo] = msgs[todo]

    # identifiers (duplicates are checked last: only an accepted row claims its id)
    ids = _text(cols[mapping.id_field])
    reject(
        ids.isna().to_numpy(), "missing_id", f"identifiant manquant (champ « {mapping.id_field} »)"
    )

    # time
    time_raw = _join_fields(cols, mapping.time_fields)
    occurred, t_missing, t_invalid, t_gap = parse_times_detailed(
        time_raw, mapping.time_format, mapping.timezone
    )
    # the first field holds the date: empty date = missing even when a time of day is there
    no_date = _text(cols[mapping.time_fields[0]]).isna().to_numpy()
    t_invalid = t_invalid & ~no_date
    t_gap = t_gap & ~no_date
    t_missing = t_missing | no_date
    names = " + ".join(f"« {f} »" for f in mapping.time_fields)
    reject(t_missing, "missing_date", f"date manquante (champ {names})")
    reject(
        t_invalid,
        "invalid_date",
        lambda i: f"date illisible « {time_raw.iat[i]} » (format attendu : {mapping.time_format})",
    )
    reject(
        t_gap,
        "nonexistent_local_time",
        lambda i: (
            f"heure locale « {time_raw.iat[i]} » inexistante en {mapping.timezone} "
            "(heure sautée au passage à l'heure d'été) : corrigez-la à la source"
        ),
    )
    now = pd.Timestamp(ctx.now or datetime.now().astimezone()).tz_convert("UTC")
    out_of_range = (~(t_missing | t_invalid | t_gap)) & (
        (occurred < pd.Timestamp("1970-01-01", tz="UTC")) | (occurred > now + pd.Timedelta(days=1))
    ).fillna(False).to_numpy()
    reject(
        out_of_range,
        "date_out_of_range",
        lambda i: f"date impossible : {occurred.iat[i]}",
    )
    reported = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    if mapping.reported_fields:
        reported, _, _ = parse_times(
            _join_fields(cols, mapping.reported_fields), mapping.reported_format, mapping.timezone
        )

    # category
    native = _text(cols[mapping.category_field])
    lookup = {k.strip().casefold(): v for k, v in mapping.category_values.items()}
    canonical = native.map(lambda v: None if v is None else lookup.get(v.casefold()))
    reject(
        native.isna().to_numpy(),
        "missing_category",
        f"catégorie manquante (champ « {mapping.category_field} »)",
    )
    unknown = (canonical.isna() | ~canonical.isin(ctx.known_categories)).to_numpy()
    reject(
        unknown,
        "unknown_category",
        lambda i: f"catégorie « {native.iat[i]} » inconnue pour la source {mapping.slug}",
    )

    # location
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    precision = np.full(n, "exact", dtype=object)
    address = _address(cols, mapping, n)
    has_address = address.notna().to_numpy()
    kind = mapping.location_kind
    if kind in ("coordinates", "geometry"):
        if kind == "geometry":
            gtype = _text(cols[GEOM_TYPE])
            not_point = (gtype.notna() & (gtype != "Point")).to_numpy()
            reject(
                not_point,
                "invalid_geometry",
                lambda i: f"géométrie de type {gtype.iat[i]} au lieu d'un point",
            )
            xs, x_present = _numbers(cols[GEOM_X])
            ys, y_present = _numbers(cols[GEOM_Y])
        else:
            assert mapping.x and mapping.y
            xs, x_present = _numbers(cols[mapping.x])
            ys, y_present = _numbers(cols[mapping.y])
        none = ~x_present & ~y_present
        bad = (x_present != y_present) | (
            (x_present & y_present) & ~(np.isfinite(xs) & np.isfinite(ys))
        )
        raw_x = cols[GEOM_X] if kind == "geometry" else cols[mapping.x or ""]
        raw_y = cols[GEOM_Y] if kind == "geometry" else cols[mapping.y or ""]
        reject(
            bad,
            "invalid_coordinates",
            lambda i: f"coordonnées invalides : x={raw_x[i]!r}, y={raw_y[i]!r}",
        )
        reject(none & ~has_address, "missing_location", "ni coordonnées ni adresse")
        ok = ~bad & ~none
        lon[ok], lat[ok] = _to_wgs84(xs[ok], ys[ok], mapping.crs)
        out_of_range = ok & ~((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        reject(
            out_of_range,
            "invalid_coordinates",
            lambda i: (
                f"coordonnées hors des bornes du système {mapping.crs} : "
                f"x={raw_x[i]!r}, y={raw_y[i]!r}"
            ),
        )
        precision[none] = "address"
    elif kind == "camera":
        assert mapping.camera
        cams = _text(cols[mapping.camera])
        known = cams.map(lambda c: c in ctx.cameras if c is not None else False).to_numpy(
            dtype=bool
        )
        reject(
            ~known & cams.notna().to_numpy() & ~has_address,
            "unknown_camera",
            lambda i: f"caméra « {cams.iat[i]} » absente du fichier des caméras",
        )
        reject(cams.isna().to_numpy() & ~has_address, "missing_location", "ni caméra ni adresse")
        for i in np.flatnonzero(known).tolist():
            lon[i], lat[i] = ctx.cameras[str(cams.iat[i])]
        precision[:] = np.where(known, "camera", "address")
    else:
        reject(~has_address, "missing_location", "ni coordonnées ni adresse")
        precision[:] = "address"

    located = ~np.isnan(lon) & (reason == "")
    if ctx.study_area is not None and located.any():
        idx = np.flatnonzero(located)
        inside = shapely.contains_xy(ctx.study_area, lon[idx], lat[idx])
        outside = np.zeros(n, dtype=bool)
        outside[idx[~inside]] = True
        reject(
            outside,
            "outside_study_area",
            lambda i: f"position ({lon[i]:.5f}, {lat[i]:.5f}) hors de la zone d'étude",
        )

    # duplicates inside the file: the first accepted occurrence wins
    at = "à la ligne" if record_word(mapping.format) == "ligne" else "à l'enregistrement"
    seen = ctx.seen_ids
    id_values = ids.tolist()  # one conversion: ``Series.iat`` costs ~2.5 µs per call
    records, line_of = chunk.row_numbers, chunk.lines
    for i in np.flatnonzero(reason == "").tolist():
        ident = str(id_values[i])
        first = seen.get(ident)
        if first is None:
            seen[ident] = records[i] if line_of is None else line_of[records[i]]
        else:
            reason[i] = "duplicate_id"
            detail[i] = f"identifiant « {ident} » déjà accepté {at} {first} du fichier"

    good = reason == ""
    rejections = [
        Rejection(
            chunk.line(chunk.row_numbers[i]),
            str(reason[i]),
            str(detail[i]),
            chunk.render(int(i)),
            chunk.row_numbers[i],
        )
        for i in np.flatnonzero(~good)
    ] + [Rejection(chunk.line(r), "malformed_row", d, raw, r) for r, d, raw in chunk.malformed]
    rejections.sort(key=lambda r: r.record)

    g = np.flatnonzero(good)
    rows = pd.DataFrame(
        {
            "external_id": ids.to_numpy()[g],
            "category": canonical.to_numpy()[g],
            "native_category": native.to_numpy()[g],
            "occurred_at": occurred.iloc[g].reset_index(drop=True),
            "reported_at": reported.iloc[g].reset_index(drop=True),
            "lon": lon[g],
            "lat": lat[g],
            "location_precision": precision[g],
            "address": address.to_numpy()[g],
            "attributes": _attributes(cols, mapping, g),
        }
    )
    _add_cells(rows)
    return ValidatedChunk(
        rows=rows[STAGE_COLUMNS],
        rejections=rejections,
        last_row=chunk.last_row,
        row_numbers=np.asarray(chunk.row_numbers, dtype=np.int64)[g],
    )


def _join_fields(cols: dict[str, list[Any]], names: Sequence[str]) -> pd.Series:
    parts = [_text(cols[f]) for f in names]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    frame = pd.concat(parts, axis=1)
    joined = frame.fillna("").astype(str).agg(" ".join, axis=1).str.strip()
    return joined.where(frame.notna().any(axis=1), None).reset_index(drop=True)


def _address(cols: dict[str, list[Any]], mapping: SourceMapping, n: int) -> pd.Series:
    a = mapping.address
    if not a.fields():
        return pd.Series([None] * n, dtype=object)

    def col(name: str | None) -> pd.Series:
        return _text(cols[name]) if name else pd.Series([None] * n, dtype=object)

    number, suffix, street = col(a.number), col(a.suffix), col(a.street)
    postcode, city = col(a.postcode), col(a.city)
    out: list[str | None] = []
    for num, suf, st, pc, ci in zip(number, suffix, street, postcode, city, strict=True):
        if st is None and pc is None:
            out.append(None)
            continue
        line1 = " ".join(p for p in (num, suf, st) if p)
        line2 = " ".join(p for p in (pc, ci) if p)
        out.append(", ".join(p for p in (line1, line2) if p))
    return pd.Series(out, dtype=object)


def _attributes(
    cols: dict[str, list[Any]], mapping: SourceMapping, rows: npt.NDArray[np.intp]
) -> list[str]:
    if mapping.attribute_fields is not None:
        keys = [k for k in mapping.attribute_fields if k in cols]
    else:
        used = mapping.used_fields() | {GEOM_X, GEOM_Y, GEOM_TYPE, "geometry"}
        keys = [k for k in cols if k not in used]
    if not keys:
        return ["{}"] * len(rows)
    values = [[cols[k][i] for i in rows] for k in keys]
    return [
        json.dumps(
            {k: v for k, v in zip(keys, vals, strict=True) if v not in (None, "")},
            ensure_ascii=False,
            default=str,
        )
        for vals in zip(*values, strict=True)
    ]


_TRANSFORMERS: dict[str, Transformer] = {}


def _to_wgs84(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], crs: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if crs.upper() in ("EPSG:4326", "OGC:CRS84", "CRS84"):
        return x, y
    transformer = _TRANSFORMERS.get(crs)
    if transformer is None:
        transformer = _TRANSFORMERS[crs] = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = transformer.transform(x, y)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _add_cells(rows: pd.DataFrame) -> None:
    fine = cells_from_points(rows["lon"].to_numpy(), rows["lat"].to_numpy(), FINE_RESOLUTION)
    located = fine != 0
    rows["h3_fine"] = pd.array(np.where(located, fine, 0), dtype="Int64")
    rows.loc[~located, "h3_fine"] = pd.NA
    for res in ANALYSIS_RESOLUTIONS:
        col = pd.array(parent_ids(fine, res), dtype="Int64")
        col[~located] = pd.NA
        rows[f"h3_r{res}"] = col
