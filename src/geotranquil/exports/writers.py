"""Export writers: rows read from PostGIS as GeoJSON, CSV, GeoParquet, GeoPackage, FlatGeobuf.

Rows arrive in chunks (``Iterable[list[dict[str, Any]]]``), as a server-side cursor yields them.
Each row holds one key per property column and ``geometry_wkb``: the WKB of ``ST_AsBinary``
(``bytes`` or ``memoryview``) or ``None``.

- :func:`geojson_stream` and :func:`csv_stream` yield ``bytes`` as the chunks are read: an HTTP
  response can send them straight away, and memory never holds more than one chunk.
- :func:`write_file` writes a GeoParquet, GeoPackage or FlatGeobuf file chunk by chunk (one Arrow
  record batch per chunk); the column types come from the catalogue (``types``), so an empty
  result or an all-null column still gets the right type.

Text values: datetimes and dates in ISO 8601, ``Decimal`` as a float, NaN and infinities as null.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyogrio.errors import DataLayerError
from pyproj import CRS

__all__ = ["EXPORT_FORMATS", "ExportFormat", "csv_stream", "geojson_stream", "write_file"]

Row = dict[str, Any]
Chunks = Iterable[list[Row]]

#: key of the WKB geometry in each row
GEOMETRY_KEY = "geometry_wkb"
#: name of the geometry column in the written files
GEOMETRY_COLUMN = "geometry"


@dataclass(frozen=True)
class ExportFormat:
    """One export format: its name, HTTP media type, file extension, and whether it streams."""

    name: str
    media_type: str
    extension: str
    streamed: bool


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("geojson", "application/geo+json", ".geojson", True),
        ExportFormat("csv", "text/csv; charset=utf-8", ".csv", True),
        ExportFormat("parquet", "application/vnd.apache.parquet", ".parquet", False),
        ExportFormat("gpkg", "application/geopackage+sqlite3", ".gpkg", False),
        ExportFormat("fgb", "application/flatgeobuf", ".fgb", False),
    )
}


# --- values and geometries ------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: ISO 8601 for dates, float for Decimal, None for NaN and infinities."""
    if isinstance(value, dt.date):  # datetime.datetime included
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _wkb(rows: list[Row]) -> list[bytes | None]:
    """The WKB of each row as ``bytes`` (psycopg may give a ``memoryview``), or None."""
    return [None if (g := row.get(GEOMETRY_KEY)) is None else bytes(g) for row in rows]


def _geometries(rows: list[Row]) -> np.ndarray:
    """The shapely geometries of the rows (None where a row has no geometry)."""
    return shapely.from_wkb(_wkb(rows))


# --- GeoJSON --------------------------------------------------------------------------------


def geojson_stream(
    chunks: Chunks,
    *,
    columns: Sequence[str],
    crs_uri: str | None = None,
    lat_lon: bool = False,
) -> Iterator[bytes]:
    """Write the rows as a GeoJSON FeatureCollection, piece by piece.

    Parameters
    ----------
    chunks
        Lists of rows; each row maps every name of `columns` and ``geometry_wkb`` to a value.
    columns
        The property columns, in the order they are written.
    crs_uri
        The CRS of the coordinates. Informational only: RFC 7946 has no ``crs`` member, so
        nothing is written for it.
    lat_lon
        Whether that CRS has latitude first. Informational only: coordinates are written in
        the order of the WKB.

    Yields
    ------
    bytes
        UTF-8 JSON: the opening, then one piece per non-empty chunk, then the closing.

    Notes
    -----
    The feature ``id`` is the value of the column ``fid`` when that column is exported (and
    not null); ``fid`` stays among the properties too. A missing or empty geometry is ``null``.
    """
    yield b'{"type":"FeatureCollection","features":['
    separator = ""
    for rows in chunks:
        if rows:
            yield (separator + ",".join(_features(rows, columns))).encode()
            separator = ","
    yield b"]}"


def _features(rows: list[Row], columns: Sequence[str]) -> Iterator[str]:
    """The GeoJSON text of each row's Feature."""
    geometries = _geometries(rows)
    geometries[shapely.is_empty(geometries)] = None
    texts = shapely.to_geojson(geometries)
    for row, geometry in zip(rows, texts, strict=True):
        fid = _plain(row["fid"]) if "fid" in columns else None
        head = '{"type":"Feature",' if fid is None else f'{{"type":"Feature","id":{_json(fid)},'
        properties = _json({name: _plain(row[name]) for name in columns})
        yield f'{head}"geometry":{geometry or "null"},"properties":{properties}}}'


