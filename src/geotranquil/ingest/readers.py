"""Streaming readers: a native file becomes chunks of records, column by column.

Readers are registered by format name (``READERS``), like pygeoapi's providers: a new format
is one function here and a name in a mapping. Each yields :class:`RawChunk` objects of at most
``chunk_rows`` records, numbered from 1 in file order (data rows for CSV, lines for JSON lines,
features for GeoJSON, array elements for JSON). Records that cannot be parsed at all come back as
``malformed`` with their raw text, never dropped.

Those numbers are the checkpoints of a resumed ingestion. What people read is
:meth:`RawChunk.line`: for CSV the physical line of the file where the record starts (the
header is line 1, so the first data row is line 2, and a quoted field over several lines
moves the next ones down), said « ligne N »; for JSON lines the line of the file, for JSON and
GeoJSON the position in the array (from 1), said « enregistrement N » (:func:`record_word`).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from geotranquil.errors import InvalidInput
from geotranquil.ingest.mapping import SourceMapping

GEOM_X = "geometry.x"
GEOM_Y = "geometry.y"
GEOM_TYPE = "geometry.type"


@dataclass
class RawChunk:
    """A slice of a native file: parsed records by column, plus the unparseable ones."""

    row_numbers: list[int]
    columns: dict[str, list[Any]]
    render: Callable[[int], str]
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, detail, raw)
    last_row: int = 0
    bytes_read: int = 0
    lines: dict[int, int] | None = None  # record number -> physical line (CSV)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def line(self, record: int) -> int:
        """The number people read for a record (see the module docstring)."""
        return record if self.lines is None else self.lines.get(record, record)


def record_word(fmt: str) -> str:
    """How a record is named in messages: « ligne » for CSV, « enregistrement » otherwise.

    Examples
    --------
    >>> record_word("csv"), record_word("jsonl")
    ('ligne', 'enregistrement')
    """
    return "ligne" if fmt == "csv" else "enregistrement"


Reader = Callable[[Path, SourceMapping, int], Iterator[RawChunk]]


NUL_DETAIL = "caractère NUL (0x00), impossible à enregistrer"


def _has_nul(value: Any) -> bool:
    """Whether a parsed record holds a NUL character anywhere (PostgreSQL text cannot)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


#: Bytes that did not decode, as ``surrogateescape`` leaves them.
_UNDECODED = re.compile("[\udc80-\udcff]")


def _has_bad_bytes(text: str) -> bool:
    return _UNDECODED.search(text) is not None


def _set_aside_unreadable(
    rows: list[list[str]],
    numbers: list[int],
    malformed: list[tuple[int, str, str]],
    mapping: SourceMapping,
) -> tuple[list[list[str]], list[int]]:
    """The rows (and their numbers) without NUL or undecoded bytes; the others are added to
    ``malformed`` (kept in row order). One scan of the whole chunk when no row has any, which
    is the common case, instead of one per row."""
    blob = "".join(chain.from_iterable(rows))
    if "\x00" not in blob and not _has_bad_bytes(blob):
        return rows, numbers
    kept_rows: list[list[str]] = []
    kept_numbers: list[int] = []
    for row, number in zip(rows, numbers, strict=True):
        joined = "".join(row)
        if "\x00" in joined:
            malformed.append((number, NUL_DETAIL, _join(row, mapping.delimiter)))
        elif _has_bad_bytes(joined):
            detail = f"caractères illisibles en {mapping.encoding}"
            malformed.append((number, detail, _join(row, mapping.delimiter)))
        else:
            kept_rows.append(row)
            kept_numbers.append(number)
    malformed.sort(key=lambda m: m[0])
    return kept_rows, kept_numbers


