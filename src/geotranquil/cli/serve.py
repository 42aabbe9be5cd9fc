"""``geotranquil serve``: the HTTP server (uvicorn), its access log a setting."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from geotranquil.cli.app import friendly, load_settings
from geotranquil.cli.progress import console
from geotranquil.config import Settings


def server_config(settings: Settings, host: str | None = None, port: int | None = None) -> Any:
    """uvicorn's configuration: the application, masked logs, the access log per settings."""
    import uvicorn

    from geotranquil.api.access_log import log_config  # issue 14 §3: no key or address logged
    from geotranquil.api.app import create_app

    # proxy headers are read by the application, from GEOTRANQUIL_TRUSTED_PROXIES only
    return uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        log_config=log_config(),
        access_log=settings.access_log,
        proxy_headers=False,
    )


def quiet_unless_set(settings: Settings) -> Settings:
    """The demo's settings: no access log, unless ``GEOTRANQUIL_ACCESS_LOG`` was given."""
    if "access_log" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"access_log": False})


def start_server(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the application until Ctrl-C (the access log per ``settings.access_log``)."""
    import uvicorn

    config = server_config(settings, host, port)
    base = f"http://{config.host}:{config.port}"
    console.print(f"Serveur sur {base} — documentation : {base}/api/docs", soft_wrap=True)
    if not settings.access_log:
        console.print(
            "Journal des requêtes désactivé (GEOTRANQUIL_ACCESS_LOG=true pour l'afficher).",
            soft_wrap=True,
        )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before uvicorn's own handler
        server.run()
    if not server.started:
        console.print(
            f"[bold red]Le serveur n'a pas démarré[/] sur {base} (adresse ou port déjà pris ?).",
            soft_wrap=True,
        )
        raise typer.Exit(1)


@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute.")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute.")] = None,
) -> None:
    """Démarre le serveur HTTP (santé sur /health, documentation de l'API sur /api/docs)."""
    start_server(load_settings(), host, port)
