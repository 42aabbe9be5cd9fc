"""Every notebook runs, start to end, against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(
    notebook: Path, clean_events: Engine, settings: Settings, tmp_path: Path, dsn: str
) -> None:
    from tests.integration.test_overview import _ingest_small

    _ingest_small(tmp_path, dsn)
    env = {**os.environ, "GEOTRANQUIL_DATABASE_URL": settings.database_url}
    done = subprocess.run(
        [sys.executable, str(notebook), "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with clean_events.connect() as conn:
        located = conn.execute(text("SELECT count(*) FROM events WHERE geom IS NOT NULL")).scalar()
    summary = json.loads((tmp_path / "out" / "apercu.json").read_text())
    assert summary == {"events": located, "cells": 2}
    assert (tmp_path / "out" / "apercu_evenements.png").stat().st_size > 20_000
