"""The SQL of the retention purge: which rows hold data past retention, and clearing them.

Every function counts the rows that still hold something to clear (``apply=False``, the
simulation) or clears exactly those rows (``apply=True``) and returns how many: both use the
same selection, so a simulation announces what the purge does, and a second purge finds
nothing. Events are never deleted (only their free text and address are), so counts per cell,
hot spots and forecasts do not change.

Scopes are given as parallel lists ``sources[i]``, ``categories[i]`` (the source × category
pairs a rule governs) or, for residents' reports, as the categories (service codes) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

_PAIRS = (
    "JOIN sources s ON s.id = e.source_id "
    "JOIN unnest(CAST(:srcs AS text[]), CAST(:cats AS text[])) AS p(source, category) "
    "ON p.source = s.slug AND p.category = e.category"
)


def _run(
    conn: Connection, *, change: str, key: str, ids: str, params: dict[str, Any], apply: bool
) -> int:
    """Count the rows of ``ids`` (distinct keys) or apply ``change`` to them."""
    if not apply:
        found = conn.execute(
            text(f"SELECT count(DISTINCT t.k) FROM ({ids}) AS t(k)"), params
        ).scalar_one()
        return int(found)
    return int(conn.execute(text(f"{change} WHERE {key} IN ({ids})"), params).rowcount)


def _pairs(sources: Sequence[str], categories: Sequence[str], before: datetime) -> dict[str, Any]:
    return {"srcs": list(sources), "cats": list(categories), "before": before}


def event_attributes(
    *,
    conn: Connection,
    sources: Sequence[str],
    categories: Sequence[str],
    before: datetime,
    keys: Sequence[str] | None,
    apply: bool,
) -> int:
    """Events that occurred before ``before`` lose the attribute ``keys`` (every key: None)."""
    params = _pairs(sources, categories, before)
    if keys is None:
        holds, change = "e.attributes <> CAST('{}' AS jsonb)", "attributes = CAST('{}' AS jsonb)"
    else:
        params["keys"] = list(keys)
        holds = "jsonb_exists_any(e.attributes, CAST(:keys AS text[]))"
        change = "attributes = attributes - CAST(:keys AS text[])"
    return _run(
        conn,
        change=f"UPDATE events SET {change}",
        key="id",
        ids=f"SELECT e.id FROM events e {_PAIRS} WHERE e.occurred_at < :before AND {holds}",
        params=params,
        apply=apply,
    )


def event_addresses(
    *,
    conn: Connection,
    sources: Sequence[str],
    categories: Sequence[str],
    before: datetime,
    apply: bool,
) -> int:
    """Events that occurred before ``before`` lose their address (their position stays)."""
    return _run(
        conn,
        change="UPDATE events SET address = NULL",
        key="id",
        ids=f"SELECT e.id FROM events e {_PAIRS} "
        "WHERE e.occurred_at < :before AND e.address IS NOT NULL",
        params=_pairs(sources, categories, before),
        apply=apply,
    )


def geocoding_addresses(
    *,
    conn: Connection,
    sources: Sequence[str],
    categories: Sequence[str],
    before: datetime,
    apply: bool,
) -> int:
    """The geocoding trace of those events loses its query, the address found and the
    candidates kept for an analyst."""
    return _run(
        conn,
        change="UPDATE event_geocoding SET query = '', matched = NULL, candidates = NULL",
        key="event_id",
        ids=f"SELECT g.event_id FROM event_geocoding g JOIN events e ON e.id = g.event_id "
        f"{_PAIRS} WHERE e.occurred_at < :before AND (g.query <> '' OR g.matched IS NOT NULL "
        "OR g.candidates IS NOT NULL)",
        params=_pairs(sources, categories, before),
        apply=apply,
    )


def _reports(codes: Sequence[str], before: datetime) -> dict[str, Any]:
    return {"codes": list(codes), "before": before}


_REPORTS = "r.service_code = ANY(CAST(:codes AS text[])) AND r.requested_at < :before"


def report_texts(*, conn: Connection, codes: Sequence[str], before: datetime, apply: bool) -> int:
    """Residents' reports filed before ``before`` lose their description (as filed and as
    published) and public note."""
    return _run(
        conn,
        change="UPDATE service_requests SET description = NULL, public_description = NULL, "
        "status_notes = NULL",
        key="id",
        ids=f"SELECT r.id FROM service_requests r WHERE {_REPORTS} "
        "AND (r.description IS NOT NULL OR r.public_description IS NOT NULL "
        "OR r.status_notes IS NOT NULL)",
        params=_reports(codes, before),
        apply=apply,
    )


def history_notes(*, conn: Connection, codes: Sequence[str], before: datetime, apply: bool) -> int:
    """The history of those reports loses its notes (states and times stay)."""
    return _run(
        conn,
        change="UPDATE service_request_history SET notes = NULL",
        key="id",
        ids="SELECT h.id FROM service_request_history h JOIN service_requests r "
        f"ON r.id = h.request_id WHERE {_REPORTS} AND h.notes IS NOT NULL",
        params=_reports(codes, before),
        apply=apply,
    )


def report_addresses(
    *, conn: Connection, codes: Sequence[str], before: datetime, apply: bool
) -> int:
    """Residents' reports filed before ``before`` lose the address typed (the point stays)."""
    return _run(
        conn,
        change="UPDATE service_requests SET address_string = NULL",
        key="id",
        ids=f"SELECT r.id FROM service_requests r WHERE {_REPORTS} "
        "AND r.address_string IS NOT NULL",
        params=_reports(codes, before),
        apply=apply,
    )


