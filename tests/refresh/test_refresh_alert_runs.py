"""A refresh also computes the runs the analysts' alert rules on some categories read (issue 16
§4): an emerging run on exactly those categories, so that such a rule can fire; rules on all
categories read the default runs, and no run is made for them."""

from __future__ import annotations

from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.roles import Role
from geotranquil.services import alerts
from geotranquil.services.access import Caller
from geotranquil.services.refresh import refresh_analyses

from .conftest import land_cells, plant_background, plant_cluster


def _rule(condition: str, categories: list[str]) -> dict[str, object]:
    return {
        "name": f"Veille {condition} {categories}",
        "zone_kind": "commune",
        "zone_code": "13055",
        "categories": categories,
        "condition": condition,
        "email": "analyste@ville.test",
    }


def test_a_rule_on_some_categories_gets_its_run_and_fires(
    empty: Engine, settings: Settings
) -> None:
    plant_background(empty)  # 'vol' events
    target = land_cells(empty)[len(land_cells(empty)) // 3]
    plant_cluster(empty, target)
    caller = Caller(Role.ANALYST, key_id=1)
    with empty.begin() as conn:
        commune = conn.execute(text("SELECT code FROM areas WHERE kind = 'commune'")).scalar_one()
    rules = {
        c: alerts.create_rule(
            engine=empty, caller=caller, values=_rule(c, ["vol"]) | {"zone_code": commune}
        )["id"]
        for c in ("new_hotspot", "consecutive_hotspot", "intensifying_hotspot")
    }
    alerts.create_rule(  # all categories: the default run serves it
        engine=empty, caller=caller, values=_rule("new_hotspot", []) | {"zone_code": commune}
    )
    report = refresh_analyses(empty, settings, trigger="manual", force=True)
    assert report.status == "succeeded"
    assert set(report.runs) == {"gi_star", "emerging", "local_moran", "forecast", "emerging:vol"}
    with empty.connect() as conn:
        cats = conn.execute(
            text("SELECT categories FROM hotspot_runs WHERE id = :r"),
            {"r": report.runs["emerging:vol"]},
        ).scalar_one()
    assert cats == ["vol"]
    fired = alerts.fire(engine=empty, settings=settings)
    with empty.connect() as conn:
        by_rule = conn.execute(
            text("SELECT rule_id, cells FROM alert_events WHERE id = ANY(:ids)"),
            {"ids": fired},
        ).all()
    # a cluster over the last four weeks in a quiet cell: a consecutive hot spot (hot in the
    # last weeks running, not before), neither new (one week) nor intensifying (hot all along)
    assert [(r, target[0] in cells) for r, cells in by_rule] == [
        (rules["consecutive_hotspot"], True)
    ]
