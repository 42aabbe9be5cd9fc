"""The query parameters of ``/collections/{id}/items``, parsed and checked (OGC API Features).

An unknown or malformed parameter is an :class:`~geotranquil.errors.InvalidInput` whose
message says what is wrong and what is accepted; the API turns it into a 400.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geotranquil.errors import InvalidInput
from geotranquil.features.catalogue import Collection
from geotranquil.features.cql2 import check_filter_text
from geotranquil.features.crs import CRS84, Crs, parse_crs

#: parameters every items request may carry
STANDARD = (
    "limit",
    "offset",
    "after",
    "bbox",
    "bbox-crs",
    "datetime",
    "sortby",
    "properties",
    "filter",
    "filter-lang",
    "filter-crs",
    "crs",
    "f",
    "api_key",
)
FORMATS = ("json", "geojson", "csv", "parquet", "gpkg", "fgb")
FILTER_LANGS = ("cql2-text", "cql2-json")
#: the largest ``offset`` accepted: far beyond any collection, far below PostgreSQL's BIGINT
MAX_OFFSET = 1_000_000_000
#: the longest ``after`` cursor accepted (a feature id)
MAX_CURSOR = 200
#: the years a datetime parameter may name
YEARS = (1900, 2999)


def _cursor(query: Mapping[str, str], offset: int) -> str | None:
    """The ``after`` cursor (the id of the last feature of the previous page), checked.

    Examples
    --------
    >>> _cursor({"after": "8a3969a40a5ffff"}, 0)
    '8a3969a40a5ffff'
    >>> _cursor({"after": "12", "sortby": "-category"}, 0)
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: paramètre after : il suit l'ordre des identifiants, sans sortby
    """
    after = query.get("after")
    if after is None:
        return None
    if not after or len(after) > MAX_CURSOR or "\x00" in after:
        raise InvalidInput(
            f"paramètre after : l'identifiant d'un objet (au plus {MAX_CURSOR} caractères)"
        )
    if query.get("sortby"):
        raise InvalidInput("paramètre after : il suit l'ordre des identifiants, sans sortby")
    if offset:
        raise InvalidInput("paramètres after et offset : l'un ou l'autre, pas les deux")
    return after


@dataclass(frozen=True)
class ItemsRequest:
    """A checked items request."""

    limit: int
    offset: int = 0
    after: str | None = None  # keyset paging: features whose id follows this one
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = CRS84
    start: datetime | None = None
    end: datetime | None = None
    equals: tuple[tuple[str, Any], ...] = ()
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, ascending)
    properties: tuple[str, ...] | None = None
    filter: str | None = None
    filter_lang: str = "cql2-text"
    filter_crs: Crs = CRS84
    crs: Crs = CRS84
    format: str = "json"
    categories: tuple[str, ...] | None = None


def parse_items_request(
    query: Mapping[str, str],
    collection: Collection,
    *,
    default_limit: int,
    max_limit: int,
    timezone: str,
    category_codes: tuple[str, ...] = (),
) -> ItemsRequest:
    """Check every parameter of an items request against the standard and the collection.

    Examples
    --------
    >>> from geotranquil.features.catalogue import Collection, Property
    >>> from geotranquil.roles import EVERYONE
    >>> c = Collection("c", "C", "", EVERYONE, "Point", (Property("n", "integer", "N"),),
    ...                lambda ctx: ("SELECT 1", {}))
    >>> r = parse_items_request({"limit": "50000", "n": "3", "sortby": "-n"}, c,
    ...                         default_limit=10, max_limit=1000, timezone="UTC")
    >>> r.limit, r.equals, r.sortby
    (1000, (('n', 3),), (('n', False),))
    """
    names = {p.name for p in collection.properties}
    allowed = set(STANDARD) | names | set(collection.extra_parameters)
    unknown = sorted(set(query) - allowed)
    if unknown:
        own = sorted(names | set(collection.extra_parameters))
        raise InvalidInput(
            f"paramètre(s) inconnu(s) : {', '.join(unknown)} ; paramètres acceptés : "
            f"{', '.join(STANDARD[:-1])}, {', '.join(own)}"
        )
    limit = _int(query.get("limit"), "limit", default_limit, minimum=1)
    offset = _int(query.get("offset"), "offset", 0, minimum=0, maximum=MAX_OFFSET)
    after = _cursor(query, offset)
    bbox_crs = parse_crs(query.get("bbox-crs"), parameter="bbox-crs")
    bbox = _bbox(query["bbox"], bbox_crs) if "bbox" in query else None
    start, end = (
        parse_datetime(query["datetime"], timezone) if "datetime" in query else (None, None)
    )
    if (start or end) and collection.temporal is None and not collection.aggregates_time:
        raise InvalidInput(
            f"paramètre datetime : la collection « {collection.id} » n'a pas de dimension "
            "temporelle"
        )
    equals = tuple(
        (name, _coerce(query[name], collection.property(name).type, name))
        for name in sorted(names & set(query))
    )
    fmt = query.get("f", "json").lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            f"paramètre f : format « {fmt} » inconnu ; formats : {', '.join(FORMATS)}"
        )
    filter_lang = query.get("filter-lang", "cql2-text")
    if filter_lang not in FILTER_LANGS:
        raise InvalidInput(
            f"paramètre filter-lang : « {filter_lang} » inconnu ; {', '.join(FILTER_LANGS)}"
        )
    filter_text = query.get("filter")
    if filter_text is not None and not filter_text.strip():
        raise InvalidInput("paramètre filter : expression vide")
    return ItemsRequest(
        limit=min(limit, max_limit),
        offset=offset,
        after=after,
        bbox=bbox,
        bbox_crs=bbox_crs,
        start=start,
        end=end,
        equals=equals,
        sortby=_sortby(query.get("sortby"), collection),
        properties=_properties(query.get("properties"), collection),
        filter=filter_text,
        filter_lang=filter_lang,
        filter_crs=parse_crs(query.get("filter-crs"), parameter="filter-crs"),
        crs=parse_crs(query.get("crs")),
        format=fmt,
        categories=parse_categories(query.get("categories"), category_codes),
    )


def _int(
    value: str | None, name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    """An integer parameter; above ``maximum`` is an error (``None``: any size, for ``limit``,
    which is then capped, as OGC API Features allows)."""
    if value is None:
        return default
    text = value.strip()
    if not text.lstrip("+-").isdigit() or len(text) > 30:
        raise InvalidInput(f"paramètre {name} : « {value[:40]} » n'est pas un entier")
    number = int(text)
    if number < minimum:
        raise InvalidInput(f"paramètre {name} : doit être au moins {minimum}")
    if maximum is not None and number > maximum:
        raise InvalidInput(f"paramètre {name} : au plus {maximum:_}".replace("_", " "))
    return number


def _bbox(value: str, crs: Crs) -> tuple[float, float, float, float]:
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise InvalidInput(
            f"paramètre bbox : « {value} » n'est pas une liste de nombres (minx,miny,maxx,maxy)"
        ) from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise InvalidInput("paramètre bbox : 4 (ou 6) nombres attendus, minx,miny,maxx,maxy")
    x0, y0, x1, y1 = numbers
    if crs.lat_lon:
        x0, y0, x1, y1 = y0, x0, y1, x1
    if x0 > x1 or y0 > y1:
        raise InvalidInput("paramètre bbox : le coin minimum doit précéder le coin maximum")
    if crs.srid == 4326 and not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InvalidInput(
            "paramètre bbox : longitudes entre -180 et 180, latitudes entre -90 et 90 "
            "(pour du Lambert-93, ajoutez bbox-crs)"
        )
    return x0, y0, x1, y1


def _instant(text: str, zone: ZoneInfo, *, end: bool) -> datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    if len(text) == 11 and text[10] in "Tt":  # GDAL's date from a -where clause: 2026-01-01T
        text = text[:10]
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            _in_calendar(datetime.combine(day, time()))
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), zone)
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"paramètre datetime : « {text[:40]} » n'est pas une date RFC 3339 "
            "(2025-03-01, 2025-03-01T08:00:00Z) ni « .. »"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return _in_calendar(moment + timedelta(microseconds=1) if end else moment)


def _in_calendar(moment: datetime) -> datetime:
    """``moment``, or :class:`InvalidInput` outside the years :data:`YEARS` (a typing slip, or
    a probe: bins and periods computed from it must stay in the calendar)."""
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise InvalidInput(
            f"paramètre datetime : années de {YEARS[0]} à {YEARS[1]} ; « .. » pour un "
            "intervalle ouvert"
        )
    return moment


def parse_datetime(value: str, timezone: str) -> tuple[datetime | None, datetime | None]:
    """``[start, end)`` of a datetime parameter; dates are whole local days, ends inclusive."""
    zone = ZoneInfo(timezone)
    if "/" in value:
        first, _, last = value.partition("/")
        start, end = _instant(first, zone, end=False), _instant(last, zone, end=True)
        if start is None and end is None:
            raise InvalidInput("paramètre datetime : intervalle « ../.. » sans borne")
        if start is not None and end is not None and end <= start:
            raise InvalidInput("paramètre datetime : la fin précède le début")
        return start, end
    start = _instant(value, zone, end=False)
    end = _instant(value, zone, end=True)
    if start is None:
        raise InvalidInput("paramètre datetime : une date ou un intervalle début/fin attendu")
    return start, end


def _coerce(value: str, kind: str, name: str) -> Any:
    try:
        if kind == "integer":
            number = int(value)
            if not -(2**63) <= number < 2**63:
                raise ValueError
            return number
        if kind == "number":
            return float(value)
        if kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError
            return value.lower() == "true"
        if kind == "datetime":
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if kind == "date":
            return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"paramètre {name} : « {value[:40]} » n'est pas du type {kind}"
        ) from None
    return value


def _sortby(value: str | None, collection: Collection) -> tuple[tuple[str, bool], ...]:
    if not value:
        return ()
    out = []
    for raw in value.split(","):
        item = raw.strip()
        ascending = not item.startswith("-")
        name = item.lstrip("+-").strip()
        if " " in name:  # "name DESC" form, tolerated
            name, _, direction = name.partition(" ")
            ascending = direction.strip().upper() != "DESC"
        collection.property(name)
        out.append((name, ascending))
    return tuple(out)


def _properties(value: str | None, collection: Collection) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        collection.property(name)
    return names


def parse_categories(value: str | None, known: tuple[str, ...]) -> tuple[str, ...] | None:
    if value is None:
        return None
    codes = tuple(dict.fromkeys(c.strip() for c in value.split(",") if c.strip()))
    unknown = [c for c in codes if c not in known]
    if unknown or not codes:
        raise InvalidInput(
            f"paramètre categories : catégorie(s) inconnue(s) {', '.join(unknown) or '(vide)'} ; "
            f"catégories : {', '.join(known)}"
        )
    return codes


def filter_json(value: str) -> dict[str, Any]:
    """A CQL2 JSON filter given as text, decoded (its size and depth checked first)."""
    check_filter_text(value, "cql2-json")
    try:
        decoded = json.loads(value)
    except RecursionError:
        raise InvalidInput("paramètre filter : expression trop imbriquée") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"paramètre filter : JSON illisible ({exc.msg})") from None
    if not isinstance(decoded, dict):
        raise InvalidInput("paramètre filter : un objet JSON CQL2 est attendu")
    return decoded
