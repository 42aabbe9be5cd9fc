"""``geotranquil synth``: realistic synthetic files of the four silos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console, steps_bar

app = new_app("Données synthétiques réalistes (démonstration, essais).")


@app.command("generate")
@friendly
def synth_generate(
    out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les fichiers des silos.")],
    months: Annotated[int, typer.Option(help="Nombre de mois simulés.")] = 24,
    seed: Annotated[
        int, typer.Option(help="Graine aléatoire (mêmes fichiers pour la même graine).")
    ] = 42,
    scale: Annotated[
        float, typer.Option(help="Facteur de volume (1 = environ 70 000 événements sur 24 mois).")
    ] = 1.0,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Géographie intégrée simplifiée.")
    ] = False,
) -> None:
    """Écrit un fichier par silo, dans son format natif, avec la vérité terrain (manifest.json)."""
    from geotranquil.services.demo import generate_synthetic

    with steps_bar("Génération", 100) as bar:

        def progress(step: str, done: int, total: int) -> None:
            bar.update(description=f"Génération : {step}", completed=done, total=total)

        manifest = generate_synthetic(
            load_settings(),
            out,
            months=months,
            seed=seed,
            scale=scale,
            builtin=builtin,
            progress=progress,
        )
    console.print(
        f"Données écrites dans {out} : {number(manifest.total_rows)} lignes, "
        "vérité terrain dans manifest.json."
    )
