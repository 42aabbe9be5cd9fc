# %% [markdown]
# # Aperçu des événements
#
# Les événements localisés de la base, dans un GeoDataFrame ; les comptages par hexagone H3
# calculés avec les fonctions pures de `geotranquil.grid` (parents par opérations sur les bits) ;
# une carte. Base : `GEOTRANQUIL_DATABASE_URL` (par défaut, celle de la démonstration).

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import text

from geotranquil.charts import hexagon_map
from geotranquil.config import Settings
from geotranquil.db.engine import make_engine
from geotranquil.grid.h3ids import cell_polygons, parent_ids

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("var/notebooks"))
parser.add_argument("--resolution", type=int, default=9)
args, _ = parser.parse_known_args()
engine = make_engine(Settings())

# %% Les événements localisés
events = gpd.read_postgis(
    text(
        "SELECT e.id, e.category, e.occurred_at, e.h3_fine, s.slug AS source, e.geom "
        "FROM events e JOIN sources s ON s.id = e.source_id WHERE e.geom IS NOT NULL"
    ),
    engine,
    geom_col="geom",
)
print(f"{len(events)} événements localisés")
print(events.groupby(["source", "category"]).size().rename("n").to_string())

# %% Comptages par hexagone, par la hiérarchie H3
events["cell"] = parent_ids(events["h3_fine"].to_numpy(dtype="int64"), args.resolution)
counts = events.groupby("cell").size().rename("events").reset_index()
cells = gpd.GeoDataFrame(counts, geometry=cell_polygons(counts["cell"].tolist()), crs=4326)
print(cells.sort_values("events", ascending=False).head(10)[["cell", "events"]].to_string())

# %% Carte
outlines = gpd.read_postgis(
    text("SELECT geom FROM areas WHERE kind = 'arrondissement'"), engine, geom_col="geom"
)
fig = hexagon_map(cells, outlines, f"Événements par hexagone (résolution {args.resolution})")
args.out.mkdir(parents=True, exist_ok=True)
fig.savefig(args.out / "apercu_evenements.png")
pd.Series({"events": len(events), "cells": len(cells)}).to_json(args.out / "apercu.json")
