"""Residents' reports (Open311): the SQL of requests, their events, contacts, photos, history.

Public reads (:func:`public_requests`) never touch the personal-data tables; only
:func:`staff_request`, :func:`staff_requests` and :func:`media_content` do (staff only).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import bindparam

from geotranquil.db.partitions import ensure_event_partitions

_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"

#: what any caller may read of a request (no join with contacts or media)
PUBLIC_COLUMNS = """
    r.id, r.service_request_id, r.token, r.status, r.state, r.status_notes, c.label AS service_name,
    r.service_code, r.description, r.agency_responsible, r.service_notice, r.requested_at,
    r.updated_at, r.expected_at, r.address_string, ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon,
    r.media_url, d.service_request_id AS duplicate_of, r.public_description,
    r.description_published_at
"""
_FROM = """
    FROM service_requests r
    JOIN categories c ON c.code = r.service_code
    LEFT JOIN service_requests d ON d.id = r.duplicate_of
"""


def residents_source_id(*, conn: Connection, slug: str, name: str, owner: str) -> int:
    """Id of the residents' source, created (as an ``open311`` source) when missing."""
    select = text("SELECT id FROM sources WHERE slug = :s")
    found = conn.execute(select, {"s": slug}).scalar()
    if found is not None:  # every report but the first: a read only
        return int(found)
    conn.execute(
        text(
            "INSERT INTO sources (slug, name, kind, owner) VALUES (:s, :n, 'open311', :o) "
            "ON CONFLICT (slug) DO NOTHING"
        ),
        {"s": slug, "n": name, "o": owner},
    )
    return int(conn.execute(select, {"s": slug}).scalar_one())


def inside_study_area(*, conn: Connection, lon: float, lat: float, buffer_m: float) -> bool:
    """Whether a point lies in the commune (widened by ``buffer_m``); False without areas."""
    found = conn.execute(
        text(
            f"SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'commune' AND "
            f"(ST_Intersects(geom, {_POINT}) OR (:buf > 0 AND "
            f"ST_DWithin(geom::geography, {_POINT}::geography, :buf))))"
        ),
        {"lon": lon, "lat": lat, "buf": buffer_m},
    ).scalar_one()
    return bool(found)


def next_request_number(*, conn: Connection) -> int:
    """The next id of ``service_requests`` (so the public id can be derived from it)."""
    return int(
        conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('service_requests', 'id'))")
        ).scalar_one()
    )


