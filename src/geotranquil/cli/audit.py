"""``geotranquil audit``: the audit trail (issue 14 §3) and its hash chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app, number
from geotranquil.cli.progress import console

app = new_app(
    "Journal d'audit : qui a lu des événements ou des données personnelles, exporté, "
    "créé ou révoqué une clé.",
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
@friendly
def audit_list(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", "--depuis", help="Depuis (inclus) : date 2026-03-01 ou instant ISO 8601."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", "--jusqu-a", help="Jusqu'à (exclu) : date ou instant ISO 8601."),
    ] = None,
    who: Annotated[
        str | None,
        typer.Option("--who", "--qui", help="key:N, sso:IDENTIFIANT, cli:UTILISATEUR, public."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action", help="read_events, read_personal_data, export, key_created, key_revoked…"
        ),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Écrire toutes les lignes trouvées dans ce fichier CSV."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "--limite", min=1, help="Lignes affichées (les plus récentes)."),
    ] = 50,
) -> None:
    """Affiche le journal d'audit (les plus récentes d'abord filtrées), ou l'écrit en CSV."""
    if ctx.invoked_subcommand is not None:
        return
    from geotranquil.services import audit
    from geotranquil.services.engine import open_engine

    settings = load_settings()
    engine = open_engine(settings)
    tz = settings.timezone
    query = audit.AuditQuery(
        who=who,
        action=action,
        since=audit.parse_instant(since, tz, name="--since") if since else None,
        until=audit.parse_instant(until, tz, name="--until") if until else None,
    )
    if csv_file is not None:
        n = 0
        with csv_file.open("w", encoding="utf-8", newline="") as out:
            rows = audit.every_row(engine, query)

            def counted() -> Iterator[Any]:
                nonlocal n
                for row in rows:
                    n += 1
                    yield row

            for chunk in audit.csv_lines(counted()):
                out.write(chunk)
        audit.record(engine, caller=audit.operator(), action=audit.READ_AUDIT, rows=n)
        console.print(f"{number(n)} ligne(s) du journal écrite(s) dans {csv_file}.")
        return
    total = audit.search(engine, query, limit=1).total
    page = audit.search(engine, query, limit=limit, offset=max(0, total - limit))
    audit.record(engine, caller=audit.operator(), action=audit.READ_AUDIT, rows=len(page.rows))
    zone = ZoneInfo(tz)
    table = Table("n°", "quand", "qui", "rôle", "action", "route", "lignes", "client")
    for r in page.rows:
        table.add_row(
            str(r.id),
            f"{r.at.astimezone(zone):%Y-%m-%d %H:%M:%S}",
            r.who,
            r.role,
            r.action,
            r.path or "—",
            "—" if r.rows is None else number(r.rows),
            r.client or "—",
        )
    console.print(table)
    shown = len(page.rows)
    console.print(
        f"{number(total)} ligne(s) trouvée(s)"
        + (f", les {number(shown)} plus récentes affichées." if shown < total else ".")
    )


@friendly
def audit_verify() -> None:
    """Vérifie la chaîne d'empreintes du journal : code 0 si intacte, 1 sinon."""
    from geotranquil.services import audit
    from geotranquil.services.engine import open_engine

    result = audit.verify(open_engine(load_settings()))
    if result.intact:
        console.print(f"Journal d'audit : chaîne intacte, {number(result.rows)} lignes.")
        console.print(f"Dernière empreinte (à noter ailleurs) : {result.head}", soft_wrap=True)
        return
    console.print(
        f"[bold red]Journal d'audit altéré[/] à la ligne n° {result.broken_id} : "
        f"{result.reason} ; {number(result.rows)} ligne(s) intacte(s) avant elle.",
        soft_wrap=True,
    )
    raise typer.Exit(1)


app.command("verify")(audit_verify)
app.command("verifier", hidden=True)(audit_verify)
