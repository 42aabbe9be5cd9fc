"""The alerts' tests: a database of their own, a real SMTP server (aiosmtpd) in this process, a
real HTTP receiver that checks the webhook's signature, and a planted week.

Planted truth (local time, Europe/Paris): in each of two quartiers, A and B, two ``vol`` a week
at one point for the 8 weeks from Monday 2026-04-13; then, in the week of Monday 2026-06-08
(ISO week 2026-W24), A gets a cluster of ``CLUSTER`` events at another point, far from the
first, and B its usual two. So for ``count_exceeds`` (N = 8): A has k = ``CLUSTER + 2``
against lambda = 2, B has k = 2 against lambda = 2.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import h3
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.event_keys import add_missing_keys
from geotranquil.db.partitions import ensure_event_partitions
from geotranquil.services.geography import build_cells, load_areas
from tests.conftest import (
    IN_CI,
    TEST_DATABASE_URL,
    fresh_engine,
    make_test_settings,
    official_dir_or_skip,
    sibling_database_url,
)
from tests.live_server import free_port

ALERTS_DATABASE_URL = sibling_database_url(TEST_DATABASE_URL, "alerts")
PARIS = ZoneInfo("Europe/Paris")
FIRST_MONDAY = datetime(2026, 4, 13, tzinfo=PARIS)
WEEKS = 8
CLUSTER = 12
WEEK = "2026-W24"
SECRET = "un-secret-de-webhook-assez-long"


class Mailbox:
    """What the SMTP server received: parsed messages, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Mailbox, int]) -> Settings:
    base = make_test_settings(ALERTS_DATABASE_URL, tmp_path_factory.mktemp("data-alerts"))
    return base.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_from": "veille@ville.test",
            "public_base_url": "https://observatoire.ville.test",
            "alerts_backoff_s": 0.3,
            "alerts_max_attempts": 4,
            "jobs_max_attempts": 1,
        }
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = fresh_engine(settings)
    load_areas(eng, official_dir_or_skip() if IN_CI else settings.reference_dir)
    build_cells(eng, [9])
    yield eng
    eng.dispose()


@dataclass
class Receiver:
    """A webhook receiver: answers 500 to its first ``fail_first`` requests, then 204; keeps
    every request with whether its signature was right."""

    url: str
    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold_first: threading.Event | None = None  # the first request waits for it, unanswered

    def delivered(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 204]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if rec.hold_first is not None and not rec.requests:
                rec.requests.append(
                    {
                        "status": None,
                        "body": json.loads(body),
                        "valid": None,
                        "delivery": self.headers.get("X-Geotranquil-Delivery"),
                    }
                )
                rec.hold_first.wait(timeout=120)
                return  # never answered: the sender was killed meanwhile
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-Geotranquil-Signature", ""))
            status = 500 if len(rec.requests) < rec.fail_first else (204 if valid else 401)
            rec.requests.append(
                {
                    "status": status,
                    "valid": valid,
                    "body": json.loads(body),
                    "timestamp": self.headers.get("X-Geotranquil-Timestamp"),
                    "delivery": self.headers.get("X-Geotranquil-Delivery"),
                }
            )
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    if rec.hold_first is not None:
        rec.hold_first.set()
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Planted:
    quartier_a: str
    quartier_b: str
    cluster_cell: int  # the resolution-9 cell of A's cluster
    background_cell: int  # A's usual cell


def _cells(engine: Engine, quartier: str) -> list[int]:
    with engine.connect() as conn:
        return [
            int(r[0])
            for r in conn.execute(
                text(
                    "SELECT h3 FROM grid_cells WHERE resolution = 9 AND quartier_code = :q "
                    "AND land_share > 0.9 ORDER BY h3"
                ),
                {"q": quartier},
            )
        ]


def _event_row(source: int, ext: str, at: datetime, cell: int) -> dict[str, Any]:
    lat, lon = h3.cell_to_latlng(format(cell, "x"))
    fine = h3.latlng_to_cell(lat, lon, 12)
    ids = {f"r{r}": int(h3.cell_to_parent(fine, r), 16) for r in (7, 8, 9, 10)}
    return {"s": source, "x": ext, "at": at, "lon": lon, "lat": lat, "f": int(fine, 16)} | ids


@pytest.fixture
def planted(engine: Engine) -> Planted:
    """The planted weeks, with no rule, alert or job left by an earlier test."""
    with engine.connect() as conn:
        quartiers = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT quartier_code FROM grid_cells WHERE resolution = 9 "
                    "AND quartier_code IS NOT NULL AND land_share > 0.9 "
                    "GROUP BY 1 HAVING count(*) >= 30 ORDER BY 1 LIMIT 2"
                )
            )
        ]
    a, b = quartiers
    cells_a, cells_b = _cells(engine, a), _cells(engine, b)
    background = cells_a[0]
    cluster = next(
        c for c in cells_a if h3.grid_distance(format(c, "x"), format(background, "x")) >= 4
    )
    rows = []
    for w in range(WEEKS):
        for i in range(2):
            at = FIRST_MONDAY + timedelta(weeks=w, days=2, hours=10 + i)
            rows.append(_event_row(0, f"a-{w}-{i}", at, background))
            rows.append(_event_row(0, f"b-{w}-{i}", at, cells_b[0]))
    last = FIRST_MONDAY + timedelta(weeks=WEEKS)
    for i in range(2):
        rows.append(
            _event_row(0, f"a-last-{i}", last + timedelta(days=1, hours=10 + i), background)
        )
        rows.append(
            _event_row(0, f"b-last-{i}", last + timedelta(days=1, hours=10 + i), cells_b[0])
        )
    for i in range(CLUSTER):
        rows.append(_event_row(0, f"cluster-{i}", last + timedelta(days=3, hours=8 + i), cluster))
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE events, event_geocoding, service_requests, "
                "ingest_rejections, ingest_batches, sources, alert_rules, "
                "hotspot_runs, forecast_runs, procrastinate_events, procrastinate_periodic_defers, "
                "procrastinate_jobs, procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )
        source = conn.execute(
            text("INSERT INTO sources (slug, name, kind) VALUES ('pm', 'PM', 'file') RETURNING id")
        ).scalar_one()
        instants = [r["at"] for r in rows]
        ensure_event_partitions(conn=conn, first=min(instants), last=max(instants))
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision) VALUES (:s, :x, "
                "'vol', :at, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :f, :r7, :r8, :r9, "
                ":r10, 'exact')"
            ),
            [r | {"s": source} for r in rows],
        )
        add_missing_keys(conn=conn)
        conn.execute(text("ANALYZE events"))
    return Planted(a, b, cluster, background)


def rule_values(quartier: str, condition: str = "count_exceeds", **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Veille {quartier}",
        "zone_kind": "quartier",
        "zone_code": quartier,
        "categories": [],
        "condition": condition,
        "email": f"analyste-{quartier}@ville.test",
    } | extra


def png_of(msg: EmailMessage) -> bytes:
    for part in msg.walk():
        if part.get_content_type() == "image/png":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("no PNG in the e-mail")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
