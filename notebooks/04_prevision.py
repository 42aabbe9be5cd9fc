# %% [markdown]
# # Prévision : où auront lieu les incidents de la semaine prochaine ?
#
# 1. **Backtest sur la base de la plateforme** : chaque méthode enregistrée est réajustée à
#    chaque semaine des `--weeks` dernières (26 par défaut) sur le passé seul, puis jugée sur
#    la semaine suivante (taux de réussite, PAI et PEI à 1, 5, 10 et 20 % de la surface,
#    déviance de Poisson). Tableau comparatif et courbes de couverture.
# 2. **Backtest sur des données réelles** : les vols de véhicules de New York (2014-2015, dossier
#    de données partagé), chaque semaine complète de 2015 (`--nyc-weeks` pour n'en garder que
#    les premières). Si le dossier partagé manque, cette partie seule est sautée.
# 3. **Prévision de la semaine suivante** avec la méthode recommandée (`--method`, `ensemble` par
#    défaut), enregistrée dans la base (servie en `/collections/forecasts`), et sa carte.
#
# Base : `GEOTRANQUIL_DATABASE_URL` (par défaut, celle de la démonstration). Résumé chiffré :
# `prevision.json` dans `--out`, aussi imprimé en dernière ligne.

# %%
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from geotranquil.charts.forecast import backtest_coverage_figure
from geotranquil.config import Settings, shared_data_dir
from geotranquil.db.engine import make_engine
from geotranquil.forecast.backtest import BacktestResult, rolling_origin
from geotranquil.forecast.points import convex_hull_area, forecast_data_from_points
from geotranquil.forecast.registry import METHODS, RECOMMENDED
from geotranquil.services.forecasting import (
    compute_forecast,
    forecast_picture,
    load_forecast_data,
    run_backtest,
)

NYC_FILE = "nyc_vehicle_thefts_2014_2015.csv"
NYC_YEAR = 2015
NYC_RESOLUTION = 9
NYC_BUFFER_M = 200.0
#: the figures kept in the summary, per method (means over the origins)
KEPT = ("hit_1", "hit_5", "hit_10", "hit_20", "pai_1", "pai_5", "pai_10", "pai_20", "pei_5")

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("var/notebooks"))
parser.add_argument("--resolution", type=int, default=9)
parser.add_argument("--weeks", type=int, default=26, help="semaines du backtest (Marseille)")
parser.add_argument(
    "--nyc-weeks", type=int, default=None, help="semaines de 2015 (New York ; défaut : toutes)"
)
parser.add_argument("--method", default=RECOMMENDED, choices=list(METHODS), help="méthode prévue")
args, _ = parser.parse_known_args()
args.out.mkdir(parents=True, exist_ok=True)
settings = Settings()
engine = make_engine(settings)
print("Méthodes comparées :")
for name, (description, _) in METHODS.items():
    print(f"  {name:<12} {description}")


def progress(method: str, i: int, n: int) -> None:
    if method == list(METHODS)[-1]:
        print(f"  origine {i}/{n}", file=sys.stderr, flush=True)


def figures(result: BacktestResult) -> dict[str, dict[str, float | None]]:
    """Mean scores per method (None where a score is undefined: no event)."""
    table = result.summary()
    return {
        str(method): {
            k: None if math.isnan(v := float(row[k])) else v for k in KEPT if k in table.columns
        }
        for method, row in table.iterrows()
    }


def best_on_pai_5(result: BacktestResult) -> str:
    return str(result.summary()["pai_5"].idxmax())


# %% [markdown]
# ## 1. Backtest sur les données de la plateforme (Marseille)

# %% Les données hebdomadaires : comptages par cellule H3, événements, surfaces terrestres
data = load_forecast_data(engine, settings, resolution=args.resolution)
print(
    f"Marseille : {data.n_cells} cellules (résolution {args.resolution}), "
    f"{data.n_periods} semaines du {data.periods[0]} au "
    f"{data.periods[-1] + timedelta(days=6)}, {len(data.events)} événements localisés"
)

# %% Backtest à origine glissante de toutes les méthodes sur les dernières semaines
result, _ = run_backtest(
    engine, settings, resolution=args.resolution, n_origins=args.weeks, progress=progress
)
weeks = sorted(result.scores["period_start"].unique())
print(f"{len(weeks)} semaines jugées, du {weeks[0]} au {weeks[-1]}")
print(result.format_table())

# %% Courbes de couverture : part des événements capturés selon la part de la zone signalée
coverage_png = args.out / "couverture_marseille.png"
backtest_coverage_figure(
    result, f"Marseille — backtest sur {len(weeks)} semaines ({weeks[0]} → {weeks[-1]})"
).savefig(coverage_png)

marseille = {
    "cells": data.n_cells,
    "periods": data.n_periods,
    "events": len(data.events),
    "origins": [w.isoformat() for w in weeks],
    "scores": figures(result),
    "best_pai_5": best_on_pai_5(result),
}

