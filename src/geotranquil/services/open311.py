"""Residents' reports (Open311 GeoReport v2): file, list, follow, and the staff workflow.

A report becomes at once an event of the residents' source, placed on the H3 grid like any
ingested event (so it counts in the analyses); its author's personal data and photo go to their
own tables, read only by staff, and are deleted as the retention policy says
(``services/retention.py``; the date is announced at filing).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db import open311 as db
from geotranquil.errors import InvalidInput, NotFound, NotReady
from geotranquil.grid.h3ids import (
    ANALYSIS_RESOLUTIONS,
    FINE_RESOLUTION,
    cells_from_points,
    parent_ids,
)
from geotranquil.retention_policy import load_policy
from geotranquil.services.open311_media import CleanPhoto, clean_photo
from geotranquil.services.photo_store import PhotoStore
from geotranquil.taxonomy import ServiceDef, load_services

logger = logging.getLogger(__name__)

RESIDENTS_SOURCE = "habitants"
RESIDENTS_SOURCE_NAME = "Signalements des habitants"
RESIDENTS_SOURCE_OWNER = "Direction de la relation citoyenne"
DESCRIPTION_MAX = 4000
DEFAULT_WINDOW = timedelta(days=90)
MAX_RESULTS = 1000
NEAR_DEFAULT_RADIUS_M = 200.0
NEAR_MAX_RADIUS_M = 5000.0
#: first key of the advisory lock that serialises duplicate detection per service
_LOCK_NAMESPACE = 0x6F333131  # "o311"

#: workflow state -> Open311 status
STATUS_OF_STATE = {
    "received": "open",
    "in_progress": "open",
    "resolved": "closed",
    "rejected_duplicate": "closed",
    "rejected_abuse": "closed",
}
#: allowed moves; a rejection removes the report's event from the analyses, so it is final
TRANSITIONS = {
    "received": {"in_progress", "resolved", "rejected_duplicate", "rejected_abuse"},
    "in_progress": {"received", "resolved", "rejected_duplicate", "rejected_abuse"},
    "resolved": {"in_progress"},
    "rejected_duplicate": set(),
    "rejected_abuse": set(),
}
STATE_LABELS = {
    "received": "reçu",
    "in_progress": "en cours de traitement",
    "resolved": "résolu",
    "rejected_duplicate": "rejeté (doublon)",
    "rejected_abuse": "rejeté (abusif)",
}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 .\-()]{6,25}$")
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_\-]+)\](\[\])?$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_\-]{8,100}$")
#: first key of the advisory lock that serialises the retries of one submission
_RETRY_LOCK_NAMESPACE = 0x6F333132


def personal_data_expiry(settings: Settings, code: str, at: datetime) -> tuple[datetime, datetime]:
    """When the contact and the photo of a report of ``code`` filed ``at`` are to be deleted
    (the retention policy's ``contact`` and ``photo`` rules, always limited)."""
    policy = load_policy(settings.retention_file, personal_sources=(RESIDENTS_SOURCE,))
    due = [policy.rule_for(data, RESIDENTS_SOURCE, code) for data in ("contact", "photo")]
    until = [None if rule is None else rule.expires(at) for rule in due]
    if until[0] is None or until[1] is None:  # the policy refuses this when it is read
        raise NotReady(f"aucune durée de conservation des données personnelles pour {code}")
    return until[0], until[1]


@cache
def services() -> dict[str, ServiceDef]:
    """The reportable services of the packaged taxonomy, by code (file order)."""
    return {s.code: s for s in load_services()}


def service(code: str) -> ServiceDef:
    """One service; NotFound when the code is not reportable."""
    found = services().get(code)
    if found is None:
        raise NotFound(f"service_code « {code} » inconnu : codes possibles {', '.join(services())}")
    return found


# --------------------------------------------------------------------------- filing a report


@dataclass
class Submission:
    """A report as filed, checked."""

    service_code: str
    lon: float | None
    lat: float | None
    address_string: str | None
    description: str | None
    media_url: str | None
    attributes: dict[str, Any]
    contact: dict[str, str | None]
    photo: bytes | None = None
    idempotency_key: str | None = None


@dataclass
class Filed:
    """What ``POST requests`` answers."""

    service_request_id: str
    token: str
    service_notice: str
    duplicate_of: str | None = None
    replayed: bool = False  # an earlier filing of the same submission (idempotency key)


def _one(form: Mapping[str, Sequence[str]], name: str, max_len: int) -> str | None:
    values = form.get(name) or []
    value = values[-1].strip() if values else ""
    if not value:
        return None
    if len(value) > max_len:
        raise InvalidInput(f"{name} : {max_len} caractères au plus ({len(value)} reçus)")
    return value


def _float(form: Mapping[str, Sequence[str]], name: str) -> float | None:
    raw = _one(form, name, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} : nombre attendu, reçu « {raw} »") from None
    if not np.isfinite(value):
        raise InvalidInput(f"{name} : nombre fini attendu")
    return value


def _attributes(form: Mapping[str, Sequence[str]], definition: ServiceDef) -> dict[str, Any]:
    given: dict[str, list[str]] = {}
    for name, values in form.items():
        match = _ATTRIBUTE.match(name)
        if match:
            given.setdefault(match.group(1), []).extend(v.strip() for v in values if v.strip())
        elif name.startswith("attribute"):
            raise InvalidInput(f"paramètre {name} mal formé : attendu attribute[code]")
    known = {a.code: a for a in definition.attributes}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidInput(
            f"attribut(s) inconnu(s) pour {definition.code} : {', '.join(unknown)} "
            f"(attendus : {', '.join(known) or 'aucun'})"
        )
    out: dict[str, Any] = {}
    for attr in definition.attributes:
        values = given.get(attr.code, [])
        if not values:
            if attr.required:
                raise InvalidInput(
                    f"attribute[{attr.code}] obligatoire pour {definition.code} : "
                    f"{attr.description}"
                )
            continue
        keys = {k for k, _ in attr.values}
        if attr.datatype in ("singlevaluelist", "multivaluelist"):
            bad = [v for v in values if v not in keys]
            if bad:
                raise InvalidInput(
                    f"attribute[{attr.code}] : valeur(s) {', '.join(bad)} inconnue(s) "
                    f"(possibles : {', '.join(sorted(keys))})"
                )
            if attr.datatype == "singlevaluelist" and len(values) > 1:
                raise InvalidInput(f"attribute[{attr.code}] : une seule valeur attendue")
            out[attr.code] = values if attr.datatype == "multivaluelist" else values[0]
        elif attr.datatype == "number":
            try:
                out[attr.code] = float(values[-1])
            except ValueError:
                raise InvalidInput(f"attribute[{attr.code}] : nombre attendu") from None
        else:
            if len(values[-1]) > 500:
                raise InvalidInput(f"attribute[{attr.code}] : 500 caractères au plus")
            out[attr.code] = values[-1]
    return out


def parse_idempotency_key(raw: str | None) -> str | None:
    """The client's key for one submission (8 to 100 letters, digits, ``-`` or ``_``), or None."""
    if raw is None or not raw.strip():
        return None
    key = raw.strip()
    if not _IDEMPOTENCY_KEY.match(key):
        raise InvalidInput(
            "clé d'idempotence invalide : 8 à 100 caractères parmi lettres, chiffres, - et _ "
            "(un UUID convient)"
        )
    return key


def parse_submission(
    form: Mapping[str, Sequence[str]], photo: bytes | None, *, idempotency_key: str | None = None
) -> Submission:
    """Check the fields of ``POST requests`` (InvalidInput / NotFound with a clear message).

    The idempotency key comes from the ``Idempotency-Key`` header or the ``idempotency_key``
    field (an extension of the specification): retries of one submission are stored once.
    """
    code = _one(form, "service_code", 100)
    if code is None:
        raise InvalidInput("service_code manquant : choisissez un service (GET services)")
    try:
        definition = service(code)
    except NotFound as exc:
        raise InvalidInput(str(exc)) from None
    lat, lon = _float(form, "lat"), _float(form, "long")
    address = _one(form, "address_string", 500)
    if (lat is None) != (lon is None):
        raise InvalidInput("lat et long vont ensemble : donnez les deux ou aucun")
    if lat is None and address is None:
        raise InvalidInput("position manquante : donnez lat et long, ou address_string")
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("coordonnées invalides : lat entre -90 et 90, long entre -180 et 180")
    description = _one(form, "description", DESCRIPTION_MAX)
    media_url = _one(form, "media_url", 2000)
    if media_url is not None and not re.match(r"^https?://[^\s]+$", media_url):
        raise InvalidInput("media_url : adresse http(s) attendue")
    email = _one(form, "email", 254)
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput("email invalide")
    phone = _one(form, "phone", 25)
    if phone is not None and not _PHONE.match(phone):
        raise InvalidInput("phone invalide : chiffres, espaces, points, tirets, + en tête")
    contact = {
        "email": email,
        "first_name": _one(form, "first_name", 100),
        "last_name": _one(form, "last_name", 100),
        "phone": phone,
    }
    return Submission(
        service_code=code,
        lon=lon,
        lat=lat,
        address_string=address,
        description=description,
        media_url=media_url,
        attributes=_attributes(form, definition),
        contact=contact,
        photo=photo,
        idempotency_key=parse_idempotency_key(
            idempotency_key or _one(form, "idempotency_key", 200)
        ),
    )


def _geocode(engine: Engine, settings: Settings, address: str) -> tuple[float, float, str]:
    from geotranquil.services.geocoding import EVENT_PRECISION, current_geocoder

    try:
        _, geocoder = current_geocoder(engine)
    except NotReady:
        raise InvalidInput(
            "adresse impossible à localiser pour le moment : donnez lat et long"
        ) from None
    found = geocoder.geocode(address)
    if found is None or found.score < settings.geocode_min_score:
        raise InvalidInput(
            f"adresse « {address} » introuvable ou trop imprécise : précisez-la ou donnez lat "
            "et long"
        )
    return found.lon, found.lat, EVENT_PRECISION[found.precision]


def _cells(lon: float, lat: float) -> dict[str, int]:
    fine = cells_from_points([lon], [lat], FINE_RESOLUTION)
    out = {"h3_fine": int(fine[0])}
    for res in ANALYSIS_RESOLUTIONS:
        out[f"h3_r{res}"] = int(parent_ids(fine, res)[0])
    return out


def file_request(
    engine: Engine,
    settings: Settings,
    submission: Submission,
    *,
    key_id: int | None,
    now: datetime | None = None,
) -> Filed:
    """Store a report, its event, its author's data and photo, in one transaction.

    A submission whose idempotency key was already filed is not stored again: the first
    filing's answer is returned (``Filed.replayed``).
    """
    now = now or datetime.now(UTC)
    photo: CleanPhoto | None = None
    if submission.photo is not None:
        photo = clean_photo(
            submission.photo,
            max_bytes=settings.open311_photo_max_bytes,
            max_side=settings.open311_photo_max_side,
            max_pixels=settings.open311_photo_max_pixels,
        )
    if submission.lon is not None and submission.lat is not None:
        lon, lat, precision = submission.lon, submission.lat, "exact"
    else:
        assert submission.address_string is not None
        lon, lat, precision = _geocode(engine, settings, submission.address_string)
    definition = service(submission.service_code)
    contact_until, photo_until = personal_data_expiry(settings, definition.code, now)
    staged = None if photo is None else _stage_photo(engine, settings, photo, now)
    try:
        filed = _file(
            engine,
            settings,
            submission,
            definition,
            key_id,
            now,
            lon,
            lat,
            precision,
            staged,
            contact_until,
            photo_until,
        )
    except BaseException:
        if staged is not None:
            _drop_staged(engine, settings, staged)
        raise
    if filed.replayed and staged is not None:
        _drop_staged(engine, settings, staged)
    return filed


#: how long a staged photo waits for its report before the retention purge may delete it
STAGED_PHOTO_TTL = timedelta(hours=1)


def _stage_photo(engine: Engine, settings: Settings, photo: CleanPhoto, now: datetime) -> int:
    """Write the photo's file (fsynced) and commit its row on its own, before the report's
    transaction takes any shared lock; the row's id. Neither the file nor the row goes through
    the report's locks, and the photo's bytes never go through the database's WAL."""
    store = PhotoStore.of(settings)
    name = store.save(photo.content)
    try:
        with engine.begin() as conn:
            return db.stage_media(
                conn=conn,
                media={
                    "mime_type": photo.mime_type,
                    "size": photo.size,
                    "width": photo.width,
                    "height": photo.height,
                    "file": name,
                    "delete_after": now + STAGED_PHOTO_TTL,
                },
            )
    except BaseException:
        store.remove([name])
        raise


def _drop_staged(engine: Engine, settings: Settings, media_id: int) -> None:
    """Best effort: a staged photo left behind is deleted by the retention purge anyway."""
    try:
        with engine.begin() as conn:
            name = db.drop_staged_media(conn=conn, media_id=media_id)
        if name is not None:
            PhotoStore.of(settings).remove([name])
    except Exception:
        logger.warning("staged photo %s not deleted; the retention purge will", media_id)


def _file(
    engine: Engine,
    settings: Settings,
    submission: Submission,
    definition: ServiceDef,
    key_id: int | None,
    now: datetime,
    lon: float,
    lat: float,
    precision: str,
    staged: int | None,
    contact_until: datetime,
    photo_until: datetime,
) -> Filed:
    """The report's own transaction (its photo, if any, already staged as ``staged``)."""
    token = secrets.token_urlsafe(18)
    with engine.begin() as conn:
        if submission.idempotency_key is not None:
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
                {"ns": _RETRY_LOCK_NAMESPACE, "key": submission.idempotency_key},
            )
            before = db.request_by_idempotency_key(conn=conn, key=submission.idempotency_key)
            if before is not None:
                return Filed(
                    before["service_request_id"],
                    before["token"],
                    before["service_notice"] or "",
                    before["duplicate_of"],
                    replayed=True,
                )
        if not db.inside_study_area(
            conn=conn, lon=lon, lat=lat, buffer_m=settings.study_area_buffer_m
        ):
            raise InvalidInput("ce lieu est hors de la commune : la Ville ne peut pas le traiter")
        number = db.next_request_number(conn=conn)
        local = now.astimezone(ZoneInfo(settings.timezone))
        sid = f"{local:%Y}-{number:06d}"
        # First what concerns this report only (the request, its author, its photo attached:
        # the photo's own long write was committed before), while no lock is shared...
        db.insert_request(
            conn=conn,
            request={
                "id": number,
                "service_request_id": sid,
                "token": token,
                "service_code": definition.code,
                "event_id": None,
                "agency_responsible": settings.open311_agency,
                "service_notice": None,
                "requested_at": now,
                "description": submission.description,
                "address_string": submission.address_string,
                "lon": lon,
                "lat": lat,
                "location_precision": precision,
                "media_url": submission.media_url,
                "attributes": submission.attributes,
                "duplicate_of": None,
                "api_key_id": key_id,
                "idempotency_key": submission.idempotency_key,
            },
        )
        if any(v is not None for v in submission.contact.values()):
            db.insert_contact(
                conn=conn,
                request_id=number,
                contact={**submission.contact, "delete_after": contact_until},
            )
        if staged is not None:
            db.attach_media(conn=conn, media_id=staged, request_id=number, delete_after=photo_until)
        source_id = db.residents_source_id(
            conn=conn,
            slug=RESIDENTS_SOURCE,
            name=RESIDENTS_SOURCE_NAME,
            owner=RESIDENTS_SOURCE_OWNER,
        )
        # ...then, serialised per service until commit, the duplicate check and the event (whose
        # insert bumps the single-row data version): short statements only.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:ns, hashtext(:code))"),
            {"ns": _LOCK_NAMESPACE, "code": definition.code},
        )
        duplicate = db.find_open_duplicate(
            conn=conn,
            service_code=definition.code,
            lon=lon,
            lat=lat,
            radius_m=settings.open311_duplicate_radius_m,
            hours=settings.open311_duplicate_hours,
            at=now,
            exclude_id=number,
        )
        if duplicate is None:
            notice = (
                "Signalement reçu : il est transmis au service compétent. Suivez-le avec "
                f"son numéro {sid}."
            )
        else:
            notice = (
                f"Un signalement semblable (n° {duplicate[1]}) est déjà ouvert à proximité : "
                "le vôtre y est rattaché. Vous pouvez suivre le n° "
                f"{duplicate[1]}."
            )
        event_id = db.insert_event(
            conn=conn,
            event={
                "source_id": source_id,
                "external_id": f"open311:{sid}",
                "category": definition.code,
                "native_category": f"open311:{definition.code}",
                "occurred_at": now,
                "reported_at": now,
                "lon": lon,
                "lat": lat,
                **_cells(lon, lat),
                "location_precision": precision,
                "address": submission.address_string,
                "attributes": {
                    "service_request_id": sid,
                    "description": submission.description,
                    **({"open311": submission.attributes} if submission.attributes else {}),
                },
            },
        )
        db.link_request(
            conn=conn,
            request_id=number,
            event_id=event_id,
            duplicate_of=None if duplicate is None else duplicate[0],
            service_notice=notice,
        )
        db.insert_history(
            conn=conn,
            request_id=number,
            from_state=None,
            to_state="received",
            notes=None,
            changed_by="open311",
            key_id=key_id,
            at=now,
        )
    return Filed(sid, token, notice, None if duplicate is None else duplicate[1])


