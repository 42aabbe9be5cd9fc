"""The platform's canonical event schema, as a source mapping built in code.

Partners that push JSON (an array) or NDJSON (one object per line) to
``POST /sources/{source}/batches`` write events in this schema::

    {"id": "A-1", "occurred_at": "2026-03-02T22:14:00+01:00", "category": "vol",
     "lon": 5.3811, "lat": 43.2965,                      # WGS84, or instead:
     "address": {"number": "12", "street": "rue de Rome", "postcode": "13001",
                 "city": "Marseille"},
     "reported_at": "2026-03-02T23:00:00+01:00",         # optional
     "attributes": {"suite": "rappel à la loi"}}          # optional, kept as given

The categories are the canonical codes themselves (``geotranquil categories``). Since the
schema is a :class:`~geotranquil.ingest.mapping.SourceMapping`, the same pipeline validates it
and rejects with the same codes as a native file.
"""

from __future__ import annotations

from collections.abc import Iterable

from geotranquil.ingest.mapping import SourceMapping, parse_mapping

#: media types of the canonical schema and the reader format each one is
MEDIA_FORMATS = {"application/json": "json", "application/x-ndjson": "jsonl"}

#: the fields of one canonical event
FIELDS = ("id", "occurred_at", "category", "lon", "lat", "address", "reported_at", "attributes")


def canonical_mapping(
    slug: str, name: str, categories: Iterable[str], *, ndjson: bool
) -> SourceMapping:
    """The mapping of canonical events for source ``slug``.

    Examples
    --------
    >>> m = canonical_mapping("bailleur", "Bailleur", ["vol", "rixe_violence"], ndjson=True)
    >>> m.format, m.id_field, m.time_format, m.location_kind
    ('jsonl', 'id', 'iso8601', 'coordinates')
    >>> sorted(m.category_values.items())
    [('rixe_violence', 'rixe_violence'), ('vol', 'vol')]
    """
    codes = sorted(set(categories))
    return parse_mapping(
        {
            "slug": slug,
            "name": name,
            "kind": "api",
            "format": {"type": "jsonl" if ndjson else "json", "encoding": "utf-8"},
            "id": {"field": "id"},
            "time": {"field": "occurred_at", "format": "iso8601", "timezone": "Europe/Paris"},
            "reported_time": {"field": "reported_at", "format": "iso8601"},
            "category": {"field": "category", "values": {c: c for c in codes}},
            "location": {
                "x": "lon",
                "y": "lat",
                "crs": "EPSG:4326",
                "address": {
                    "number": "address.number",
                    "street": "address.street",
                    "postcode": "address.postcode",
                    "city": "address.city",
                },
            },
            "attributes": {"fields": ["attributes"]},
        },
        set(codes),
    )
