"""The events' daily counts (``event_day_counts``, migrations 0027 and 0029) follow every write
path exactly, by source too, a month move is counted once, compaction keeps the sums, the events
per source read from them equal a count of the events, and the report's city-wide figures read
from them equal a direct count of the events for any window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.day_counts import compact_day_counts, day_counts, day_counts_from_events
from geotranquil.db.geocoding import place_events
from geotranquil.db.open311 import insert_event
from geotranquil.db.reports import run_report
from geotranquil.db.status import events_per_source
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.reports import ReportRequest, city_days, prepare_report
from geotranquil.taxonomy import load_taxonomy
from tests.event_plants import (
    counted_per_source,
    new_source,
    open311_event,
    plant_events,
    residents_file,
    summed_over_sources,
)

PARIS = ZoneInfo("Europe/Paris")
CATEGORIES = ("vol", "depot_sauvage", "tag_graffiti")
#: a square around the centre of Marseille (the zone does not change the city figures)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[5.36, 43.28], [5.40, 43.28], [5.40, 43.31], [5.36, 43.31], [5.36, 43.28]]],
}


def _same(engine: Engine) -> list[Any]:
    """Assert the deltas' sums equal a GROUP BY of the events, key by key (day, source,
    category, located), and the events per source a count of the events; the counts by (day,
    category, located), summed over the sources."""
    with engine.connect() as conn:
        kept, direct = day_counts(conn=conn), day_counts_from_events(conn=conn)
        per_source = events_per_source(conn=conn)
    assert kept == direct
    assert {r["slug"]: (r["events"], r["located"], r["unlocated"]) for r in per_source} == {
        slug: (total, located, total - located)
        for slug, (total, located) in counted_per_source(engine).items()
    }
    return summed_over_sources(kept)


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT day, category, located, n FROM event_day_counts ORDER BY 1, 2, 3, 4")
            )
        ]


def test_the_counts_follow_every_write_path(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    engine = clean_events
    assert _rows(engine) == []  # the TRUNCATE of clean_events emptied them
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    first = residents_file(
        tmp_path / "first.json",
        {
            1: ("2024-03-02T00:30:00+01:00", "bruit"),  # 2024-03-01 23:30 UTC
            2: ("2024-03-02T08:00:00+01:00", "bruit"),
            3: ("2024-03-02T09:00:00+01:00", "dechets"),
        },
    )
    summary = ingest_file(dsn, first, mapping)
    assert (summary.inserted, summary.updated) == (3, 0)
    d = datetime(2024, 3, 1).date()
    assert _same(engine) == [
        (d, "nuisance_sonore", True, 1),
        (d + timedelta(days=1), "depot_sauvage", True, 1),
        (d + timedelta(days=1), "nuisance_sonore", True, 1),
    ]
    rows = len(_rows(engine))
    # the same file again: nothing counted changes, no delta row
    first.write_text(first.read_text("utf-8") + "\n", "utf-8")
    again = ingest_file(dsn, first, mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert len(_rows(engine)) == rows
    # report 1 moves to April (another partition), report 2 changes category, 4 is new
    changed = residents_file(
        tmp_path / "changed.json",
        {
            1: ("2024-04-10T12:00:00+02:00", "bruit"),
            2: ("2024-03-02T08:00:00+01:00", "tag"),
            3: ("2024-03-02T09:00:00+01:00", "dechets"),
            4: ("2024-03-02T10:00:00+01:00", "dechets"),
        },
    )
    summary = ingest_file(dsn, changed, mapping)
    assert (summary.inserted, summary.updated, summary.unchanged) == (1, 2, 1)
    assert _same(engine) == [
        (d + timedelta(days=1), "depot_sauvage", True, 2),
        (d + timedelta(days=1), "tag_graffiti", True, 1),
        (datetime(2024, 4, 10).date(), "nuisance_sonore", True, 1),
    ]
    # a resident's report through Open311
    at = datetime(2024, 3, 2, 23, 59, tzinfo=UTC)
    source = new_source(engine, "open311")
    with engine.begin() as conn:
        insert_event(conn=conn, event=open311_event(source, "open311:R1", at, category="vol"))
    # two address-only events, one placed by the geocoding
    address_only = {"occurred_at": at, "address": "1 rue de Rome"}
    unplaced = plant_events(
        engine, source, [{"external_id": f"a{i}", **address_only} for i in range(2)]
    )
    counts = _same(engine)
    assert (at.date(), "vol", False, 2) in counts and (at.date(), "vol", True, 1) in counts
    with engine.begin() as conn:
        placed = place_events(
            conn=conn,
            placed=pd.DataFrame(
                [[unplaced[0], 5.3790, 43.2920, 1, 1, 1, 1, 1, "address"]],
                columns=[
                    "event_id",
                    "lon",
                    "lat",
                    "h3_fine",
                    "h3_r7",
                    "h3_r8",
                    "h3_r9",
                    "h3_r10",
                    "precision",
                ],
            ),
        )
    assert placed == [unplaced[0]]
    counts = _same(engine)
    assert (at.date(), "vol", False, 1) in counts and (at.date(), "vol", True, 2) in counts
    # what the retention purge clears (attributes, addresses) is not counted: no delta row
    rows = len(_rows(engine))
    with engine.begin() as conn:
        cleared = conn.execute(
            text("UPDATE events SET attributes = '{}', address = NULL, updated_at = now()")
        ).rowcount
    assert cleared == 7
    assert len(_rows(engine)) == rows
    # deletions
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE category IN ('vol', 'tag_graffiti')"))
    assert _same(engine) == [
        (d + timedelta(days=1), "depot_sauvage", True, 2),
        (datetime(2024, 4, 10).date(), "nuisance_sonore", True, 1),
    ]
    # compaction: one row per key with a non-zero sum, the same sums, twice the same
    with engine.begin() as conn:
        before, after = compact_day_counts(conn=conn)
    assert before > after == 2
    assert _rows(engine) == [
        (d + timedelta(days=1), "depot_sauvage", True, 2),
        (datetime(2024, 4, 10).date(), "nuisance_sonore", True, 1),
    ]
    with engine.begin() as conn:
        assert compact_day_counts(conn=conn) == (2, 2)
    _same(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE events"))
    assert _rows(engine) == []


def test_a_move_to_another_month_is_one_update(clean_events: Engine) -> None:
    """The root's UPDATE transition tables hold a row moved to another partition: one −1 and
    one +1, not a DELETE and an INSERT counted twice or not at all."""
    engine = clean_events
    may, june = datetime(2025, 5, 31, 23, tzinfo=UTC), datetime(2025, 6, 1, 1, tzinfo=UTC)
    source = new_source(engine, "moves", months=(june,))  # the month m1 moves to
    plant_events(engine, source, [{"external_id": x, "occurred_at": may} for x in ("m1", "m2")])
    with engine.begin() as conn:
        assert compact_day_counts(conn=conn) == (1, 1)
        moved = conn.execute(
            text(
                "UPDATE events SET occurred_at = :at WHERE external_id = 'm1' "
                "RETURNING tableoid::regclass::text"
            ),
            {"at": june},
        ).scalar_one()
    assert moved == "events_y2025m06"
    assert _rows(engine) == [
        (may.date(), "vol", False, -1),
        (may.date(), "vol", False, 2),
        (june.date(), "vol", False, 1),
    ]
    _same(engine)
    # the geocoding and reference triggers of migration 0024 still run beside the counts
    with engine.begin() as conn:
        event_id = conn.execute(text("SELECT id FROM events WHERE external_id = 'm1'")).scalar()
        conn.execute(
            text(
                "INSERT INTO event_geocoding (event_id, query, status, geocoder) "
                "VALUES (:e, 'q', 'placed', 'ban')"
            ),
            {"e": event_id},
        )
        conn.execute(text("DELETE FROM events WHERE external_id = 'm1'"))
        assert conn.execute(text("SELECT count(*) FROM event_geocoding")).scalar_one() == 0
    assert _same(engine) == [(may.date(), "vol", False, 1)]


def test_the_events_per_source_follow_a_change_of_source(clean_events: Engine) -> None:
    """An event given to another source moves its count (one −1, one +1 in the same day and
    category); a source whose events are all deleted shows zero, before and after the
    compaction drops its rows, and may then be deleted."""
    engine = clean_events
    at = datetime(2025, 2, 14, 10, tzinfo=UTC)
    police, partner, gone = (new_source(engine, s) for s in ("pm", "partenaire", "ancienne"))
    plant_events(
        engine,
        police,
        [
            {"external_id": f"p{i}", "occurred_at": at, "lon": 5.37, "lat": 43.29, "h3_fine": 1}
            for i in range(5)
        ]
        + [{"external_id": "p-unlocated", "occurred_at": at}],
    )
    plant_events(engine, partner, [{"external_id": "x1", "occurred_at": at}])
    plant_events(engine, gone, [{"external_id": "g1", "occurred_at": at}])

    def per_source() -> dict[str, tuple[int, int, int]]:
        _same(engine)
        with engine.connect() as conn:
            return {
                r["slug"]: (r["events"], r["located"], r["unlocated"])
                for r in events_per_source(conn=conn)
            }

    assert per_source() == {"ancienne": (1, 0, 1), "partenaire": (1, 0, 1), "pm": (6, 5, 1)}
    with engine.begin() as conn:
        moved = conn.execute(
            text("UPDATE events SET source_id = :s WHERE external_id IN ('p0', 'p1')"),
            {"s": partner},
        ).rowcount
        conn.execute(text("DELETE FROM events WHERE source_id = :s"), {"s": gone})
    assert moved == 2
    assert per_source() == {"ancienne": (0, 0, 0), "partenaire": (3, 2, 1), "pm": (4, 3, 1)}
    with engine.begin() as conn:
        compact_day_counts(conn=conn)
        assert (
            conn.execute(
                text("SELECT count(*) FROM event_day_counts WHERE source_id = :s"), {"s": gone}
            ).scalar_one()
            == 0
        )
        conn.execute(text("DELETE FROM sources WHERE id = :s"), {"s": gone})
    assert per_source() == {"partenaire": (3, 2, 1), "pm": (4, 3, 1)}


def _plant(engine: Engine) -> list[dict[str, Any]]:
    """Events around UTC and Paris midnights, across both DST changes of 2025, some unlocated,
    in three categories (seeded)."""
    rng = random.Random(18)
    source = new_source(engine, "planted")
    rows = []
    for first in (datetime(2025, 3, 27, tzinfo=UTC), datetime(2025, 10, 23, tzinfo=UTC)):
        for i in range(300):
            day = first + timedelta(days=rng.randrange(8))
            hour = rng.choice((0, 0, 1, 21, 22, 22, 23, 23, 12))
            at = day + timedelta(hours=hour, minutes=rng.randrange(60))
            if rng.random() < 0.05:
                at = day + timedelta(hours=hour)  # exactly on the hour (a midnight, an edge)
            located = rng.random() < 0.8
            rows.append(
                {
                    "external_id": f"{first.month}-{i}",
                    "category": rng.choice(CATEGORIES),
                    "occurred_at": at,
                    "lon": 5.37 if located else None,
                    "lat": 43.29,
                    "h3_fine": 1 if located else None,
                    "location_precision": "exact",
                }
            )
    plant_events(engine, source, rows)  # the months between too: some move five months back
    return rows


def _city(engine: Engine, settings: Settings, t0: datetime, t1: datetime) -> dict[str, int]:
    """The report's city figures for the window [t0, t1), read through its statement."""
    request = ReportRequest(geometry=SQUARE, start=t0.date(), end=t0.date(), categories=CATEGORIES)
    with engine.connect() as conn:
        query = prepare_report(conn=conn, request=request, settings=settings)
        m0, m1 = city_days(t0, t1)
        params = {
            **query.params,
            "t0": t0,
            "t1": t1,
            "p0": t0 - (t1 - t0),
            "m0": m0,
            "m1": m1,
            "d0": m0.astimezone(UTC).date(),
            "d1": m1.astimezone(UTC).date(),
        }
        raw = run_report(conn=conn, params=params)
    return {line["category"]: line["city_n"] for line in raw["by_category"]}


