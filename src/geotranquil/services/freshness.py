"""How fresh each served layer is (issue 16 §3): the time of the data, and of the runs shown.

Nothing here is sensitive: times, versions and the runs' data windows, which every map
caption already states; everyone may read it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from geotranquil.db import refreshes as db
from geotranquil.db.forecasts import latest_forecast
from geotranquil.db.runs import default_run, get_run
from geotranquil.stats.registry import STATISTICS


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: date | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def _refresh_of(refreshes: list[dict[str, Any]], name: str, run_id: int) -> dict[str, Any] | None:
    """The refresh that produced run ``run_id`` under ``name``, among ``refreshes``."""
    for r in refreshes:
        if (r["runs"] or {}).get(name) == run_id:
            return r
    return None


def freshness(engine: Engine) -> dict[str, Any]:
    """Per layer: the data version and time of the data; for analysis layers, the default run
    shown (id, computation time, data window, the events version it was computed from when a
    refresh made it, and whether the events changed since)."""
    with engine.connect() as conn:
        version = db.events_version(conn=conn)
        refreshes = db.recent_refreshes(conn=conn, limit=50)
        hotspot = {
            stat.collection: (stat.name, default_run(conn=conn, kind=stat.name))
            for stat in STATISTICS.values()
        }
        hotspot_full = {
            layer: get_run(conn=conn, run_id=int(run["id"]))
            for layer, (_, run) in hotspot.items()
            if run is not None
        }
        forecast = latest_forecast(conn=conn)
    data = {
        "data_version": version.data_version,
        "events_version": version.version,
        "data_as_of": _instant(version.changed_at),
    }

    def run_entry(name: str, run_id: int, created: datetime, start: Any, end: Any) -> dict:
        made_by = _refresh_of(refreshes, name, run_id)
        from_version = None if made_by is None else int(made_by["data_version"])
        return {
            "id": run_id,
            "computed_at": _instant(created),
            "data_window": {"start": _day(start), "end": _day(end)},
            "refresh_id": None if made_by is None else made_by["id"],
            "events_version": from_version,
            "up_to_date": None if from_version is None else from_version == version.version,
        }

    layers: dict[str, Any] = {"counts": dict(data), "rates": dict(data)}
    for layer, (name, _) in hotspot.items():
        full = hotspot_full.get(layer)
        entry: dict[str, Any] = dict(data)
        if full is not None:
            # the period's end is exclusive: the data window's last day is the day before
            last = full["period_end"] - timedelta(days=1)
            entry["run"] = run_entry(
                name, int(full["id"]), full["created_at"], full["period_start"], last
            )
        else:
            entry["run"] = None
        layers[layer] = entry
    entry = dict(data)
    entry["run"] = None
    if forecast is not None:
        window = forecast["data_window"] or {}
        end = window.get("end")
        last_day = date.fromisoformat(end) - timedelta(days=1) if end else None
        entry["run"] = run_entry(
            "forecast", int(forecast["id"]), forecast["created_at"], window.get("start"), last_day
        )
    layers["forecast"] = entry
    last = next((r for r in refreshes if r["status"] == "succeeded"), None)
    return {
        **data,
        "last_refresh": None
        if last is None
        else {
            "id": last["id"],
            "trigger": last["trigger"],
            "finished_at": _instant(last["finished_at"]),
            "events_version": int(last["data_version"]),
            "duration_s": last["duration_s"],
        },
        "layers": layers,
    }
