"""After an ingestion: place the batch's address-only events, when a BAN is loaded."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.services.geocoding import GeocodeSummary, ban_loaded, geocode_events


def needs_placing(summary: IngestSummary) -> bool:
    """Whether a batch left events with an address and no position."""
    return summary.status == "completed" and summary.unlocated > 0


def place_batch(
    engine: Engine,
    settings: Settings,
    summary: IngestSummary,
    progress: Callable[[int, int], None] | None = None,
) -> GeocodeSummary | None:
    """Geocode the batch's address-only events; ``None`` when no BAN is loaded to do it."""
    if not ban_loaded(engine):
        return None
    return geocode_events(engine, settings, batch_id=summary.batch_id, progress=progress)
