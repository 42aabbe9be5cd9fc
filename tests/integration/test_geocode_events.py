"""Address-only events are placed at ingestion, the others kept and reported, then retried.

A logbook file (the police mapping: addresses only) is ingested through the CLI on the test
database with a first BAN release that lacks one street; the events of known addresses get the
BAN positions exactly (a missing number between its neighbours), the others stay unplaced with
their reason. A second release adds the street, and ``geotranquil geocode --retry`` places it.
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
from geotranquil.grid.h3ids import cells_from_points, parent_ids
from geotranquil.services.geocoding import reverse
from geotranquil.synth.ban import ban_frame, missing_numbers
from geotranquil.synth.streets import street_network
from tests.integration.ingest_helpers import write_police_csv


@pytest.fixture(scope="module")
def network(settings: Settings) -> pd.DataFrame:
    return street_network(load_geography(settings.reference_dir), seed=5)


def _run(settings: Settings, *args: str) -> str:
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _row(n: int, number: str, street: str, postcode: str) -> str:
    return f"MC-T-{n:04d};03/03/2025;10:15;Tags;{number};;{street};{postcode};Marseille;Sans suite"


def test_events_are_placed_kept_and_retried(
    clean_events: Engine, settings: Settings, network: pd.DataFrame, tmp_path: Path
) -> None:
    with clean_events.begin() as conn:
        conn.execute(text("TRUNCATE ban_addresses, ban_releases RESTART IDENTITY CASCADE"))
    full = ban_frame(network)
    houses = full[(full["numero"] < 99999) & (full["rep"] == "")]
    streets = houses.groupby("street_key")
    keys = sorted(k for k, g in streets if len(g) >= 6)
    known, later = keys[0], keys[1]
    a = houses[houses["street_key"] == known].sort_values("numero").iloc[2]
    b = houses[houses["street_key"] == known].sort_values("numero").iloc[4]
    c = houses[houses["street_key"] == later].sort_values("numero").iloc[1]
    gap = missing_numbers(network).iloc[0]
    assert gap["street_key"] != later  # the interpolated number is on a street of release 1
    first_release = full[full["street_key"] != later]
    write_ban_csv(first_release, tmp_path / "ban-1.csv")
    _run(settings, "addresses", "load", str(tmp_path / "ban-1.csv"))
    rows = [
        _row(1, str(a["numero"]), a["nom_voie"], a["code_postal"]),
        _row(2, str(b["numero"]), a["nom_voie"].upper(), a["code_postal"]),
        _row(3, str(int(gap["numero"])), gap["name"], gap["code_postal"]),
        _row(4, str(c["numero"]), c["nom_voie"], c["code_postal"]),
        _row(5, "3", "Rue des Glycines Bleues Introuvables", "13001"),
    ]
    out = _run(
        settings,
        "ingest",
        str(write_police_csv(tmp_path / "mc.csv", rows)),
        "-s",
        "police_municipale",
    )
    assert "Géocodage : 3 placé(s) sur 5" in out
    with clean_events.connect() as conn:
        events = {
            r.external_id: r
            for r in conn.execute(
                text(
                    "SELECT e.external_id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.h3_fine, "
                    "e.h3_r9, e.location_precision, g.status, g.reason, g.interpolated "
                    "FROM events e JOIN event_geocoding g ON g.event_id = e.id"
                )
            )
        }
    assert len(events) == 5  # nothing dropped
    for ext, expected in (("MC-T-0001", a), ("MC-T-0002", b)):
        got = events[ext]
        assert (got.lon, got.lat) == pytest.approx((expected["lon"], expected["lat"]), abs=1e-7)
        assert got.location_precision == "address" and got.status == "placed"
        fine = cells_from_points([got.lon], [got.lat])
        assert got.h3_fine == int(fine[0]) and got.h3_r9 == int(parent_ids(fine, 9)[0])
    interpolated = events["MC-T-0003"]
    assert interpolated.status == "placed" and interpolated.interpolated
    true_gap = (float(gap["lon"]), float(gap["lat"]))
    assert abs(interpolated.lon - true_gap[0]) < 3e-4 and abs(interpolated.lat - true_gap[1]) < 3e-4
    for ext in ("MC-T-0004", "MC-T-0005"):
        assert events[ext].status == "unplaced" and events[ext].lon is None
        assert events[ext].reason
    # a better BAN arrives: the missing street is placed on retry, the unknown one stays
    write_ban_csv(full, tmp_path / "ban-2.csv")
    _run(settings, "addresses", "load", str(tmp_path / "ban-2.csv"))
    assert "aucun événement à placer" in _run(settings, "geocode")
    out = _run(settings, "geocode", "--retry")
    assert "1 placé(s) sur 2" in out
    with clean_events.connect() as conn:
        placed = conn.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM events WHERE external_id = 'MC-T-0004'")
        ).one()
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM event_geocoding GROUP BY 1")).all()
        )
    assert placed == pytest.approx((c["lon"], c["lat"]), abs=1e-7)
    assert statuses == {"placed": 4, "unplaced": 1}
    # the nearest address of a placed point is its own BAN address
    near = reverse(clean_events, float(a["lon"]), float(a["lat"]))
    assert near["address"]["id"] == a["id"] and near["address"]["distance_m"] < 0.01
    assert near["areas"]["commune"]
    single = _run(
        settings, "geocode", "address", f"{a['numero']} {a['nom_voie']} {a['code_postal']}"
    )
    assert "précision housenumber" in single