# %% [markdown]
# ## 2. Backtest sur des données réelles : vols de véhicules à New York
#
# Les données n'ont pas de contour de ville : la zone d'étude est l'enveloppe convexe des
# points élargie de 200 m (elle couvre aussi de l'eau et des parcs : toutes les méthodes sont
# jugées sur la même grille, mais les PAI y sont plus élevés que sur une grille terrestre).
# Semaines du lundi ; la dernière semaine, incomplète, est retirée. Les méthodes apprennent sur
# 2014 et les semaines de 2015 déjà passées.

# %% Les points, la zone d'étude et les comptages hebdomadaires
shared = shared_data_dir()
nyc_path = None if shared is None else shared / "incidents" / NYC_FILE
nyc: dict[str, Any] | None = None
if nyc_path is None or not nyc_path.is_file():
    where = "introuvable" if shared is None else f"sans {NYC_FILE}"
    print(f"Dossier de données partagé {where} : partie New York sautée.")
else:
    raw = pd.read_csv(nyc_path, usecols=["date_single", "longitude", "latitude"])
    points = pd.DataFrame(
        {
            "lon": pd.to_numeric(raw["longitude"], errors="coerce"),
            "lat": pd.to_numeric(raw["latitude"], errors="coerce"),
            "time": pd.to_datetime(raw["date_single"], format="%Y-%m-%d %H:%M", errors="coerce"),
        }
    )
    area = convex_hull_area(points, buffer_m=NYC_BUFFER_M)
    every_week = forecast_data_from_points(points, area, resolution=NYC_RESOLUTION)
    year_end = date(NYC_YEAR, 12, 31)
    full = sum(p + timedelta(days=6) <= year_end for p in every_week.periods)
    nyc_data = every_week.until(full)
    first_week = date.fromisocalendar(NYC_YEAR, 1, 1)
    print(
        f"New York : {len(points)} vols, {nyc_data.n_cells} cellules, {nyc_data.n_periods} "
        f"semaines complètes, {every_week.events.attrs['dropped']} hors zone, "
        f"{every_week.events.attrs['dropped_time']} sans date utilisable"
    )

# %% Backtest des semaines de 2015
if nyc_path is not None and nyc_path.is_file():
    nyc_result = rolling_origin(
        nyc_data,
        [factory for _, factory in METHODS.values()],
        first_origin=nyc_data.periods.index(first_week),
        n_origins=args.nyc_weeks,
        progress=progress,
    )
    nyc_weeks = [nyc_data.periods[t] for t in nyc_result.origins]
    print(f"{len(nyc_weeks)} semaines jugées, du {nyc_weeks[0]} au {nyc_weeks[-1]}")
    print(nyc_result.format_table())
    nyc_png = args.out / "couverture_new_york.png"
    backtest_coverage_figure(
        nyc_result,
        f"Vols de véhicules, New York — backtest sur {len(nyc_weeks)} semaines de {NYC_YEAR}",
    ).savefig(nyc_png)
    nyc = {
        "cells": nyc_data.n_cells,
        "periods": nyc_data.n_periods,
        "events": len(nyc_data.events),
        "origins": [w.isoformat() for w in nyc_weeks],
        "scores": figures(nyc_result),
        "best_pai_5": best_on_pai_5(nyc_result),
        "picture": nyc_png.name,
    }

# %% [markdown]
# ## 3. La prévision de la semaine suivante, enregistrée, et sa carte
#
# La méthode est ajustée sur toutes les semaines de données ; les cellules sont classées par
# nombre d'événements attendus, et les plus exposées couvrant 1, 5, 10 et 20 % de la surface
# terrestre sont colorées.

# %%
forecast = compute_forecast(engine, settings, method=args.method, resolution=args.resolution)
print(
    f"Prévision n° {forecast.run_id} ({forecast.method}), semaine du {forecast.origin} : "
    f"{forecast.n_cells} cellules classées ; meilleure méthode du backtest (PAI 5 %) : "
    f"{marseille['best_pai_5']}"
)
top = forecast.top.assign(h3=[f"{int(c):x}" for c in forecast.top["h3"]])
print(
    top.rename(
        columns={
            "h3": "cellule H3",
            "expected": "événements attendus",
            "rank": "rang",
            "area_share": "part de la surface",
            "top_class": "classe (%)",
        }
    ).to_string(index=False)
)
map_png = forecast_picture(engine, forecast.run_id, args.out / "carte_prevision.png")

# %% Résumé
summary = {
    "marseille": marseille | {"picture": coverage_png.name},
    "nyc": nyc,
    "forecast": {
        "run_id": forecast.run_id,
        "method": forecast.method,
        "origin": forecast.origin.isoformat(),
        "cells": forecast.n_cells,
        "first_cell": int(forecast.top["h3"].iloc[0]),
        "picture": map_png.name,
    },
}
(args.out / "prevision.json").write_text(json.dumps(summary), "utf-8")
print(json.dumps(summary))