def _delete_due(
    conn: Connection,
    *,
    table: str,
    key: str,
    codes: Sequence[str],
    before: datetime,
    now: datetime,
    apply: bool,
) -> int:
    """Delete the rows of ``table`` (attached to a report by ``request_id``, due at their
    ``delete_after``) of reports filed before ``before`` or due at or before ``now``.

    ``table`` and ``key`` are names written in this module, never values from outside."""
    return _run(
        conn,
        change=f"DELETE FROM {table}",
        key=key,
        ids=f"SELECT a.{key} FROM {table} a JOIN service_requests r "
        "ON r.id = a.request_id WHERE r.service_code = ANY(CAST(:codes AS text[])) "
        "AND (r.requested_at < :before OR a.delete_after <= :now)",
        params={**_reports(codes, before), "now": now},
        apply=apply,
    )


def report_contacts(
    *, conn: Connection, codes: Sequence[str], before: datetime, now: datetime, apply: bool
) -> int:
    """Delete the authors' contacts of reports filed before ``before`` or due (``delete_after``
    announced at filing, at or before ``now``)."""
    return _delete_due(
        conn,
        table="service_request_contacts",
        key="request_id",
        codes=codes,
        before=before,
        now=now,
        apply=apply,
    )


def report_photos(
    *, conn: Connection, codes: Sequence[str], before: datetime, now: datetime, apply: bool
) -> int:
    """Delete the photos of reports filed before ``before`` or due (``delete_after``)."""
    return _delete_due(
        conn,
        table="service_request_media",
        key="id",
        codes=codes,
        before=before,
        now=now,
        apply=apply,
    )


def photo_files_due(
    *, conn: Connection, codes: Sequence[str], before: datetime, now: datetime
) -> list[str]:
    """The files of the photos :func:`report_photos` deletes (to remove once committed)."""
    return [
        str(f)
        for f in conn.execute(
            text(
                "SELECT a.file FROM service_request_media a JOIN service_requests r "
                "ON r.id = a.request_id WHERE r.service_code = ANY(CAST(:codes AS text[])) "
                "AND (r.requested_at < :before OR a.delete_after <= :now) "
                "AND a.file IS NOT NULL"
            ),
            {**_reports(codes, before), "now": now},
        ).scalars()
    ]


def abandoned_photo_files(*, conn: Connection, now: datetime) -> list[str]:
    """The files of the photos :func:`abandoned_photos` deletes."""
    return [
        str(f)
        for f in conn.execute(
            text(
                "SELECT file FROM service_request_media WHERE request_id IS NULL "
                "AND delete_after <= :now AND file IS NOT NULL"
            ),
            {"now": now},
        ).scalars()
    ]


def abandoned_photos(*, conn: Connection, now: datetime, apply: bool) -> int:
    """Delete the staged photos whose report was never stored, once due (``delete_after``)."""
    return _run(
        conn,
        change="DELETE FROM service_request_media",
        key="id",
        ids="SELECT a.id FROM service_request_media a "
        "WHERE a.request_id IS NULL AND a.delete_after <= :now",
        params={"now": now},
        apply=apply,
    )


def report_media_urls(
    *, conn: Connection, codes: Sequence[str], before: datetime, apply: bool
) -> int:
    """Residents' reports filed before ``before`` lose the link to their photo (``media_url``)."""
    return _run(
        conn,
        change="UPDATE service_requests SET media_url = NULL",
        key="id",
        ids=f"SELECT r.id FROM service_requests r WHERE {_REPORTS} AND r.media_url IS NOT NULL",
        params=_reports(codes, before),
        apply=apply,
    )


def rejected_rows(
    *, conn: Connection, sources: Sequence[str], before: datetime, apply: bool
) -> int:
    """Rejected rows of batches of ``sources`` started before ``before`` lose their raw content
    and detail (the row number and the reason stay, and the batches' counts)."""
    return _run(
        conn,
        change="UPDATE ingest_rejections SET raw = '', detail = ''",
        key="id",
        ids="SELECT j.id FROM ingest_rejections j JOIN ingest_batches b ON b.id = j.batch_id "
        "JOIN sources s ON s.id = b.source_id WHERE s.slug = ANY(CAST(:srcs AS text[])) "
        "AND b.started_at < :before AND (j.raw <> '' OR j.detail <> '')",
        params={"srcs": list(sources), "before": before},
        apply=apply,
    )


def source_slugs(*, conn: Connection) -> list[str]:
    """Slugs of the sources in the database."""
    return [str(s) for s in conn.execute(text("SELECT slug FROM sources ORDER BY slug")).scalars()]


def category_codes(*, conn: Connection) -> list[str]:
    """Codes of the categories in the database."""
    return [
        str(c) for c in conn.execute(text("SELECT code FROM categories ORDER BY code")).scalars()
    ]


def lock(*, conn: Connection) -> None:
    """Serialise purges (the lock is released at the end of the caller's transaction)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": _LOCK_NAMESPACE})


#: first key of the advisory lock taken by a purge
_LOCK_NAMESPACE = 0x72657465  # "rete"
