"""``geotranquil synth``: realistic synthetic files of the four silos."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console, steps_bar

app = new_app("Données synthétiques réalistes (démonstration, essais).")


class Extent(StrEnum):
    """The extent of a synthetic data set (values in French, as the command line)."""

    ville = "ville"
    metropole = "metropole"


@app.command("generate")
@friendly
def synth_generate(
    out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les fichiers des silos.")],
    months: Annotated[
        int | None,
        typer.Option("--months", "--mois", help="Nombre de mois simulés (ville : 24 par défaut)."),
    ] = None,
    years: Annotated[
        int | None,
        typer.Option(
            "--years", "--annees", help="Nombre d'années simulées (métropole : 10 par défaut)."
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", "--graine", help="Graine aléatoire (mêmes fichiers pour la même graine)."
        ),
    ] = 42,
    scale: Annotated[
        float,
        typer.Option(
            "--scale",
            "--facteur",
            help="Facteur de volume (ville : 1 = environ 70 000 événements sur 24 mois ; "
            "métropole : 1 = environ 5 millions d'événements par an).",
        ),
    ] = 1.0,
    extent: Annotated[
        Extent,
        typer.Option(
            "--extent",
            "--echelle",
            help="ville : Marseille ; metropole : zone d'étude plausible de la taille de la "
            "Métropole Aix-Marseille-Provence (synthétique, pas la limite officielle).",
        ),
    ] = Extent.ville,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Géographie intégrée simplifiée.")
    ] = False,
) -> None:
    """Écrit un fichier par silo, dans son format natif, avec la vérité terrain (manifest.json)."""
    from geotranquil.services.demo import generate_metropole_data, generate_synthetic
    from geotranquil.synth import MetropolePlan

    settings = load_settings()
    if extent is Extent.metropole:
        n_months = months if months is not None else 12 * (years if years is not None else 10)

        def announce(plan: MetropolePlan) -> None:
            console.print(
                f"Métropole synthétique : {plan.communes} communes, {plan.area_km2:.0f} km², "
                f"du {plan.start:%d/%m/%Y} au {plan.end:%d/%m/%Y}. Estimation : "
                f"{number(plan.expected_events)} événements, "
                f"{plan.expected_bytes / 1e9:.1f} Go de fichiers."
            )

        with steps_bar("Génération", n_months) as bar:

            def progress(step: str, done: int, total: int) -> None:
                bar.update(description=f"Génération : mois {step}", completed=done, total=total)

            result = generate_metropole_data(
                settings,
                out,
                months=n_months,
                seed=seed,
                facteur=scale,
                builtin=builtin,
                progress=progress,
                announce=announce,
            )
        console.print(
            f"Données écrites dans {out} : {number(result.total_rows)} lignes (un fichier par "
            "silo et par an), vérité terrain dans manifest.json, zones dans "
            f"{out / 'geographie'} (geotranquil areas load {out / 'geographie'})."
        )
        return

    with steps_bar("Génération", 100) as bar:

        def progress(step: str, done: int, total: int) -> None:
            bar.update(description=f"Génération : {step}", completed=done, total=total)

        manifest = generate_synthetic(
            settings,
            out,
            months=months if months is not None else 12 * (years if years is not None else 2),
            seed=seed,
            scale=scale,
            builtin=builtin,
            progress=progress,
        )
    console.print(
        f"Données écrites dans {out} : {number(manifest.total_rows)} lignes, "
        "vérité terrain dans manifest.json."
    )
