"""``geotranquil hotspots`` and ``overview``: hot-spot analyses and the analysts' pictures."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import (
    CLUSTER_HELP,
    cluster_options,
    friendly,
    load_settings,
    number,
    split_codes,
)
from geotranquil.cli.progress import console, steps_bar
from geotranquil.errors import InvalidInput
from geotranquil.stats.registry import DEFAULT_STATISTIC, STATISTICS

#: the stages :func:`geotranquil.services.hotspots.compute_run` reports, in order
STAGES = ("data_window", "aggregate", "values", "neighbours", "statistic", "store")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise InvalidInput(f"date invalide ({exc}) : attendu AAAA-MM-JJ") from None


@friendly
def overview(
    out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les images.")] = Path(
        "var/overview"
    ),
    resolution: Annotated[int, typer.Option("--resolution", "-r", help="Résolution H3.")] = 9,
) -> None:
    """Dessine la carte des événements par hexagone et la courbe hebdomadaire par source (PNG)."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.overview import write_overview

    settings = load_settings()
    result = write_overview(open_engine(settings), out, resolution, timezone=settings.timezone)
    console.print(
        f"Carte : {result.map_png}\nCourbe : {result.weekly_png}\n"
        f"{number(result.located_events)} événements localisés dans "
        f"{number(result.cells_with_events)} hexagones."
    )


@friendly
def hotspots(
    statistic: Annotated[
        str,
        typer.Option(
            "--statistic",
            "-s",
            help="; ".join(f"{s.name} ({s.help or s.title})" for s in STATISTICS.values()) + ".",
        ),
    ] = DEFAULT_STATISTIC,
    resolution: Annotated[
        int, typer.Option("--resolution", "-r", help="Résolution H3 (7 à 10).")
    ] = 9,
    start: Annotated[
        str | None, typer.Option(help="Début (AAAA-MM-JJ) ; défaut : 52 semaines avant la fin.")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Fin exclue (AAAA-MM-JJ) ; défaut : après le dernier événement."),
    ] = None,
    bin: Annotated[str, typer.Option("--bin", help="Pas de temps : day, week ou month.")] = "week",
    categories: Annotated[
        str | None, typer.Option(help="Catégories, séparées par des virgules (toutes par défaut).")
    ] = None,
    value: Annotated[
        str, typer.Option(help="counts, rate (pour 1 000 habitants) ou eb_rate (lissé).")
    ] = "counts",
    k: Annotated[int, typer.Option(help="Voisinage : anneaux H3 autour de la cellule.")] = 1,
    distance: Annotated[
        float | None,
        typer.Option(help="Voisinage : bande de distance en mètres (au lieu des anneaux H3)."),
    ] = None,
    permutations: Annotated[
        int,
        typer.Option(
            help="Permutations des p-valeurs simulées (0 : aucune pour Gi*, 999 pour Moran local)."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(help="Graine des permutations.")] = 42,
    cluster: Annotated[str | None, typer.Option("--cluster", help=CLUSTER_HELP)] = None,
) -> None:
    """Calcule et enregistre une analyse de points chauds (statistiques : voir --statistic)."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.hotspots import HotspotParams, compute_run, default_period

    settings = load_settings()
    engine = open_engine(settings)
    start_d, end_d = _day(start), _day(end)
    if start_d is None or end_d is None:
        d_start, d_end = default_period(engine, timezone=settings.timezone)
        start_d, end_d = start_d or d_start, end_d or d_end
    params = HotspotParams(
        statistic=statistic,
        resolution=resolution,
        start=start_d,
        end=end_d,
        bin=bin,
        categories=split_codes(categories),
        value=value,
        k=k,
        distance_m=distance,
        permutations=permutations,
        seed=seed,
        timezone=settings.timezone,
    )
    with steps_bar(f"Analyse {statistic}", len(STAGES)) as bar:

        def tasks(done: int, total: int) -> None:
            bar.update(description=f"Analyse : partitions {done}/{total}")

        summary = compute_run(
            engine,
            params,
            lambda name: bar.update(description=f"Analyse : {name}", advance=1),
            cluster=cluster_options(settings, cluster),
            task_progress=tasks,
        )
    table = Table(
        "classe",
        "cellules",
        title=f"Calcul {summary.run_id} — {statistic}, "
        f"résolution {resolution}, {start_d} → {end_d}",
    )
    for label, n in summary.classes.items():
        table.add_row(label, number(n))
    console.print(table)
    console.print("Durées : " + ", ".join(f"{k} {v:.2f} s" for k, v in summary.timings.items()))
