"""``geotranquil keys``: API keys and their roles."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app
from geotranquil.cli.progress import console

app = new_app("Clés d'accès à l'API et leurs rôles.")


@app.command("create")
@friendly
def keys_create(
    role: Annotated[
        str,
        typer.Option(help="Rôle : admin, analyst, agent, planner ou partner.", show_default=False),
    ],
    name: Annotated[str, typer.Option(help="Qui utilise la clé (service, personne).")],
    source: Annotated[
        str | None,
        typer.Option(
            help="Clé partner : la source (slug) où le partenaire dépose ses lots (sans "
            "source, la clé ne dépose nulle part : appli citoyenne Open311) ; refusée pour "
            "les autres rôles."
        ),
    ] = None,
) -> None:
    """Crée une clé ; elle n'est affichée qu'une fois (seule son empreinte est conservée)."""
    from geotranquil.services.access import create_key
    from geotranquil.services.engine import open_engine

    key, info = create_key(engine=open_engine(load_settings()), name=name, role=role, source=source)
    bound = f", source {source}" if source else ""
    console.print(f"Clé n° {info.id} « {info.name} », rôle [bold]{info.role.value}[/]{bound} :")
    print(key)
    console.print(
        "Conservez-la maintenant : elle ne sera plus affichée. Envoyez-la dans l'en-tête X-API-Key."
    )


@app.command("list")
@friendly
def keys_list() -> None:
    """Liste les clés (sans les clés elles-mêmes)."""
    from geotranquil.services.access import list_keys
    from geotranquil.services.engine import open_engine

    table = Table("n°", "nom", "rôle", "début", "créée", "dernier usage", "état")
    for k in list_keys(engine=open_engine(load_settings())):
        table.add_row(
            str(k.id),
            k.name,
            k.role.value,
            k.prefix + "…",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "—",
            "révoquée" if k.revoked_at else "active",
        )
    console.print(table)


@app.command("revoke")
@friendly
def keys_revoke(key_id: Annotated[int, typer.Argument(help="Numéro de la clé.")]) -> None:
    """Révoque une clé (tous les serveurs la refusent aussitôt ; dans les 30 secondes si Redis
    est injoignable)."""
    from geotranquil.services.access import revoke_key
    from geotranquil.services.engine import open_engine
    from geotranquil.services.shared_state import SharedState

    settings = load_settings()
    engine = open_engine(settings)
    shared = SharedState(settings.redis_url, prefix=settings.redis_prefix, engine=engine)
    info, at_once = revoke_key(engine=engine, key_id=key_id, shared=shared)
    console.print(f"Clé n° {info.id} « {info.name} » révoquée.")
    if not at_once:
        console.print(
            "Redis injoignable : les serveurs en marche la refuseront dans les 30 secondes."
        )