def _json(value: Any) -> str:
    """Compact JSON, non-ASCII characters kept as they are."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


# --- CSV ------------------------------------------------------------------------------------

#: geometry mode -> the geometry columns appended after the property columns
CSV_GEOMETRY_COLUMNS: dict[str, tuple[str, ...]] = {
    "wkt": ("wkt",),
    "lonlat": ("x", "y"),
    "none": (),
}


def csv_stream(chunks: Chunks, *, columns: Sequence[str], geometry: str = "wkt") -> Iterator[bytes]:
    """Write the rows as CSV (UTF-8, no BOM, RFC 4180 quoting), piece by piece.

    Parameters
    ----------
    chunks
        Lists of rows; each row maps every name of `columns` and ``geometry_wkb`` to a value.
    columns
        The property columns, in the order they are written (the header row).
    geometry
        ``"wkt"``: a last column ``wkt`` (full precision WKT); ``"lonlat"``: two last columns
        ``x`` and ``y``, the coordinates of a point or, for any other geometry, of its
        representative point (shapely ``point_on_surface``: a point guaranteed to lie inside
        the polygon, unlike the centroid); ``"none"``: no geometry column.

    Yields
    ------
    bytes
        The header row, then the rows of each non-empty chunk.

    Raises
    ------
    ValueError
        For an unknown `geometry` mode, or a property column named like a geometry column.

    Notes
    -----
    Null values and missing geometries are empty cells; booleans are ``true`` / ``false``;
    datetimes and dates are ISO 8601; lines end with CRLF.

    Examples
    --------
    >>> import shapely
    >>> point = shapely.Point(5.37, 43.29).wkb
    >>> rows = [{"name": 'quai "Est", Vieux-Port', "n": 3, "geometry_wkb": point}]
    >>> b"".join(csv_stream([rows], columns=["name", "n"], geometry="lonlat")).decode()
    'name,n,x,y\\r\\n"quai ""Est"", Vieux-Port",3,5.37,43.29\\r\\n'
    """
    extra = CSV_GEOMETRY_COLUMNS.get(geometry)
    if extra is None:
        raise ValueError(f"unknown CSV geometry mode {geometry!r}: {sorted(CSV_GEOMETRY_COLUMNS)}")
    if clash := set(extra) & set(columns):
        raise ValueError(f"property columns {sorted(clash)} clash with the geometry columns")
    return _csv_pieces(chunks, columns, geometry, [*columns, *extra])


def _csv_pieces(
    chunks: Chunks, columns: Sequence[str], geometry: str, header: list[str]
) -> Iterator[bytes]:
    """The header, then one piece of CSV per non-empty chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield _drain(buffer)
    for rows in chunks:
        if not rows:
            continue
        cells = _CSV_GEOMETRY_CELLS[geometry](_geometries(rows))
        for row, extra in zip(rows, cells, strict=True):
            writer.writerow([*(_csv_cell(row[name]) for name in columns), *extra])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    """The buffer's text as UTF-8, the buffer emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def _csv_cell(value: Any) -> Any:
    """A CSV cell: empty for null, ``true`` / ``false`` for booleans, else the plain value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    value = _plain(value)
    return "" if value is None else value


def _wkt_cells(geometries: np.ndarray) -> list[tuple[str]]:
    """One WKT cell per geometry, at full precision."""
    return [(text or "",) for text in shapely.to_wkt(geometries, rounding_precision=-1)]


def _lonlat_cells(geometries: np.ndarray) -> list[tuple[Any, Any]]:
    """The x and y cells of each geometry's representative point (empty for none)."""
    points = shapely.point_on_surface(geometries)
    xs, ys = shapely.get_x(points), shapely.get_y(points)
    return [(_csv_cell(float(x)), _csv_cell(float(y))) for x, y in zip(xs, ys, strict=True)]


_CSV_GEOMETRY_CELLS: dict[str, Callable[[np.ndarray], Sequence[tuple[Any, ...]]]] = {
    "wkt": _wkt_cells,
    "lonlat": _lonlat_cells,
    "none": lambda geometries: [()] * len(geometries),
}


# --- files: GeoParquet, GeoPackage, FlatGeobuf -----------------------------------------------