def read_csv(path: Path, mapping: SourceMapping, chunk_rows: int) -> Iterator[RawChunk]:
    """CSV with any delimiter and encoding; a header line gives the field names."""
    binary = path.open("rb")
    with (
        binary,
        io.TextIOWrapper(
            binary, encoding=mapping.encoding, errors="surrogateescape", newline=""
        ) as text,
    ):
        reader = csv.reader(text, delimiter=mapping.delimiter)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except StopIteration:
            raise InvalidInput(f"{path.name} : fichier vide (pas de ligne d'en-tête)") from None
        if _has_bad_bytes("".join(header)):
            raise InvalidInput(
                f"{path.name} : l'en-tête n'est pas en {mapping.encoding} ; vérifiez l'encodage"
            )
        missing = sorted(mapping.used_fields() - set(header))
        if missing:
            close = {m: difflib.get_close_matches(m, header, n=1, cutoff=0.6) for m in missing}
            hints = "; ".join(
                f"« {m} » : vouliez-vous dire « {c[0]} » ?" for m, c in close.items() if c
            )
            raise InvalidInput(
                f"{path.name} : colonnes absentes de l'en-tête : {', '.join(missing)} "
                f"(en-tête lu, séparateur « {mapping.delimiter} » : {', '.join(header)})"
                + (f" ; {hints}" if hints else "")
            )
        width = len(header)
        row_no = 0
        while True:
            rows: list[list[str]] = []
            numbers: list[int] = []
            malformed: list[tuple[int, str, str]] = []
            lines: dict[int, int] = {}
            before = reader.line_num
            for row in reader:
                row_no += 1
                lines[row_no] = before + 1  # where the record starts
                before = reader.line_num
                if not row:  # a blank line: nothing to ingest, nothing lost
                    continue
                if len(row) != width:
                    malformed.append(
                        (
                            row_no,
                            f"{len(row)} champs au lieu de {width}",
                            _join(row, mapping.delimiter),
                        )
                    )
                else:
                    rows.append(row)
                    numbers.append(row_no)
                if len(rows) + len(malformed) >= chunk_rows:
                    break
            if not rows and not malformed:
                return
            rows, numbers = _set_aside_unreadable(rows, numbers, malformed, mapping)
            columns = (
                {name: list(col) for name, col in zip(header, zip(*rows, strict=True), strict=True)}
                if rows
                else {h: [] for h in header}
            )
            yield RawChunk(
                row_numbers=numbers,
                columns=columns,
                render=_csv_renderer(rows, mapping.delimiter),
                malformed=malformed,
                last_row=row_no,
                bytes_read=binary.tell(),
                lines=lines,
            )


def _csv_renderer(rows: list[list[str]], delimiter: str) -> Callable[[int], str]:
    def render(i: int) -> str:
        return _join(rows[i], delimiter)

    return render


