"""``geotranquil demo``: the whole demonstration (:func:`run_demo`), printed, then the server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from geotranquil.cli.addresses import print_ban_load
from geotranquil.cli.app import load_settings, resumable
from geotranquil.cli.geocode import print_geocoding
from geotranquil.cli.ingest import print_summary
from geotranquil.cli.progress import Task, bytes_bar, console, steps_bar
from geotranquil.cli.serve import quiet_unless_set, start_server
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.services.addresses import BanLoadSummary
from geotranquil.services.geocoding import GeocodeSummary


class ConsoleProgress:
    """:class:`geotranquil.services.demo.DemoProgress` on the terminal (or in a log)."""

    def say(self, line: str) -> None:
        console.print(line, soft_wrap=True, highlight=False)

    @contextmanager
    def task(
        self, label: str, *, unit: str = "steps", total: int | None = None, lazy: bool = False
    ) -> Iterator[Task]:
        if unit == "bytes":
            with bytes_bar(label) as bar:
                yield bar
        else:
            with steps_bar(label, total or 0, lazy=lazy) as bar:
                yield bar

    def ingested(self, summary: IngestSummary) -> None:
        print_summary(summary)

    def addresses_loaded(self, summary: BanLoadSummary) -> None:
        print_ban_load(summary)

    def geocoded(self, summary: GeocodeSummary) -> None:
        print_geocoding(summary)


@resumable
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Démarrer le serveur à la fin.")
    ] = True,
    months: Annotated[int, typer.Option(help="Mois simulés.")] = 24,
    seed: Annotated[int, typer.Option(help="Graine aléatoire.")] = 42,
    scale: Annotated[float, typer.Option(help="Facteur de volume.")] = 1.0,
) -> None:
    """Démonstration complète : base, zones, grille, données de quatre silos, ingestion, serveur.

    Le journal des requêtes du serveur est coupé pendant la démonstration, sauf si
    GEOTRANQUIL_ACCESS_LOG est donné.
    """
    from geotranquil.services.demo import run_demo

    settings = load_settings()
    console.rule("[bold]geotranquil — démonstration")
    run_demo(settings, ConsoleProgress(), months=months, seed=seed, scale=scale)
    if serve_after:
        start_server(quiet_unless_set(settings))
