# %% [markdown]
# # Points chauds et tendances
#
# Calcule (ou relit) une analyse Gi* et une analyse de tendances (emerging hot spots) avec
# l'API Python, puis dessine les deux cartes de Marseille et la série d'une cellule.
# Base : `GEOTRANQUIL_DATABASE_URL` (par défaut, celle de la démonstration).

# %%
from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
from sqlalchemy import text

from geotranquil.charts.hotspots import cell_series, gi_bin_map, pattern_map
from geotranquil.config import Settings
from geotranquil.db.counts import CountQuery, count_cube
from geotranquil.db.engine import make_engine
from geotranquil.db.runs import run_cells
from geotranquil.grid.h3ids import cell_polygons
from geotranquil.services.hotspots import HotspotParams, compute_run, default_period
from geotranquil.stats.emerging import PATTERN_LABELS_FR

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("var/notebooks"))
parser.add_argument("--resolution", type=int, default=9)
args, _ = parser.parse_known_args()
args.out.mkdir(parents=True, exist_ok=True)
engine = make_engine(Settings())

# %% Les deux analyses sur les 52 dernières semaines de données
start, end = default_period(engine)
gi = compute_run(engine, HotspotParams("gi_star", args.resolution, start, end))
ehsa = compute_run(engine, HotspotParams("emerging", args.resolution, start, end, bin="week"))
print(gi.classes)
print(ehsa.classes)


# %% Résultats par cellule, avec leurs hexagones
def cells_of(run_id: int) -> gpd.GeoDataFrame:
    with engine.connect() as conn:
        frame = run_cells(conn=conn, run_id=run_id)
    return gpd.GeoDataFrame(frame, geometry=cell_polygons(frame["h3"].tolist()), crs=4326)


gi_cells = cells_of(gi.run_id)
ehsa_cells = cells_of(ehsa.run_id)
outlines = gpd.read_postgis(
    text("SELECT geom FROM areas WHERE kind = 'arrondissement'"), engine, geom_col="geom"
)

# %% Cartes
period = f"{start} → {end}"
gi_bin_map(gi_cells, outlines, f"Points chauds Gi* — {period}").savefig(
    args.out / "carte_gi_star.png"
)
pattern_map(ehsa_cells, outlines, PATTERN_LABELS_FR, f"Tendances — {period}").savefig(
    args.out / "carte_tendances.png"
)

# %% Série hebdomadaire de la cellule la plus chaude
hottest = int(gi_cells.sort_values(["z", "value"], ascending=False)["h3"].iloc[0])
with engine.connect() as conn:
    cube = count_cube(conn=conn, query=CountQuery(args.resolution, start, end, "week"))
row = int((cube.cells == hottest).nonzero()[0][0])
cell_series(cube.bins, cube.counts[row], f"Cellule {hottest:x} — événements par semaine").savefig(
    args.out / "serie_cellule.png"
)
summary = {
    "gi_run": gi.run_id,
    "emerging_run": ehsa.run_id,
    "hottest": hottest,
    "hottest_total": int(cube.counts[row].sum()),
    "hot_cells": int((gi_cells["gi_bin"] > 0).sum()),
}
(args.out / "points_chauds.json").write_text(json.dumps(summary), "utf-8")
print(summary)
