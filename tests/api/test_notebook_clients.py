"""The HTTP-only notebook runs against the real server and draws its pictures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

from tests.api.served import Served

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "03_clients_api.py"


def test_clients_notebook(
    server_url: str, served: Served, api_keys: dict[str, str], loaded_engine: Engine, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(NOTEBOOK),
            "--out",
            str(tmp_path),
            "--url",
            server_url,
            "--key",
            api_keys["planner"],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for picture in ("api_comptages.png", "api_points_chauds.png", "api_rapport_quartier.png"):
        assert (tmp_path / picture).stat().st_size > 20_000, picture
    summary = json.loads((tmp_path / "clients_api.json").read_text())
    with loaded_engine.connect() as conn:
        cells = conn.execute(
            text("SELECT count(*) FROM grid_cells WHERE resolution = 9")
        ).scalar_one()
        hot = conn.execute(
            text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r AND gi_bin > 0"),
            {"r": served.gi_run},
        ).scalar_one()
        in_quartier = conn.execute(
            text(
                "SELECT count(*) FROM events e JOIN areas a ON a.kind = 'quartier' "
                "AND a.code = :q AND ST_Intersects(e.geom, a.geom) "
                "WHERE e.occurred_at >= (SELECT max(occurred_at) FROM events) - interval '400 days'"
            ),
            {"q": summary["quartier"]},
        ).scalar_one()
    assert summary["cells"] == cells
    assert summary["events"] == served.total
    assert summary["hot_cells"] == hot > 0
    # the default period is the last 52 whole weeks of data: all the served events
    assert summary["quartier_events"] == in_quartier
