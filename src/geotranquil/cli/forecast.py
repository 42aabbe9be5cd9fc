"""``geotranquil forecast``: next period's forecast from the database, and the backtest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import (
    CLUSTER_HELP,
    cluster_options,
    friendly,
    load_settings,
    new_app,
    number,
    split_codes,
)
from geotranquil.cli.forecast_file import forecast_file
from geotranquil.cli.progress import console, steps_bar

app = new_app(
    "Prévision : où les incidents se concentreront la semaine prochaine.",
    invoke_without_command=True,
    no_args_is_help=False,
)

METHOD_HELP = "naive, naive_year, kde, prospective, sepp, gbm, multiscale, ensemble."
PERIOD_HELP = "Période prévue : week (semaine) ou day (jour)."


@app.callback()
@friendly
def forecast_main(
    ctx: typer.Context,
    method: Annotated[
        str, typer.Option("--method", "--methode", "-m", help=METHOD_HELP)
    ] = "ensemble",
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3 (9 ou 10).")] = 9,
    categories: Annotated[
        str | None, typer.Option("--categories", help="Codes séparés par des virgules.")
    ] = None,
    period: Annotated[str, typer.Option("--period", "--periode", help=PERIOD_HELP)] = "week",
    horizon: Annotated[int, typer.Option("--horizon", help="Nombre de périodes prévues.")] = 1,
) -> None:
    """Calcule et enregistre la prévision de la période qui suit les dernières données."""
    if ctx.invoked_subcommand is not None:
        return
    from geotranquil.services.engine import open_engine
    from geotranquil.services.forecasting import compute_forecast

    settings = load_settings()
    with steps_bar("Prévision", 1) as bar:
        s = compute_forecast(
            open_engine(settings),
            settings,
            method=method,
            resolution=resolution,
            categories=split_codes(categories),
            period=period,
            horizon=horizon,
        )
        bar.advance()
    what = "la semaine du" if period == "week" else "le"
    span = f" (+{horizon - 1} période(s))" if horizon > 1 else ""
    console.print(
        f"Prévision {s.run_id} ({s.method}) pour {what} {s.origin}{span} : {number(s.n_cells)} "
        f"cellules ; ajustement {s.seconds['fit']:.1f} s, prévision {s.seconds['predict']:.2f} s."
    )
    table = Table(
        "rang", "hexagone", "attendus", "part de la zone", title="Cellules les plus exposées"
    )
    for rank, h3, expected, share in zip(
        s.top["rank"], s.top["h3"], s.top["expected"], s.top["area_share"], strict=True
    ):
        table.add_row(str(rank), f"{int(h3):x}", f"{expected:.2f}", f"{share:.2%}")
    console.print(table)


@app.command("backtest")
@friendly
def forecast_backtest(
    origins: Annotated[
        int, typer.Option("--origins", "--origines", help="Périodes prévues et notées.")
    ] = 26,
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3.")] = 9,
    methods: Annotated[
        str | None,
        typer.Option("--methods", "--methodes", help="Méthodes séparées par des virgules."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Dossier des images.")] = Path("var/forecast"),
    period: Annotated[str, typer.Option("--period", "--periode", help=PERIOD_HELP)] = "week",
    categories: Annotated[
        str | None, typer.Option("--categories", help="Codes séparés par des virgules.")
    ] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help=CLUSTER_HELP)] = None,
) -> None:
    """Compare toutes les méthodes en prévoyant chaque période passée avec ce qui la précédait."""
    from geotranquil.forecast.registry import METHODS
    from geotranquil.services.engine import open_engine
    from geotranquil.services.forecasting import run_backtest

    settings = load_settings()
    chosen = split_codes(methods) or tuple(METHODS)
    with steps_bar("Backtest", origins * len(chosen)) as bar:

        def progress(name: str, done: int, total: int) -> None:
            what = f"tâches {done}/{total}" if cluster else name
            bar.update(description=f"Backtest : {what}", advance=1)

        result, picture = run_backtest(
            open_engine(settings),
            settings,
            methods=chosen,
            resolution=resolution,
            n_origins=origins,
            out_dir=out,
            progress=progress,
            period=period,
            categories=split_codes(categories),
            cluster=cluster_options(settings, cluster),
        )
    console.print(result.format_table(), soft_wrap=True)
    if picture is not None:
        console.print(f"Courbes de couverture : {picture}")


app.command("file")(forecast_file)
app.command("fichier", hidden=True)(forecast_file)
