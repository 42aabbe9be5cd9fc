"""``geotranquil audit``: the journal filtered on the console and written to CSV, in French."""

from __future__ import annotations

import csv
import getpass
import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.roles import Role
from geotranquil.services import audit
from geotranquil.services.access import Caller
from tests.audit_helpers import last_id, rows_after

CALLER = Caller(Role.ANALYST, key_id=987_654)


def _run(settings: Settings, *args: str) -> str:
    out = CliRunner().invoke(
        app,
        ["audit", *args],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    return out.output


def test_audit_lists_and_writes_csv_with_filters(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    route = audit.Route("GET", "/collections/{collection_id}/export", "/collections/events/export")
    made = [
        audit.record(engine, caller=CALLER, action=action, route=route, rows=n, client="10.1.2.3")
        for n, action in ((11, "export"), (12, "read_events"), (13, "export"))
    ]
    since = made[0].at.isoformat()
    out = _run(settings, "--who", "key:987654", "--since", since)
    assert "3 ligne(s) trouvée(s)." in out
    for row in made:
        assert f"│ {row.id} " in out
    out = _run(settings, "--who", "key:987654", "--since", since, "--limit", "1")
    assert "3 ligne(s) trouvée(s), les 1 plus récentes affichées." in out
    assert f"│ {made[2].id} " in out and f"│ {made[0].id} " not in out

    before = last_id(engine)
    path = tmp_path / "journal.csv"
    out = _run(
        settings, "--who", "key:987654", "--action", "export", "--since", since, "--csv", str(path)
    )
    assert f"2 ligne(s) du journal écrite(s) dans {path}." in out
    with path.open(encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [(int(r["id"]), r["action"], int(r["rows"]), r["client"]) for r in table] == [
        (made[0].id, "export", 11, "10.1.2.3"),
        (made[2].id, "export", 13, "10.1.2.3"),
    ]
    assert [json.loads(r["filters"]) for r in table] == [{}, {}]
    assert [(r["who"], r["action"], r["rows"]) for r in rows_after(engine, before)] == [
        (f"cli:{getpass.getuser()}", "read_audit", 2)
    ]


def test_audit_refuses_a_bad_date_in_french(settings: Settings) -> None:
    out = CliRunner().invoke(
        app,
        ["audit", "--since", "la semaine dernière"],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    assert out.exit_code == 2
    assert "--since : « la semaine dernière » n'est pas une date" in out.output