def _direct(engine: Engine, t0: datetime, t1: datetime) -> dict[str, int]:
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT category, count(*) FROM events WHERE occurred_at >= :t0 "
                    "AND occurred_at < :t1 AND geom IS NOT NULL GROUP BY category"
                ),
                {"t0": t0, "t1": t1},
            ).all()
        )
    return {c: int(rows.get(c, 0)) for c in CATEGORIES}


def _windows() -> list[tuple[datetime, datetime]]:
    def paris(*a: int) -> datetime:
        return datetime(*a, tzinfo=PARIS)  # type: ignore[misc]

    return [
        (paris(2025, 3, 27), paris(2025, 4, 4)),  # local days over the spring change
        (paris(2025, 3, 30), paris(2025, 3, 31)),  # the 23-hour day
        (paris(2025, 10, 26), paris(2025, 10, 27)),  # the 25-hour day
        (paris(2025, 10, 20), paris(2025, 11, 3)),
        (paris(2025, 3, 1), paris(2025, 11, 30)),  # months, both changes
        (datetime(2025, 3, 28, tzinfo=UTC), datetime(2025, 3, 30, tzinfo=UTC)),  # UTC days
        (datetime(2025, 3, 28, 22, 30, tzinfo=UTC), datetime(2025, 3, 29, 0, 15, tzinfo=UTC)),
        (datetime(2025, 3, 28, 1, tzinfo=UTC), datetime(2025, 3, 28, 23, tzinfo=UTC)),
        (datetime(2025, 10, 25, 23, tzinfo=UTC), datetime(2025, 10, 26, tzinfo=UTC)),  # an hour
        (datetime(2025, 10, 26, tzinfo=UTC), datetime(2025, 10, 26, 0, 1, tzinfo=UTC)),
        (datetime(2025, 10, 24, 21, 17, tzinfo=UTC), datetime(2025, 10, 29, 0, 0, 1, tzinfo=UTC)),
    ]


