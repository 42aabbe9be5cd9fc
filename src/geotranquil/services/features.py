"""Reading collections: the checked request, the role's view, one transaction per page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.engine import reading
from geotranquil.errors import Forbidden
from geotranquil.features.catalogue import Catalogue, Collection, SourceContext
from geotranquil.features.crs import Crs
from geotranquil.features.disclosure import public_window
from geotranquil.features.params import ItemsRequest, parse_items_request
from geotranquil.features.query import Page, items_page, one_feature
from geotranquil.roles import Role, is_restricted


@dataclass(frozen=True)
class ItemsResult:
    """What an items page needs to be written out."""

    collection: Collection
    request: ItemsRequest
    page: Page


def public_until(settings: Settings, *, now: datetime | None = None) -> datetime:
    """The instant before which events may be shown to restricted roles (public, partners).

    The start of the local day (``settings.timezone``) ``settings.public_delay_days`` before
    today: a day boundary, so it stays the same all day (and so do cached public tiles).

    Examples
    --------
    >>> from datetime import UTC
    >>> s = Settings(timezone="Europe/Paris", public_delay_days=7)
    >>> public_until(s, now=datetime(2025, 3, 10, 23, 30, tzinfo=UTC)).isoformat()
    '2025-03-04T00:00:00+01:00'
    """
    zone = ZoneInfo(settings.timezone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    day = today - timedelta(days=settings.public_delay_days)
    return datetime.combine(day, time(0), tzinfo=zone)


def context_of(role: Role, settings: Settings, *, now: datetime | None = None) -> SourceContext:
    """The base source context of a caller (restricted roles: with their ``public_until``)."""
    return SourceContext(
        role=role,
        public_min_count=settings.public_min_count,
        public_until=public_until(settings, now=now) if is_restricted(role) else None,
        public_resolution=settings.public_max_resolution,
        rounding_base=settings.public_rounding_base,
        timezone=settings.timezone,
    )


def visible_time_range(
    time_range: tuple[datetime | None, datetime | None],
    role: Role,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """The first and last event instants ``role`` may learn of (the catalogue's ``time_range``).

    Staff get them as they are. Restricted roles get the whole weeks that hold them, up to the
    last whole week before :func:`public_until` (``(None, None)`` when no week is old enough):
    the first and last instants would otherwise date single events to the microsecond.
    """
    first, last = time_range
    if not is_restricted(role) or first is None or last is None:
        return first, last
    until = public_until(settings, now=now)
    start, stop = public_window(first, last + timedelta(days=7), until, settings.timezone)
    assert start is not None
    if start >= stop:
        return None, None
    return start, stop - timedelta(microseconds=1)


def checked_request(
    *,
    catalogue: Catalogue,
    collection: Collection,
    query: Mapping[str, str],
    role: Role,
    settings: Settings,
) -> ItemsRequest:
    """The parsed request, with the categories a restricted role may ask for checked."""
    request = parse_items_request(
        query,
        collection,
        default_limit=settings.items_limit_default,
        max_limit=settings.items_limit_max,
        timezone=settings.timezone,
        category_codes=tuple(c.code for c in catalogue.categories),
    )
    check_public_categories(catalogue, request.categories, role)
    return request


def check_public_categories(
    catalogue: Catalogue, categories: tuple[str, ...] | None, role: Role
) -> None:
    """Forbidden when a restricted role asks for a category that is not public."""
    if not categories or not is_restricted(role):
        return
    public = {c.code for c in catalogue.categories if c.public}
    hidden = [c for c in categories if c not in public]
    if hidden:
        raise Forbidden(
            f"catégorie(s) non publique(s) : {', '.join(hidden)} ; le public ne voit que "
            f"{', '.join(sorted(public))}"
        )


def read_items(
    *,
    engine: Engine,
    catalogue: Catalogue,
    collection_id: str,
    query: Mapping[str, str],
    role: Role,
    settings: Settings,
) -> ItemsResult:
    """A page of a collection's items for a caller."""
    with reading(engine) as conn:
        collection = catalogue.get(collection_id, role, conn=conn)
        request = checked_request(
            catalogue=catalogue, collection=collection, query=query, role=role, settings=settings
        )
        page = items_page(
            conn=conn,
            collection=collection,
            request=request,
            context=context_of(role, settings),
        )
    return ItemsResult(collection, request, page)


def read_feature(
    *,
    engine: Engine,
    catalogue: Catalogue,
    collection_id: str,
    feature_id: str,
    role: Role,
    settings: Settings,
    crs: Crs,
) -> str:
    """One feature of a collection as GeoJSON text."""
    with engine.connect() as conn:
        collection = catalogue.get(collection_id, role, conn=conn)
        return one_feature(
            conn=conn,
            collection=collection,
            feature_id=feature_id,
            context=context_of(role, settings),
            crs=crs,
        )


def find_collection(
    *, engine: Engine, catalogue: Catalogue, collection_id: str, role: Role
) -> Collection:
    """A collection the caller may read (``run-N`` collections looked up in the database)."""
    if collection_id in catalogue.collections:  # no database round trip for the usual ones
        return catalogue.get(collection_id, role)
    with engine.connect() as conn:
        return catalogue.get(collection_id, role, conn=conn)
