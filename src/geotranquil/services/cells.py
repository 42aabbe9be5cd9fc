"""One hexagon in detail, for the map's side panel: what a click on a cell shows.

Counts by category and per time bin (day, week or month) for a period and categories, the cell's
Gi* z-score and class, its emerging pattern and its forecast rank in the chosen runs, and (for the
roles that may read raw events) its latest events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db import cells
from geotranquil.db.counts import BIN_SIZES
from geotranquil.db.forecasts import latest_forecast
from geotranquil.db.runs import default_run, get_run
from geotranquil.errors import InvalidInput
from geotranquil.features.catalogue import Catalogue
from geotranquil.features.params import parse_categories, parse_datetime
from geotranquil.roles import RAW_EVENTS, Role
from geotranquil.services.features import check_public_categories
from geotranquil.stats.emerging import PATTERN_LABELS_FR
from geotranquil.stats.getis_ord import GI_BIN_LABELS_FR

CELL_PARAMETERS = (
    "datetime",
    "categories",
    "hotspot_run",
    "emerging_run",
    "forecast_run",
    "events_limit",
    "bin",
    "api_key",
)
EVENTS_LIMIT = 20
EVENTS_LIMIT_MAX = 200


def parse_hex(value: str) -> int:
    """An H3 index given as hexadecimal text (``89396c...``), as the 64-bit integer.

    Examples
    --------
    >>> hex(parse_hex("8939604a5b3ffff"))
    '0x8939604a5b3ffff'
    """
    text = value.strip().lower()
    if not 1 <= len(text) <= 16 or any(ch not in "0123456789abcdef" for ch in text):
        raise InvalidInput(f"identifiant d'hexagone « {value} » invalide : H3 en hexadécimal")
    return int(text, 16)


def parse_bin(value: str | None) -> str:
    """The time bin of a series: ``day``, ``week`` (the default) or ``month``.

    Examples
    --------
    >>> parse_bin(None), parse_bin("month")
    ('week', 'month')
    """
    if value is None:
        return "week"
    if value not in BIN_SIZES:
        raise InvalidInput(
            f"paramètre bin : pas de temps « {value} » inconnu ; valeurs : {', '.join(BIN_SIZES)}"
        )
    return value


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    value = query[name]
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput(f"paramètre {name} : un entier positif est attendu, pas « {value} »")
    return int(value)


def cell_detail(
    *,
    engine: Engine,
    catalogue: Catalogue,
    hex_id: str,
    query: Mapping[str, str],
    role: Role,
    settings: Settings,
) -> dict[str, Any]:
    """Everything the side panel shows for one cell (see the module docstring)."""
    unknown = sorted(set(query) - set(CELL_PARAMETERS))
    if unknown:
        raise InvalidInput(
            f"paramètre(s) inconnu(s) : {', '.join(unknown)} ; acceptés : "
            f"{', '.join(CELL_PARAMETERS[:-1])}"
        )
    h3 = parse_hex(hex_id)
    codes = tuple(c.code for c in catalogue.categories)
    chosen = parse_categories(query.get("categories"), codes)
    check_public_categories(catalogue, chosen, role)
    categories = list(chosen or codes)
    start, end = (
        parse_datetime(query["datetime"], settings.timezone)
        if "datetime" in query
        else (None, None)
    )
    first, last = catalogue.time_range
    events_limit = _int_param(query, "events_limit") or EVENTS_LIMIT
    bin = parse_bin(query.get("bin"))
    labels = {c.code: c.label for c in catalogue.categories}
    with engine.connect() as conn:
        cell = cells.grid_cell(conn=conn, h3=h3)
        resolution = int(cell["resolution"])
        counts = cells.counts_by_category(
            conn=conn, h3=h3, resolution=resolution, categories=categories, start=start, end=end
        )
        week_start = start or first
        week_end = end or (last + timedelta(seconds=1) if last else None)
        series: list[dict[str, Any]] = []
        weekly: list[dict[str, Any]] = []
        if week_start is not None and week_end is not None:
            window: dict[str, Any] = {
                "conn": conn,
                "h3": h3,
                "resolution": resolution,
                "categories": categories,
                "start": week_start,
                "end": week_end,
                "timezone": settings.timezone,
            }
            series = cells.binned_counts(**window, bin=bin)
            by_week = series if bin == "week" else cells.binned_counts(**window, bin="week")
            weekly = [{"week": b["start"], "n": b["n"]} for b in by_week]
        hot = _hot_spot(conn, h3, _int_param(query, "hotspot_run"), "gi_star")
        emerging = _hot_spot(conn, h3, _int_param(query, "emerging_run"), "emerging")
        forecast = _forecast(conn, h3, _int_param(query, "forecast_run"))
        events = None
        if RAW_EVENTS.allows(role):
            events = cells.latest_events(
                conn=conn,
                h3=h3,
                resolution=resolution,
                categories=categories,
                start=start,
                end=end,
                limit=min(events_limit, EVENTS_LIMIT_MAX),
            )
    total = sum(counts.values())
    population = cell["population"]
    out: dict[str, Any] = {
        "hex_id": f"{h3:x}",
        **cell,
        "period": {
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        },
        "categories": categories,
        "count": total,
        "rate_per_1000": round(1000.0 * total / population, 3) if population else None,
        "by_category": [
            {"category": c, "label": labels[c], "n": counts.get(c, 0)} for c in categories
        ],
        "bin": bin,
        "series": series,
        "weekly": weekly,
        "hot_spot": None,
        "emerging": None,
        "forecast": forecast,
    }
    if hot is not None:
        run, result = hot
        out["hot_spot"] = {
            "run_id": run["id"],
            "z": result["z"],
            "p": result["p"],
            "p_sim": result["p_sim"],
            "gi_bin": result["gi_bin"],
            "gi_label": GI_BIN_LABELS_FR.get(result["gi_bin"])
            if result["gi_bin"] is not None
            else None,
        }
    if emerging is not None:
        run, result = emerging
        pattern = result["pattern"]
        out["emerging"] = {
            "run_id": run["id"],
            "pattern": pattern,
            "pattern_label": PATTERN_LABELS_FR.get(pattern) if pattern else None,
            "trend_z": result["trend_z"],
            "trend_p": result["trend_p"],
        }
    if events is not None:
        out["latest_events"] = events
    return out


def _hot_spot(
    conn: Connection, h3: int, run_id: int | None, kind: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    if run_id is not None:
        run = get_run(conn=conn, run_id=run_id)
        if run["kind"] != kind:
            raise InvalidInput(f"le calcul {run_id} est un calcul {run['kind']}, pas {kind}")
    else:
        found = default_run(conn=conn, kind=kind)
        if found is None:
            return None
        run = found
    result = cells.hotspot_result(conn=conn, h3=h3, run_id=int(run["id"]))
    return None if result is None else (run, result)


def _forecast(conn: Connection, h3: int, run_id: int | None) -> dict[str, Any] | None:
    run = (
        cells.forecast_run(conn=conn, run_id=run_id)
        if run_id is not None
        else latest_forecast(conn=conn)
    )
    if run is None:
        return None
    result = cells.forecast_result(conn=conn, h3=h3, run_id=int(run["id"]))
    if result is None:
        return None
    return {"run_id": run["id"], "method": run["method"], "origin": run["origin"], **result}


def runs(*, engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every hot-spot and forecast run."""
    with engine.connect() as conn:
        return cells.list_runs(conn=conn)


def categories_for(*, engine: Engine, restricted: bool) -> list[dict[str, Any]]:
    """The categories a role may ask for (restricted roles: the public ones only)."""
    with engine.connect() as conn:
        rows = cells.list_categories(conn=conn)
    return [r for r in rows if r["public"] or not restricted]
