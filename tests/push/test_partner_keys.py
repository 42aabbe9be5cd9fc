"""``geotranquil keys create --role partner --source SLUG``: a partner key is bound to one
source, which it alone may push to; a partner key without one (a civic app filing residents'
reports) pushes nowhere; the other roles take none."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings

from .conftest import SOURCE_A, SOURCE_B


def _create(settings: Settings, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(
        app,
        ["keys", "create", *args],
        env={"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    return out.exit_code, out.output


def test_partner_keys_push_to_their_source_only_and_only_they_take_one(
    engine: Engine, settings: Settings, server: str
) -> None:
    code, output = _create(settings, "--role", "partner", "--name", "appli citoyenne")
    assert code == 0, output
    unbound = next(line for line in output.splitlines() if line.startswith("gtq_"))
    with httpx.Client(base_url=server, headers={"X-API-Key": unbound}) as http:
        for source in (SOURCE_A, SOURCE_B):
            refused = http.get(f"/sources/{source}/batches")
            assert refused.status_code == 403 and "pas liée à cette source" in refused.text
    code, output = _create(settings, "--role", "analyst", "--name", "x", "--source", SOURCE_A)
    assert code != 0 and "seule une clé partner" in output
    code, output = _create(settings, "--role", "partner", "--name", "x", "--source", "nulle")
    assert code != 0 and "source « nulle » inconnue" in output

    code, output = _create(settings, "--role", "partner", "--name", "cli B", "--source", SOURCE_B)
    assert code == 0, output
    assert f"source {SOURCE_B}" in output
    key = next(line for line in output.splitlines() if line.startswith("gtq_"))
    with engine.connect() as conn:
        bound = conn.execute(
            text(
                "SELECT s.slug FROM api_keys k JOIN api_key_sources b ON b.key_id = k.id "
                "JOIN sources s ON s.id = b.source_id WHERE k.name = 'cli B'"
            )
        ).scalar_one()
    assert bound == SOURCE_B
    with engine.connect() as conn:
        audited, source_id = conn.execute(
            text(
                "SELECT (SELECT filters FROM audit_log WHERE action = 'key_created' "
                "ORDER BY id DESC LIMIT 1), (SELECT id FROM sources WHERE slug = :s)"
            ),
            {"s": SOURCE_B},
        ).one()
    assert audited["key_name"] == "cli B" and audited["key_source_id"] == source_id
    with httpx.Client(base_url=server, headers={"X-API-Key": key}) as http:
        assert http.get(f"/sources/{SOURCE_B}/batches").status_code == 200
        assert http.get(f"/sources/{SOURCE_A}/batches").status_code == 403
