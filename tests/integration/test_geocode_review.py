"""Uncertain addresses stay "à géocoder" with their candidates; an analyst picks one (issue 17).

A logbook file is ingested through the CLI against a BAN holding two streets that are the same
once folded ("Rue de Tours", 1st, and "Rue des Tours", 4th: street traps of the synthetic BAN).
"5 rue tours" is a true tie: not placed, its candidates kept; ``geotranquil geocode review``
lists them, ``geotranquil geocode pick`` places the event exactly on the chosen one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.geocode.ban import write_ban_csv
from geotranquil.geography.reference import load_geography
from geotranquil.synth.ban import ban_frame
from geotranquil.synth.street_traps import trap_ban
from geotranquil.synth.streets import street_network
from tests.integration.ingest_helpers import write_police_csv


def _run(settings: Settings, *args: str, code: int = 0) -> str:
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def _row(n: int, number: str, street: str, postcode: str) -> str:
    return f"MC-R-{n:04d};03/03/2025;10:15;Tags;{number};;{street};{postcode};Marseille;Sans suite"


def test_uncertain_addresses_are_kept_for_an_analyst(
    clean_events: Engine, settings: Settings, tmp_path: Path
) -> None:
    geography = load_geography(settings.reference_dir)
    ban = pd.concat(
        [ban_frame(street_network(geography, seed=5)), trap_ban(geography, seed=5)],
        ignore_index=True,
    )
    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE ban_addresses, ban_releases RESTART IDENTITY CASCADE"))
    write_ban_csv(ban, tmp_path / "ban.csv")
    _run(settings, "addresses", "load", str(tmp_path / "ban.csv"))
    des = ban[(ban["nom_voie"] == "Rue des Tours") & (ban["numero"] == 5)].iloc[0]
    rows = [_row(1, "5", "rue tours", ""), _row(2, "5", "Rue des Tours", "13004")]
    out = _run(
        settings,
        "ingest",
        str(write_police_csv(tmp_path / "mc.csv", rows)),
        "-s",
        "police_municipale",
    )
    assert "Géocodage : 1 placé(s) sur 2" in out
    with clean_events.connect() as conn:
        tie = conn.execute(
            text(
                "SELECT e.id, g.status, g.candidates FROM events e "
                "JOIN event_geocoding g ON g.event_id = e.id WHERE e.external_id = 'MC-R-0001'"
            )
        ).one()
    assert tie.status == "unplaced"
    labels = [c["label"] for c in tie.candidates]
    assert {labels[0].split(" 13")[0], labels[1].split(" 13")[0]} == {
        "5 Rue de Tours",
        "5 Rue des Tours",
    }
    assert all(c["score"] < settings.geocode_min_score for c in tie.candidates[:2])
    listed = _run(settings, "geocode", "review")
    assert f"événement {tie.id}" in listed and "5 Rue des Tours" in listed
    assert _run(settings, "geocode", "revue") == listed  # the French alias
    assert _run(settings, "geocode", "--revue") == listed  # and as an option
    n = 1 + next(i for i, label in enumerate(labels) if label.startswith("5 Rue des Tours"))
    assert "placé" in _run(settings, "geocode", "pick", str(tie.id), str(n))
    with clean_events.connect() as conn:
        got = conn.execute(
            text(
                "SELECT ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.location_precision, "
                "g.status, g.reason FROM events e JOIN event_geocoding g ON g.event_id = e.id "
                "WHERE e.id = :id"
            ),
            {"id": tie.id},
        ).one()
    assert (got.lon, got.lat) == pytest.approx((des["lon"], des["lat"]), abs=1e-7)
    assert got.location_precision == "address" and got.status == "placed"
    assert got.reason == f"candidat {n} choisi par un analyste"
    assert "Aucun événement à géocoder" in _run(settings, "geocode", "review")
    # a second pick, or a wrong number, is refused in French (no traceback)
    again = _run(settings, "geocode", "choisir", str(tie.id), "1", code=2)
    assert "déjà placé" in again
