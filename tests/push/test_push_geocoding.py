"""A pushed police file (addresses only) is placed by the geocoder after its ingestion, as
``geotranquil ingest`` does: the known address gets the BAN position, the unknown one stays
without position, counted and kept."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from geotranquil.cli.main import app
from geotranquil.config import Settings
from geotranquil.geocode.ban import write_ban_csv
from geotranquil.geography.reference import load_geography
from geotranquil.jobs import run_worker
from geotranquil.synth.ban import ban_frame
from geotranquil.synth.streets import street_network

from .conftest import SOURCE_A, Keys
from .test_push_api import POLICE_HEADER


def test_a_pushed_logbook_is_geocoded_after_its_ingestion(
    clean: Engine, server: str, keys: Keys, settings: Settings, tmp_path: Path
) -> None:
    full = ban_frame(street_network(load_geography(settings.reference_dir), seed=5))
    houses = full[(full["numero"] < 99999) & (full["rep"] == "")].sort_values("numero")
    known = houses.iloc[len(houses) // 2]
    write_ban_csv(full, tmp_path / "ban.csv")
    env = {"GEOTRANQUIL_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    loaded = CliRunner().invoke(app, ["addresses", "load", str(tmp_path / "ban.csv")], env=env)
    assert loaded.exit_code == 0, loaded.output
    try:
        rows = [
            f"MC-G-1;03/03/2026;10:15;Tags;{known['numero']};;{known['nom_voie']};"
            f"{known['code_postal']};Marseille;",
            "MC-G-2;03/03/2026;10:20;Tags;3;;Rue des Glycines Introuvables;13001;Marseille;",
        ]
        body = ("\r\n".join([POLICE_HEADER, *rows]) + "\r\n").encode("cp1252")
        with httpx.Client(base_url=server, headers={"X-API-Key": keys.partner_a}) as http:
            r = http.post(f"/sources/{SOURCE_A}/batches", files={"file": ("mc.csv", body)})
            assert r.status_code == 202, r.text
            run_worker(settings, wait=False)
            batch = http.get(r.headers["Location"]).json()
        assert (batch["state"], batch["counts"]["inserted"]) == ("done", 2)
        with clean.connect() as conn:
            events = {
                e.external_id: e
                for e in conn.execute(
                    text(
                        "SELECT e.external_id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, "
                        "g.status FROM events e JOIN event_geocoding g ON g.event_id = e.id"
                    )
                )
            }
        placed = events["MC-G-1"]
        assert placed.status == "placed"
        assert (placed.lon, placed.lat) == pytest.approx((known["lon"], known["lat"]), abs=1e-7)
        assert (events["MC-G-2"].status, events["MC-G-2"].lon) == ("unplaced", None)
    finally:
        with clean.begin() as conn:
            conn.execute(text("TRUNCATE ban_addresses, ban_releases RESTART IDENTITY CASCADE"))
