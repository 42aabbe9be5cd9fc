"""Events planted by hand in the served data set (the public-figures tests), then removed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import h3
from sqlalchemy import Engine, text

from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions

RESOLUTIONS = (7, 8, 9, 10, 12)


def plant(
    engine: Engine,
    *,
    place: tuple[float, float],
    category: str,
    instants: Sequence[datetime],
    prefix: str,
) -> None:
    """One event per instant at ``place`` (lon, lat), ``external_id`` ``{prefix}{i}``, in a
    resolution-8 cell that must hold no event yet."""
    lon, lat = place
    cells = {res: h3.str_to_int(h3.latlng_to_cell(lat, lon, res)) for res in RESOLUTIONS}
    with engine.begin() as conn:
        before = conn.execute(
            text("SELECT count(*) FROM events WHERE h3_r8 = :c"), {"c": cells[8]}
        ).scalar_one()
        assert before == 0, "the planted cell must hold no served event"
        if instants:
            ensure_event_partitions(conn=conn, first=min(instants), last=max(instants))
        for i, at in enumerate(instants):
            conn.execute(
                text(
                    "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                    "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision) "
                    "SELECT min(id), :ext, :cat, :at, "
                    "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :c12, :c7, :c8, :c9, :c10, "
                    "'exact' FROM sources"
                ),
                {
                    "ext": f"{prefix}{i}",
                    "cat": category,
                    "at": at,
                    "lon": lon,
                    "lat": lat,
                    **{f"c{res}": cell for res, cell in cells.items()},
                },
            )
        add_missing_keys(conn=conn)


def remove(engine: Engine, *, prefix: str) -> None:
    """Remove the events :func:`plant` planted with ``prefix``."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE external_id LIKE :p"), {"p": f"{prefix}%"})
