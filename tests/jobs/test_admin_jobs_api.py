"""``GET /admin/jobs`` over HTTP: administrators only; a finished and a failed job, filtered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.jobs import RETENTION_PURGE, enqueue, run_worker
from tests.live_server import live_server

from .conftest import DAY, Planted


def test_admin_jobs_lists_states_and_attempts_to_admins_only(
    planted: Planted, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    keys = {}
    with engine.begin() as conn:
        for role in ("admin", "analyst", "partner"):
            keys[role], _ = create_key(conn=conn, name=f"jobs {role}", role=role)
    good = settings.model_copy(update={"retention_file": planted.policy})
    done = enqueue(good, RETENTION_PURGE, day=str(DAY))
    run_worker(good, wait=False)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rule]]\nsource = 1\n", "utf-8")
    bad = settings.model_copy(update={"retention_file": broken, "jobs_max_attempts": 1})
    failed = enqueue(bad, RETENTION_PURGE, day=str(DAY))
    run_worker(bad, wait=False)

    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/admin/jobs").status_code == 401
        for role in ("analyst", "partner"):
            refused = http.get("/admin/jobs", headers={"X-API-Key": keys[role]})
            assert refused.status_code == 403, role
        admin = {"X-API-Key": keys["admin"]}
        body = http.get("/admin/jobs", params={"task": RETENTION_PURGE}, headers=admin).json()
        assert body["limit"] == 50
        assert [(i["id"], i["state"], i["attempts"]) for i in body["items"]] == [
            (failed, "failed", 1),
            (done, "succeeded", 1),
        ]
        item = body["items"][1]
        assert item["task"] == RETENTION_PURGE and item["queue"] == "maintenance"
        assert item["args"] == {"day": "2026-06-15"}
        started, finished = (datetime.fromisoformat(item[k]) for k in ("started_at", "finished_at"))
        assert datetime.fromisoformat(item["queued_at"]) <= started <= finished
        only_failed = http.get("/admin/jobs", params={"state": "failed"}, headers=admin).json()
        assert [i["id"] for i in only_failed["items"]] == [failed]
        one = http.get("/admin/jobs", params={"limit": 1, "task": RETENTION_PURGE}, headers=admin)
        assert [i["id"] for i in one.json()["items"]] == [failed]
        wrong = http.get("/admin/jobs", params={"state": "perdu"}, headers=admin)
        assert wrong.status_code == 400
        assert "état « perdu » inconnu" in wrong.text
        assert http.get("/admin/jobs", params={"limit": 0}, headers=admin).status_code == 400