#: catalogue type -> (Arrow type, conversion of a non-null value)
_ARROW_TYPES: dict[str, tuple[pa.DataType, Callable[[Any], Any]]] = {
    "string": (pa.string(), str),
    "integer": (pa.int64(), int),
    "number": (pa.float64(), float),
    "boolean": (pa.bool_(), bool),
    "datetime": (pa.timestamp("us", tz="UTC"), lambda v: v),
    "date": (pa.date32(), lambda v: v.date() if isinstance(v, dt.datetime) else v),
}


def write_file(
    chunks: Chunks,
    *,
    path: Path,
    fmt: str,
    columns: Sequence[str],
    types: Mapping[str, str],
    srid: int,
    layer: str,
    geometry_type: str,
) -> int:
    """Write the rows to a GeoParquet, GeoPackage or FlatGeobuf file, chunk by chunk.

    Parameters
    ----------
    chunks
        Lists of rows; each row maps every name of `columns` and ``geometry_wkb`` to a value.
    path
        The file to write; an existing file there is replaced.
    fmt
        ``"parquet"``, ``"gpkg"`` or ``"fgb"``.
    columns
        The property columns, in order.
    types
        Column -> ``"string"``, ``"integer"``, ``"number"``, ``"boolean"``, ``"datetime"`` or
        ``"date"``, for every column. Datetimes are stored in UTC (naive ones are taken as UTC).
    srid
        The EPSG code of the coordinates.
    layer
        The layer name (GeoPackage, FlatGeobuf; ignored for GeoParquet).
    geometry_type
        ``"Point"``, ``"Polygon"`` or ``"MultiPolygon"``: the declared geometry type.

    Returns
    -------
    int
        The number of features written.

    Raises
    ------
    ValueError
        For an unknown format, or a column without a known type.

    Notes
    -----
    - GeoParquet 1.0: geometry column ``geometry`` in WKB with the ``geo`` metadata (PROJJSON
      of EPSG:`srid`); one row group per chunk.
    - GeoPackage: written with ``pyogrio.write_arrow`` from a stream of record batches (one
      call, no append), geometry column ``geom``, version 1.3 (read without warning by
      GDAL < 3.7). An integer column ``fid`` becomes the GeoPackage feature id (read it back
      with ``read_file(..., fid_as_index=True)``); a non-integer ``fid`` stays an ordinary
      column and the feature id is then ``ogc_fid``.
    - FlatGeobuf: GDAL builds the spatial index only if every feature has a geometry, which is
      known only at the end of the stream. So the record batches are first staged, memory
      flat, in an Arrow IPC file in a temporary folder beside `path`, then streamed from it
      (memory-mapped) into `path` with the index, in one write (no ``append=True``); if a
      feature has no geometry (or an empty one), GDAL refuses and the file is written again
      from the staged batches without the index. An indexed file holds the features in
      spatial (Hilbert) order. Dates are stored as DateTime (FlatGeobuf has no Date type).
    - GDAL (GeoPackage, FlatGeobuf) keeps datetimes to the millisecond.
    """
    if fmt not in _FILE_WRITERS:
        raise ValueError(f"unknown file format {fmt!r}: {sorted(_FILE_WRITERS)}")
    schema = _arrow_schema(columns, types)
    tally = _Tally()
    batches = _batches(chunks, schema, columns, tally)
    path.unlink(missing_ok=True)
    _FILE_WRITERS[fmt](
        batches, path=path, schema=schema, srid=srid, layer=layer, geometry_type=geometry_type
    )
    return tally.rows


@dataclass
class _Tally:
    """The number of rows seen so far."""

    rows: int = 0


def _arrow_schema(columns: Sequence[str], types: Mapping[str, str]) -> pa.Schema:
    """The Arrow schema of the columns, then the WKB geometry column."""
    unknown = [name for name in columns if types.get(name) not in _ARROW_TYPES]
    if unknown:
        raise ValueError(f"columns without a known type: {unknown} (types: {sorted(_ARROW_TYPES)})")
    fields = [pa.field(name, _ARROW_TYPES[types[name]][0]) for name in columns]
    return pa.schema([*fields, pa.field(GEOMETRY_COLUMN, pa.binary())])


def _batches(
    chunks: Chunks, schema: pa.Schema, columns: Sequence[str], tally: _Tally
) -> Iterator[pa.RecordBatch]:
    """One record batch per non-empty chunk, counted in `tally`."""
    for rows in chunks:
        if rows:
            tally.rows += len(rows)
            yield _record_batch(rows, schema, columns)


