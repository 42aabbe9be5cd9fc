"""The analysts' overview pictures are drawn from the real counts."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from sqlalchemy import Engine, text

from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.overview import load_cell_counts, load_weekly, write_overview
from geotranquil.taxonomy import load_taxonomy


def _ingest_small(tmp_path: Path, dsn: str) -> None:
    rows = [
        json.dumps(
            {
                "report_id": i,
                "created": f"2025-03-{3 + i:02d}T10:00:00+01:00",
                "category": "bruit",
                "location": {"lat": 43.2951, "lon": 5.3745},
            }
        )
        for i in range(5)
    ]
    rows.append(
        '{"report_id": 99, "created": "2025-03-20T10:00:00+01:00", "category": "tag", '
        '"location": {"lat": 43.3500, "lon": 5.4300}}'
    )
    path = tmp_path / "h.json"
    path.write_text("[" + ",\n".join(rows) + "]", "utf-8")
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    ingest_file(dsn, path, mapping)


def test_overview_counts_and_pictures(clean_events: Engine, dsn: str, tmp_path: Path) -> None:
    _ingest_small(tmp_path, dsn)
    cells = load_cell_counts(clean_events, 9)
    with clean_events.connect() as conn:
        n_grid = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 9")
        ).scalar_one()
    assert len(cells) == n_grid  # zeros included
    assert sorted(cells.loc[cells.events > 0, "events"].tolist()) == [1, 5]
    weekly = load_weekly(clean_events)
    assert weekly.to_numpy().sum() == 6
    assert list(weekly.columns) == ["Signalements des habitants"]
    result = write_overview(clean_events, tmp_path / "pics", 9)
    assert (result.located_events, result.cells_with_events) == (6, 2)
    for png in (result.map_png, result.weekly_png):
        with Image.open(png) as img:
            assert img.format == "PNG"
            assert img.width > 800 and img.height > 400
            assert len(img.getcolors(maxcolors=1 << 20) or []) > 10  # a drawing, not a blank


def test_weekly_counts_follow_the_study_areas_time_zone(
    clean_events: Engine, dsn: str, tmp_path: Path
) -> None:
    # Monday 3 March 2025 at 00:30 in Marseille is still Sunday 2 March in UTC: the week it
    # belongs to depends on the time zone the settings name.
    rows = [
        {"report_id": 1, "created": "2025-03-03T00:30:00+01:00"},
        {"report_id": 2, "created": "2025-03-05T12:00:00+01:00"},
    ]
    path = tmp_path / "tz.json"
    path.write_text(
        json.dumps(
            [r | {"category": "bruit", "location": {"lat": 43.2951, "lon": 5.3745}} for r in rows]
        ),
        "utf-8",
    )
    mapping = packaged_mappings({c.code for c in load_taxonomy()})["habitants"]
    ingest_file(dsn, path, mapping)

    paris = load_weekly(clean_events, "Europe/Paris")
    assert paris.index.astype(str).tolist() == ["2025-03-03"]
    assert paris["Signalements des habitants"].tolist() == [2]
    utc = load_weekly(clean_events, "UTC")
    assert utc.index.astype(str).tolist() == ["2025-02-24", "2025-03-03"]
    assert utc["Signalements des habitants"].tolist() == [1, 1]
