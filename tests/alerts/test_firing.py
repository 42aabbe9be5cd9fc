"""Rules evaluated on the planted weeks: one alert for the quartier of the cluster, none for
the other; e-mail through a real SMTP server, a signed webhook to a real receiver; once per
rule, condition and week whatever the re-runs; failed deliveries retried, then kept visible."""

from __future__ import annotations

import io
from datetime import date

import h3
import pytest
from PIL import Image
from scipy.stats import poisson
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.roles import Role
from geotranquil.services import alerts
from geotranquil.services.access import Caller
from geotranquil.services.alert_delivery import deliver_due
from geotranquil.services.hotspots import HotspotParams, compute_run
from tests.workers import wait_for

from .conftest import CLUSTER, SECRET, WEEK, Mailbox, Planted, Receiver, png_of, rule_values

ANALYST = Caller(Role.ANALYST, subject="analyste-1")


def _events(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT rule_id, condition, period, cells, figures FROM alert_events ORDER BY id")
        )
        return [dict(r._mapping) for r in rows]


def _deliveries(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT channel, state, attempts FROM alert_deliveries ORDER BY channel")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_cluster_alerts_its_quartier_once_by_mail_and_signed_webhook(
    planted: Planted,
    engine: Engine,
    settings: Settings,
    smtp: tuple[Mailbox, int],
    receiver: Receiver,
) -> None:
    box = smtp[0]
    box.messages.clear()
    a = alerts.create_rule(
        engine=engine,
        caller=ANALYST,
        values=rule_values(planted.quartier_a, webhook_url=receiver.url, webhook_secret=SECRET),
    )
    b = alerts.create_rule(engine=engine, caller=ANALYST, values=rule_values(planted.quartier_b))

    fired = alerts.fire(engine=engine, settings=settings)
    report = deliver_due(engine=engine, settings=settings)

    assert len(fired) == 1
    [event] = _events(engine)
    k, lam = CLUSTER + 2, 2.0
    figures = event["figures"]
    assert isinstance(figures, dict)
    assert (event["rule_id"], event["condition"], event["period"]) == (
        a["id"],
        "count_exceeds",
        WEEK,
    )
    assert (figures["count"], figures["expected"], figures["history"]) == (k, lam, [2] * 8)
    assert figures["p_value"] == pytest.approx(poisson.sf(k - 1, lam), rel=1e-10)
    assert figures["week_start"] == "2026-06-08"
    assert event["cells"] == [
        int(h3.cell_to_parent(format(planted.cluster_cell, "x"), 9), 16),
        planted.background_cell,
    ]
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)
    assert _deliveries(engine) == [("email", "sent", 1), ("webhook", "sent", 1)]

    [mail] = box.messages
    assert mail["To"] == f"analyste-{planted.quartier_a}@ville.test"
    assert mail["From"] == "veille@ville.test"
    assert mail["List-Unsubscribe"].startswith(
        "<https://observatoire.ville.test/alertes/desabonnement/"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Subject"] == (
        f"[Veille] Veille {planted.quartier_a} : le nombre de faits de la semaine dépasse ce "
        f"que prévoient les semaines précédentes ({WEEK})"
    )
    body = mail.get_body(("plain",))
    assert body is not None
    plain = body.get_content()
    assert f"{k} faits la semaine du 2026-06-08, pour 2.00 attendus" in plain
    assert f"p = {poisson.sf(k - 1, lam):.3g}" in plain
    assert "https://observatoire.ville.test/carte/#" in plain
    assert "https://observatoire.ville.test/alertes/desabonnement/" in plain
    html = mail.get_body(("html",))
    assert html is not None and 'src="cid:' in html.get_content()
    image = Image.open(io.BytesIO(png_of(mail)))
    assert (image.format, image.size) == ("PNG", (480, 360))

    [hook] = receiver.requests
    assert hook["valid"] and hook["status"] == 204 and hook["timestamp"]
    sent = hook["body"]
    assert (sent["condition"], sent["period"], sent["rule"]["id"]) == (
        "count_exceeds",
        WEEK,
        a["id"],
    )
    assert sent["p_value"] == pytest.approx(poisson.sf(k - 1, lam), rel=1e-10)
    assert format(planted.cluster_cell, "x") in sent["cells"]
    assert sent["map_url"].startswith("https://observatoire.ville.test/carte/#")

    # run again, as the hourly schedule and every refresh will: nothing new, nothing resent
    assert alerts.fire(engine=engine, settings=settings) == []
    again = deliver_due(engine=engine, settings=settings)
    assert (again.sent, again.retried, again.failed) == (0, 0, 0)
    assert len(_events(engine)) == 1 and len(box.messages) == 1 and len(receiver.requests) == 1
    assert b["id"] not in [e["rule_id"] for e in _events(engine)]