# --------------------------------------------------------------------------- reading reports


def _parse_datetime(name: str, raw: str, timezone: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise InvalidInput(
            f"{name} : date au format W3C attendue (ex. 2025-06-01T00:00:00Z), reçu « {raw} »"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    if not 1900 <= value.year <= 2999:  # its 90-day window must stay in the calendar
        raise InvalidInput(f"{name} : années de 1900 à 2999")
    return value


def _w3c(value: datetime | None, timezone: str) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


@dataclass(frozen=True)
class PublicPolicy:
    """What the public may read of a resident's report (settings ``open311_public_*``).

    - ``description``: ``moderated`` (only the text an agent has published), ``always`` (as
      filed, as GeoReport v2 servers usually do) or ``never``;
    - ``time``: ``day`` (requested and updated times given as the start of their local day)
      or ``exact``;
    - ``grid_m``: the position is the centre of the square of this side (Lambert-93) the
      report lies in; 0 for the exact position.
    """

    description: str = "moderated"
    time: str = "day"
    grid_m: float = 50.0

    @classmethod
    def of(cls, settings: Settings) -> PublicPolicy:
        return cls(
            settings.open311_public_description,
            settings.open311_public_time,
            settings.open311_public_grid_m,
        )


EXACT = PublicPolicy(description="always", time="exact", grid_m=0.0)
"""What staff read: everything as filed."""


def _public_description(row: Mapping[str, Any], policy: PublicPolicy) -> str | None:
    if row["state"] == "rejected_abuse" or policy.description == "never":
        return None
    if policy.description == "always":
        return cast(str | None, row["description"])
    return cast(str | None, row.get("public_description"))


def _to_day(value: datetime | None, timezone: str) -> datetime | None:
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _next_day(day: datetime, timezone: str) -> datetime:
    """The start of the local day after ``day`` (a day start), across clock changes."""
    later = (day + timedelta(hours=30)).astimezone(ZoneInfo(timezone))
    return later.replace(hour=0, minute=0, second=0, microsecond=0)


def public_view(
    row: Mapping[str, Any], timezone: str, policy: PublicPolicy = EXACT
) -> dict[str, Any]:
    """A request as Open311 shows it (plus the ``duplicate_of`` extension), under ``policy``.

    Examples
    --------
    >>> from datetime import UTC
    >>> row = {"service_request_id": "2025-1", "status": "open", "status_notes": None,
    ...        "service_name": "Tags", "service_code": "tag_graffiti", "description": "Chez moi",
    ...        "public_description": None, "agency_responsible": None, "service_notice": None,
    ...        "requested_at": datetime(2025, 3, 10, 8, 41, 7, tzinfo=UTC), "updated_at": None,
    ...        "expected_at": None, "address_string": None, "lat": 43.29651, "lon": 5.38111,
    ...        "public_lat": 43.2966, "public_lon": 5.3809, "media_url": None,
    ...        "duplicate_of": None, "state": "received"}
    >>> view = public_view(row, "Europe/Paris", PublicPolicy())
    >>> view["description"], view["requested_datetime"], view["lat"]
    (None, '2025-03-10T00:00:00+01:00', 43.2966)
    >>> public_view(row, "Europe/Paris")["requested_datetime"]
    '2025-03-10T09:41:07+01:00'
    """
    abusive = row["state"] == "rejected_abuse"
    exact_time = policy.time == "exact"

    def when(value: datetime | None) -> str | None:
        return _w3c(value if exact_time else _to_day(value, timezone), timezone)

    coarse = policy.grid_m > 0 and row.get("public_lat") is not None
    lat = row["public_lat"] if coarse else row["lat"]
    lon = row["public_lon"] if coarse else row["lon"]
    return {
        "service_request_id": row["service_request_id"],
        "status": row["status"],
        "status_notes": row["status_notes"],
        "service_name": row["service_name"],
        "service_code": row["service_code"],
        "description": _public_description(row, policy),
        "agency_responsible": row["agency_responsible"],
        "service_notice": row["service_notice"],
        "requested_datetime": when(row["requested_at"]),
        "updated_datetime": when(row["updated_at"]),
        "expected_datetime": _w3c(row["expected_at"], timezone),
        "address": row["address_string"] if policy.grid_m == 0 else None,
        "address_id": None,
        "zipcode": None,
        "lat": round(float(lat), 6),
        "long": round(float(lon), 6),
        "media_url": None if abusive else row["media_url"],
        "duplicate_of": row["duplicate_of"],
        "workflow_state": row["state"],
    }


def _split(values: str | None) -> list[str] | None:
    if values is None:
        return None
    out = [v.strip() for v in values.split(",") if v.strip()]
    return out or None


def list_requests(
    engine: Engine,
    settings: Settings,
    params: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """``GET requests``: the spec's filters, 90-day window, at most 1,000, newest first.

    Extension: ``lat``, ``long`` and ``radius`` (metres, 200 by default) keep the requests near
    a point; with them, ``status`` defaults to ``open``.
    """
    tz = settings.timezone
    policy = PublicPolicy.of(settings)
    ids = _split(params.get("service_request_id"))
    if ids is not None:  # "this overrides all other arguments"
        with engine.connect() as conn:
            rows = db.public_requests(conn=conn, ids=ids, limit=MAX_RESULTS, grid_m=policy.grid_m)
        return [public_view(r, tz, policy) for r in rows]
    codes = _split(params.get("service_code"))
    unknown = [c for c in codes or [] if c not in services()]
    if unknown:
        raise InvalidInput(
            f"service_code inconnu : {', '.join(unknown)} ; codes possibles {', '.join(services())}"
        )
    statuses = _split(params.get("status"))
    for status in statuses or []:
        if status not in ("open", "closed"):
            raise InvalidInput(f"status : open ou closed, reçu « {status} »")
    start_raw, end_raw = params.get("start_date"), params.get("end_date")
    start = _parse_datetime("start_date", start_raw, tz) if start_raw else None
    end = _parse_datetime("end_date", end_raw, tz) if end_raw else None
    if start is None and end is None:
        end = now or datetime.now(UTC)
        start = end - DEFAULT_WINDOW
    elif start is None:
        assert end is not None
        start = end - DEFAULT_WINDOW
    elif end is None:
        end = start + DEFAULT_WINDOW
    if end < start:
        raise InvalidInput("end_date est avant start_date")
    if end - start > DEFAULT_WINDOW:
        raise InvalidInput("start_date et end_date ne peuvent couvrir plus de 90 jours")
    if policy.time == "day":  # whole local days: narrowing the dates cannot time a report
        first_day = _to_day(start, tz)
        last_day = _to_day(end, tz)
        assert first_day is not None and last_day is not None
        start = first_day
        end = _next_day(last_day, tz) - timedelta(microseconds=1)
    near = None
    lat, lon = params.get("lat"), params.get("long")
    if lat is not None or lon is not None:
        form = {k: [v] for k, v in params.items()}
        flat, flon = _float(form, "lat"), _float(form, "long")
        if flat is None or flon is None:
            raise InvalidInput("lat et long vont ensemble : donnez les deux")
        radius = _float(form, "radius")
        radius = NEAR_DEFAULT_RADIUS_M if radius is None else radius
        if not 0 < radius <= NEAR_MAX_RADIUS_M:
            raise InvalidInput(f"radius : entre 0 et {NEAR_MAX_RADIUS_M:.0f} mètres")
        near = (flon, flat, radius)
        statuses = statuses or ["open"]
    with engine.connect() as conn:
        rows = db.public_requests(
            conn=conn,
            codes=codes,
            start=start,
            end=end,
            statuses=statuses,
            near=near,
            limit=MAX_RESULTS,
            grid_m=policy.grid_m,
        )
    return [public_view(r, tz, policy) for r in rows]


def get_request(engine: Engine, settings: Settings, service_request_id: str) -> dict[str, Any]:
    """``GET requests/{id}``: one request (NotFound when unknown)."""
    with engine.connect() as conn:
        rows = db.public_requests(
            conn=conn, ids=[service_request_id], limit=1, grid_m=settings.open311_public_grid_m
        )
    if not rows:
        raise NotFound(f"signalement {service_request_id} introuvable")
    return public_view(rows[0], settings.timezone, PublicPolicy.of(settings))


def request_of_token(engine: Engine, token: str) -> dict[str, Any]:
    """``GET tokens/{token}``: the request id a token stands for."""
    with engine.connect() as conn:
        rows = db.public_requests(conn=conn, token=token, limit=1)
    if not rows:
        raise NotFound("jeton inconnu")
    return {"service_request_id": rows[0]["service_request_id"], "token": token}


# --------------------------------------------------------------------------- staff


STAFF_PAGE_MAX = 200


def staff_list(engine: Engine, settings: Settings, params: Mapping[str, str]) -> dict[str, Any]:
    """The staff's list: filters ``state``, ``service_code`` (comma lists), ``limit``, ``offset``.

    Each row is the public view with the state's French label and whether the report carries
    its author's contact or a photo (read them with :func:`staff_view`).
    """
    states = _split(params.get("state"))
    for state in states or []:
        if state not in STATUS_OF_STATE:
            raise InvalidInput(f"state « {state} » inconnu : {', '.join(STATUS_OF_STATE)}")
    codes = _split(params.get("service_code"))
    unknown = [c for c in codes or [] if c not in services()]
    if unknown:
        raise InvalidInput(f"service_code inconnu : {', '.join(unknown)}")
    limit = _int_param(params, "limit", 50, 1, STAFF_PAGE_MAX)
    offset = _int_param(params, "offset", 0, 0, 10_000_000)
    with engine.connect() as conn:
        total, rows = db.staff_requests(
            conn=conn, states=states, codes=codes, limit=limit, offset=offset
        )
    items = []
    for row in rows:
        item = public_view(row, settings.timezone)
        item.update(
            description_published=row["description_published_at"] is not None,
            state_label=STATE_LABELS[row["state"]],
            has_contact=row["has_contact"],
            has_photo=row["has_photo"],
            href=f"/signalements/{row['service_request_id']}",
        )
        items.append(item)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} : nombre entier attendu, reçu « {raw} »") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} : entre {low} et {high}")
    return value


def staff_view(engine: Engine, settings: Settings, service_request_id: str) -> dict[str, Any]:
    """A request with its author's data, photo description and history (staff only)."""
    with engine.connect() as conn:
        row = db.staff_request(conn=conn, service_request_id=service_request_id)
    if row is None:
        raise NotFound(f"signalement {service_request_id} introuvable")
    tz = settings.timezone
    out = public_view(row, tz)
    out["media_url"] = row["media_url"]
    out.update(
        public_description=row["public_description"],
        description_published_datetime=_w3c(row["description_published_at"], tz),
        state_label=STATE_LABELS[row["state"]],
        next_states=[
            {"state": s, "label": STATE_LABELS[s]}
            for s in STATE_LABELS
            if s in TRANSITIONS[row["state"]]
        ],
        event_id=row["event_id"],
        location_precision=row["location_precision"],
        attributes=row["attributes"],
        contact={
            "email": row["email"],
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "phone": row["phone"],
            "delete_after": _w3c(row["contact_delete_after"], tz),
        },
        photo=None
        if row["photo_mime_type"] is None
        else {
            "mime_type": row["photo_mime_type"],
            "size": row["photo_size"],
            "width": row["photo_width"],
            "height": row["photo_height"],
            "href": f"/signalements/{row['service_request_id']}/photo",
        },
        history=[
            {
                "from_state": h["from_state"],
                "to_state": h["to_state"],
                "notes": h["notes"],
                "changed_by": h["changed_by"],
                "changed_at": _w3c(h["changed_at"], tz),
            }
            for h in row["history"]
        ],
    )
    return out


def change_state(
    engine: Engine,
    settings: Settings,
    service_request_id: str,
    *,
    state: str,
    notes: str | None,
    expected_datetime: str | None,
    who: str | None,
    key_id: int | None,
    now: datetime | None = None,
    publish_description: bool | None = None,
    public_description: str | None = None,
) -> dict[str, Any]:
    """Move a request through the workflow; the notes become its public ``status_notes``.

    ``now`` dates the move (the present by default; the demo's agent acts in the data's past).
    ``publish_description``: True publishes the description (``public_description``, the text
    as the agent edited it, or the resident's own when not given), False withdraws it, None
    leaves it as it is.
    """
    if public_description is not None and len(public_description) > DESCRIPTION_MAX:
        raise InvalidInput(f"public_description : {DESCRIPTION_MAX} caractères au plus")
    if public_description is not None and not publish_description:
        raise InvalidInput(
            "public_description ne va qu'avec publish_description=true (publier la description)"
        )
    if state not in STATUS_OF_STATE:
        raise InvalidInput(f"état « {state} » inconnu : {', '.join(STATUS_OF_STATE)}")
    if notes is not None and len(notes) > 2000:
        raise InvalidInput("notes : 2000 caractères au plus")
    expected = (
        _parse_datetime("expected_datetime", expected_datetime, settings.timezone)
        if expected_datetime
        else None
    )
    with engine.begin() as conn:
        current = db.lock_request(conn=conn, service_request_id=service_request_id)
        if current is None:
            raise NotFound(f"signalement {service_request_id} introuvable")
        if state != current["state"] and state not in TRANSITIONS[current["state"]]:
            allowed = ", ".join(sorted(TRANSITIONS[current["state"]])) or "aucun"
            raise InvalidInput(
                f"passage de « {current['state']} » à « {state} » impossible "
                f"(possibles : {allowed})"
            )
        db.set_state(
            conn=conn,
            request_id=current["id"],
            state=state,
            status=STATUS_OF_STATE[state],
            notes=notes,
            expected_at=expected,
            set_expected=expected_datetime is not None,
            drop_event=state.startswith("rejected_") and current["event_id"] is not None,
            at=now,
            publish=publish_description,
            public_description=(
                (public_description or current["description"]) if publish_description else None
            ),
        )
        db.insert_history(
            conn=conn,
            request_id=current["id"],
            from_state=current["state"],
            to_state=state,
            notes=notes,
            changed_by=who,
            key_id=key_id,
            at=now,
        )
    return staff_view(engine, settings, service_request_id)


def photo_of(engine: Engine, settings: Settings, service_request_id: str) -> tuple[str, bytes]:
    """A request's photo, without metadata (staff only): its file, or its bytes kept in the
    database before photos were files."""
    with engine.connect() as conn:
        found = db.media_content(conn=conn, service_request_id=service_request_id)
    if found is None:
        raise NotFound(f"pas de photo pour le signalement {service_request_id}")
    mime, content, name = found
    if content is None:
        assert name is not None  # the table's check: one of the two
        try:
            content = PhotoStore.of(settings).read(name)
        except FileNotFoundError:
            raise NotFound(
                f"photo du signalement {service_request_id} introuvable sur le disque du "
                "serveur : prévenez l'équipe geotranquil"
            ) from None
    return mime, content
