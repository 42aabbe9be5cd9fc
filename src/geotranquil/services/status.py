"""What the database holds: for the CLI's status command and the health endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db.admin import current_revision
from geotranquil.db.areas import count_areas
from geotranquil.db.batches import latest_batches
from geotranquil.db.engine import make_engine
from geotranquil.db.grid import count_cells
from geotranquil.db.replication import bytes_behind, replica_state
from geotranquil.db.status import ban_status, events_per_source


def status_of(conn: Connection) -> dict[str, Any]:
    """Revision, areas, grid cells, events per source, the BAN and geocoding outcomes."""
    return {
        **health_of(conn, events=True),
        "ban": ban_status(conn=conn),
        "batches": latest_batches(conn=conn),
    }


def health_of(conn: Connection, *, events: bool) -> dict[str, Any]:
    """What ``/health`` shows of the database: revision, areas, grid cells and, when
    ``events`` (staff callers), the events per source. Only cheap reads (the events per source
    come from the kept daily counts): a probe must answer whatever the store's size."""
    state: dict[str, Any] = {
        "revision": current_revision(conn),
        "areas": count_areas(conn=conn),
        "grid": count_cells(conn=conn),
    }
    if events:
        state["sources"] = events_per_source(conn=conn)
    return state


def replication_status(primary: Engine, replica: Engine | None) -> dict[str, Any]:
    """The read replica as ``/health`` shows it: ``configured``, ``in_recovery`` (a replica
    that is not is no replica: promoted, or another server), ``lag_bytes`` (WAL the primary
    wrote that the replica has not replayed yet) and ``lag_s`` (how old its data are, 0 when
    it replayed all it received); ``reachable`` False when it does not answer."""
    if replica is None:
        return {"configured": False}
    try:
        with replica.connect() as conn:
            state = replica_state(conn=conn)
    except Exception as exc:  # reported, never raised: a health check
        return {"configured": True, "reachable": False, "detail": type(exc).__name__}
    with primary.connect() as conn:
        lag_bytes = bytes_behind(conn=conn, position=state["replay_lsn"])
    return {
        "configured": True,
        "reachable": True,
        "in_recovery": state["in_recovery"],
        "lag_bytes": lag_bytes,
        "lag_s": state["lag_s"],
    }


def database_status(settings: Settings) -> dict[str, Any]:
    """:func:`status_of` on a fresh connection."""
    with make_engine(settings).connect() as conn:
        return status_of(conn)
