"""The bulletin through its three surfaces: the command line, the HTTP API (roles, errors in
French, built on demand) and the job run by a real worker, e-mailed to a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.db.keys import create_key
from geotranquil.jobs import BUILD_BULLETIN, build_app, enqueue, run_worker
from geotranquil.services.jobs import recent_jobs
from tests.live_server import free_port, live_server

from .conftest import WEEK, Planted, pdf_text


def _stored(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT week, size FROM bulletins ORDER BY week")).all()
    return [(str(w), int(n)) for w, n in rows]


def _forget(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM bulletins"))


def test_the_command_writes_the_pdf_and_says_each_stage(planted: Planted, tmp_path: Path) -> None:
    _forget(planted.engine)
    out = tmp_path / "sortie" / "bulletin.pdf"
    env = {"GEOTRANQUIL_DATABASE_URL": planted.settings.database_url, "COLUMNS": "200"}
    done = CliRunner().invoke(cli, ["bulletin", "--semaine", WEEK, "--sortie", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert "Bulletin de la semaine 2026-S45 (du 02/11/2026 au 08/11/2026) :" in done.output
    for stage in ("comptes par arrondissement", "cartes des points chauds", "mise en page du PDF"):
        assert f"• {stage} …" in done.output
    assert f"Bulletin 2026-S45 écrit dans {out}" in done.output
    assert out.read_bytes().startswith(b"%PDF-")
    assert "50 événements enregistrés" in " ".join(pdf_text(out).split())
    assert _stored(planted.engine) == [(WEEK, out.stat().st_size)]
    # the English option names work too; a malformed week is a French error, exit code 2
    wrong = CliRunner().invoke(cli, ["bulletin", "--week", "2026-45"], env=env)
    assert wrong.exit_code == 2
    assert "semaine « 2026-45 » invalide" in wrong.output


@pytest.fixture(scope="module")
def keys(planted: Planted) -> dict[str, str]:
    out = {}
    with planted.engine.begin() as conn:
        for role in ("admin", "analyst", "planner", "agent"):
            out[role], _ = create_key(conn=conn, name=f"bulletin {role}", role=role)
    return out


@pytest.fixture(scope="module")
def http(planted: Planted) -> Iterator[httpx.Client]:
    with live_server(planted.settings) as base, httpx.Client(base_url=base, timeout=120) as c:
        yield c


def test_analysts_get_the_pdf_built_on_demand(
    planted: Planted, http: httpx.Client, keys: dict[str, str], tmp_path: Path
) -> None:
    _forget(planted.engine)
    got = http.get(f"/bulletins/{WEEK}", headers={"X-API-Key": keys["analyst"]})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF-")
    (tmp_path / "api.pdf").write_bytes(got.content)
    assert "30 12,0 +150 % 15 +100 %" in " ".join(pdf_text(tmp_path / "api.pdf").split())
    assert _stored(planted.engine) == [(WEEK, len(got.content))]
    again = http.get(f"/bulletins/{WEEK}", headers={"X-API-Key": keys["admin"]})
    assert again.content == got.content  # served as stored, not built again
    listed = http.get("/bulletins", headers={"X-API-Key": keys["analyst"]}).json()["items"]
    assert [(i["week"], i["week_start"], i["size"]) for i in listed] == [
        (WEEK, "2026-11-02", len(got.content))
    ]
    assert listed[0]["href"].endswith(f"/bulletins/{WEEK}")


def test_other_roles_and_bad_weeks_are_refused_in_french(
    http: httpx.Client, keys: dict[str, str]
) -> None:
    for role in ("planner", "agent"):
        for path in ("/bulletins", f"/bulletins/{WEEK}"):
            assert http.get(path, headers={"X-API-Key": keys[role]}).status_code == 403
    assert http.get(f"/bulletins/{WEEK}").status_code == 401  # the public: no key at all
    analyst = {"X-API-Key": keys["analyst"]}
    bad = http.get("/bulletins/2026-S60", headers=analyst)
    assert bad.status_code == 400
    assert "l'année 2026 a 53 semaines" in bad.text
    future = http.get("/bulletins/2099-S01", headers=analyst)
    assert future.status_code == 404
    assert "pas de bulletin pour la semaine 2099-S01 : elle n'est pas terminée" in future.text


class Inbox:
    """What a real SMTP server (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_the_job_builds_stores_and_mails_it_with_a_real_worker(
    planted: Planted, smtp: tuple[int, Inbox]
) -> None:
    _forget(planted.engine)
    with planted.engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )
    port, inbox = smtp
    settings: Settings = planted.settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "bulletin_recipients": "prefet@example.org, maire@example.org",
        }
    )
    # as the periodic run of Monday 9 November 2026, 06:00 in Paris queues it: the week before
    monday = int(datetime(2026, 11, 9, 6, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp())
    job = enqueue(settings, BUILD_BULLETIN, timestamp=monday)
    run_worker(settings, wait=False)
    [done] = [j for j in recent_jobs(planted.engine, task=BUILD_BULLETIN) if j.id == job]
    assert (done.state, done.attempts_made) == ("succeeded", 1)
    [(week, size)] = _stored(planted.engine)
    assert week == WEEK
    [mail] = inbox.messages
    assert mail["To"] == "prefet@example.org, maire@example.org"
    assert mail["Subject"] == f"Bulletin hebdomadaire de la tranquillité publique — {WEEK}"
    [pdf] = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"bulletin-{WEEK}.pdf"
    assert len(pdf.get_payload(decode=True)) == size  # type: ignore[arg-type]
    with planted.engine.connect() as conn:
        assert conn.execute(text("SELECT emailed_at IS NOT NULL FROM bulletins")).scalar_one()


def test_the_bulletin_is_built_every_monday_on_the_analyses_queue(planted: Planted) -> None:
    app = build_app(planted.settings.model_copy(update={"bulletin_cron": "30 7 * * 1"}))
    [periodic] = [
        p for p in app.periodic_registry.periodic_tasks.values() if p.periodic_id == BUILD_BULLETIN
    ]
    assert (periodic.cron, periodic.task.queue) == ("30 7 * * 1", "analyses")
    assert Settings.model_fields["bulletin_cron"].default == "0 6 * * 1"
