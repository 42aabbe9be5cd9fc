"""``geotranquil db``: the database, its migrations and its categories."""

from __future__ import annotations

from geotranquil.cli.app import friendly, load_settings, new_app
from geotranquil.cli.progress import console

app = new_app("Base de données : création et migrations.")


@app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Crée la base si besoin, applique les migrations et synchronise les catégories."""
    from geotranquil.services.database import upgrade_database

    result = upgrade_database(load_settings())
    state = "créée" if result.created else "existante"
    console.print(
        f"Base {state}, schéma à la révision [bold]{result.revision}[/], "
        f"{result.categories_changed} catégorie(s) ajoutée(s) ou modifiée(s)."
    )
