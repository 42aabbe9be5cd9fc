"""The Base Adresse Nationale in the database: releases and addresses (``ban_addresses``).

A release is one load of a BAN file. Its row in ``ban_releases`` is created first, with
``rows_read`` 0, and gets its counts and communes only in the last transaction of the load
(:func:`finish_release`): a release with ``rows_read`` 0 is an unfinished (interrupted or
failed) load. Every address of the file is stamped with the id of the release that last
contained it, so that :func:`remove_missing` can delete, at the end, the addresses of the
file's communes that the new release no longer has; other communes are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, text

from geotranquil.db.copy import copy_frame
from geotranquil.db.models import BanAddress

#: Columns written through the staging table: those of the table but the geometry (made from
#: lon/lat) and the release (stamped by the load).
STAGE_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in BanAddress.__table__.columns if c.name not in ("geom", "release_id")
)
#: Columns read back by :func:`addresses_frame`.
FRAME_COLUMNS = tuple(c for c in STAGE_COLUMNS if c not in ("type_position", "source_position"))
_CONTENT = [c for c in STAGE_COLUMNS if c != "id"]

#: First key of the session advisory lock that serialises BAN loads ("gban").
_LOCK_KEY = 0x6762616E

_STAGE_DDL = (
    "CREATE TEMP TABLE ban_stage (id text, street_key text, numero integer, rep text, "
    "nom_voie text, code_postal text, code_insee text, nom_commune text, "
    "nom_ancienne_commune text, alias text, nom_ld text, type_position text, "
    "source_position text, lon float8, lat float8) ON COMMIT DROP"
)
# An empty CSV field is NULL for COPY: the NOT NULL texts get their empty string back.
_STAGE_VALUES = {c: f"s.{c}" for c in _CONTENT} | {
    "rep": "coalesce(s.rep, '')",
    "nom_commune": "coalesce(s.nom_commune, '')",
}
_GEOM = "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)"


@dataclass(frozen=True)
class ChunkCounts:
    """What writing one chunk did."""

    inserted: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class ReleaseInfo:
    """A finished release."""

    id: int
    file_name: str
    file_sha256: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    communes: list[str]
    loaded_at: datetime


def try_lock(*, conn: Connection) -> bool:
    """Take the session lock of BAN loads; False if another load holds it."""
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar())


def unlock(*, conn: Connection) -> None:
    """Release the session lock taken by :func:`try_lock`."""
    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})


def create_release(*, conn: Connection, file_name: str, sha256: str) -> int:
    """Start a release (unfinished until :func:`finish_release`); its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO ban_releases (file_name, file_sha256) VALUES (:name, :sha) "
                "RETURNING id"
            ),
            {"name": file_name, "sha": sha256},
        ).scalar_one()
    )


def load_chunk(*, conn: Connection, frame: pd.DataFrame, release_id: int) -> ChunkCounts:
    """Upsert an address frame in the caller's transaction; inserted / updated / unchanged.

    The rows go by ``COPY`` into a temporary staging table, then three set-based statements:
    update the stored addresses whose content differs, stamp the others with the release,
    insert the new ids. Ids must be unique in ``frame``.
    """
    if not len(frame):
        return ChunkCounts(0, 0, 0)
    conn.execute(text(_STAGE_DDL))
    copy_frame(conn, "ban_stage", frame, STAGE_COLUMNS)
    sets = ", ".join(f"{c} = {_STAGE_VALUES[c]}" for c in _CONTENT)
    stored = ", ".join(f"a.{c}" for c in _CONTENT)
    staged = ", ".join(_STAGE_VALUES[c] for c in _CONTENT)
    params = {"rel": release_id}
    updated = conn.execute(
        text(
            f"UPDATE ban_addresses a SET {sets}, geom = {_GEOM}, release_id = :rel "
            f"FROM ban_stage s WHERE a.id = s.id AND ({stored}) IS DISTINCT FROM ({staged})"
        ),
        params,
    ).rowcount
    unchanged = conn.execute(
        text(
            "UPDATE ban_addresses a SET release_id = :rel FROM ban_stage s "
            "WHERE a.id = s.id AND a.release_id <> :rel"
        ),
        params,
    ).rowcount
    inserted = conn.execute(
        text(
            f"INSERT INTO ban_addresses (id, {', '.join(_CONTENT)}, geom, release_id) "
            f"SELECT s.id, {staged}, {_GEOM}, :rel FROM ban_stage s "
            "WHERE NOT EXISTS (SELECT 1 FROM ban_addresses a WHERE a.id = s.id)"
        ),
        params,
    ).rowcount
    return ChunkCounts(int(inserted), int(updated), int(unchanged))


