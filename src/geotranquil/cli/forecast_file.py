"""``geotranquil forecast file``: backtest and forecast of any city's points file, no database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geotranquil.cli.app import friendly, number, split_codes
from geotranquil.cli.progress import console, steps_bar

#: the stages of :func:`geotranquil.services.points_forecast.forecast_points`, said in French
STAGES = {
    "prepare": "lecture des points et de la zone",
    "backtest": "backtest des méthodes",
    "fit": "ajustement de la prévision finale",
    "write": "écriture de la prévision",
}


@friendly
def forecast_file(
    points: Annotated[
        Path,
        typer.Argument(
            help="Points datés : CSV ou TSV (séparateur détecté, éventuellement .gz) avec "
            "longitude et latitude WGS84, ou GeoJSON / GeoPackage de points."
        ),
    ],
    zone: Annotated[
        Path | None,
        typer.Option(
            "--zone",
            help="Zone d'étude (GeoJSON, GeoPackage, shapefile de polygones) ; défaut : "
            "enveloppe convexe des points élargie de 200 m.",
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option("--time-column", "--colonne-temps", help="Colonne de la date et de l'heure."),
    ] = None,
    x_column: Annotated[
        str | None,
        typer.Option("--x-column", "--colonne-x", help="Colonne de la longitude (WGS84)."),
    ] = None,
    y_column: Annotated[
        str | None,
        typer.Option("--y-column", "--colonne-y", help="Colonne de la latitude (WGS84)."),
    ] = None,
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3.")] = 9,
    period: Annotated[
        str,
        typer.Option(
            "--period", "--periode", help="Période prévue : week (semaine) ou day (jour)."
        ),
    ] = "week",
    origins: Annotated[
        int, typer.Option("--origins", "--origines", help="Périodes prévues et notées.")
    ] = 26,
    methods: Annotated[
        str | None,
        typer.Option(
            "--methods", "--methodes", help="Méthodes comparées, séparées par des virgules."
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option("--method", "--methode", "-m", help="Méthode de la prévision écrite."),
    ] = "ensemble",
    out: Annotated[Path, typer.Option("--out", help="Dossier des résultats.")] = Path(
        "var/forecast/fichier"
    ),
) -> None:
    """Backtest et prévision sur un fichier de points de n'importe quelle ville (sans la base)."""
    from geotranquil.forecast.registry import METHODS
    from geotranquil.services.points_forecast import (
        DROP_REASONS,
        forecast_points,
        read_area,
        read_points,
    )

    frame = read_points(points, time_column=time_column, x_column=x_column, y_column=y_column)
    area = read_area(zone) if zone is not None else None
    chosen = split_codes(methods) or tuple(METHODS)
    # every backtest step, then the final fit and the writing of the forecast
    with steps_bar("Prévision sur fichier", origins * len(chosen) + 2) as bar:

        def progress(name: str, _done: int, _total: int) -> None:
            bar.update(description=f"Backtest : {name}", advance=1)

        def stage(name: str) -> None:  # "write" starts when the final fit is done
            bar.update(description=STAGES[name].capitalize(), advance=int(name == "write"))

        done = forecast_points(
            frame,
            area,
            out,
            resolution=resolution,
            period=period,
            methods=chosen,
            method=method,
            n_origins=origins,
            progress=progress,
            stage=stage,
        )
        bar.advance()
    data = done.data
    console.print(
        f"{number(len(data.events))} points sur {number(data.n_cells)} cellules et "
        f"{data.n_periods} périodes ({data.periods[0]} → {data.periods[-1]}) ; "
        f"{number(done.dropped)} écarté(s) sur {number(len(frame))}."
    )
    for reason, n in done.dropped_by.items():
        if n:
            console.print(f"   écartés — {DROP_REASONS[reason]} : {number(n)}")
    console.print(done.result.format_table(), soft_wrap=True)
    console.print(f"Courbes de couverture : {done.coverage_png}")
    console.print(f"Prévision ({done.method}) de la période suivante : {done.forecast_geojson}")
