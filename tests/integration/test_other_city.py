"""Nothing assumes Marseille: real New York data go through the whole chain.

Study area, grid, ingestion with a new mapping file, counts, Gi* and emerging hot spots,
on a throw-away database, with the real 2014-2015 vehicle thefts of the Crime Open Database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.areas import replace_reference_areas
from geotranquil.db.engine import make_engine, psycopg_dsn
from geotranquil.db.runs import run_cells
from geotranquil.geography.reference import Geography, as_multipolygon
from geotranquil.ingest.mapping import load_mapping
from geotranquil.ingest.pipeline import ingest_file
from geotranquil.services.database import upgrade_database
from geotranquil.services.geography import build_cells
from geotranquil.services.hotspots import HotspotParams, compute_run
from tests.conftest import IN_CI, SHARED_DATA

NYC = SHARED_DATA / "incidents" / "nyc_vehicle_thefts_2014_2015.csv"

MAPPING = """
slug = "nypd_vehicle_thefts"
name = "NYC motor vehicle thefts (Crime Open Database)"
[format]
type = "csv"
delimiter = ","
[id]
field = "uid"
[time]
field = "date_single"
format = "%Y-%m-%d %H:%M"
timezone = "America/New_York"
[category]
field = "location_category"
[category.values]
street = "vol"
residence = "vol"
"open space" = "vol"
commercial = "vol"
other = "vol"
retail = "vol"
transportation = "vol"
government = "vol"
leisure = "vol"
hotel = "vol"
vehicle = "vol"
healthcare = "vol"
education = "vol"
[location]
x = "longitude"
y = "latitude"
crs = "EPSG:4326"
"""


@pytest.fixture(scope="module")
def nyc(settings: Settings) -> Iterator[tuple[Engine, str]]:
    if not NYC.is_file():
        if IN_CI:
            pytest.fail(f"reference incident data missing in CI: {NYC}")
        pytest.skip(f"{NYC} not found")
    url = settings.database_url + "_nyc"
    admin.drop_database(url)
    other = Settings(database_url=url)
    upgrade_database(other)
    engine = make_engine(other)
    yield engine, url
    engine.dispose()
    admin.drop_database(url)


def test_new_york_end_to_end(nyc: tuple[Engine, str], tmp_path: Path) -> None:
    engine, url = nyc
    points = pd.read_csv(NYC)
    # study area: the hull of the incidents, 500 m wider (no boundary file is needed)
    hull = gpd.GeoSeries(
        [shapely.MultiPoint(points[["longitude", "latitude"]].to_numpy()).convex_hull], crs=4326
    )
    area = as_multipolygon(hull.to_crs(32618).buffer(500).to_crs(4326).iloc[0])
    empty = gpd.GeoDataFrame(
        {"code": [], "name": [], "population": [], "arrondissement_code": []},
        geometry=[],
        crs=4326,
    )
    geography = Geography("NYC", "New York", area, empty, empty, "builtin")
    with engine.begin() as conn:
        replace_reference_areas(conn=conn, geography=geography)
    cells = build_cells(engine, [8])
    assert cells[8] > 500

    mapping_file = tmp_path / "nypd.toml"
    mapping_file.write_text(MAPPING, "utf-8")
    with engine.connect() as conn:
        known = set(conn.execute(text("SELECT code FROM categories")).scalars())
    summary = ingest_file(psycopg_dsn(url), NYC, load_mapping(mapping_file, known))
    # real data: every row accounted for, accepted or rejected with a reason
    assert summary.rows_read == len(points) == 19_047
    assert summary.inserted + summary.rejected == len(points)
    # the 4 thefts without a location category are rejected for it, nothing else
    assert summary.rejections_by_reason.get("missing_category") == 4
    assert summary.inserted > 0.99 * len(points)

    start, end = date(2014, 1, 1), date(2016, 1, 1)
    gi = compute_run(
        engine,
        HotspotParams("gi_star", 8, start, end, bin="month", timezone="America/New_York"),
    )
    ehsa = compute_run(
        engine,
        HotspotParams("emerging", 8, start, end, bin="month", timezone="America/New_York"),
    )
    with engine.connect() as conn:
        gi_cells = run_cells(conn=conn, run_id=gi.run_id)
        ehsa_cells = run_cells(conn=conn, run_id=ehsa.run_id)
        in_cube = conn.execute(
            text(
                "SELECT count(*) FROM events WHERE occurred_at >= '2014-01-01 00:00-05' "
                "AND occurred_at < '2016-01-01 00:00-05' AND h3_r8 IS NOT NULL"
            )
        ).scalar_one()
    assert gi_cells["value"].sum() == in_cube  # every located theft of the period counted
    assert (gi_cells["gi_bin"] == 3).sum() > 10  # real thefts cluster
    assert set(ehsa_cells["pattern"]) - {"no_pattern"}  # some trends are found