def test_a_delivery_that_keeps_failing_is_retried_then_stays_failed(
    planted: Planted, engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    receiver.fail_first = 100
    alerts.create_rule(
        engine=engine,
        caller=ANALYST,
        values=rule_values(
            planted.quartier_a, email=None, webhook_url=receiver.url, webhook_secret=SECRET
        ),
    )
    assert len(alerts.fire(engine=engine, settings=settings)) == 1

    def failed() -> bool:
        deliver_due(engine=engine, settings=settings)
        return _deliveries(engine)[0][1] == "failed"

    wait_for(failed, "the delivery to fail for good")
    assert _deliveries(engine) == [("webhook", "failed", settings.alerts_max_attempts)]
    assert len(receiver.requests) == settings.alerts_max_attempts
    assert all(r["valid"] for r in receiver.requests)
    [event] = alerts.list_events(engine=engine, caller=ANALYST)
    [delivery] = event["deliveries"]
    assert delivery["state"] == "failed" and "500" in delivery["last_error"]


def test_hot_spot_and_forecast_conditions_on_a_real_emerging_run(
    planted: Planted, engine: Engine, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    run = compute_run(
        engine,
        HotspotParams(
            statistic="emerging", resolution=9, start=date(2026, 4, 13), end=date(2026, 6, 15)
        ),
    )
    with engine.connect() as conn:
        patterns = dict(
            conn.execute(
                text("SELECT h3, pattern FROM hotspot_cells WHERE run_id = :r AND h3 = ANY(:c)"),
                {"r": run.run_id, "c": [planted.cluster_cell, planted.background_cell]},
            ).all()
        )
        # a forecast that ranks the cluster's cell in the city's top 1 %
        fc = conn.execute(
            text(
                "INSERT INTO forecast_runs (method, resolution, origin, period_days, horizon, "
                "code_version, n_cells) VALUES ('planted', 9, '2026-06-15', 7, 1, 'test', 2) "
                "RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO forecast_cells (run_id, h3, expected, rank, area_share, top_class) "
                "VALUES (:r, :a, 9.5, 1, 0.001, 1), (:r, :b, 0.1, 2, 0.9, NULL)"
            ),
            {"r": fc, "a": planted.cluster_cell, "b": planted.background_cell},
        )
        conn.commit()
    assert patterns[planted.cluster_cell] == "new_hot"
    assert patterns[planted.background_cell] != "new_hot"
    ids = {}
    for quartier in (planted.quartier_a, planted.quartier_b):
        for condition in ("new_hotspot", "intensifying_hotspot", "forecast_top1"):
            rule = alerts.create_rule(
                engine=engine,
                caller=ANALYST,
                values=rule_values(quartier, condition, name=f"{condition} {quartier}"),
            )
            ids[(quartier, condition)] = rule["id"]

    alerts.fire(engine=engine, settings=settings)

    fired = {(e["rule_id"], e["period"]): e["cells"] for e in _events(engine)}
    new_hot = ids[(planted.quartier_a, "new_hotspot")]
    top1 = ids[(planted.quartier_a, "forecast_top1")]
    assert set(fired) == {(new_hot, WEEK), (top1, "2026-W25")}
    assert fired[(top1, "2026-W25")] == [planted.cluster_cell]
    # the cluster's cell and the ring around it (Gi* sees a cell with its neighbours), in A
    ring = {int(c, 16) for c in h3.grid_disk(format(planted.cluster_cell, "x"), 1)}
    assert planted.cluster_cell in fired[(new_hot, WEEK)]
    assert set(fired[(new_hot, WEEK)]) <= ring
