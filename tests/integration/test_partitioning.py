"""``events`` partitioned by month: the migration converts a loaded database in place (and back)
without losing a row, the planner prunes, every write path creates the months it writes, and
what the foreign keys to ``events.id`` did is still done."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.categories import sync_categories
from geotranquil.db.day_counts import day_counts, day_counts_from_events
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.open311 import insert_event
from geotranquil.db.partitions import ensure_event_partitions, event_partitions
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.database import prepare_event_partitions
from geotranquil.services.demo import DEMO_SOURCES
from geotranquil.services.geography import load_areas
from geotranquil.synth import generate
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import OFFICIAL_DIR, sibling_database_url
from tests.event_plants import (
    new_source,
    open311_event,
    plant_events,
    residents_file,
    summed_over_sources,
)

#: every column of every row, in id order, as one checksum
EVENTS_SUMMARY = (
    "SELECT count(*), min(id), max(id), md5(string_agg(e::text, '' ORDER BY id)) FROM events e"
)
GEOCODING_SUMMARY = (
    "SELECT count(*), md5(string_agg(g::text, '' ORDER BY event_id)) FROM event_geocoding g"
)


def _relkind(conn: Connection) -> str:
    return str(
        conn.execute(
            text("SELECT relkind FROM pg_class WHERE oid = 'events'::regclass")
        ).scalar_one()
    )


def _summary(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return (
            tuple(conn.execute(text(EVENTS_SUMMARY)).one()),
            tuple(conn.execute(text(GEOCODING_SUMMARY)).one()),
            conn.execute(text("SELECT nextval(pg_get_serial_sequence('events', 'id'))")).scalar(),
        )


@pytest.fixture(scope="module")
def loaded_0023(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, int]]:
    """A database at revision 0023 (plain ``events``) loaded by the project's own ingestion
    with the four synthetic silos (6 months, 1/10 of the demo's volume), a third of its events
    with a geocoding row; and how many events. Today's ingestion writes the schema of today
    (``event_keys``): it loads at the head revision, then the database goes back to 0023."""
    url = sibling_database_url(settings.database_url, "partconv")
    admin.drop_database(url)
    admin.ensure_database(url)
    engine = make_engine(Settings(database_url=url))
    with engine.begin() as conn:
        admin.upgrade(conn, "head")
        sync_categories(conn=conn, categories=load_taxonomy())
    reference = OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None
    load_areas(engine, reference)
    out = tmp_path_factory.mktemp("synth-partition")
    generate(load_geography(reference), out, months=6, seed=11, scale=0.1)
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    ingested = 0
    for file_name, slug in DEMO_SOURCES.items():
        summary = ingest_file(psycopg_dsn(url), out / file_name, mappings[slug], chunk_rows=2000)
        assert summary.status == "completed"
        ingested += summary.inserted
    with engine.begin() as conn:
        admin.downgrade(conn, "0023")
    with engine.begin() as conn:
        assert _relkind(conn) == "r"
        # one event far from the others: the conversion makes its month, not those between
        conn.execute(
            text(
                "UPDATE events SET occurred_at = '1975-06-15 12:00:00+00' "
                "WHERE id = (SELECT max(id) FROM events)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO event_geocoding (event_id, query, status, geocoder) "
                "SELECT id, 'adresse ' || id, 'placed', 'ban' FROM events WHERE id % 3 = 0"
            )
        )
    try:
        yield engine, ingested
    finally:
        engine.dispose()
        admin.drop_database(url)


def test_the_migration_converts_a_loaded_database_in_place_and_back(
    loaded_0023: tuple[Engine, int],
) -> None:
    engine, ingested = loaded_0023
    before = _summary(engine)
    (count, first_id, last_id, _), (geocoded, _), next_id = before
    assert count == ingested > 1000
    assert (first_id, last_id, next_id) == (1, ingested, ingested + 1)
    assert geocoded == ingested // 3
    with engine.connect() as conn:
        oldest, newest = conn.execute(
            text("SELECT min(occurred_at), max(occurred_at) FROM events")
        ).one()
        held = (
            conn.execute(
                text(
                    "SELECT DISTINCT to_char(occurred_at AT TIME ZONE 'UTC', "
                    '\'"events_y"YYYY"m"MM\') FROM events'
                )
            )
            .scalars()
            .all()
        )
    with engine.begin() as conn:
        started = time.perf_counter()
        admin.upgrade(conn, "0024")
        seconds = time.perf_counter() - started
    print(f"migration 0024 on {count} events: {seconds:.2f} s")
    after = _summary(engine)
    # same rows, ids and columns; the sequence goes on after the old one (which gave one more)
    assert after[:2] == before[:2]
    assert after[2] == next_id + 1
    with engine.connect() as conn:
        assert _relkind(conn) == "p"
        names = event_partitions(conn=conn)
        keys = (
            conn.execute(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'events'::regclass AND contype IN ('p', 'u')"
                )
            )
            .scalars()
            .all()
        )
        rows_outside = conn.execute(
            text("SELECT count(*) FROM ONLY events")  # a partitioned table holds no row itself
        ).scalar_one()
    # one partition per month holding events, and this month to three months ahead of now
    this_month = datetime.now(UTC).date().replace(day=1)
    coming = {this_month.year * 12 + this_month.month - 1 + k for k in range(4)}
    expected = {f"events_y{m // 12:04d}m{m % 12 + 1:02d}" for m in coming} | set(held)
    assert names == sorted(expected)
    assert oldest.astimezone(UTC).strftime("events_y%Ym%m") == names[0] == "events_y1975m06"
    assert "events_y1975m07" not in names and "events_y1976m01" not in names
    assert newest.astimezone(UTC).strftime("events_y%Ym%m") in names
    assert keys == ["PRIMARY KEY (id, occurred_at)"]
    assert rows_outside == 0

    with engine.begin() as conn:
        admin.downgrade(conn, "0023")
    back = _summary(engine)
    assert back[:2] == before[:2]
    with engine.connect() as conn:
        assert _relkind(conn) == "r"
        assert event_partitions(conn=conn) == []
        assert (
            conn.execute(
                text("SELECT count(*) FROM pg_constraint WHERE confrelid = 'events'::regclass")
            ).scalar_one()
            == 2
        )  # event_geocoding's and service_requests' keys are back
    with engine.begin() as conn:
        admin.upgrade(conn, "0024")
    assert _summary(engine)[:2] == before[:2]

    # 0026: the global key of every event stored, filled in place; and back, and again
    with engine.begin() as conn:
        started = time.perf_counter()
        admin.upgrade(conn, "0026")
        seconds = time.perf_counter() - started
    print(f"migrations 0025-0026 on {count} events: {seconds:.2f} s")
    assert _keys_summary(engine) == (count, _events_keys_md5(engine))
    with engine.begin() as conn:
        admin.downgrade(conn, "0025")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('event_keys')")).scalar() is None
        # the delete trigger no longer touches the keys
        assert conn.execute(text("DELETE FROM events WHERE id = 1")).rowcount == 1
        conn.rollback()
    with engine.begin() as conn:
        admin.upgrade(conn, "0026")
        admin.upgrade(conn, "0026")  # nothing to do
    assert _keys_summary(engine) == (count, _events_keys_md5(engine))
    assert _summary(engine)[:2] == before[:2]

    # 0027-0029: the daily counts, filled from the events in place, by source from 0029 on
    by_day = (
        "SELECT day, category, located, sum(n)::bigint FROM event_day_counts "
        "GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3"
    )
    with engine.begin() as conn:
        admin.upgrade(conn, "0028")
    with engine.connect() as conn:
        old_shape = conn.execute(text(by_day)).all()
        assert old_shape == summed_over_sources(day_counts_from_events(conn=conn))
    with engine.begin() as conn:
        admin.upgrade(conn, "0029")
    with engine.connect() as conn:
        kept = day_counts(conn=conn)
        assert kept == day_counts_from_events(conn=conn)
        assert len({source for _, source, _, _, _ in kept}) == len(DEMO_SOURCES)
        assert conn.execute(text(by_day)).all() == old_shape
    with engine.begin() as conn:
        admin.downgrade(conn, "0028")
    with engine.connect() as conn:
        assert conn.execute(text(by_day)).all() == old_shape
    with engine.begin() as conn:
        admin.upgrade(conn, "head")
    with engine.connect() as conn:
        assert day_counts(conn=conn) == day_counts_from_events(conn=conn)
    assert _summary(engine)[:2] == before[:2]


def _keys_summary(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), md5(string_agg(k::text, '' ORDER BY source_id, external_id)) "
                "FROM event_keys k"
            )
        ).one()
    return int(row[0]), str(row[1])


def _events_keys_md5(engine: Engine) -> str:
    """The checksum that ``event_keys`` must have: (source_id, external_id, id, occurred_at)
    of every event."""
    with engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    "SELECT md5(string_agg(row(source_id, external_id, id, occurred_at)::text, "
                    "'' ORDER BY source_id, external_id)) FROM events"
                )
            ).scalar_one()
        )


def test_the_planner_reads_only_the_months_asked(clean_events: Engine) -> None:
    _plant_months(
        clean_events, [date(2025, 1, 15), date(2025, 2, 15), date(2025, 2, 20), date(2025, 3, 15)]
    )
    query = (
        "SELECT count(*) FROM events WHERE occurred_at >= '2025-02-01T00:00:00Z' "
        "AND occurred_at < '2025-03-01T00:00:00Z'"
    )
    with clean_events.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).scalar_one()
        assert conn.execute(text(query)).scalar_one() == 2
    assert _relations(plan) == {"events_y2025m02"}

    # with bound parameters and a generic plan (what a pooled prepared statement gets), the
    # other months are pruned when the statement runs
    with clean_events.connect() as conn:
        conn.execute(text("SET plan_cache_mode = force_generic_plan"))
        conn.execute(
            text(
                "PREPARE months(timestamptz, timestamptz) AS SELECT count(*) FROM events "
                "WHERE occurred_at >= $1 AND occurred_at < $2"
            )
        )
        plan = conn.execute(
            text(
                "EXPLAIN (ANALYZE, FORMAT JSON) "
                "EXECUTE months('2025-03-01T00:00:00Z', '2025-04-01T00:00:00Z')"
            )
        ).scalar_one()
        partitions = len(event_partitions(conn=conn))
        conn.execute(text("DEALLOCATE months"))
    executed = _relations(plan, executed_only=True)
    assert executed == {"events_y2025m03"}
    assert _subplans_removed(plan) == partitions - 1


def test_ingestion_creates_the_months_it_writes_and_keeps_one_row_per_identifier(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    _drop_months(clean_events, "events_y2019m%")
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    first = residents_file(
        tmp_path / "first.json", {1: "2019-03-02T22:14:05+01:00", 2: "2019-05-10T08:00:00+02:00"}
    )
    summary = ingest_file(dsn, first, mapping)
    assert (summary.inserted, summary.updated) == (2, 0)
    # the months written, not the months between them (an event of 1975 among those of 2025
    # must not make fifty years of partitions)
    assert _months_of(clean_events, "events_y2019m%") == ["events_y2019m03", "events_y2019m05"]
    first.write_text(first.read_text("utf-8") + "\n", "utf-8")  # another file, same reports
    again = ingest_file(dsn, first, mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    with clean_events.begin() as conn:
        event_id = conn.execute(text("SELECT id FROM events WHERE external_id = '1'")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO event_geocoding (event_id, query, status, geocoder) "
                "VALUES (:e, 'q', 'placed', 'ban')"
            ),
            {"e": event_id},
        )
    # report 1 moves to August 2019, a month without a partition yet
    moved = residents_file(
        tmp_path / "moved.json", {1: "2019-08-20T12:00:00+02:00", 2: "2019-05-10T08:00:00+02:00"}
    )
    summary = ingest_file(dsn, moved, mapping)
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 1)
    with clean_events.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT external_id, count(*), min(id), min(tableoid::regclass::text), "
                "min(occurred_at) FROM events GROUP BY source_id, external_id "
                "ORDER BY external_id"
            )
        ).all()
        geocoded = conn.execute(text("SELECT event_id FROM event_geocoding")).scalars().all()
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("1", 1, "events_y2019m08"),
        ("2", 1, "events_y2019m05"),
    ]
    assert rows[0][2] == event_id  # the moved event kept its id...
    assert rows[0][4] == datetime(2019, 8, 20, 10, tzinfo=UTC)
    assert geocoded == [event_id]  # ...and its geocoding row (a move is no delete)
    assert _months_of(clean_events, "events_y2019m%")[-1] == "events_y2019m08"


def test_an_open311_report_creates_its_month(clean_events: Engine) -> None:
    _drop_months(clean_events, "events_y2018m07")
    at = datetime(2018, 7, 14, 9, 30, tzinfo=UTC)
    source = new_source(clean_events, "h", kind="open311")
    with clean_events.begin() as conn:
        event_id = insert_event(conn=conn, event=open311_event(source, "open311:R1", at))
    with clean_events.connect() as conn:
        where = conn.execute(
            text("SELECT tableoid::regclass::text FROM events WHERE id = :i"), {"i": event_id}
        ).scalar_one()
    assert where == "events_y2018m07"


def test_deleting_or_truncating_events_does_what_the_foreign_keys_did(
    clean_events: Engine,
) -> None:
    ids = _plant_months(clean_events, [date(2025, 5, 3), date(2025, 6, 3), date(2025, 6, 4)])
    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE service_requests CASCADE"))
        for event_id in ids:
            conn.execute(
                text(
                    "INSERT INTO event_geocoding (event_id, query, status, geocoder) "
                    "VALUES (:e, 'q', 'placed', 'ban')"
                ),
                {"e": event_id},
            )
            conn.execute(
                text(
                    "INSERT INTO service_requests (service_request_id, token, service_code, "
                    "event_id, geom, location_precision) VALUES (:r, :r, 'depot_sauvage', :e, "
                    "ST_SetSRID(ST_MakePoint(5.37, 43.29), 4326), 'exact')"
                ),
                {"r": f"R{event_id}", "e": event_id},
            )
    with clean_events.begin() as conn:
        deleted = conn.execute(
            text("DELETE FROM events WHERE occurred_at >= '2025-06-01T00:00:00Z'")
        ).rowcount
    assert deleted == 2
    with clean_events.connect() as conn:
        assert conn.execute(text("SELECT event_id FROM event_geocoding")).scalars().all() == [
            ids[0]
        ]
        linked = conn.execute(
            text("SELECT service_request_id, event_id FROM service_requests ORDER BY 1")
        ).all()
    assert sorted(linked, key=lambda r: str(r[0])) == sorted(
        [(f"R{ids[0]}", ids[0]), (f"R{ids[1]}", None), (f"R{ids[2]}", None)],
        key=lambda r: str(r[0]),
    )
    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE events"))
    with clean_events.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM event_geocoding")).scalar_one() == 0
        assert conn.execute(
            text("SELECT count(*), count(event_id) FROM service_requests")
        ).one() == (3, 0)
    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE service_requests CASCADE"))


def test_the_coming_months_are_prepared_once(clean_events: Engine) -> None:
    _drop_months(clean_events, "events_y2031m%")
    _drop_months(clean_events, "events_y2030m12")
    created = prepare_event_partitions(clean_events, 3, today=date(2030, 12, 31))
    assert created == ["events_y2030m12", "events_y2031m01", "events_y2031m02", "events_y2031m03"]
    assert prepare_event_partitions(clean_events, 3, today=date(2030, 12, 31)) == []
    with clean_events.begin() as conn:  # an empty range creates nothing
        assert (
            ensure_event_partitions(conn=conn, first=date(2031, 3, 9), last=date(2031, 1, 1)) == []
        )
    _drop_months(clean_events, "events_y2031m%")
    _drop_months(clean_events, "events_y2030m12")


def _plant_months(engine: Engine, days: list[date]) -> list[int]:
    """One event per day (noon UTC), their months' partitions first, and their keys; their
    ids."""
    source = new_source(engine, "p")
    rows = [
        {"external_id": f"p{i}", "occurred_at": datetime(d.year, d.month, d.day, 12, tzinfo=UTC)}
        for i, d in enumerate(days)
    ]
    return plant_events(engine, source, rows, keys=True)


def _drop_months(engine: Engine, pattern: str) -> None:
    """Drop the (empty) partitions whose name is LIKE ``pattern``: the month is new again."""
    with engine.begin() as conn:
        for name in _months_of(engine, pattern):
            conn.execute(text(f"DROP TABLE {name}"))


def _months_of(engine: Engine, pattern: str) -> list[str]:
    with engine.connect() as conn:
        return [n for n in event_partitions(conn=conn) if _like(n, pattern)]


def _like(name: str, pattern: str) -> bool:
    prefix = pattern.rstrip("%")
    return name.startswith(prefix) if pattern.endswith("%") else name == pattern


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _relations(plan: Any, executed_only: bool = False) -> set[str]:
    return {
        str(n["Relation Name"])
        for n in _walk(plan)
        if "Relation Name" in n and (not executed_only or n.get("Actual Loops", 1) > 0)
    }


def _subplans_removed(plan: Any) -> int:
    return sum(int(n.get("Subplans Removed", 0)) for n in _walk(plan))
