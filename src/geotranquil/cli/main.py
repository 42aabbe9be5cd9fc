"""The ``geotranquil`` command line, for city staff (messages in French).

This module only assembles the command groups, one module each; command and option names are
English, their help and messages French. The French names of earlier versions stay as hidden
aliases (``signalements bilan``, ``geocode adresse``, ``--periode``…) so that scripts keep working.
"""

from __future__ import annotations

import sys

from geotranquil.cli import (
    addresses,
    audit,
    bulletin,
    database,
    demo,
    forecast,
    geocode,
    geography,
    hotspots,
    ingest,
    jobs,
    keys,
    refresh,
    reports,
    retention,
    serve,
    sources,
    synth,
    worker,
)
from geotranquil.cli.app import RootGroup, new_app

app = new_app("geotranquil : observatoire de la tranquillité publique de Marseille.", cls=RootGroup)

app.add_typer(database.app, name="db")
app.add_typer(geography.areas_app, name="areas")
app.add_typer(geography.grid_app, name="grid")
app.add_typer(synth.app, name="synth")
app.command("ingest")(ingest.ingest_cmd)
app.command("status")(ingest.status)
app.command("rejects")(ingest.rejects)
app.add_typer(sources.app, name="sources")
app.command("categories")(sources.categories)
app.add_typer(addresses.app, name="addresses")
app.add_typer(geocode.app, name="geocode")
app.command("overview")(hotspots.overview)
app.command("hotspots")(hotspots.hotspots)
app.add_typer(forecast.app, name="forecast")
app.add_typer(reports.app, name="reports")
app.add_typer(reports.app, name="signalements", hidden=True)
app.add_typer(retention.app, name="retention")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.add_typer(jobs.app, name="jobs")
app.command("bulletin")(bulletin.bulletin)
app.command("refresh")(refresh.refresh)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
