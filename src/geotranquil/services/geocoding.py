"""Geocoding: the BAN index of the current release, batches of addresses, address-only events.

Events whose source gives only an address are placed right after their ingestion (and again by
``geotranquil geocode --retry`` once a better BAN is loaded). An address placed with a score
under ``GEOTRANQUIL_GEOCODE_MIN_SCORE`` is not used: the event is kept, unplaced ("à
géocoder"), its reason and its best few candidates recorded in ``event_geocoding`` — never
dropped; an analyst lists them (:func:`review_queue`) and picks one (:func:`pick_candidate`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import ban, geocoding
from geotranquil.db.maintenance import analyze_tables
from geotranquil.errors import InvalidInput, NotFound, NotReady
from geotranquil.geocode.geocoder import Geocoder, build_geocoder
from geotranquil.geocode.result import GeocodeResult
from geotranquil.grid.h3ids import FINE_RESOLUTION, cells_from_points, parent_ids

#: geocoding precision -> the event's location precision
EVENT_PRECISION = {"housenumber": "address", "street": "street", "locality": "area", "area": "area"}
CHUNK = 5_000

_cache: dict[tuple[str, str], tuple[str, int, Geocoder]] = {}
_lock = threading.Lock()


def current_geocoder(engine: Engine, name: str = "ban") -> tuple[int, Geocoder]:
    """``(BAN release id, geocoder)`` for the database's latest release, built once per release.

    NotReady when no BAN has been loaded.
    """
    with engine.connect() as conn:
        latest = ban.latest_release_stamp(conn=conn)
        if latest is None:
            raise NotReady(
                "aucune Base Adresse Nationale chargée : lancez « geotranquil addresses load »"
            )
        release, stamp = latest
        key = (str(engine.url), name)
        with _lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        frame = ban.addresses_frame(conn=conn)
    geocoder = build_geocoder(name, frame)
    with _lock:
        _cache[key] = (stamp, release, geocoder)
    return release, geocoder


def ban_loaded(engine: Engine) -> bool:
    """Whether a BAN release is in the database."""
    with engine.connect() as conn:
        return ban.latest_release_id(conn=conn) is not None


def geocode_batch(
    engine: Engine, settings: Settings, queries: Sequence[str]
) -> list[GeocodeResult | None]:
    """Each address placed by the current BAN geocoder (None where nothing matches)."""
    _, geocoder = current_geocoder(engine)
    return geocoder.geocode_many(list(queries))


@dataclass
class GeocodeSummary:
    """What a geocoding pass over events did."""

    considered: int = 0
    placed: int = 0
    unplaced: int = 0
    by_precision: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _reason(result: GeocodeResult | None, min_score: float) -> str | None:
    if result is None:
        return "aucune adresse ressemblante"
    if result.score < min_score:
        return f"score {result.score:.2f} sous le seuil {min_score:.2f}"
    return None


def geocode_events(
    engine: Engine,
    settings: Settings,
    *,
    batch_id: int | None = None,
    retry: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> GeocodeSummary:
    """Place the address-only events (of one ingest batch, or all); record every outcome."""
    started = time.perf_counter()
    release, geocoder = current_geocoder(engine)
    with engine.connect() as conn:
        todo = geocoding.events_to_place(conn=conn, batch_id=batch_id, retry=retry)
    summary = GeocodeSummary(considered=len(todo))
    for first in range(0, len(todo), CHUNK):
        chunk = todo.iloc[first : first + CHUNK]
        results = geocoder.geocode_many(chunk["address"].tolist())
        _store_chunk(engine, settings, chunk, results, release, summary, geocoder)
        if progress is not None:
            progress(min(first + CHUNK, len(todo)), len(todo))
    if len(todo):  # events got positions and cells, event_geocoding rows: fresh statistics
        with engine.begin() as conn:
            analyze_tables(conn=conn, tables=("events", "event_geocoding"))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _store_chunk(
    engine: Engine,
    settings: Settings,
    chunk: pd.DataFrame,
    results: list[GeocodeResult | None],
    release: int,
    summary: GeocodeSummary,
    geocoder: Geocoder,
) -> None:
    reasons = [_reason(r, settings.geocode_min_score) for r in results]
    good = [
        (int(event_id), r)
        for event_id, r, why in zip(chunk["event_id"], results, reasons, strict=True)
        if why is None and r is not None
    ]
    placed = pd.DataFrame(
        {
            "event_id": [g[0] for g in good],
            "lon": [g[1].lon for g in good],
            "lat": [g[1].lat for g in good],
            "precision": [EVENT_PRECISION[g[1].precision] for g in good],
        }
    )
    fine = cells_from_points(placed["lon"].to_numpy(), placed["lat"].to_numpy(), FINE_RESOLUTION)
    placed["h3_fine"] = fine
    for res in (7, 8, 9, 10):
        placed[f"h3_r{res}"] = parent_ids(fine, res)
    with engine.begin() as conn:
        done = set(
            geocoding.place_events(conn=conn, placed=placed, buffer_m=settings.study_area_buffer_m)
        )
        rows: list[dict[str, Any]] = []
        for (event_id, query), result, why in zip(
            chunk[["event_id", "address"]].itertuples(index=False), results, reasons, strict=True
        ):
            if why is None and int(event_id) not in done:
                why = "hors de la zone d'étude"
            status = "placed" if why is None else "unplaced"
            rows.append(
                {
                    "event_id": int(event_id),
                    "query": query,
                    "status": status,
                    "score": None if result is None else result.score,
                    "precision": None if result is None else result.precision,
                    "matched": None if result is None else result.label,
                    "interpolated": bool(result.interpolated) if result else False,
                    "reason": why,
                    "geocoder": "ban",
                    "ban_release_id": release,
                    "candidates": None if why is None else _candidates_json(geocoder, query),
                }
            )
            if why is None:
                summary.placed += 1
                assert result is not None
                summary.by_precision[result.precision] = (
                    summary.by_precision.get(result.precision, 0) + 1
                )
            else:
                summary.unplaced += 1
                key = why.split(" ")[0] if why.startswith("score") else why
                summary.reasons[key] = summary.reasons.get(key, 0) + 1
        geocoding.record_geocoding(conn=conn, rows=pd.DataFrame(rows))


#: candidates kept for an analyst when an address is not placed
CANDIDATES = 3


def candidate_dict(result: GeocodeResult) -> dict[str, Any]:
    """A candidate as kept in ``event_geocoding.candidates`` and shown to an analyst."""
    return {
        "label": result.label,
        "lon": result.lon,
        "lat": result.lat,
        "score": result.score,
        "precision": result.precision,
        "interpolated": result.interpolated,
    }


def _candidates_json(geocoder: Geocoder, query: str) -> str | None:
    found = geocoder.candidates(query, CANDIDATES)
    return json.dumps([candidate_dict(r) for r in found], ensure_ascii=False) if found else None


def review_queue(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """Events left "à géocoder" with candidates for an analyst (``event_id, query, score,
    reason, candidates``), oldest first."""
    with engine.connect() as conn:
        frame = geocoding.review_queue(conn=conn, limit=limit)
    return [
        {
            "event_id": int(event_id),
            "query": str(query),
            "score": None if pd.isna(score) else float(score),
            "reason": reason,
            "candidates": list(candidates),
        }
        for event_id, query, score, reason, candidates in frame.itertuples(index=False)
    ]


def pick_candidate(engine: Engine, settings: Settings, event_id: int, n: int) -> dict[str, Any]:
    """Place an unplaced event on its candidate ``n`` (from 1), as an analyst chose it.

    NotFound for an event without candidates; InvalidInput for a wrong ``n``, an event already
    placed or a point outside the study area.
    """
    with engine.connect() as conn:
        found = geocoding.event_candidates(conn=conn, event_id=event_id)
    if found is None or not found[1]:
        raise NotFound(f"l'événement {event_id} n'a pas de candidats à choisir")
    status, candidates = found
    if status == "placed":
        raise InvalidInput(f"l'événement {event_id} est déjà placé")
    if not 1 <= n <= len(candidates):
        raise InvalidInput(f"choisissez un candidat entre 1 et {len(candidates)}, pas {n}")
    chosen = candidates[n - 1]
    lon, lat = float(chosen["lon"]), float(chosen["lat"])
    fine = cells_from_points(np.array([lon]), np.array([lat]), FINE_RESOLUTION)
    placed = pd.DataFrame(
        {
            "event_id": [event_id],
            "lon": [lon],
            "lat": [lat],
            "precision": [EVENT_PRECISION.get(str(chosen.get("precision")), "street")],
            "h3_fine": fine,
            **{f"h3_r{r}": parent_ids(fine, r) for r in (7, 8, 9, 10)},
        }
    )
    with engine.begin() as conn:
        done = geocoding.place_events(
            conn=conn, placed=placed, buffer_m=settings.study_area_buffer_m
        )
        if not done:
            raise InvalidInput(f"le candidat {n} est hors de la zone d'étude")
        geocoding.mark_picked(conn=conn, event_id=event_id, candidate=chosen, n=n)
    return chosen


def reverse(engine: Engine, lon: float, lat: float) -> dict[str, Any]:
    """The nearest BAN address of a point and the areas it lies in."""
    if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput(
            "coordonnées invalides : longitude entre -180 et 180, latitude entre -90 et 90"
        )
    with engine.connect() as conn:
        address = geocoding.nearest_address(conn=conn, lon=lon, lat=lat)
        areas = geocoding.areas_at(conn=conn, lon=lon, lat=lat)
    return {"address": address, "areas": areas}
