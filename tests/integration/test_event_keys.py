"""``event_keys``: the global unique key (source_id, external_id) of the partitioned events.

Every writer keeps it equal to ``SELECT source_id, external_id, id, occurred_at FROM events``:
ingestion (new events, changed ones, events moved to another month), residents' reports,
deletes and ``TRUNCATE`` (triggers), the retention purge (which changes no key). A second
event with a stored pair fails; known identifiers are found by one index probe each.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from geotranquil.db import retention
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.ingest import _sql, create_stage, known_external_ids, nested_loops_only
from geotranquil.db.open311 import insert_event
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.taxonomy import load_taxonomy
from tests.event_plants import new_source, open311_event, plant_events, residents_file

KEYS = (
    "SELECT source_id, external_id, event_id, occurred_at FROM event_keys "
    "ORDER BY source_id, external_id"
)
EVENTS = (
    "SELECT source_id, external_id, id, occurred_at FROM events ORDER BY source_id, external_id"
)


def _keys_and_events(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        keys = [tuple(r) for r in conn.execute(text(KEYS))]
        events = [tuple(r) for r in conn.execute(text(EVENTS))]
    return keys, events


def test_the_keys_follow_every_writer_of_events(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    first = {n: f"2024-0{1 + n % 6}-1{n % 10}T10:00:00+01:00" for n in range(1, 31)}
    summary = ingest_file(
        dsn, residents_file(tmp_path / "a.json", first, spread=1e-4), mapping, chunk_rows=7
    )
    assert (summary.inserted, summary.updated) == (30, 0)
    keys, events = _keys_and_events(clean_events)
    assert len(keys) == 30
    assert keys == events

    # re-ingested with changes: 5 move to another month (an update that PostgreSQL runs as a
    # delete and an insert of the row: no statement DELETE trigger fires, the key stays), 3
    # change within their month, the rest unchanged; and 4 new reports
    changed = dict(first)
    for n in range(1, 6):
        changed[n] = f"2024-0{1 + (n + 2) % 6}-2{n % 10}T10:00:00+01:00"
    for n in range(6, 9):
        changed[n] = first[n].replace("T10:00", "T11:30")
    for n in range(31, 35):
        changed[n] = "2024-09-01T08:00:00+02:00"
    before = {e[1]: e[2] for e in events}
    summary = ingest_file(
        dsn, residents_file(tmp_path / "b.json", changed, spread=1e-4), mapping, chunk_rows=6
    )
    assert (summary.inserted, summary.updated, summary.unchanged) == (4, 8, 22)
    keys, events = _keys_and_events(clean_events)
    assert len(keys) == 34
    assert keys == events
    moved = {e[1]: e[3] for e in events if e[1] in {"1", "2", "3", "4", "5"}}
    assert moved["3"] == datetime(2024, 6, 23, 9, tzinfo=UTC)  # the key's month moved too
    assert all(before[e[1]] == e[2] for e in events if e[1] in before)  # ids kept

    # a resident's report, then one deleted event
    source = new_source(clean_events, "h", kind="open311")
    with clean_events.begin() as conn:
        report_id = insert_event(
            conn=conn,
            event=open311_event(source, "open311:R1", datetime(2024, 3, 3, 9, tzinfo=UTC)),
        )
        conn.execute(text("DELETE FROM events WHERE external_id IN ('7', '31')"))
    keys, events = _keys_and_events(clean_events)
    assert len(keys) == 33
    assert keys == events
    assert (source, "open311:R1", report_id, datetime(2024, 3, 3, 9, tzinfo=UTC)) in keys

    # the retention purge clears addresses and attributes: no key changes
    with clean_events.begin() as conn:
        conn.execute(text("UPDATE events SET address = 'rue de Rome' WHERE external_id < '3'"))
    with clean_events.begin() as conn:
        slugs, cats = ["habitants"], ["nuisance_sonore"]
        cleared = retention.event_addresses(
            conn=conn,
            sources=slugs,
            categories=cats,
            before=datetime(2025, 1, 1, tzinfo=UTC),
            apply=True,
        )
        retention.event_attributes(
            conn=conn,
            sources=slugs,
            categories=cats,
            before=datetime(2025, 1, 1, tzinfo=UTC),
            keys=None,
            apply=True,
        )
    assert cleared == 22  # '1', '10' to '19', '2', '20' to '29'
    assert _keys_and_events(clean_events) == (keys, events)

    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE events"))
    assert _keys_and_events(clean_events) == ([], [])


def test_a_pair_stored_twice_fails(clean_events: Engine) -> None:
    at = datetime(2024, 2, 2, 9, tzinfo=UTC)
    source = new_source(clean_events, "h", kind="open311")
    with clean_events.begin() as conn:
        insert_event(conn=conn, event=open311_event(source, "open311:R9", at))
    with pytest.raises(IntegrityError, match="pk_event_keys"), clean_events.begin() as conn:
        insert_event(conn=conn, event=open311_event(source, "open311:R9", at))
    # another month's partition does not make the pair new
    with pytest.raises(IntegrityError, match="pk_event_keys"):
        plant_events(
            clean_events,
            source,
            [{"external_id": "open311:R9", "occurred_at": datetime(2023, 5, 5, tzinfo=UTC)}],
            keys=True,
        )
    with clean_events.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM event_keys")).scalar_one() == 1


def _plan(conn: psycopg.Connection[Any], statement: str, params: Any) -> dict[str, Any]:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {statement}", params).fetchone()
    assert row is not None
    return dict(row[0][0]["Plan"])


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []):
        out += _nodes(child)
    return out


def test_known_identifiers_are_one_index_probe_each_for_a_source_without_statistics(
    clean_events: Engine, dsn: str
) -> None:
    sources = [new_source(clean_events, slug) for slug in ("big", "late")]
    with clean_events.begin() as conn:
        ensure_event_partitions(conn=conn, first=date(2022, 1, 1), last=date(2023, 12, 31))
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, "
                "location_precision) SELECT :s, 'x' || g, 'vol', "
                "timestamptz '2022-01-01' + g * interval '1 hour', 'area' "
                "FROM generate_series(1, 17000) g"
            ),
            {"s": sources[0]},
        )
        add_missing_keys(conn=conn)
        conn.execute(text("ANALYZE event_keys"))
        # the late source's rows arrive after the statistics: the planner does not know it
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, "
                "location_precision) SELECT :s, 'y' || g, 'vol', "
                "timestamptz '2023-01-01' + g * interval '1 hour', 'area' "
                "FROM generate_series(1, 3000) g"
            ),
            {"s": sources[1]},
        )
        add_missing_keys(conn=conn)
    asked = [f"y{g}" for g in range(2990, 3010)]
    with psycopg.connect(dsn) as conn:
        assert known_external_ids(conn=conn, source_id=sources[1], external_ids=asked) == {
            f"y{g}" for g in range(2990, 3001)
        }
        plan = _plan(
            conn,
            "SELECT k.external_id FROM jsonb_array_elements_text(%s::jsonb) AS i(x) "
            "CROSS JOIN LATERAL (SELECT external_id FROM event_keys "
            "WHERE source_id = %s AND external_id = i.x LIMIT 1) AS k",
            (json.dumps(asked), sources[1]),
        )
    nodes = _nodes(plan)
    assert plan["Node Type"] == "Nested Loop"
    probes = [n for n in nodes if n.get("Index Name") == "pk_event_keys"]
    assert len(probes) == 1
    assert "external_id = i.x" in probes[0]["Index Cond"]
    assert not any(n.get("Relation Name", "").startswith("events") for n in nodes)


def test_an_update_reads_one_partition_per_row(clean_events: Engine, dsn: str) -> None:
    source = new_source(clean_events, "u")
    with clean_events.begin() as conn:
        ensure_event_partitions(conn=conn, first=date(2022, 1, 1), last=date(2023, 12, 31))
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, "
                "location_precision) SELECT :s, 'u' || g, 'vol', "
                "timestamptz '2022-01-01' + g * interval '6 hours', 'area' "
                "FROM generate_series(1, 2900) g"
            ),
            {"s": source},
        )
        add_missing_keys(conn=conn)
        partitions = conn.execute(
            text("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")
        ).scalar_one()
    assert partitions >= 24
    with psycopg.connect(dsn) as conn:
        create_stage(conn=conn)
        # three events of January 2022 change category
        conn.execute(
            "INSERT INTO ingest_stage SELECT external_id, 'nuisance_sonore', NULL, occurred_at, "
            "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'area', NULL, '{}' FROM events "
            "WHERE source_id = %s AND external_id IN ('u1', 'u2', 'u3')",
            (source,),
        )
        nested_loops_only(conn=conn, on=True)
        rows = conn.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + _sql("ingest_update_events.sql"),
            {"source_id": source, "batch_id": None},
        ).fetchone()
        conn.rollback()
    assert rows is not None
    scans = [
        n
        for n in _nodes(rows[0][0]["Plan"])
        if n.get("Relation Name", "").startswith("events_y") and n["Node Type"] == "Index Scan"
    ]
    assert len(scans) == partitions  # planned on every month...
    read = [n["Relation Name"] for n in scans if n["Actual Loops"] > 0]
    assert read == ["events_y2022m01"]  # ...read on one (pruned at run time)
    assert sum(n["Actual Rows"] * n["Actual Loops"] for n in scans) == 3  # one per row
