"""Generator and ingester agree exactly: every planted defect is rejected for its reason,
every valid row becomes an event, per source and per category, as the manifest says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.demo import DEMO_SOURCES
from geotranquil.synth import generate
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import OFFICIAL_DIR


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    geography = load_geography(OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None)
    generate(geography, out, months=6, seed=7, scale=0.1)
    return out


def test_every_silo_file_ingests_exactly_as_planted(
    synth_dir: Path, clean_events: Engine, dsn: str
) -> None:
    manifest = json.loads((synth_dir / "manifest.json").read_text("utf-8"))
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    assert set(DEMO_SOURCES.values()) == set(manifest["files"])
    for file_name, slug in DEMO_SOURCES.items():
        expected = manifest["files"][slug]
        assert expected["file"] == file_name
        summary = ingest_file(dsn, synth_dir / file_name, mappings[slug], chunk_rows=500)
        assert summary.status == "completed"
        assert summary.rows_read == expected["rows"], slug
        assert summary.inserted == expected["valid"], slug
        assert summary.unlocated == expected["unlocated"], slug
        with clean_events.connect() as conn:
            got = {
                (int(r), str(reason))
                for r, reason in conn.execute(
                    text("SELECT row_number, reason FROM ingest_rejections WHERE batch_id = :b"),
                    {"b": summary.batch_id},
                )
            }
            by_cat = dict(
                conn.execute(
                    text(
                        "SELECT e.category, count(*) FROM events e JOIN sources s "
                        "ON s.id = e.source_id WHERE s.slug = :s GROUP BY 1"
                    ),
                    {"s": slug},
                ).all()
            )
        # the manifest numbers records; a CSV rejection names the physical line (header = 1,
        # and the synthetic CSV has no field over several lines)
        shift = 1 if expected["format"] == "csv" else 0
        want = {
            (int(r) + shift, reason)
            for reason, rows in expected["rejections"].items()
            for r in rows
        }
        assert got == want, slug
        assert by_cat == {k: v for k, v in expected["categories"].items() if v}, slug


def test_located_events_are_inside_the_commune_with_consistent_cells(
    clean_events: Engine, synth_dir: Path, dsn: str
) -> None:
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    ingest_file(dsn, synth_dir / "signalements_habitants.json", mappings["habitants"])
    with clean_events.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), "
                "count(*) FILTER (WHERE NOT ST_Intersects(e.geom, a.geom)), "
                "count(*) FILTER (WHERE h3_parent(e.h3_fine, 9) <> e.h3_r9 "
                "   OR h3_parent(e.h3_fine, 7) <> e.h3_r7), "
                "count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM grid_cells g "
                "   WHERE g.h3 = e.h3_r10)) "
                "FROM events e, areas a WHERE a.kind = 'commune'"
            )
        ).one()
    total, outside, inconsistent, off_grid = row
    assert total > 100
    assert (outside, inconsistent, off_grid) == (0, 0, 0)
