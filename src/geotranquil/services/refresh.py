"""Refreshing what the platform serves after new data (issue 16 §3).

:func:`refresh_analyses` recomputes the default runs the map and the API show (each hot-spot
statistic of the registry, emerging hot spots included, and the forecast) and the analysts'
overview pictures, as ``geotranquil demo`` does after ingestion. Counts are not stored (the
``counts-r*`` collections aggregate ``events`` per request) and every cache (catalogue, tiles,
exports) is keyed by the data version, which the new runs move: nothing else is to refresh.

Each run is committed in its own transaction, so a refresh killed half-way leaves complete runs
only; the refresh that follows computes all of them again, and being newer, its runs are the
default ones (``db.runs.default_run``: all categories, counts, newest).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db import alerts as alert_rules
from geotranquil.db import refreshes as db
from geotranquil.db.engine import make_direct_engine
from geotranquil.db.runs import last_event_day
from geotranquil.errors import InvalidInput
from geotranquil.stats.alert_rules import HOTSPOT_CONDITIONS
from geotranquil.stats.registry import STATISTICS

log = logging.getLogger(__name__)

#: where a refresh says what it does (French, for people)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh did: ``succeeded``, ``skipped`` (nothing changed) or ``failed``."""

    refresh_id: int
    status: str
    data_version: int
    runs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _quiet(_: str) -> None:
    return None


def pending_change(engine: Engine) -> bool:
    """Whether the events moved since the last refresh that succeeded or found nothing to do
    (or the one running now: a ``running`` row whose process was killed does not count)."""
    with engine.connect() as conn:
        current = db.events_version(conn=conn)
        done = db.last_refresh(conn=conn, statuses=("succeeded", "skipped"))
        running = db.last_refresh(conn=conn, statuses=("running",))
        busy = running is not None and db.lock_held(conn=conn)
    covered = {int(r["data_version"]) for r in (done, running if busy else None) if r}
    return current.version not in covered


def refresh_analyses(
    engine: Engine,
    settings: Settings,
    *,
    trigger: str,
    force: bool = False,
    job_id: int | None = None,
    progress: Progress = _quiet,
) -> RefreshReport:
    """Recompute the default runs and pictures from the events as they are now.

    Nothing is computed (status ``skipped``) when the events did not change since the last
    successful refresh, unless ``force``. One refresh runs at a time (a PostgreSQL advisory
    lock, whichever process runs it); refreshes left ``running`` by a killed process are
    marked ``interrupted``. A step that cannot run on the data there are (no event, too few
    weeks for a forecast) is left out and said in the notes; any other error fails the refresh
    (recorded, then raised: the job retries it).
    """
    if trigger not in ("data", "schedule", "manual"):
        raise InvalidInput(f"déclencheur inconnu : {trigger} (data, schedule ou manual)")
    # the lock is held across the refresh's transactions: a session of its own, so not one
    # lent by PgBouncer for a transaction at a time
    direct = make_direct_engine(settings) if settings.through_pooler else engine
    with direct.connect() as holder:
        db.lock(conn=holder)
        holder.commit()
        try:
            return _refresh_locked(engine, settings, trigger, force, job_id, progress)
        finally:
            db.unlock(conn=holder)
            holder.commit()


def _refresh_locked(
    engine: Engine,
    settings: Settings,
    trigger: str,
    force: bool,
    job_id: int | None,
    progress: Progress,
) -> RefreshReport:
    started = time.perf_counter()
    with engine.begin() as conn:
        interrupted = db.interrupt_running(conn=conn)
        version = db.events_version(conn=conn)
        last = db.last_refresh(conn=conn, statuses=("succeeded",))
        empty = last_event_day(conn=conn, timezone=settings.timezone) is None
        unchanged = last is not None and int(last["data_version"]) == version.version
        skip = "aucun événement" if empty else None
        if skip is None and unchanged and not force:
            skip = f"données inchangées depuis l'actualisation n° {last['id']}"  # type: ignore[index]
        status = "skipped" if skip else "running"
        refresh_id = db.insert_refresh(
            conn=conn,
            trigger=trigger,
            forced=force,
            status=status,
            version=version,
            job_id=job_id,
            notes=skip,
        )
    if interrupted:
        log.warning("%d refresh(es) of killed processes marked interrupted", interrupted)
    if skip:
        progress(f"Rien à recalculer : {skip}.")
        return RefreshReport(refresh_id, "skipped", version.version, notes=[skip])
    progress(f"Actualisation n° {refresh_id} (version des événements {version.version}).")
    runs: dict[str, int] = {}
    notes: list[str] = []
    try:
        _compute(engine, settings, refresh_id, runs, notes, progress)
    except Exception as exc:
        with engine.begin() as conn:
            db.finish_refresh(
                conn=conn,
                refresh_id=refresh_id,
                status="failed",
                runs=runs,
                notes="; ".join(notes) or None,
                error=f"{type(exc).__name__}: {exc}"[:2000],
            )
        raise
    with engine.begin() as conn:
        db.finish_refresh(
            conn=conn,
            refresh_id=refresh_id,
            status="succeeded",
            runs=runs,
            notes="; ".join(notes) or None,
        )
    seconds = round(time.perf_counter() - started, 3)
    progress(f"Actualisation n° {refresh_id} terminée en {seconds:.1f} s.")
    return RefreshReport(refresh_id, "succeeded", version.version, runs, notes, seconds)


