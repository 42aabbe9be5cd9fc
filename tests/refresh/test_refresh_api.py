"""``POST /admin/refresh`` (administrators; 202 with the job, 409 while one waits) and
``GET /freshness`` (everyone)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.jobs import REFRESH_ANALYSES, run_worker
from geotranquil.services.jobs import recent_jobs
from tests.live_server import live_server

from .conftest import plant_background, refreshes


def test_admin_refresh_roles_conflict_and_freshness(empty: Engine, settings: Settings) -> None:
    plant_background(empty)
    keys = {}
    with empty.begin() as conn:
        for role in ("admin", "analyst", "partner", "planner"):
            keys[role], _ = create_key(conn=conn, name=f"refresh {role}", role=role)
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("/admin/refresh").status_code == 401
        for role in ("analyst", "partner", "planner"):
            refused = http.post("/admin/refresh", headers={"X-API-Key": keys[role]})
            assert refused.status_code == 403, role
        admin = {"X-API-Key": keys["admin"]}
        queued = http.post("/admin/refresh", headers=admin)
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["job_id"]
        assert [j.id for j in recent_jobs(empty, task=REFRESH_ANALYSES)] == [job_id]
        again = http.post("/admin/refresh", headers=admin)
        assert again.status_code == 409
        assert (
            "une actualisation des analyses attend déjà dans la file" in again.json()["description"]
        )

        before = http.get("/freshness")  # no key: everyone may read it
        assert before.status_code == 200
        assert before.json()["layers"]["hotspots"]["run"] is None
        run_worker(settings, wait=False)
        [(rid, trigger, status, forced)] = refreshes(empty)
        assert (trigger, status, forced) == ("manual", "succeeded", True)
        body = http.get("/freshness").json()
        assert body["last_refresh"]["id"] == rid
        assert body["last_refresh"]["trigger"] == "manual"
        run = body["layers"]["hotspots"]["run"]
        assert run["refresh_id"] == rid and run["up_to_date"] is True
        assert run["data_window"] == {"start": "2026-08-10", "end": "2026-11-29"}
        assert body["layers"]["counts"]["data_as_of"] == body["data_as_of"]
        # a second request is accepted again once the first has run
        assert http.post("/admin/refresh", headers=admin).status_code == 202