def _join(row: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(row)
    return out.getvalue().encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _get(record: Any, path: str) -> Any:
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _columns_of(records: list[dict[str, Any]], mapping: SourceMapping) -> dict[str, list[Any]]:
    paths = set(mapping.used_fields())
    if mapping.attribute_fields is not None:
        paths.update(mapping.attribute_fields)
    else:
        for r in records:
            paths.update(k for k in r if k not in paths)
    return {p: [_get(r, p) for r in records] for p in sorted(paths)}


def _record_chunk(
    records: list[dict[str, Any]],
    numbers: list[int],
    malformed: list[tuple[int, str, str]],
    mapping: SourceMapping,
    last_row: int,
    bytes_read: int,
    extra: dict[str, list[Any]] | None = None,
) -> RawChunk:
    columns = _columns_of(records, mapping)
    if extra:
        columns.update(extra)
    return RawChunk(
        row_numbers=numbers,
        columns=columns,
        render=lambda i: json.dumps(records[i], ensure_ascii=False, default=str),
        malformed=malformed,
        last_row=last_row,
        bytes_read=bytes_read,
    )


def read_jsonl(path: Path, mapping: SourceMapping, chunk_rows: int) -> Iterator[RawChunk]:
    """JSON lines: one JSON object per line; blank lines are ignored but counted."""
    with path.open("rb") as binary:
        row_no = 0
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        malformed: list[tuple[int, str, str]] = []
        for line in binary:
            row_no += 1
            text = line.decode(mapping.encoding, errors="replace").strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                malformed.append((row_no, f"JSON invalide : {exc.msg} (colonne {exc.colno})", text))
            else:
                if isinstance(obj, dict) and _has_nul(obj):
                    malformed.append((row_no, NUL_DETAIL, text))
                elif isinstance(obj, dict):
                    records.append(obj)
                    numbers.append(row_no)
                else:
                    malformed.append((row_no, "la ligne n'est pas un objet JSON", text))
            if len(records) + len(malformed) >= chunk_rows:
                yield _record_chunk(records, numbers, malformed, mapping, row_no, binary.tell())
                records, numbers, malformed = [], [], []
        if records or malformed:
            yield _record_chunk(records, numbers, malformed, mapping, row_no, binary.tell())


def _stream_items(binary: BinaryIO, prefix: str) -> Iterator[Any]:
    return ijson.items(binary, prefix, use_float=True)


def read_json(path: Path, mapping: SourceMapping, chunk_rows: int) -> Iterator[RawChunk]:
    """A JSON array of objects (at the top level or under ``format.records``), streamed."""
    prefix = f"{mapping.records}.item" if mapping.records else "item"
    yield from _read_items(path, mapping, chunk_rows, prefix, geojson=False)


def read_geojson(path: Path, mapping: SourceMapping, chunk_rows: int) -> Iterator[RawChunk]:
    """A GeoJSON FeatureCollection, streamed; properties become fields, Points give x/y."""
    yield from _read_items(path, mapping, chunk_rows, "features.item", geojson=True)


def _read_items(
    path: Path, mapping: SourceMapping, chunk_rows: int, prefix: str, *, geojson: bool
) -> Iterator[RawChunk]:
    with path.open("rb") as binary:
        row_no = 0
        records: list[dict[str, Any]] = []
        numbers: list[int] = []
        malformed: list[tuple[int, str, str]] = []
        xs: list[Any] = []
        ys: list[Any] = []
        types: list[Any] = []
        items = _stream_items(binary, prefix)
        while True:
            try:
                item = next(items)
            except StopIteration:
                break
            except (ijson.JSONError, ValueError) as exc:
                raise InvalidInput(
                    f"{path.name} : JSON invalide après l'enregistrement {row_no} ({exc}). "
                    f"Les lots complets déjà validés sont enregistrés ; corrigez le fichier "
                    f"puis relancez l'ingestion"
                ) from exc
            row_no += 1
            if isinstance(item, dict) and _has_nul(item):
                malformed.append((row_no, NUL_DETAIL, json.dumps(item, default=str)))
            elif not isinstance(item, dict):
                malformed.append(
                    (
                        row_no,
                        "l'enregistrement n'est pas un objet JSON",
                        json.dumps(item, default=str),
                    )
                )
            elif geojson:
                props = item.get("properties") or {}
                geom = item.get("geometry") or {}
                coords = geom.get("coordinates") if isinstance(geom, dict) else None
                is_point = isinstance(geom, dict) and geom.get("type") == "Point"
                records.append(
                    {**props, "geometry": geom} if isinstance(props, dict) else {"geometry": geom}
                )
                numbers.append(row_no)
                types.append(geom.get("type") if isinstance(geom, dict) else None)
                ok = is_point and isinstance(coords, list) and len(coords) >= 2
                xs.append(coords[0] if ok and coords else None)
                ys.append(coords[1] if ok and coords else None)
            else:
                records.append(item)
                numbers.append(row_no)
            if len(records) + len(malformed) >= chunk_rows:
                extra = {GEOM_X: xs, GEOM_Y: ys, GEOM_TYPE: types} if geojson else None
                yield _record_chunk(
                    records, numbers, malformed, mapping, row_no, binary.tell(), extra
                )
                records, numbers, malformed, xs, ys, types = [], [], [], [], [], []
        if records or malformed:
            extra = {GEOM_X: xs, GEOM_Y: ys, GEOM_TYPE: types} if geojson else None
            yield _record_chunk(records, numbers, malformed, mapping, row_no, binary.tell(), extra)


READERS: dict[str, Reader] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "json": read_json,
    "geojson": read_geojson,
}


def read_chunks(path: Path, mapping: SourceMapping, chunk_rows: int) -> Iterator[RawChunk]:
    """Chunks of the file, with the reader of the mapping's format."""
    if not path.is_file():
        raise InvalidInput(f"fichier introuvable : {path}")
    return READERS[mapping.format](path, mapping, chunk_rows)
