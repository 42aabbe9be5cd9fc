"""The demo's residents' reports: filed through the real service, some moved on by the demo
agent, and never filed twice when the demo runs again."""

from __future__ import annotations

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.services.demo_reports import seed_reports
from tests.api.conftest import served, served_session  # noqa: F401
from tests.api.served import Served


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.state, count(*) AS n, count(e.id) AS events FROM service_requests r "
                "LEFT JOIN events e ON e.id = r.event_id "
                "WHERE r.idempotency_key LIKE 'demo-7-%' GROUP BY r.state"
            )
        ).all()
    out = {r.state: int(r.n) for r in rows}
    out["events"] = sum(int(r.events) for r in rows)
    return out


def test_the_demo_files_reports_once_and_moves_some_on(
    served: Served,  # noqa: F811
    loaded_engine: Engine,
    o311_settings: Settings,
) -> None:
    first = seed_reports(loaded_engine, o311_settings, seed=7, n=12)
    assert first.filed == 12 and first.already == 0
    counts = _counts(loaded_engine)
    assert counts.get("in_progress", 0) == first.in_progress
    assert counts.get("resolved", 0) == first.resolved
    assert sum(v for k, v in counts.items() if k != "events") == 12 == counts["events"]
    assert first.in_progress + first.resolved > 0
    again = seed_reports(loaded_engine, o311_settings, seed=7, n=12)
    assert (again.filed, again.already) == (0, 12)
    assert _counts(loaded_engine) == counts
    with loaded_engine.connect() as conn:
        notes = conn.execute(
            text(
                "SELECT count(*) FROM service_requests WHERE idempotency_key LIKE 'demo-7-%' "
                "AND state IN ('in_progress', 'resolved') AND status_notes IS NOT NULL"
            )
        ).scalar_one()
    assert notes == first.in_progress + first.resolved
