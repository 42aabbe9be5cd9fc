"""Shared helpers of the ingestion tests: hand-written native files and exact DB read-backs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h3
from pyproj import Transformer
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.grid.h3ids import FINE_RESOLUTION
from geotranquil.ingest.mapping import SourceMapping, packaged_mappings

# Points inside the commune of Marseille, each 300 m or more from its outline, (lon, lat).
RUE_DE_ROME = (5.3790, 43.2920)
CASTELLANE = (5.3836, 43.2861)
SAINT_CHARLES = (5.3800, 43.3027)
PRADO = (5.3950, 43.2600)
SAINT_LOUP = (5.4300, 43.2700)
CHATEAU_GOMBERT = (5.4500, 43.3600)
CINQ_AVENUES = (5.4000, 43.3000)
SAINT_BARTHELEMY = (5.4100, 43.3300)
INSIDE = (
    RUE_DE_ROME,
    CASTELLANE,
    SAINT_CHARLES,
    PRADO,
    SAINT_LOUP,
    CHATEAU_GOMBERT,
    CINQ_AVENUES,
    SAINT_BARTHELEMY,
)
# Outside the commune: Paris and Aix-en-Provence.
PARIS = (2.3522, 48.8566)
AIX = (5.447, 43.529)

ANALYSIS_RESOLUTIONS = (7, 8, 9, 10)
TO_WGS84 = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
TO_LAMBERT93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)

POLICE_HEADER = (
    "N° main courante;Date des faits;Heure des faits;Nature des faits;N° voie;Indice;"
    "Libellé voie;Code postal;Commune;Suite donnée"
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def write_lines(path: Path, lines: list[str], encoding: str, newline: str = "\n") -> Path:
    """Write text lines in an exact encoding (bytes that cannot be encoded raise)."""
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode(encoding))
    return path


def write_police_csv(path: Path, rows: list[str]) -> Path:
    """A main courante export: Windows-1252, ';', CRLF line endings, French header."""
    return write_lines(path, [POLICE_HEADER, *rows], "cp1252", "\r\n")


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def known_categories(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT code FROM categories")).scalars())


def mappings(engine: Engine) -> dict[str, SourceMapping]:
    """The packaged mappings, checked against the categories of the test database."""
    return packaged_mappings(known_categories(engine))


def events(engine: Engine, source: str | None = None) -> dict[str, dict[str, Any]]:
    """Every event (of one source, or of all when they do not share ids), by external id."""
    sql = """
        SELECT e.id, s.slug AS source, e.external_id, e.category, e.native_category,
               e.occurred_at, e.reported_at, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
               ST_SRID(e.geom) AS srid, e.h3_fine, e.h3_r7, e.h3_r8, e.h3_r9, e.h3_r10,
               e.location_precision, e.address, e.attributes, e.batch_id, e.updated_at
        FROM events e JOIN sources s ON s.id = e.source_id
        WHERE (CAST(:source AS text) IS NULL OR s.slug = :source)
        ORDER BY e.id
    """
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(sql), {"source": source})]
    out = {r["external_id"]: r for r in rows}
    assert len(out) == len(rows), "external ids repeat: pass the source"
    return out


def rejections(engine: Engine, batch_id: int | None = None) -> dict[int, dict[str, Any]]:
    """Rejections (of one batch, or of all), by row number."""
    sql = """
        SELECT batch_id, row_number, reason, detail, raw FROM ingest_rejections
        WHERE CAST(:batch AS integer) IS NULL OR batch_id = :batch
        ORDER BY row_number
    """
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(sql), {"batch": batch_id})]
    out = {r["row_number"]: r for r in rows}
    assert len(out) == len(rows), "row numbers repeat: pass the batch"
    return out


def reasons(engine: Engine, batch_id: int | None = None) -> set[tuple[int, str]]:
    return {(n, r["reason"]) for n, r in rejections(engine, batch_id).items()}


def batches(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(text("SELECT * FROM ingest_batches ORDER BY id"))
        ]


def batch(engine: Engine, batch_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM ingest_batches WHERE id = :id"), {"id": batch_id}
        ).one()
    return dict(row._mapping)


def counts(b: dict[str, Any]) -> dict[str, Any]:
    """The figures of a batch row that a test states exactly."""
    keys = ("status", "rows_read", "rows_committed", "inserted", "updated", "unchanged")
    return {k: b[k] for k in (*keys, "rejected", "unlocated", "resumed")}


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def events_checksum(engine: Engine) -> str:
    """A digest of every column of every event, plus the tuple version (xmin) of each row."""
    return str(
        scalar(
            engine,
            "SELECT md5(coalesce(string_agg(e::text || '|' || e.xmin::text, '\n' ORDER BY e.id),"
            " '')) FROM events e",
        )
    )


def expected_cells(lon: float, lat: float) -> dict[str, int]:
    """H3 ids of a point from the h3 library itself: its fine cell and that cell's ancestors.

    The analysis ids are the H3 parents of the fine cell (DESIGN §3: counts at a coarser
    resolution are a GROUP BY on the parent of the fine id). H3 is not exactly nested, so for
    about 6 % of points the parent differs from ``latlng_to_cell`` at that resolution.
    """
    fine = h3.latlng_to_cell(lat, lon, FINE_RESOLUTION)
    out = {"h3_fine": h3.str_to_int(fine)}
    for res in ANALYSIS_RESOLUTIONS:
        out[f"h3_r{res}"] = h3.str_to_int(h3.cell_to_parent(fine, res))
    return out


def cells_of(event: dict[str, Any]) -> dict[str, int]:
    return {k: event[k] for k in ("h3_fine", *(f"h3_r{r}" for r in ANALYSIS_RESOLUTIONS))}


def assert_sql_parents_match(engine: Engine, n_located: int) -> None:
    """``h3_parent(h3_fine, r)`` in SQL equals the stored ``h3_r{r}`` on every located event."""
    checks = " AND ".join(f"h3_parent(h3_fine, {r}) = h3_r{r}" for r in ANALYSIS_RESOLUTIONS)
    ok = scalar(
        engine,
        f"SELECT count(*) FILTER (WHERE {checks}) FROM events WHERE h3_fine IS NOT NULL",
    )
    assert ok == n_located


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment of a CLI run against the test database (wide terminal: no wrapping)."""
    return {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