def _record_batch(rows: list[Row], schema: pa.Schema, columns: Sequence[str]) -> pa.RecordBatch:
    """The rows as a record batch of `schema`, values converted to the column types."""
    arrays = []
    for name in columns:
        convert = _ARROW_TYPES_BY_ARROW[schema.field(name).type]
        values = [None if (v := row[name]) is None else convert(v) for row in rows]
        arrays.append(pa.array(values, type=schema.field(name).type))
    arrays.append(pa.array(_wkb(rows), type=pa.binary()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


_ARROW_TYPES_BY_ARROW: dict[pa.DataType, Callable[[Any], Any]] = {
    arrow: convert for arrow, convert in _ARROW_TYPES.values()
}


def _geo_metadata(srid: int, geometry_type: str) -> str:
    """The GeoParquet 1.0 ``geo`` metadata of the geometry column."""
    column = {
        "encoding": "WKB",
        "geometry_types": [geometry_type],
        "crs": CRS.from_epsg(srid).to_json_dict(),
        "edges": "planar",
    }
    return _json(
        {
            "version": "1.0.0",
            "primary_column": GEOMETRY_COLUMN,
            "columns": {GEOMETRY_COLUMN: column},
        }
    )


def _write_parquet(
    batches: Iterator[pa.RecordBatch], *, path: Path, schema: pa.Schema, srid: int, **layer: Any
) -> None:
    """GeoParquet, one row group per batch."""
    schema = schema.with_metadata({"geo": _geo_metadata(srid, layer["geometry_type"])})
    with pq.ParquetWriter(path, schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _write_ogr(
    batches: Iterable[pa.RecordBatch] | pa.RecordBatchReader,
    *,
    path: Path,
    driver: str,
    schema: pa.Schema,
    srid: int,
    layer: str,
    geometry_type: str,
    geometry_name: str = GEOMETRY_COLUMN,
    options: Mapping[str, str],
) -> None:
    """One GDAL layer written from a stream of record batches (a single write, no append)."""
    if not isinstance(batches, pa.RecordBatchReader):
        batches = pa.RecordBatchReader.from_batches(schema, batches)
    pyogrio.write_arrow(
        batches,
        str(path),
        layer=layer,
        driver=driver,
        geometry_name=geometry_name,
        geometry_type=geometry_type,
        crs=f"EPSG:{srid}",
        **options,  # creation options, routed by pyogrio to the dataset or the layer
    )


def _write_gpkg(batches: Iterator[pa.RecordBatch], *, schema: pa.Schema, **target: Any) -> None:
    """GeoPackage 1.3; an integer ``fid`` column becomes the feature id."""
    fid_is_integer = "fid" not in schema.names or pa.types.is_integer(schema.field("fid").type)
    options = {"VERSION": "1.3"} if fid_is_integer else {"VERSION": "1.3", "FID": "ogc_fid"}
    _write_ogr(batches, driver="GPKG", schema=schema, options=options, **target)


def _write_fgb(
    batches: Iterator[pa.RecordBatch], *, path: Path, schema: pa.Schema, **target: Any
) -> None:
    """FlatGeobuf with a spatial index when every feature has a geometry (see `write_file`)."""
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".fgb-") as tmp:
        staged = Path(tmp) / "batches.arrows"
        with pa.OSFile(str(staged), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
        try:
            _write_staged(staged, path=path, schema=schema, spatial_index=True, **target)
        except DataLayerError:  # "NULL geometry not supported with spatial index"
            _write_staged(staged, path=path, schema=schema, spatial_index=False, **target)


def _write_staged(staged: Path, *, path: Path, spatial_index: bool, **target: Any) -> None:
    """A FlatGeobuf file streamed from the staged Arrow IPC stream (memory-mapped)."""
    path.unlink(missing_ok=True)
    with pa.memory_map(str(staged)) as source:
        _write_ogr(
            pa.ipc.open_stream(source),
            path=path,
            driver="FlatGeobuf",
            options={"SPATIAL_INDEX": "YES" if spatial_index else "NO"},
            **target,
        )


_FILE_WRITERS: dict[str, Callable[..., None]] = {
    "parquet": _write_parquet,
    "gpkg": _write_gpkg,
    "fgb": _write_fgb,
}
