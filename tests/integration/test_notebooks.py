"""Every notebook runs, start to end, against the test database, and draws its pictures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))

#: notebook -> (pictures it must draw, JSON summary it writes)
OUTPUTS: dict[str, tuple[list[str], str]] = {
    "01_apercu_evenements.py": (["apercu_evenements.png"], "apercu.json"),
    "02_points_chauds.py": (
        ["carte_gi_star.png", "carte_tendances.png", "serie_cellule.png"],
        "points_chauds.json",
    ),
}


#: notebooks that read the platform over HTTP only: run by tests/api/test_notebook_clients.py
HTTP_NOTEBOOKS = ("03_clients_api.py",)
DATABASE_NOTEBOOKS = [n for n in NOTEBOOKS if n.name not in HTTP_NOTEBOOKS]


def test_every_notebook_is_known() -> None:
    assert [n.name for n in NOTEBOOKS] == sorted([*OUTPUTS, *HTTP_NOTEBOOKS])


def _run(notebook: Path, settings: Settings, out: Path) -> dict[str, Any]:
    env = {**os.environ, "GEOTRANQUIL_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, str(notebook), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    pictures, summary = OUTPUTS[notebook.name]
    for picture in pictures:
        assert (out / picture).stat().st_size > 20_000, picture
    result: dict[str, Any] = json.loads((out / summary).read_text())
    return result


@pytest.mark.parametrize("notebook", DATABASE_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    notebook: Path, clean_events: Engine, settings: Settings, tmp_path: Path, dsn: str
) -> None:
    from tests.integration.test_overview import _ingest_small

    _ingest_small(tmp_path, dsn)
    summary = _run(notebook, settings, tmp_path / "out")
    with clean_events.connect() as conn:
        located = conn.execute(text("SELECT count(*) FROM events WHERE geom IS NOT NULL")).scalar()
        runs = conn.execute(text("SELECT count(*) FROM hotspot_runs")).scalar()
    if notebook.name == "01_apercu_evenements.py":
        assert summary == {"events": located, "cells": 2}
    else:
        # the hottest cell is the one with 5 of the 6 events (Vieux-Port)
        assert summary["hottest_total"] == 5
        assert runs is not None and runs >= 2
