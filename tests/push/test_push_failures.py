"""Batches that fail: the file's own fault fails for good with a French message; anything
else (here: the study area not loaded yet) is retried with backoff, visible to admins in
``GET /admin/jobs``, and resumes once the cause is gone."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.jobs import run_worker
from tests.workers import wait_for

from .conftest import SOURCE_A, Keys


def _push(server: str, key: str, body: str, media_type: str) -> str:
    with httpx.Client(base_url=server, headers={"X-API-Key": key}, timeout=60) as http:
        r = http.post(
            f"/sources/{SOURCE_A}/batches", content=body, headers={"Content-Type": media_type}
        )
    assert r.status_code == 202, r.text
    return str(r.headers["Location"])


def _get(server: str, key: str, path: str) -> dict[str, object]:
    with httpx.Client(base_url=server, headers={"X-API-Key": key}, timeout=60) as http:
        r = http.get(path)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_an_unreadable_file_fails_for_good_with_a_french_message(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    location = _push(server, keys.partner_a, '[{"id": "T-1", "occurred_at": ', "application/json")
    run_worker(settings, wait=False)
    batch = _get(server, keys.partner_a, location)
    assert batch["state"] == "failed"
    assert "JSON invalide" in str(batch["error"])
    jobs = _get(server, keys.admin, "/admin/jobs?task=ingest_batch")["items"]
    assert [(j["state"], j["attempts"]) for j in jobs] == [("succeeded", 1)]  # type: ignore[index]


def test_a_batch_that_cannot_run_yet_is_retried_with_backoff(
    clean: Engine, server: str, keys: Keys, settings: Settings
) -> None:
    event = {"id": "R-1", "occurred_at": "2026-03-02T22:14:00+01:00", "category": "vol"}
    event |= {"lon": 5.3811, "lat": 43.2965}
    location = _push(server, keys.partner_a, json.dumps(event) + "\n", "application/x-ndjson")
    fast = settings.model_copy(update={"jobs_backoff_s": 1})
    with clean.begin() as conn:  # the study area disappears for a while
        commune = conn.execute(
            text("UPDATE areas SET kind = 'zone' WHERE kind = 'commune' RETURNING id")
        ).scalar_one()
    try:
        run_worker(fast, wait=False)
        batch = _get(server, keys.partner_a, location)
        assert batch["state"] == "failed"
        assert "zone d'étude n'est pas chargée" in str(batch["error"])
        [job] = _get(server, keys.admin, "/admin/jobs?task=ingest_batch")["items"]  # type: ignore[misc]
        assert (job["state"], job["attempts"]) == ("todo", 1)
        retry_at = datetime.fromisoformat(job["scheduled_at"])
        assert retry_at > datetime.now(UTC)
    finally:
        with clean.begin() as conn:
            conn.execute(text("UPDATE areas SET kind = 'commune' WHERE id = :i"), {"i": commune})
    wait_for(lambda: datetime.now(UTC) > retry_at, "the retry's time")
    run_worker(fast, wait=False)
    batch = _get(server, keys.partner_a, location)
    assert (batch["state"], batch["error"]) == ("done", None)
    assert batch["counts"]["inserted"] == 1  # type: ignore[index]
    [job] = _get(server, keys.admin, "/admin/jobs?task=ingest_batch")["items"]  # type: ignore[misc]
    assert (job["state"], job["attempts"]) == ("succeeded", 2)
