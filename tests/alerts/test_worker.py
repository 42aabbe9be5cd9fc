"""The ``send_alerts`` job in a real ``geotranquil worker`` process: a webhook receiver that
fails twice gets the alert on the third attempt (the job queues itself again for each wait);
queued again, the job sends nothing twice."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app as cli
from geotranquil.config import Settings
from geotranquil.jobs import SEND_ALERTS, enqueue
from geotranquil.roles import Role
from geotranquil.services import alerts
from geotranquil.services.access import Caller
from geotranquil.services.jobs import recent_jobs
from tests.workers import wait_for, worker_env, worker_processes

from .conftest import SECRET, WEEK, Planted, Receiver, rule_values


@pytest.fixture
def start_worker(
    settings: Settings, tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start ``geotranquil worker --queue analyses`` processes on the test database (stopped at
    the end); dead workers are noticed after 2 s."""
    env = worker_env(
        settings,
        GEOTRANQUIL_ALERTS_BACKOFF_S=str(settings.alerts_backoff_s),
        GEOTRANQUIL_ALERTS_MAX_ATTEMPTS=str(settings.alerts_max_attempts),
        GEOTRANQUIL_SMTP_HOST=str(settings.smtp_host),
        GEOTRANQUIL_SMTP_PORT=str(settings.smtp_port),
        GEOTRANQUIL_JOBS_HEARTBEAT_S="0.5",
        GEOTRANQUIL_JOBS_STALLED_AFTER_S="2",
    )
    with worker_processes(tmp_path) as start:
        yield lambda: start(env, "--queue", "analyses")


def _delivery(engine: Engine) -> tuple[str, int] | None:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT state, attempts FROM alert_deliveries")).first()
    return (row[0], row[1]) if row else None


def test_a_worker_delivers_on_the_third_attempt_and_never_twice(
    planted: Planted,
    engine: Engine,
    settings: Settings,
    receiver: Receiver,
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    receiver.fail_first = 2
    start_worker()
    alerts.create_rule(
        engine=engine,
        caller=Caller(Role.ANALYST, key_id=1),
        values=rule_values(
            planted.quartier_a, email=None, webhook_url=receiver.url, webhook_secret=SECRET
        ),
    )
    enqueue(settings, SEND_ALERTS)

    wait_for(lambda: _delivery(engine) == ("sent", 3), "the third attempt to succeed")
    assert [r["status"] for r in receiver.requests] == [500, 500, 204]
    assert all(r["valid"] for r in receiver.requests)
    assert len({r["body"]["alert_id"] for r in receiver.requests}) == 1
    assert receiver.requests[-1]["body"]["period"] == WEEK

    # queued again by hand (as a refresh or the hourly schedule would): nothing more is sent
    queued = CliRunner().invoke(
        cli, ["jobs", "run", "send-alerts"], env={"GEOTRANQUIL_DATABASE_URL": settings.database_url}
    )
    assert queued.exit_code == 0, queued.output
    assert "Évaluation des règles de veille mise en file : tâche n°" in queued.output
    wait_for(
        lambda: (
            all(j.state == "succeeded" for j in recent_jobs(engine, task=SEND_ALERTS))
            and len(recent_jobs(engine, task=SEND_ALERTS)) >= 4
        ),
        "every send_alerts job to succeed",
    )
    assert len(receiver.requests) == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_events")).scalar_one() == 1


def test_a_worker_killed_while_sending_loses_nothing(
    planted: Planted,
    engine: Engine,
    settings: Settings,
    receiver: Receiver,
    start_worker: Callable[[], subprocess.Popen[bytes]],
) -> None:
    """SIGKILL while the webhook receiver holds the request: the alert was recorded (its own
    transaction), the delivery's was not; a new worker sends it again, once."""
    receiver.hold_first = threading.Event()
    alerts.create_rule(
        engine=engine,
        caller=Caller(Role.ANALYST, key_id=1),
        values=rule_values(
            planted.quartier_a, email=None, webhook_url=receiver.url, webhook_secret=SECRET
        ),
    )
    first = start_worker()
    enqueue(settings, SEND_ALERTS)
    wait_for(lambda: receiver.requests, "the first request to reach the receiver")
    assert _delivery(engine) == ("pending", 0)  # the attempt is not committed yet

    first.send_signal(signal.SIGKILL)
    first.wait()
    receiver.hold_first.set()
    start_worker()

    wait_for(lambda: _delivery(engine) == ("sent", 1), "the new worker to deliver")
    assert [r["status"] for r in receiver.requests] == [None, 204]
    assert receiver.requests[1]["valid"]
    assert len({r["delivery"] for r in receiver.requests}) == 1  # a repeat, recognisable
    assert len({r["body"]["alert_id"] for r in receiver.requests}) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert_events")).scalar_one() == 1