def find_open_duplicate(
    *,
    conn: Connection,
    service_code: str,
    lon: float,
    lat: float,
    radius_m: float,
    hours: float,
    at: datetime,
    exclude_id: int | None = None,
) -> tuple[int, str] | None:
    """The open report of the same service nearest the point within the radius and hours.

    A match that is itself a duplicate gives the report it duplicates (links stay one deep);
    ``exclude_id`` is the report being filed (already inserted in the same transaction).
    """
    row = conn.execute(
        text(
            f"""
            SELECT coalesce(d.id, r.id), coalesce(d.service_request_id, r.service_request_id)
            FROM service_requests r
            LEFT JOIN service_requests d ON d.id = r.duplicate_of
            WHERE r.service_code = :code AND r.status = 'open'
              AND r.requested_at >= CAST(:at AS timestamptz) - make_interval(secs => :secs)
              AND r.requested_at <= :at
              AND ST_DWithin(r.geom::geography, {_POINT}::geography, :radius)
              AND r.id IS DISTINCT FROM :exclude
            ORDER BY ST_Distance(r.geom::geography, {_POINT}::geography), r.id
            LIMIT 1
            """
        ),
        {
            "code": service_code,
            "lon": lon,
            "lat": lat,
            "radius": radius_m,
            "secs": hours * 3600.0,
            "at": at,
            "exclude": exclude_id,
        },
    ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def insert_event(*, conn: Connection, event: dict[str, Any]) -> int:
    """Insert a report's event (placed on the grid), its month's partition first, and its key
    (``event_keys``: a second event with the same identifier fails there); its id."""
    ensure_event_partitions(conn=conn, first=event["occurred_at"], last=event["occurred_at"])
    return int(
        conn.execute(
            text(
                f"""
                WITH added AS (
                    INSERT INTO events (source_id, external_id, category, native_category,
                        occurred_at, reported_at, geom, h3_fine, h3_r7, h3_r8, h3_r9, h3_r10,
                        location_precision, address, attributes)
                    VALUES (:source_id, :external_id, :category, :native_category,
                        :occurred_at, :reported_at, {_POINT}, :h3_fine, :h3_r7, :h3_r8,
                        :h3_r9, :h3_r10, :location_precision, :address, :attributes)
                    RETURNING id, source_id, external_id, occurred_at
                )
                INSERT INTO event_keys (source_id, external_id, event_id, occurred_at)
                SELECT source_id, external_id, id, occurred_at FROM added
                RETURNING event_id
                """
            ).bindparams(bindparam("attributes", type_=JSONB)),
            event,
        ).scalar_one()
    )


def insert_request(*, conn: Connection, request: dict[str, Any]) -> None:
    """Insert a service request (``request`` holds every column but the defaults)."""
    conn.execute(
        text(
            f"""
            INSERT INTO service_requests (id, service_request_id, token, service_code, event_id,
                agency_responsible, service_notice, requested_at, updated_at, description,
                address_string, geom, location_precision, media_url, attributes, duplicate_of,
                api_key_id, idempotency_key)
            VALUES (:id, :service_request_id, :token, :service_code, :event_id,
                :agency_responsible, :service_notice, :requested_at, :requested_at, :description,
                :address_string, {_POINT}, :location_precision, :media_url, :attributes,
                :duplicate_of, :api_key_id, :idempotency_key)
            """
        ).bindparams(bindparam("attributes", type_=JSONB)),
        request,
    )


def link_request(
    *,
    conn: Connection,
    request_id: int,
    event_id: int,
    duplicate_of: int | None,
    service_notice: str,
) -> None:
    """Attach a filed request to its event, the report it duplicates and its notice."""
    conn.execute(
        text(
            "UPDATE service_requests SET event_id = :event, duplicate_of = :dup, "
            "service_notice = :notice WHERE id = :id"
        ),
        {"event": event_id, "dup": duplicate_of, "notice": service_notice, "id": request_id},
    )


def insert_contact(*, conn: Connection, request_id: int, contact: dict[str, Any]) -> None:
    """Store the author's personal data apart from the report."""
    conn.execute(
        text(
            "INSERT INTO service_request_contacts "
            "(request_id, email, first_name, last_name, phone, delete_after) "
            "VALUES (:id, :email, :first_name, :last_name, :phone, :delete_after)"
        ),
        {"id": request_id, **contact},
    )


def stage_media(*, conn: Connection, media: dict[str, Any]) -> int:
    """Store a photo's row (its ``file``, or its ``content`` for rows of before files) not
    attached to any report yet; its id."""
    return int(
        conn.execute(
            text(
                "INSERT INTO service_request_media "
                "(request_id, mime_type, size, width, height, content, file, delete_after) "
                "VALUES (NULL, :mime_type, :size, :width, :height, :content, :file, "
                ":delete_after) RETURNING id"
            ),
            {"content": None, "file": None, **media},
        ).scalar_one()
    )


def attach_media(
    *, conn: Connection, media_id: int, request_id: int, delete_after: datetime
) -> None:
    """Attach a staged photo to its report (the photo's bytes are not written again)."""
    done = conn.execute(
        text(
            "UPDATE service_request_media SET request_id = :r, delete_after = :d "
            "WHERE id = :m AND request_id IS NULL"
        ),
        {"m": media_id, "r": request_id, "d": delete_after},
    )
    if done.rowcount != 1:
        raise RuntimeError(f"staged photo {media_id} missing or already attached")


def drop_staged_media(*, conn: Connection, media_id: int) -> str | None:
    """Delete a staged photo whose report was not stored; the name of its file."""
    found = conn.execute(
        text(
            "DELETE FROM service_request_media WHERE id = :m AND request_id IS NULL RETURNING file"
        ),
        {"m": media_id},
    ).scalar()
    return None if found is None else str(found)


def named_photo_files(*, conn: Connection, names: Sequence[str]) -> set[str]:
    """Which of ``names`` a photo row names."""
    return {
        str(n)
        for n in conn.execute(
            text("SELECT file FROM service_request_media WHERE file = ANY(:names)"),
            {"names": list(names)},
        ).scalars()
    }


def insert_history(
    *,
    conn: Connection,
    request_id: int,
    from_state: str | None,
    to_state: str,
    notes: str | None,
    changed_by: str | None,
    key_id: int | None,
    at: datetime | None = None,
) -> None:
    """Record one state change (at ``at``, now by default)."""
    conn.execute(
        text(
            "INSERT INTO service_request_history "
            "(request_id, from_state, to_state, notes, changed_by, key_id, changed_at) "
            "VALUES (:id, :f, :t, :n, :b, :k, coalesce(CAST(:at AS timestamptz), now()))"
        ),
        {
            "id": request_id,
            "f": from_state,
            "t": to_state,
            "n": notes,
            "b": changed_by,
            "k": key_id,
            "at": at,
        },
    )


def request_by_idempotency_key(*, conn: Connection, key: str) -> dict[str, Any] | None:
    """The request already filed with this idempotency key (its id, number, token, notice)."""
    row = conn.execute(
        text(
            "SELECT r.service_request_id, r.token, r.service_notice, "
            "d.service_request_id AS duplicate_of FROM service_requests r "
            "LEFT JOIN service_requests d ON d.id = r.duplicate_of "
            "WHERE r.idempotency_key = :key"
        ),
        {"key": key},
    ).first()
    return None if row is None else dict(row._mapping)


def staff_requests(
    *,
    conn: Connection,
    states: Sequence[str] | None,
    codes: Sequence[str] | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Requests for the staff's list, newest first, with whether they carry a contact or photo."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if states:
        where.append("r.state = ANY(:states)")
        params["states"] = list(states)
    if codes:
        where.append("r.service_code = ANY(:codes)")
        params["codes"] = list(codes)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = conn.execute(text(f"SELECT count(*) FROM service_requests r{clause}"), params).scalar()
    sql = (
        f"SELECT {PUBLIC_COLUMNS}, "
        "EXISTS (SELECT 1 FROM service_request_contacts k WHERE k.request_id = r.id) "
        "AS has_contact, "
        "EXISTS (SELECT 1 FROM service_request_media m WHERE m.request_id = r.id) AS has_photo "
        f"{_FROM}{clause} ORDER BY r.requested_at DESC, r.id DESC LIMIT :limit OFFSET :offset"
    )
    return int(total or 0), [dict(row._mapping) for row in conn.execute(text(sql), params)]


def public_requests(
    *,
    conn: Connection,
    ids: Sequence[str] | None = None,
    codes: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    statuses: Sequence[str] | None = None,
    near: tuple[float, float, float] | None = None,
    token: str | None = None,
    limit: int = 1000,
    grid_m: float = 0.0,
) -> list[dict[str, Any]]:
    """Requests matching the filters, newest first, public fields only.

    ``grid_m`` > 0: each request also gets ``public_lon``/``public_lat``, the centre of the
    ``grid_m``-metre Lambert-93 square it lies in, and ``near`` measures from that centre
    (widened by half the square's diagonal), so that probing with small radii locates a
    report no better than its square.
    """
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    public_point = "r.geom"
    if grid_m > 0:
        params["grid"] = grid_m
        public_point = (
            "ST_Transform(ST_SetSRID(ST_MakePoint("
            "floor(ST_X(ST_Transform(r.geom, 2154)) / :grid) * :grid + :grid / 2.0, "
            "floor(ST_Y(ST_Transform(r.geom, 2154)) / :grid) * :grid + :grid / 2.0), 2154), 4326)"
        )
    if ids is not None:
        where.append("r.service_request_id = ANY(:ids)")
        params["ids"] = list(ids)
    if token is not None:
        where.append("r.token = :token")
        params["token"] = token
    if codes:
        where.append("r.service_code = ANY(:codes)")
        params["codes"] = list(codes)
    if start is not None:
        where.append("r.requested_at >= :start")
        params["start"] = start
    if end is not None:
        where.append("r.requested_at <= :end")
        params["end"] = end
    if statuses:
        where.append("r.status = ANY(:statuses)")
        params["statuses"] = list(statuses)
    if near is not None:
        where.append(f"ST_DWithin(({public_point})::geography, {_POINT}::geography, :radius)")
        params.update(lon=near[0], lat=near[1], radius=near[2] + grid_m * 0.7072)
    sql = (
        f"SELECT {PUBLIC_COLUMNS}, ST_X({public_point}) AS public_lon, "
        f"ST_Y({public_point}) AS public_lat {_FROM}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY r.requested_at DESC, r.id DESC LIMIT :limit"
    )
    return [dict(row._mapping) for row in conn.execute(text(sql), params)]


def staff_request(*, conn: Connection, service_request_id: str) -> dict[str, Any] | None:
    """A request with its personal data, photo description and history (staff only)."""
    row = conn.execute(
        text(
            f"""
            SELECT {PUBLIC_COLUMNS}, r.event_id, r.location_precision, r.attributes,
                ct.email, ct.first_name, ct.last_name, ct.phone,
                ct.delete_after AS contact_delete_after,
                m.mime_type AS photo_mime_type, m.size AS photo_size, m.width AS photo_width,
                m.height AS photo_height
            {_FROM}
            LEFT JOIN service_request_contacts ct ON ct.request_id = r.id
            LEFT JOIN service_request_media m ON m.request_id = r.id
            WHERE r.service_request_id = :sid
            """
        ),
        {"sid": service_request_id},
    ).fetchone()
    if row is None:
        return None
    out = dict(row._mapping)
    out["history"] = [
        dict(h._mapping)
        for h in conn.execute(
            text(
                "SELECT from_state, to_state, notes, changed_by, changed_at "
                "FROM service_request_history WHERE request_id = :id ORDER BY changed_at, id"
            ),
            {"id": out["id"]},
        )
    ]
    return out


def lock_request(*, conn: Connection, service_request_id: str) -> dict[str, Any] | None:
    """``id, state, event_id, description`` of a request, locked for update."""
    row = conn.execute(
        text(
            "SELECT id, state, event_id, description FROM service_requests "
            "WHERE service_request_id = :sid "
            "FOR UPDATE"
        ),
        {"sid": service_request_id},
    ).fetchone()
    return None if row is None else dict(row._mapping)


def set_state(
    *,
    conn: Connection,
    request_id: int,
    state: str,
    status: str,
    notes: str | None,
    expected_at: datetime | None,
    set_expected: bool,
    drop_event: bool,
    at: datetime | None = None,
    publish: bool | None = None,
    public_description: str | None = None,
) -> None:
    """Move a request to ``state``; with ``drop_event`` its event leaves the analyses.

    ``publish``: True lets ``public_description`` (the description as the agent let it out)
    be shown to the public from now on; False withdraws it; None leaves it as it is.
    """
    if drop_event:
        conn.execute(
            text(
                "DELETE FROM events WHERE id = (SELECT event_id FROM service_requests "
                "WHERE id = :id)"
            ),
            {"id": request_id},
        )
    conn.execute(
        text(
            "UPDATE service_requests SET state = :state, status = :status, "
            "status_notes = coalesce(:notes, status_notes), "
            "updated_at = coalesce(CAST(:at AS timestamptz), now()), "
            "expected_at = CASE WHEN :set_expected THEN :expected ELSE expected_at END, "
            "public_description = CASE WHEN CAST(:publish AS boolean) IS NULL "
            "THEN public_description WHEN CAST(:publish AS boolean) "
            "THEN CAST(:public_description AS text) END, "
            "description_published_at = CASE WHEN CAST(:publish AS boolean) IS NULL "
            "THEN description_published_at WHEN CAST(:publish AS boolean) "
            "THEN coalesce(CAST(:at AS timestamptz), now()) END "
            "WHERE id = :id"
        ),
        {
            "id": request_id,
            "state": state,
            "status": status,
            "notes": notes,
            "expected": expected_at,
            "set_expected": set_expected,
            "at": at,
            "publish": publish,
            "public_description": public_description,
        },
    )


def media_content(
    *, conn: Connection, service_request_id: str
) -> tuple[str, bytes | None, str | None] | None:
    """``(mime type, bytes, file)`` of a request's photo: its bytes, or the name of its file."""
    row = conn.execute(
        text(
            "SELECT m.mime_type, m.content, m.file FROM service_request_media m "
            "JOIN service_requests r ON r.id = m.request_id WHERE r.service_request_id = :sid"
        ),
        {"sid": service_request_id},
    ).fetchone()
    if row is None:
        return None
    return str(row[0]), None if row[1] is None else bytes(row[1]), row[2]


def summary_rows(*, conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Requests filed in ``[start, end)`` with when they were first acted on and resolved."""
    rows = conn.execute(
        text(
            """
            SELECT r.service_code, c.label AS service_name, r.state, r.requested_at,
                   r.duplicate_of IS NOT NULL AS duplicate,
                   (SELECT min(h.changed_at) FROM service_request_history h
                     WHERE h.request_id = r.id AND h.from_state IS NOT NULL) AS first_action_at,
                   (SELECT min(h.changed_at) FROM service_request_history h
                     WHERE h.request_id = r.id AND h.to_state = 'resolved') AS resolved_at
            FROM service_requests r JOIN categories c ON c.code = r.service_code
            WHERE r.requested_at >= :start AND r.requested_at < :end
            ORDER BY r.requested_at
            """
        ),
        {"start": start, "end": end},
    )
    return [dict(row._mapping) for row in rows]
