"""The Métropole-scale data set end to end (issue 18): generated small, its synthetic communes
loaded as areas, every yearly file of every silo ingested exactly as the manifest says, the
logbook's addresses placed with the synthetic BAN of the whole area, and Gi* finds the hot spot
planted outside Marseille (and leaves the control area there quiet)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.runs import run_cells
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.mapping import packaged_mappings
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.addresses import load_ban
from geotranquil.services.database import upgrade_database
from geotranquil.services.demo import generated_files
from geotranquil.services.geography import build_cells, load_areas
from geotranquil.services.hotspots import HotspotParams, compute_run
from geotranquil.services.placing import place_batch
from geotranquil.synth import Manifest, generate_metropole
from geotranquil.synth.ban import BAN_FILE
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import OFFICIAL_DIR, sibling_database_url

START, END = date(2016, 1, 1), date(2018, 1, 1)


@dataclass
class Loaded:
    engine: Engine
    settings: Settings
    out: Path
    manifest: Manifest


@pytest.fixture(scope="module")
def metropole(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    out = tmp_path_factory.mktemp("metropole-e2e")
    marseille = load_geography(OFFICIAL_DIR if OFFICIAL_DIR.is_dir() else None)
    manifest = generate_metropole(marseille, out, months=24, seed=11, facteur=0.005)
    url = sibling_database_url(settings.database_url, "metropole")
    admin.drop_database(url)
    mine = Settings(
        database_url=url,
        reference_dir=out / "geographie",
        data_dir=tmp_path_factory.mktemp("metropole-data"),
        ingest_chunk_rows=5000,
    )
    upgrade_database(mine)
    engine = make_engine(mine)
    yield Loaded(engine, mine, out, manifest)
    engine.dispose()
    admin.drop_database(url)


def test_metropole_end_to_end(metropole: Loaded) -> None:
    engine, settings, out, manifest = (
        metropole.engine,
        metropole.settings,
        metropole.out,
        metropole.manifest,
    )
    # the synthetic communes as areas: the outline is the study area, each commune an area
    geography, counts = load_areas(engine, settings.reference_dir)
    assert counts.commune == 1 and counts.arrondissements == 16 + 91
    with engine.connect() as conn:
        km2 = conn.execute(
            text("SELECT area_m2 / 1e6 FROM areas WHERE kind = 'commune'")
        ).scalar_one()
        population = conn.execute(
            text("SELECT sum(population) FROM areas WHERE kind = 'arrondissement'")
        ).scalar_one()
    assert abs(km2 - 3150) < 0.05 * 3150
    assert population == 1_900_000
    cells = build_cells(engine, [9])
    assert cells[9] > 25_000

    # every yearly file of every silo, several files per silo, exactly as planted
    mappings = packaged_mappings({c.code for c in load_taxonomy()})
    dsn = psycopg_dsn(settings.database_url)
    load_ban(settings, out / BAN_FILE)
    police = []
    files = generated_files(out)
    assert len(files) == 8  # four silos, two years
    for path, slug in files:
        name, entry = path.name, manifest.files[path.name]
        assert entry.source == slug
        summary = ingest_file(dsn, path, mappings[slug], chunk_rows=5000)
        assert summary.status == "completed", name
        assert summary.rows_read == entry.rows, name
        assert summary.inserted == entry.valid, name
        assert summary.rejected == entry.rejected, name
        assert summary.unlocated == entry.unlocated, name
        if entry.source == "police_municipale":
            police.append(summary)
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert total == manifest.totals.events

    # the logbook's addresses, in Marseille and in the other communes, placed with the BAN
    for summary in police:
        placed = place_batch(engine, settings, summary, None)
        assert placed is not None
    truth = pd.concat(
        [pd.read_csv(out / name, dtype={"id": str}) for name in manifest.truth_files.values()]
    )
    with engine.connect() as conn:
        got = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT e.external_id AS id, ST_X(e.geom) AS glon, ST_Y(e.geom) AS glat, "
                    "a.code FROM events e JOIN sources s ON s.id = e.source_id "
                    "LEFT JOIN areas a ON a.kind = 'arrondissement' "
                    "AND ST_Contains(a.geom, e.geom) WHERE s.slug = 'police_municipale'"
                )
            ).all()
        )
    both = truth.merge(got, on="id", validate="one_to_one")
    assert len(both) == len(truth)
    located = both.dropna(subset=["glon"])
    assert len(located) > 0.9 * len(both)
    # each address was found in the commune (or arrondissement) where the event was
    units = geography.arrondissements[["code", "geometry"]]
    points = gpd.GeoDataFrame(
        located[["id", "code"]],
        geometry=gpd.points_from_xy(located["lon"], located["lat"]),
        crs=4326,
    )
    true_unit = gpd.sjoin(points, units, predicate="within", lsuffix="got", rsuffix="true")
    outside = true_unit[~true_unit["code_true"].str.startswith("132")]
    assert len(outside) > 1000  # addresses of the other communes
    assert (outside["code_got"] == outside["code_true"]).mean() > 0.97
    assert (true_unit["code_got"] == true_unit["code_true"]).mean() > 0.97

    # Gi* finds the hot spot planted outside Marseille; its control area there stays quiet
    hot = next(
        p for p in manifest.planted if p.kind == "persistent" and p.arrondissement >= "13301"
    )
    control = next(
        p for p in manifest.planted if p.kind == "control" and p.arrondissement >= "13301"
    )
    for item, want in ((hot, {2, 3}), (control, {0})):
        cats = tuple(item.categories) if item.kind != "control" else None
        run = compute_run(
            engine, HotspotParams("gi_star", 9, START, END, bin="month", categories=cats)
        )
        with engine.connect() as conn:
            result = run_cells(conn=conn, run_id=run.run_id)
        mine = result[result["h3"].isin(item.h3_res9)]
        assert len(mine) == len(item.h3_res9), item.name
        assert set(mine["gi_bin"]) <= want, (item.name, mine["gi_bin"].tolist())
