"""``geotranquil demo``: the whole demonstration (:func:`run_demo`), printed, then the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import httpx
import typer

from geotranquil.cli.addresses import print_ban_load
from geotranquil.cli.app import load_settings, resumable
from geotranquil.cli.geocode import print_geocoding
from geotranquil.cli.ingest import print_summary
from geotranquil.cli.progress import Task, bytes_bar, console, steps_bar
from geotranquil.cli.serve import quiet_unless_set, start_server
from geotranquil.config import Settings
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.services.addresses import BanLoadSummary
from geotranquil.services.demo_partner import DemoPush
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
    from geotranquil.services.demo_partner import prepare_demo_push
    from geotranquil.services.engine import open_engine

    settings = load_settings()
    console.rule("[bold]geotranquil — démonstration")
    run_demo(settings, ConsoleProgress(), months=months, seed=seed, scale=scale)
    push = prepare_demo_push(open_engine(settings), settings, seed=seed)
    base = f"http://{'127.0.0.1' if settings.host == '0.0.0.0' else settings.host}:{settings.port}"
    console.print(
        f"7. Un partenaire (bailleur social) pousse {push.events} signalements par l'API ; "
        f"pour pousser vous-même :\n   curl -X POST -H 'X-API-Key: {push.key}' "
        "-H 'Content-Type: application/x-ndjson' --data-binary @lot.ndjson "
        f"{base}/sources/{push.source}/batches",
        soft_wrap=True,
        highlight=False,
    )
    if serve_after:
        threading.Thread(
            target=push_when_up, args=(base, push, settings), name="demo-push", daemon=True
        ).start()
        start_server(quiet_unless_set(settings))


def push_when_up(base: str, push: DemoPush, settings: Settings) -> None:
    """Once the server answers, push the demonstration partner's batch through the API, as a
    partner would, and say what the worker will do with it."""
    with httpx.Client(base_url=base, timeout=60) as http:
        deadline = time.monotonic() + 120
        while True:
            try:
                if http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                console.print(
                    "   Le serveur ne répond pas : le lot du partenaire n'est pas poussé."
                )
                return
            time.sleep(0.5)
        answer = http.post(
            f"/sources/{push.source}/batches",
            content=push.body,
            headers={
                "X-API-Key": push.key,
                "Content-Type": "application/x-ndjson",
                "Idempotency-Key": f"demo-{push.cell}",
            },
        )
    if answer.status_code not in (200, 202):
        console.print(f"   Lot du partenaire refusé ({answer.status_code}) : {answer.text[:300]}")
        return
    console.print(
        f"   Lot {answer.json()['id']} accepté ({answer.headers['Location']}). Le travailleur "
        f"l'ingère, puis actualise les analyses {settings.refresh_debounce_s:g} s plus tard : "
        f"un point chaud apparaît sur la carte près de {push.lat:.4f}, {push.lon:.4f} "
        f"(hexagone {push.cell}) et la ligne « Données à jour au … » change.",
        soft_wrap=True,
        highlight=False,
    )