def test_the_report_city_figures_equal_a_count_of_the_events(
    clean_events: Engine, settings: Settings
) -> None:
    engine = clean_events
    planted = _plant(engine)
    for t0, t1 in _windows():  # the planted ground truth
        expected = {c: 0 for c in CATEGORIES}
        for row in planted:
            if row["lon"] is not None and t0 <= row["occurred_at"] < t1:
                expected[row["category"]] += 1
        assert _direct(engine, t0, t1) == expected, (t0, t1)

    def check() -> int:
        total = 0
        for t0, t1 in _windows():
            expected = _direct(engine, t0, t1)
            assert _city(engine, settings, t0, t1) == expected, (t0, t1)
            total += sum(expected.values())
        return total

    assert check() == 1249  # located events in the windows (some in several)
    with engine.begin() as conn:
        conn.execute(  # moves across UTC midnights and months, category changes, geocoding
            text(
                "UPDATE events SET occurred_at = occurred_at + interval '2 hours' "
                "WHERE external_id LIKE '3-1%'"
            )
        )
        conn.execute(text("UPDATE events SET category = 'vol' WHERE external_id LIKE '10-2%'"))
        conn.execute(
            text(
                "UPDATE events SET occurred_at = occurred_at - interval '5 months' "
                "WHERE external_id LIKE '10-5%'"
            )
        )
        conn.execute(
            text(
                "UPDATE events SET geom = ST_SetSRID(ST_MakePoint(5.38, 43.29), 4326), "
                "h3_fine = 2 WHERE geom IS NULL AND external_id LIKE '%-7%'"
            )
        )
        conn.execute(text("DELETE FROM events WHERE external_id LIKE '%-9%'"))
    _same(engine)
    after = check()
    with engine.begin() as conn:
        compact_day_counts(conn=conn)
    _same(engine)
    assert check() == after
    # a whole local day through the service's own binding: the same as the events say
    request = ReportRequest(
        geometry=SQUARE,
        start=datetime(2025, 10, 26).date(),
        end=datetime(2025, 10, 26).date(),
        categories=CATEGORIES,
    )
    with engine.connect() as conn:
        query = prepare_report(conn=conn, request=request, settings=settings)
        raw = run_report(conn=conn, params=query.params)
    expected = _direct(
        engine, datetime(2025, 10, 26, tzinfo=PARIS), datetime(2025, 10, 27, tzinfo=PARIS)
    )
    assert {x["category"]: x["city_n"] for x in raw["by_category"]} == expected


def test_the_report_reads_whole_days_from_the_counts(
    clean_events: Engine, settings: Settings
) -> None:
    """A delta planted in the counts alone shows in the whole days' city figures (they are read
    from ``event_day_counts``), not in a window without a whole UTC day."""
    engine = clean_events
    _plant(engine)
    whole = (datetime(2025, 3, 28, tzinfo=UTC), datetime(2025, 3, 30, tzinfo=UTC))
    partial = (datetime(2025, 3, 28, 1, tzinfo=UTC), datetime(2025, 3, 28, 23, tzinfo=UTC))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO event_day_counts (day, source_id, category, located, n) "
                "SELECT '2025-03-28', id, 'vol', v.located, v.n FROM sources, "
                "(VALUES (true, 1000), (false, 500)) AS v (located, n) WHERE slug = 'planted'"
            )
        )
    try:
        direct = _direct(engine, *whole)
        assert _city(engine, settings, *whole) == {**direct, "vol": direct["vol"] + 1000}
        assert _city(engine, settings, *partial) == _direct(engine, *partial)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM event_day_counts WHERE n IN (1000, 500)"))
