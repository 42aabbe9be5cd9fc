"""``geotranquil jobs``: the queue's recent jobs, and queueing one by hand."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app
from geotranquil.cli.progress import console
from geotranquil.errors import InvalidInput

app = new_app(
    "Tâches de fond : état de la file (seul, « jobs » liste les dernières), lancement manuel.",
    no_args_is_help=False,
    invoke_without_command=True,
)
run_app = new_app("Met une tâche en file ; un travailleur (geotranquil worker) l'exécute.")

#: states of a job, as staff read them
STATES_FR = {
    "todo": "en attente",
    "doing": "en cours",
    "succeeded": "réussie",
    "failed": "en échec",
    "cancelled": "annulée",
    "aborting": "interruption demandée",
    "aborted": "interrompue",
}


def _when(value: dt.datetime | None, tz: str, fmt: str = "%d/%m %H:%M:%S") -> str:
    from zoneinfo import ZoneInfo

    return "—" if value is None else value.astimezone(ZoneInfo(tz)).strftime(fmt)


@friendly
def jobs_list(
    state: Annotated[
        str | None,
        typer.Option("--state", help="Seulement cet état : " + ", ".join(STATES_FR) + "."),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Seulement cette tâche.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Nombre de tâches.")] = 30,
) -> None:
    """Les dernières tâches : état, nombre d'essais, heures de début et de fin."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.jobs import recent_jobs

    settings = load_settings()
    rows = recent_jobs(open_engine(settings), state=state, task=task, limit=limit)
    if not rows:
        console.print("Aucune tâche.")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("n°", "tâche", "état", "essais", "début", "fin"):
        table.add_column(column, no_wrap=True)
    tz = settings.timezone
    for r in rows:
        end = _when(r.finished_at, tz)
        if r.state == "todo" and r.scheduled_at is not None:  # a retry waiting for its time
            end = "prévue " + _when(r.scheduled_at, tz, "%H:%M:%S")
        table.add_row(
            str(r.id),
            r.task,
            STATES_FR.get(r.state, r.state),
            str(r.attempts_made),
            _when(r.started_at, tz),
            end,
        )
    console.print(table)
    console.print("Heures locales ; essais : exécutions commencées (reprises comprises).")


@friendly
def run_retention_purge(
    date: Annotated[
        str | None,
        typer.Option("--date", help="Jour de la purge (AAAA-MM-JJ ; défaut : aujourd'hui)."),
    ] = None,
) -> None:
    """Met en file la purge de conservation du jour (la même que « retention purge »)."""
    from geotranquil.jobs import RETENTION_PURGE, enqueue
    from geotranquil.services.retention import today

    settings = load_settings()
    try:
        day = dt.date.fromisoformat(date) if date else today(settings)
    except ValueError:
        raise InvalidInput(f"date « {date} » illisible : attendu AAAA-MM-JJ") from None
    job = enqueue(settings, RETENTION_PURGE, day=day.isoformat())
    console.print(f"Purge du {day} mise en file : tâche n° {job}.")


@friendly
def run_send_alerts() -> None:
    """Met en file l'évaluation des règles de veille et l'envoi des alertes dues."""
    from geotranquil.jobs import SEND_ALERTS, enqueue

    job = enqueue(load_settings(), SEND_ALERTS)
    console.print(f"Évaluation des règles de veille mise en file : tâche n° {job}.")


@app.callback()
def jobs_default(ctx: typer.Context) -> None:
    """Sans sous-commande : les 30 dernières tâches (comme « jobs list »)."""
    if ctx.invoked_subcommand is None:
        jobs_list(state=None, task=None, limit=30)


app.command("list")(jobs_list)
run_app.command("retention-purge")(run_retention_purge)
run_app.command("send-alerts")(run_send_alerts)
app.add_typer(run_app, name="run")
