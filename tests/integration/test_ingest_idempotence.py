"""Re-ingesting is idempotent, and a corrected file updates its events in place.

The events table is compared byte for byte (every column of every row, plus each row's tuple
version ``xmin``, so even a rewrite with identical values would show).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from geotranquil.ingest.pipeline import ingest_file

from .ingest_helpers import (
    CASTELLANE,
    CHATEAU_GOMBERT,
    CINQ_AVENUES,
    PARIS,
    PRADO,
    RUE_DE_ROME,
    SAINT_CHARLES,
    SAINT_LOUP,
    batch,
    batches,
    cells_of,
    counts,
    events,
    events_checksum,
    expected_cells,
    mappings,
    rejections,
    scalar,
    utc,
    write_json,
    write_police_csv,
)

N = 6  # good reports in the file


def _report(ident: str, day: int, category: str, point: tuple[float, float]) -> dict[str, Any]:
    return {
        "report_id": ident,
        "created": f"2025-05-{day:02d}T10:00:00+02:00",
        "category": category,
        "description": f"signalement {ident}",
        "location": {"lon": point[0], "lat": point[1]},
    }


def _reports() -> list[dict[str, Any]]:
    return [
        _report("HAB-1", 1, "bruit", CASTELLANE),
        _report("HAB-2", 2, "bruit", PRADO),
        _report("HAB-3", 3, "dechets", RUE_DE_ROME),
        _report("HAB-4", 4, "voirie", SAINT_LOUP),
        _report("HAB-5", 5, "eclairage", CHATEAU_GOMBERT),
        _report("HAB-BAD", 6, "bruit", PARIS),  # rejected every time
        _report("HAB-6", 7, "tag", CINQ_AVENUES),
    ]


def _row_texts(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text("SELECT e.external_id, e::text || '|' || e.xmin::text FROM events e")
            ).all()
        )


def test_same_file_twice_is_skipped(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    path = write_json(tmp_path / "signalements.json", _reports())
    mapping = mappings(clean_events)["habitants"]
    first = ingest_file(dsn, path, mapping, chunk_rows=3)
    assert (first.status, first.inserted, first.rejected) == ("completed", N, 1)
    before = events_checksum(clean_events)

    again = ingest_file(dsn, path, mapping, chunk_rows=3)
    # the same bytes under another name are the same file
    copy = shutil.copy(path, tmp_path / "signalements (copie).json")
    copied = ingest_file(dsn, Path(copy), mapping, chunk_rows=3)

    for s in (again, copied):
        assert (s.status, s.batch_id) == ("skipped", first.batch_id)
        assert (s.inserted, s.updated, s.unchanged, s.rejected) == (N, 0, 0, 1)
    assert events_checksum(clean_events) == before
    assert len(batches(clean_events)) == 1
    assert set(rejections(clean_events)) == {6}


def test_force_rereads_and_changes_nothing(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    path = write_json(tmp_path / "signalements.json", _reports())
    mapping = mappings(clean_events)["habitants"]
    first = ingest_file(dsn, path, mapping, chunk_rows=3)
    before = events_checksum(clean_events)
    ids_before = {k: v["id"] for k, v in events(clean_events).items()}

    forced = ingest_file(dsn, path, mapping, chunk_rows=3, force=True)

    assert forced.status == "completed" and forced.batch_id != first.batch_id
    assert counts(batch(clean_events, forced.batch_id)) == {
        "status": "completed",
        "rows_read": N + 1,
        "rows_committed": N + 1,
        "inserted": 0,
        "updated": 0,
        "unchanged": N,
        "rejected": 1,
        "unlocated": 0,
        "resumed": 0,
    }
    assert events_checksum(clean_events) == before
    after = events(clean_events)
    assert {k: v["id"] for k, v in after.items()} == ids_before
    assert all(e["updated_at"] is None and e["batch_id"] == first.batch_id for e in after.values())
    # each batch keeps its own record of the rejected row
    assert set(rejections(clean_events, first.batch_id)) == {6}
    assert set(rejections(clean_events, forced.batch_id)) == {6}


def test_same_rows_in_another_order_change_nothing(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    mapping = mappings(clean_events)["habitants"]
    ingest_file(dsn, write_json(tmp_path / "a.json", _reports()), mapping)
    before = events_checksum(clean_events)

    second = ingest_file(dsn, write_json(tmp_path / "b.json", _reports()[::-1]), mapping)

    assert (second.status, second.inserted, second.updated, second.unchanged) == (
        "completed",
        0,
        0,
        N,
    )
    assert events_checksum(clean_events) == before


def test_corrected_file_updates_events_in_place(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    mapping = mappings(clean_events)["habitants"]
    first = ingest_file(dsn, write_json(tmp_path / "v1.json", _reports()), mapping)
    rows_before = _row_texts(clean_events)
    ids_before = {k: v["id"] for k, v in events(clean_events).items()}

    corrected = _reports()
    corrected[1]["category"] = "tag"  # HAB-2: new category
    corrected[2]["location"] = {"lon": SAINT_CHARLES[0], "lat": SAINT_CHARLES[1]}  # HAB-3 moved
    # HAB-4 moved by ~8 cm: the same fine H3 cell, but a different point, so an update
    corrected[3]["location"] = {"lon": SAINT_LOUP[0] + 1e-6, "lat": SAINT_LOUP[1]}
    assert expected_cells(*SAINT_LOUP) == expected_cells(SAINT_LOUP[0] + 1e-6, SAINT_LOUP[1])
    corrected.append(_report("HAB-7", 8, "rodeo", SAINT_CHARLES))  # a new report
    second = ingest_file(dsn, write_json(tmp_path / "v2.json", corrected), mapping)

    assert second.batch_id != first.batch_id
    assert counts(batch(clean_events, second.batch_id)) == {
        "status": "completed",
        "rows_read": N + 2,
        "rows_committed": N + 2,
        "inserted": 1,
        "updated": 3,
        "unchanged": N - 3,
        "rejected": 1,
        "unlocated": 0,
        "resumed": 0,
    }
    got = events(clean_events)
    assert len(got) == N + 1
    repeated = scalar(
        clean_events,
        "SELECT count(*) FROM (SELECT source_id, external_id FROM events "
        "GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    assert repeated == 0
    # corrected events keep their id, carry the new values, the new batch and updated_at
    hab2, hab3, hab4 = got["HAB-2"], got["HAB-3"], got["HAB-4"]
    assert (hab2["category"], hab2["native_category"]) == ("tag_graffiti", "tag")
    assert (hab3["lon"], hab3["lat"]) == SAINT_CHARLES
    assert cells_of(hab3) == expected_cells(*SAINT_CHARLES)
    assert (hab4["lon"], hab4["lat"]) == (SAINT_LOUP[0] + 1e-6, SAINT_LOUP[1])
    for e in (hab2, hab3, hab4):
        assert e["id"] == ids_before[e["external_id"]]
        assert e["batch_id"] == second.batch_id
        assert e["updated_at"] is not None
        assert e["occurred_at"] == utc(2025, 5, int(e["external_id"][-1]), 8, 0)
    # the new one is inserted, the others are untouched (same bytes, same tuple)
    assert (got["HAB-7"]["batch_id"], got["HAB-7"]["updated_at"]) == (second.batch_id, None)
    assert got["HAB-7"]["category"] == "rodeo_urbain"
    rows_after = _row_texts(clean_events)
    for ext_id in ("HAB-1", "HAB-5", "HAB-6"):
        assert rows_after[ext_id] == rows_before[ext_id]


def test_same_external_id_in_two_sources_is_two_events(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    ms = mappings(clean_events)
    police = write_police_csv(
        tmp_path / "main_courante.csv",
        ["X-1;02/03/2025;22:14;Tapage nocturne;12;;Rue de Rome;13001;Marseille;RAS"],
    )
    reports = write_json(tmp_path / "signalements.json", [_report("X-1", 1, "bruit", CASTELLANE)])

    a = ingest_file(dsn, police, ms["police_municipale"])
    b = ingest_file(dsn, reports, ms["habitants"])

    assert (a.inserted, b.inserted) == (1, 1)
    with clean_events.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.slug, e.occurred_at, e.location_precision FROM events e "
                "JOIN sources s ON s.id = e.source_id WHERE e.external_id = 'X-1' ORDER BY s.slug"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("habitants", utc(2025, 5, 1, 8, 0), "exact"),
        ("police_municipale", utc(2025, 3, 2, 21, 14), "address"),
    ]
