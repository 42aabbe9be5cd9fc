"""``geotranquil geocode``: place the events known by their address only (BAN)."""

from __future__ import annotations

from typing import Annotated

import typer

from geotranquil.cli.app import friendly, load_settings, new_app, number, resumable
from geotranquil.cli.progress import console, steps_bar
from geotranquil.services.geocoding import GeocodeSummary

app = new_app(
    "Géocodage : placer les événements connus par leur seule adresse (BAN).",
    invoke_without_command=True,
    no_args_is_help=False,
)


def print_geocoding(s: GeocodeSummary) -> None:
    """French summary of a geocoding pass."""
    if s.considered == 0:
        console.print("Géocodage : aucun événement à placer.")
        return
    details = ", ".join(f"{k} {number(v)}" for k, v in sorted(s.by_precision.items()))
    console.print(
        f"Géocodage : {number(s.placed)} placé(s) sur {number(s.considered)} "
        f"({details or 'aucun'}) ; {number(s.unplaced)} non placé(s), gardé(s) pour une "
        f"nouvelle tentative (geotranquil geocode --retry) ; {s.seconds:.1f} s."
    )
    for reason, count in sorted(s.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"   non placés — {reason} : {number(count)}")


@app.callback()
@resumable
def geocode_main(
    ctx: typer.Context,
    retry: Annotated[
        bool,
        typer.Option("--retry", help="Réessayer aussi les adresses non placées (nouvelle BAN)."),
    ] = False,
    batch: Annotated[
        int | None, typer.Option("--batch", "--lot", help="Seulement les événements de ce lot.")
    ] = None,
    review: Annotated[
        bool,
        typer.Option(
            "--review",
            "--revue",
            help="Lister les événements restés à géocoder et leurs candidats (voir « review »).",
        ),
    ] = False,
) -> None:
    """Place les événements qui n'ont qu'une adresse ; les autres restent, avec leur motif."""
    if ctx.invoked_subcommand is not None:
        return
    if review:
        geocode_review()
        return
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import geocode_events

    settings = load_settings()
    with steps_bar("Géocodage des adresses", 0, lazy=True) as bar:
        done = geocode_events(
            open_engine(settings),
            settings,
            batch_id=batch,
            retry=retry,
            progress=lambda d, t: bar.update(completed=d, total=t),
        )
    print_geocoding(done)


@friendly
def geocode_address(
    text: Annotated[str, typer.Argument(help="Adresse en texte libre.")],
) -> None:
    """Cherche une adresse dans la BAN et affiche le point, le score et la précision."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import geocode_batch

    settings = load_settings()
    result = geocode_batch(open_engine(settings), settings, [text])[0]
    if result is None:
        console.print("Adresse introuvable.")
        raise typer.Exit(1)
    notes = [
        n
        for n, on in (("interpolé", result.interpolated), ("carrefour", result.intersection))
        if on
    ]
    console.print(
        f"{result.label} — {result.lon:.6f}, {result.lat:.6f} — score {result.score:.2f}, "
        f"précision {result.precision}" + (f" ({', '.join(notes)})" if notes else ""),
        soft_wrap=True,
    )


@friendly
def geocode_reverse(
    lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
    lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
) -> None:
    """Adresse la plus proche d'un point, avec son quartier et son arrondissement."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import reverse

    found = reverse(open_engine(load_settings()), lon, lat)
    address = found["address"]
    if address is None:
        console.print("Aucune adresse dans la BAN chargée.")
    else:
        rep = f" {address['rep']}" if address["rep"] else ""
        console.print(
            f"{address['numero']}{rep} {address['nom_voie']} {address['code_postal']} "
            f"{address['nom_commune']} (à {address['distance_m']:.0f} m)",
            soft_wrap=True,
        )
    for kind in ("quartier", "arrondissement", "commune"):
        if kind in found["areas"]:
            console.print(f"{kind} : {found['areas'][kind]['name']}")


@friendly
def geocode_review(
    limit: Annotated[
        int, typer.Option("--limit", "--nombre", min=1, help="Nombre d'événements affichés.")
    ] = 20,
) -> None:
    """Événements restés « à géocoder » avec leurs candidats, pour qu'un analyste choisisse."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import review_queue

    queue = review_queue(open_engine(load_settings()), limit)
    if not queue:
        console.print("Aucun événement à géocoder avec des candidats.")
        return
    for row in queue:
        console.print(
            f"événement {row['event_id']} — « {row['query']} » ({row['reason']})", soft_wrap=True
        )
        for n, c in enumerate(row["candidates"], 1):
            console.print(
                f"   {n}. {c['label']} — score {float(c['score']):.2f}, précision "
                f"{c['precision']} — {float(c['lon']):.6f}, {float(c['lat']):.6f}",
                soft_wrap=True,
            )
    console.print("Choisir : geotranquil geocode pick ÉVÉNEMENT N")


@friendly
def geocode_pick(
    event: Annotated[int, typer.Argument(help="Identifiant de l'événement.")],
    n: Annotated[int, typer.Argument(help="Numéro du candidat (1, 2, ...).")],
) -> None:
    """Place un événement « à géocoder » sur le candidat choisi par l'analyste."""
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import pick_candidate

    settings = load_settings()
    chosen = pick_candidate(open_engine(settings), settings, event, n)
    console.print(f"Événement {event} placé : {chosen['label']}.", soft_wrap=True)


app.command("review")(geocode_review)
app.command("revue", hidden=True)(geocode_review)
app.command("pick")(geocode_pick)
app.command("choisir", hidden=True)(geocode_pick)
app.command("address")(geocode_address)
app.command("adresse", hidden=True)(geocode_address)
app.command("reverse")(geocode_reverse)
app.command("inverse", hidden=True)(geocode_reverse)
