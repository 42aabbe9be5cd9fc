"""``geotranquil jobs``: the queue's recent jobs, and queueing one by hand."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from geotranquil.cli.app import friendly, load_settings, new_app
from geotranquil.cli.progress import console
from geotranquil.errors import InvalidInput

app = new_app("Tâches de fond : état de la file, lancement manuel.")
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


def _when(value: dt.datetime | None, tz: str) -> str:
    from zoneinfo import ZoneInfo

    return "—" if value is None else value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M:%S")


@friendly
def jobs_list(
    state: Annotated[
        str | None,
        typer.Option("--state", help="Seulement cet état : " + ", ".join(STATES_FR) + "."),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Seulement cette tâche.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Nombre de tâches.")] = 30,
) -> None:
    """Les dernières tâches : état, tentatives, heures de mise en file, début et fin."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.jobs import recent_jobs

    settings = load_settings()
    rows = recent_jobs(open_engine(settings), state=state, task=task, limit=limit)
    if not rows:
        console.print("Aucune tâche.")
        return
    table = Table()
    for column in ("n°", "tâche", "état", "tentatives", "en file", "début", "fin", "prévue"):
        table.add_column(column)
    tz = settings.timezone
    for r in rows:
        table.add_row(
            str(r.id),
            r.task,
            STATES_FR.get(r.state, r.state),
            str(r.attempts_made),
            _when(r.queued_at, tz),
            _when(r.started_at, tz),
            _when(r.finished_at, tz),
            _when(r.scheduled_at, tz) if r.state == "todo" else "—",
        )
    console.print(table)


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


app.command("list")(jobs_list)
run_app.command("retention-purge")(run_retention_purge)
app.add_typer(run_app, name="run")
