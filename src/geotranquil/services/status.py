"""What the database holds: for the CLI's status command and the health endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from geotranquil.config import Settings
from geotranquil.db.admin import current_revision
from geotranquil.db.areas import count_areas
from geotranquil.db.batches import latest_batches
from geotranquil.db.engine import make_engine
from geotranquil.db.grid import count_cells
from geotranquil.db.status import ban_status, events_per_source


def status_of(conn: Connection) -> dict[str, Any]:
    """Revision, areas, grid cells, events per source, the BAN and geocoding outcomes."""
    return {
        "revision": current_revision(conn),
        "ban": ban_status(conn=conn),
        "areas": count_areas(conn=conn),
        "grid": count_cells(conn=conn),
        "sources": events_per_source(conn=conn),
        "batches": latest_batches(conn=conn),
    }


def database_status(settings: Settings) -> dict[str, Any]:
    """:func:`status_of` on a fresh connection."""
    with make_engine(settings).connect() as conn:
        return status_of(conn)
