"""The demonstration's partner: a social landlord that pushes reports through the API.

:func:`prepare_demo_push` makes its source, a partner key bound to it, and a batch of
canonical NDJSON events: a cluster of illegal dumping in one quiet cell near the middle of the
city over the last four weeks of the data, so that, once the worker has ingested it and
refreshed the analyses, the map shows a new hot spot there and a new "données à jour" line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import push as db
from geotranquil.db.categories import category_codes
from geotranquil.db.cells import quietest_land_cell
from geotranquil.errors import NotReady
from geotranquil.ingest.canonical import canonical_mapping
from geotranquil.services.access import demo_partner_key
from geotranquil.services.hotspots import default_period

SOURCE = "bailleur_demo"
NAME = "Bailleur social (démonstration)"
CATEGORY = "depot_sauvage"


@dataclass(frozen=True)
class DemoPush:
    """What the demonstration pushes, and with which key."""

    source: str
    key: str
    body: bytes  # canonical NDJSON
    events: int
    cell: str  # the H3 id (hex) of the planted cell
    lon: float
    lat: float


def cluster_ndjson(lon: float, lat: float, end: datetime, n: int, seed: int) -> bytes:
    """``n`` canonical events around (``lon``, ``lat``) over the four weeks before ``end``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> body = cluster_ndjson(5.38, 43.30, datetime(2026, 1, 5, tzinfo=timezone.utc), 2, 1)
    >>> [json.loads(line)["id"] for line in body.splitlines()]
    ['demo-20260105-0', 'demo-20260105-1']
    """
    rng = np.random.default_rng(seed)
    hours = np.linspace(2, 4 * 7 * 24 - 2, n)
    jitter = rng.uniform(-0.0003, 0.0003, (n, 2))
    lines = [
        json.dumps(
            {
                "id": f"demo-{end:%Y%m%d}-{i}",
                "occurred_at": (end - timedelta(hours=float(h))).isoformat(),
                "category": CATEGORY,
                "lon": round(lon + float(dx), 6),
                "lat": round(lat + float(dy), 6),
                "attributes": {"signale_par": "gardien d'immeuble"},
            }
        )
        for i, (h, (dx, dy)) in enumerate(zip(hours, jitter, strict=True))
    ]
    return ("\n".join(lines) + "\n").encode()


def prepare_demo_push(
    engine: Engine, settings: Settings, *, events: int = 300, seed: int = 42
) -> DemoPush:
    """The demonstration partner's source and key (renewed), and the batch it pushes."""
    with engine.begin() as conn:
        codes = category_codes(conn=conn)
        mapping = canonical_mapping(SOURCE, NAME, sorted(codes), ndjson=True)
        source_id = db.ensure_source(
            conn=conn, slug=SOURCE, name=NAME, owner="Bailleur social", mapping=mapping.raw
        )
        target = quietest_land_cell(conn=conn)
    if target is None:
        raise NotReady("la grille H3 n'est pas construite : lancez « geotranquil grid build »")
    _, end = default_period(engine, timezone=settings.timezone)
    monday = datetime.combine(end, time(), ZoneInfo(settings.timezone))
    key = demo_partner_key(engine=engine, source_id=source_id)
    return DemoPush(
        source=SOURCE,
        key=key,
        body=cluster_ndjson(target[1], target[2], monday, events, seed),
        events=events,
        cell=f"{target[0]:x}",
        lon=target[1],
        lat=target[2],
    )
