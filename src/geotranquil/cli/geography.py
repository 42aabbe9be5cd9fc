"""``geotranquil areas`` and ``geotranquil grid``: the reference areas and the H3 grid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console, steps_bar

areas_app = new_app("Zones de référence : commune, arrondissements, quartiers.")
grid_app = new_app("Grille hexagonale H3 de la zone d'étude.")


@areas_app.command("load")
@friendly
def areas_load(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Dossier des fichiers officiels (commune.geojson, arrondissements.geojson, "
            "quartiers.geojson, population_arrondissements.csv)."
        ),
    ] = None,
    builtin: Annotated[
        bool,
        typer.Option(
            "--builtin",
            help="Utiliser la géographie simplifiée intégrée, même si les fichiers existent.",
        ),
    ] = False,
) -> None:
    """Charge la commune, les 16 arrondissements et les 111 quartiers."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geography import load_areas

    settings = load_settings()
    folder = None if builtin else (directory or settings.reference_dir)
    geography, counts = load_areas(open_engine(settings), folder)
    source = (
        "géographie intégrée simplifiée"
        if geography.origin == "builtin"
        else geography.origin.split(":", 1)[1]
    )
    console.print(
        f"Zones chargées depuis {source} : {counts.commune} commune, {counts.arrondissements} "
        f"arrondissements, {counts.quartiers} quartiers ({number(geography.population)} "
        "habitants)."
    )


@grid_app.command("build")
@friendly
def grid_build(
    resolution: Annotated[
        list[int] | None,
        typer.Option(
            "--resolution", "-r", help="Résolution H3 (répéter l'option ; 7 à 10 par défaut)."
        ),
    ] = None,
) -> None:
    """Remplit la grille H3 de la commune (arrondissement et quartier de chaque cellule)."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geography import build_cells

    settings = load_settings()
    resolutions = sorted(resolution or settings.analysis_resolutions)
    with steps_bar("Grille H3", len(resolutions)) as bar:
        counts = build_cells(open_engine(settings), resolutions, lambda _res: bar.advance())
    table = Table("résolution", "cellules", title="Grille H3")
    for res, n in counts.items():
        table.add_row(str(res), number(n))
    console.print(table)
