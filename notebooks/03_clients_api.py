# %% [markdown]
# # Lire la plateforme comme un client SIG
#
# Tout passe par l'API HTTP, comme depuis QGIS ou un carnet d'analyste : les comptages par
# hexagone en GeoJSON (OGC API Features), les points chauds en GeoParquet (export), et le
# rapport d'un quartier (`POST /reports`), avec une carte et un graphique.
# Serveur : `--url` (par défaut http://127.0.0.1:8000) ; clé : `--key` ou `GEOTRANQUIL_API_KEY`
# (rôle planner ou analyst, affichée par la démonstration).

# %%
from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import geopandas as gpd
import httpx

from geotranquil.charts.hotspots import gi_bin_map
from geotranquil.charts.overview import hexagon_map
from geotranquil.charts.reports import report_figure

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("var/notebooks"))
parser.add_argument("--url", default="http://127.0.0.1:8000")
parser.add_argument("--key", default=os.environ.get("GEOTRANQUIL_API_KEY", ""))
args, _ = parser.parse_known_args()
args.out.mkdir(parents=True, exist_ok=True)
client = httpx.Client(base_url=args.url, headers={"X-API-Key": args.key}, timeout=120)

# %% Comptages par hexagone (résolution 9) en GeoJSON, lus par geopandas
response = client.get("/collections/counts-r9/items", params={"limit": 10_000})
response.raise_for_status()
counts = gpd.read_file(io.BytesIO(response.content))
outlines = gpd.read_file(io.BytesIO(client.get("/collections/arrondissements/items").content))
hexagon_map(counts, outlines, "Événements par hexagone (API)", value="count").savefig(
    args.out / "api_comptages.png"
)

# %% Points chauds du dernier calcul, exportés en GeoParquet
parquet = args.out / "points_chauds.parquet"
export = client.get("/collections/hotspots/export", params={"f": "parquet"})
export.raise_for_status()
parquet.write_bytes(export.content)
hot = gpd.read_parquet(parquet)
gi_bin_map(hot, outlines, "Points chauds Gi* (export GeoParquet)").savefig(
    args.out / "api_points_chauds.png"
)

# %% Rapport du quartier le plus touché
busiest = counts.groupby("quartier_code")["count"].sum().idxmax()
report = client.post("/reports", json={"area": {"kind": "quartier", "code": busiest}})
report.raise_for_status()
doc = report.json()
report_figure(doc).savefig(args.out / "api_rapport_quartier.png")

summary = {
    "cells": len(counts),
    "events": int(counts["count"].sum()),
    "hot_cells": int((hot["gi_bin"] > 0).sum()),
    "quartier": busiest,
    "quartier_events": doc["totals"]["n"],
}
(args.out / "clients_api.json").write_text(json.dumps(summary), "utf-8")
print(summary)
