"""The demo's residents' reports: a few weeks of Open311 reports, some handled by an agent.

They are filed through the same service as real reports (so each is an event on the grid, with
duplicates linked), at places where residents reported in the synthetic data, over its last
three weeks; an "agent démo" moves some through the workflow with notes. Each carries an
idempotency key derived from the seed, so running the demo again files nothing twice.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db.maintenance import analyze_tables
from geotranquil.services import open311 as svc
from geotranquil.taxonomy import ServiceDef

DESCRIPTIONS = {
    "depot_sauvage": (
        "Encombrants déposés sur le trottoir depuis plusieurs jours.",
        "Sacs d'ordures et gravats au pied du conteneur.",
    ),
    "tag_graffiti": (
        "Nouveaux tags sur la façade de l'école.",
        "Graffitis sur l'abribus, côté arrêt de bus.",
    ),
    "nuisance_sonore": (
        "Musique très forte tous les soirs après minuit.",
        "Rassemblement bruyant sur la place la nuit.",
    ),
    "eclairage_defaillant": (
        "Le lampadaire devant le numéro 12 ne s'allume plus.",
        "Plusieurs lampadaires clignotent dans la rue.",
    ),
    "voirie_degradee": (
        "Nid-de-poule profond au milieu de la chaussée.",
        "Plaque d'égout descellée sur le passage piéton.",
    ),
    "degradation_bien_public": (
        "Banc cassé dans le square.",
        "Barrière arrachée le long du trottoir.",
    ),
}
NOTES = {
    "in_progress": "Demande transmise à l'équipe de quartier : intervention prévue cette semaine.",
    "resolved": "Intervention réalisée. Merci pour votre signalement.",
}
FIRST_NAMES = ("Camille", "Karim", "Léa", "Nadia", "Paul", "Inès")


@dataclass(frozen=True)
class SeededReports:
    filed: int
    already: int
    in_progress: int
    resolved: int


def _data_end(engine: Engine) -> datetime | None:
    """The last instant of the ingested data (Open311 reports left out)."""
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT max(occurred_at) FROM events WHERE external_id NOT LIKE 'open311:%'")
        ).scalar()
    return found if isinstance(found, datetime) else None


def _places(engine: Engine, n: int, seed: int) -> list[tuple[str, float, float]]:
    """``n`` (service, lon, lat) of reportable events in the last 60 days of the ingested data
    (residents' reports filed through Open311 are left out, so re-runs pick the same places)."""
    codes = list(svc.services())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "WITH data AS (SELECT * FROM events WHERE external_id NOT LIKE 'open311:%'), "
                "recent AS (SELECT max(occurred_at) AS t FROM data) "
                "SELECT e.category, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat FROM data e, recent "
                "WHERE e.category = ANY(:codes) AND e.geom IS NOT NULL "
                "AND e.occurred_at > recent.t - interval '60 days' "
                "ORDER BY md5(e.id::text || :seed) LIMIT :n"
            ),
            {"codes": codes, "seed": str(seed), "n": n},
        ).all()
    return [(r.category, float(r.lon), float(r.lat)) for r in rows]


def _photo(rng: random.Random) -> bytes:
    """A small plausible picture (a street-coloured gradient with a block), JPEG."""
    image = Image.new("RGB", (640, 480), (120, 120, 120))
    base = rng.randint(60, 160)
    for y in range(480):
        image.paste((base + y // 8, base + y // 10, base), (0, y, 640, y + 1))
    x = rng.randint(100, 400)
    image.paste((rng.randint(0, 255), 90, 40), (x, 260, x + 160, 420))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _fields(service: ServiceDef, rng: random.Random) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for attribute in service.attributes:
        if attribute.values and (attribute.required or rng.random() < 0.5):
            out[f"attribute[{attribute.code}]"] = [rng.choice(attribute.values)[0]]
    return out


def seed_reports(
    engine: Engine, settings: Settings, *, seed: int, n: int = 36, now: datetime | None = None
) -> SeededReports:
    """File ``n`` demo reports over three weeks and move some through the workflow.

    The three weeks end with the ingested data (``now`` by default is its last instant), so the
    reports fall inside the period the analyses and forecasts read and do not open a nearly
    empty week after it.
    """
    rng = random.Random(seed)
    now = now or _data_end(engine) or datetime.now(UTC)
    filed = already = in_progress = resolved = 0
    for i, (code, lon, lat) in enumerate(_places(engine, n, seed)):
        service = svc.service(code)
        form: dict[str, list[str]] = {
            "service_code": [code],
            "lat": [f"{lat:.6f}"],
            "long": [f"{lon:.6f}"],
            "description": [rng.choice(DESCRIPTIONS.get(code, ("Problème constaté.",)))],
            **_fields(service, rng),
        }
        if i % 3 == 0:
            form["first_name"] = [rng.choice(FIRST_NAMES)]
            form["email"] = [f"habitant{i}@exemple.fr"]
        submission = svc.parse_submission(
            form, _photo(rng) if i % 4 == 0 else None, idempotency_key=f"demo-{seed}-{i:03d}"
        )
        at = now - timedelta(hours=rng.uniform(2, 21 * 24))
        done = svc.file_request(engine, settings, submission, key_id=None, now=at)
        if done.replayed:
            already += 1
            continue
        filed += 1
        if done.duplicate_of is not None:
            continue
        fate = rng.random()
        if fate < 0.35:
            state = "in_progress"
            in_progress += 1
        elif fate < 0.6:
            state = "resolved"
            resolved += 1
        else:
            continue
        svc.change_state(
            engine,
            settings,
            done.service_request_id,
            state=state,
            notes=NOTES[state],
            expected_datetime=None,
            who="agent démo",
            key_id=None,
            now=at + timedelta(hours=rng.uniform(3, 96)),
        )
    if filed:  # a bulk of reports at once: statistics for the staff's lists and the counts
        with engine.begin() as conn:
            analyze_tables(
                conn=conn,
                tables=(
                    "events",
                    "service_requests",
                    "service_request_contacts",
                    "service_request_media",
                    "service_request_history",
                ),
            )
    return SeededReports(filed, already, in_progress, resolved)
