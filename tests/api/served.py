"""The data the API tests serve: hand-placed events with known counts, ingested for real.

- Background: for each of six places inside Marseille and each of the 26 weeks from Monday
  6 January 2025, two events (categories cycling through the 12 canonical ones), within about
  60 m of the place.
- Planted hot spot at rue de Rome: 60 thefts (``vol``, not public) and 30 wild dumps
  (``depot_sauvage``, public) in the last six weeks.
- Small count at Château-Gombert: exactly 3 tags (``tag_graffiti``, public) and nothing else
  within its resolution-8 cell, so the public sees it suppressed.

Everything goes through the real ingestion pipeline with a mapping written for the test, then
a Gi* and an emerging hot-spot run are computed at resolution 9.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from geotranquil.db.engine import psycopg_dsn
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.taxonomy import load_taxonomy
from tests.integration.ingest_helpers import (
    CASTELLANE,
    CHATEAU_GOMBERT,
    CINQ_AVENUES,
    PRADO,
    RUE_DE_ROME,
    SAINT_BARTHELEMY,
    SAINT_LOUP,
)

START = date(2025, 1, 6)  # a Monday
WEEKS = 26
END = START + timedelta(weeks=WEEKS)  # exclusive
BACKGROUND_PLACES = (CASTELLANE, PRADO, SAINT_LOUP, CINQ_AVENUES, SAINT_BARTHELEMY, RUE_DE_ROME)
CATEGORIES = tuple(c.code for c in load_taxonomy())
HOT_VOL = 60
HOT_DUMPING = 30
HOT_WEEKS = 6
SMALL_TAGS = 3  # in three different weeks
#: what the public may be shown of them: three atoms of 1 event, each rounded to 0 or 5
#: (features/disclosure.py), never 3; a sum of 0 is shown empty
SMALL_TAGS_PUBLISHED = (None, 5, 10, 15)
TOTAL = len(BACKGROUND_PLACES) * WEEKS * 2 + HOT_VOL + HOT_DUMPING + SMALL_TAGS

MAPPING = """
slug = "test_served"
name = "Jeu de test de l'API"
kind = "file"
owner = "tests"

[format]
type = "json"
encoding = "utf-8"
records = ""

[id]
field = "id"

[time]
field = "at"
format = "iso8601"
timezone = "UTC"

[category]
field = "category"

[category.values]
{values}

[location]
x = "lon"
y = "lat"
crs = "EPSG:4326"

[attributes]
fields = ["description"]
"""


@dataclass(frozen=True)
class Served:
    """What the tests may rely on."""

    total: int
    gi_run: int
    emerging_run: int


def records() -> list[dict[str, object]]:
    """The events, deterministic."""
    rng = np.random.default_rng(7)
    out: list[dict[str, object]] = []

    def add(place: tuple[float, float], category: str, at: datetime, note: str) -> None:
        dx, dy = rng.uniform(-0.0006, 0.0006, size=2)
        out.append(
            {
                "id": f"t{len(out) + 1:05d}",
                "at": at.isoformat(),
                "category": category,
                "lon": round(place[0] + float(dx), 6),
                "lat": round(place[1] + float(dy), 6),
                "description": note,
            }
        )

    base = datetime(START.year, START.month, START.day, 9, tzinfo=UTC)
    n = 0
    for week in range(WEEKS):
        for p, place in enumerate(BACKGROUND_PLACES):
            for k in range(2):
                at = base + timedelta(weeks=week, days=(p + k) % 7, hours=k * 5)
                add(place, CATEGORIES[n % len(CATEGORIES)], at, "fond")
                n += 1
    hot_start = base + timedelta(weeks=WEEKS - HOT_WEEKS)
    for i in range(HOT_VOL):
        add(RUE_DE_ROME, "vol", hot_start + timedelta(hours=16 * i), "point chaud")
    for i in range(HOT_DUMPING):
        add(RUE_DE_ROME, "depot_sauvage", hot_start + timedelta(hours=29 * i), "point chaud")
    for i in range(SMALL_TAGS):
        add(CHATEAU_GOMBERT, "tag_graffiti", base + timedelta(weeks=3 + i), "petit nombre")
    assert len(out) == TOTAL
    return out


def load_served(engine: Engine, database_url: str, workdir: Path) -> Served:
    """Replace the events and runs of the test database with the served data set."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources, hotspot_runs "
                "RESTART IDENTITY CASCADE"
            )
        )
        conn.execute(text("DELETE FROM areas WHERE kind = 'zone'"))
    values = "\n".join(f'{c} = "{c}"' for c in CATEGORIES)
    mapping_path = workdir / "test_served.toml"
    mapping_path.write_text(MAPPING.format(values=values), encoding="utf-8")
    data_path = workdir / "served.json"
    data_path.write_text(json.dumps(records()), encoding="utf-8")
    summary = ingest_file(psycopg_dsn(database_url), data_path, load_mapping(mapping_path))
    assert summary.inserted == TOTAL, summary
    with engine.begin() as conn:
        conn.execute(text("ANALYZE events"))
    runs = {}
    for statistic in ("gi_star", "emerging"):
        run = compute_run(
            engine,
            HotspotParams(statistic=statistic, resolution=9, start=START, end=END, seed=1),
        )
        runs[statistic] = run.run_id
    return Served(TOTAL, runs["gi_star"], runs["emerging"])


def event_count(engine: Engine) -> int:
    """Every event in the served database now: the served source's and those other tests of
    the tier added (residents' reports filed through Open311 become events)."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar_one())