#: the most category sets of alert rules a refresh computes runs for, per kind of run
MAX_RULE_SETS = 5


def _compute(
    engine: Engine,
    settings: Settings,
    refresh_id: int,
    runs: dict[str, int],
    notes: list[str],
    progress: Progress,
) -> None:
    """The steps of a refresh; each run committed on its own, recorded as it comes."""
    from geotranquil.services.forecasting import compute_forecast, forecast_picture
    from geotranquil.services.hotspots import HotspotParams, compute_run, default_period
    from geotranquil.services.overview import write_overview

    def produced(name: str, run_id: int) -> None:
        runs[name] = run_id
        with engine.begin() as conn:
            db.record_runs(conn=conn, refresh_id=refresh_id, runs=runs)

    resolution = settings.refresh_resolution
    start, end = default_period(engine, weeks=settings.refresh_weeks, timezone=settings.timezone)
    for stat in STATISTICS:
        params = HotspotParams(
            statistic=stat,
            resolution=resolution,
            start=start,
            end=end,
            permutations=settings.refresh_permutations,
            timezone=settings.timezone,
        )
        try:
            run = compute_run(engine, params)
        except InvalidInput as exc:  # not enough data for this statistic
            notes.append(f"{stat} : {exc}")
            progress(f"   {stat} : laissé de côté ({exc})")
            continue
        produced(stat, run.run_id)
        progress(f"   {stat} : calcul {run.run_id} ({run.n_cells} cellules)")
    hot_sets, forecast_sets = rule_category_sets(engine)
    for cats in hot_sets:  # analysts' alert rules on some categories: their own runs
        params = HotspotParams(
            statistic="emerging",
            resolution=resolution,
            start=start,
            end=end,
            permutations=settings.refresh_permutations,
            timezone=settings.timezone,
            categories=cats,
        )
        try:
            run = compute_run(engine, params)
        except InvalidInput as exc:
            notes.append(f"emerging ({', '.join(cats)}) : {exc}")
            continue
        produced(f"emerging:{','.join(cats)}", run.run_id)
        progress(f"   emerging ({', '.join(cats)}) : calcul {run.run_id} (règles de veille)")
    overview = settings.data_dir / "overview"
    pictures = write_overview(engine, overview, resolution, timezone=settings.timezone)
    progress(f"   images : {pictures.map_png}, {pictures.weekly_png}")
    try:
        forecast = compute_forecast(engine, settings, resolution=resolution)
    except InvalidInput as exc:
        notes.append(f"prévision : {exc}")
        progress(f"   prévision : laissée de côté ({exc})")
        return
    produced("forecast", forecast.run_id)
    forecast_picture(engine, forecast.run_id, overview / "prevision.png")
    progress(f"   prévision {forecast.run_id} pour la semaine du {forecast.origin}")
    for cats in forecast_sets:
        try:
            fc = compute_forecast(engine, settings, resolution=resolution, categories=cats)
        except InvalidInput as exc:
            notes.append(f"prévision ({', '.join(cats)}) : {exc}")
            continue
        produced(f"forecast:{','.join(cats)}", fc.run_id)
        progress(f"   prévision ({', '.join(cats)}) : {fc.run_id} (règles de veille)")


def rule_category_sets(
    engine: Engine,
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The category sets of the active alert rules that need runs of their own (a rule on all
    categories reads the default runs): (for hot-spot conditions, for the forecast's top 1 %),
    each set sorted, at most :data:`MAX_RULE_SETS` of each (the most used first)."""
    with engine.connect() as conn:
        rules = alert_rules.active_rules(conn=conn)
    hot: Counter[tuple[str, ...]] = Counter()
    forecast: Counter[tuple[str, ...]] = Counter()
    for rule in rules:
        cats = tuple(sorted(set(rule["categories"] or ())))
        if not cats:
            continue
        if rule["condition"] in HOTSPOT_CONDITIONS:
            hot[cats] += 1
        elif rule["condition"] == "forecast_top1":
            forecast[cats] += 1
    return (
        [c for c, _ in hot.most_common(MAX_RULE_SETS)],
        [c for c, _ in forecast.most_common(MAX_RULE_SETS)],
    )


def recent(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest refreshes first (id, trigger, status, versions, times, runs, error)."""
    with engine.connect() as conn:
        return db.recent_refreshes(conn=conn, limit=limit)