def remove_missing(
    *,
    conn: Connection,
    release_id: int,
    communes: Sequence[str],
    keep_ids: Sequence[str] = (),
) -> int:
    """Delete the addresses of ``communes`` that release ``release_id`` did not contain.

    ``keep_ids`` are ids the file had in rows that could not be loaded: their previous version
    stays. Other communes are untouched. Returns the number deleted.
    """
    if not communes:
        return 0
    result = conn.execute(
        text(
            "DELETE FROM ban_addresses WHERE code_insee = ANY(:communes) "
            "AND release_id <> :rel AND NOT (id = ANY(:keep))"
        ),
        {"communes": list(communes), "rel": release_id, "keep": list(keep_ids)},
    )
    return int(result.rowcount)


def finish_release(
    *,
    conn: Connection,
    release_id: int,
    rows_read: int,
    inserted: int,
    updated: int,
    unchanged: int,
    rejected: int,
    communes: Sequence[str],
) -> None:
    """Record the counts and communes of a release (which makes it finished).

    Unfinished releases left by earlier failed loads, and no longer referenced, are deleted.
    """
    conn.execute(
        text(
            "UPDATE ban_releases SET rows_read = :rows, inserted = :ins, updated = :upd, "
            "unchanged = :same, rejected = :rej, communes = :communes, loaded_at = now() "
            "WHERE id = :rel"
        ),
        {
            "rows": rows_read,
            "ins": inserted,
            "upd": updated,
            "same": unchanged,
            "rej": rejected,
            "communes": sorted(communes),
            "rel": release_id,
        },
    )
    conn.execute(
        text(
            "DELETE FROM ban_releases r WHERE r.rows_read = 0 AND r.id <> :rel "
            "AND NOT EXISTS (SELECT 1 FROM ban_addresses a WHERE a.release_id = r.id)"
        ),
        {"rel": release_id},
    )


def _release(row: object) -> ReleaseInfo:
    m = row._mapping  # type: ignore[attr-defined]
    return ReleaseInfo(
        id=int(m["id"]),
        file_name=str(m["file_name"]),
        file_sha256=str(m["file_sha256"]),
        rows_read=int(m["rows_read"]),
        inserted=int(m["inserted"]),
        updated=int(m["updated"]),
        unchanged=int(m["unchanged"]),
        rejected=int(m["rejected"]),
        communes=list(m["communes"]),
        loaded_at=m["loaded_at"],
    )


_RELEASE_COLUMNS = (
    "id, file_name, file_sha256, rows_read, inserted, updated, unchanged, rejected, communes, "
    "loaded_at"
)


def release_of(*, conn: Connection, sha256: str) -> ReleaseInfo | None:
    """The latest finished release of the file with this SHA-256, if any."""
    row = conn.execute(
        text(
            f"SELECT {_RELEASE_COLUMNS} FROM ban_releases "
            "WHERE file_sha256 = :sha AND rows_read > 0 ORDER BY id DESC LIMIT 1"
        ),
        {"sha": sha256},
    ).first()
    return None if row is None else _release(row)


def latest_release_id(*, conn: Connection) -> int | None:
    """Id of the latest finished release, or None when no BAN file was loaded."""
    value = conn.execute(text("SELECT max(id) FROM ban_releases WHERE rows_read > 0")).scalar()
    return None if value is None else int(value)


def latest_release_stamp(*, conn: Connection) -> tuple[int, str] | None:
    """The latest finished release's id, and a stamp that identifies the BAN content now.

    Ids alone can repeat (a table emptied and restarted); the stamp (id, file, load time)
    cannot.
    """
    row = conn.execute(
        text(
            "SELECT id, file_sha256, loaded_at FROM ban_releases WHERE rows_read > 0 "
            "ORDER BY id DESC LIMIT 1"
        )
    ).first()
    return None if row is None else (int(row[0]), f"{row[0]}:{row[1]}:{row[2].isoformat()}")


def addresses_frame(*, conn: Connection, communes: Sequence[str] | None = None) -> pd.DataFrame:
    """Every address (of ``communes`` when given), sorted by id, for in-memory indexes.

    Columns :data:`FRAME_COLUMNS`; optional texts are ``None`` when absent.
    """
    sql = f"SELECT {', '.join(FRAME_COLUMNS)} FROM ban_addresses"
    params: dict[str, object] = {}
    if communes is not None:
        sql += " WHERE code_insee = ANY(:communes)"
        params["communes"] = list(communes)
    rows = conn.execute(text(sql + ' ORDER BY id COLLATE "C"'), params).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(FRAME_COLUMNS)
    data: dict[str, object] = {}
    for name, values in zip(FRAME_COLUMNS, columns, strict=True):
        if name == "numero":
            data[name] = pd.Series(values, dtype="int64")
        elif name in ("lon", "lat"):
            data[name] = pd.Series(values, dtype="float64")
        else:  # texts stay Python strings, missing ones None (as the file reader gives them)
            data[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)
