"""The ``geotranquil`` command line, for city staff (messages in French)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import psycopg
import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError as SAOperationalError

from geotranquil.cli.progress import bytes_bar, console, steps_bar
from geotranquil.config import Settings
from geotranquil.errors import GeotranquilError, InvalidInput
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.ingest.validate import REASONS
from geotranquil.services.geocoding import GeocodeSummary
from geotranquil.stats.registry import DEFAULT_STATISTIC, STATISTICS

app = typer.Typer(
    help="geotranquil : observatoire de la tranquillité publique de Marseille.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Base de données : création et migrations.", no_args_is_help=True)
areas_app = typer.Typer(
    help="Zones de référence : commune, arrondissements, quartiers.", no_args_is_help=True
)
grid_app = typer.Typer(help="Grille hexagonale H3 de la zone d'étude.", no_args_is_help=True)
synth_app = typer.Typer(
    help="Données synthétiques réalistes (démonstration, essais).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(areas_app, name="areas")
app.add_typer(grid_app, name="grid")
app.add_typer(synth_app, name="synth")
keys_app = typer.Typer(help="Clés d'accès à l'API et leurs rôles.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn domain errors into a French message and exit code 2, without a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GeotranquilError as exc:
            console.print(f"[bold red]Erreur :[/] {exc}")
            raise typer.Exit(2) from None
        except (SAOperationalError, psycopg.OperationalError) as exc:
            first = str(getattr(exc, "orig", exc)).splitlines()[0]
            console.print(f"[bold red]Base de données injoignable :[/] {first}")
            console.print("Vérifiez GEOTRANQUIL_DATABASE_URL et que PostgreSQL est démarré.")
            raise typer.Exit(2) from None
        except typer.Exit:
            raise  # a deliberate exit code (e.g. 1: no row ingested), not an internal error
        except Exception as exc:
            if os.environ.get("GEOTRANQUIL_DEBUG"):
                raise
            console.print(f"[bold red]Erreur interne :[/] {type(exc).__name__}: {exc}")
            console.print(
                "Rien n'est perdu : ce qui a été validé est enregistré et la même commande "
                "reprendra. Relancez avec GEOTRANQUIL_DEBUG=1 pour le détail technique."
            )
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def _n(value: int) -> str:
    """A number the French way: 870 321."""
    return f"{value:,}".replace(",", "\u202f")


def _settings() -> Settings:
    return Settings()


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Crée la base si besoin, applique les migrations et synchronise les catégories."""
    from geotranquil.services.database import upgrade_database

    result = upgrade_database(_settings())
    state = "créée" if result.created else "existante"
    console.print(
        f"Base {state}, schéma à la révision [bold]{result.revision}[/], "
        f"{result.categories_changed} catégorie(s) ajoutée(s) ou modifiée(s)."
    )


@areas_app.command("load")
@friendly
def areas_load(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Dossier des fichiers officiels (commune.geojson, arrondissements.geojson, "
            "quartiers.geojson, population_arrondissements.csv)."
        ),
    ] = None,
    builtin: Annotated[
        bool,
        typer.Option(
            "--builtin",
            help="Utiliser la géographie simplifiée intégrée, même si les fichiers existent.",
        ),
    ] = False,
) -> None:
    """Charge la commune, les 16 arrondissements et les 111 quartiers."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geography import load_areas

    settings = _settings()
    folder = None if builtin else (directory or settings.reference_dir)
    geography, counts = load_areas(make_engine(settings), folder)
    source = (
        "géographie intégrée simplifiée"
        if geography.origin == "builtin"
        else geography.origin.split(":", 1)[1]
    )
    console.print(
        f"Zones chargées depuis {source} : {counts.commune} commune, {counts.arrondissements} "
        f"arrondissements, {counts.quartiers} quartiers ({_n(geography.population)} habitants)."
    )


@grid_app.command("build")
@friendly
def grid_build(
    resolution: Annotated[
        list[int] | None,
        typer.Option(
            "--resolution", "-r", help="Résolution H3 (répéter l'option ; 7 à 10 par défaut)."
        ),
    ] = None,
) -> None:
    """Remplit la grille H3 de la commune (arrondissement et quartier de chaque cellule)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geography import build_cells

    settings = _settings()
    resolutions = sorted(resolution or settings.analysis_resolutions)
    with steps_bar("Grille H3", len(resolutions)) as (bar, task):
        counts = build_cells(make_engine(settings), resolutions, lambda _res: bar.advance(task))
    table = Table("résolution", "cellules", title="Grille H3")
    for res, n in counts.items():
        table.add_row(str(res), _n(n))
    console.print(table)


@synth_app.command("generate")
@friendly
def synth_generate(
    out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les fichiers des silos.")],
    months: Annotated[int, typer.Option(help="Nombre de mois simulés.")] = 24,
    seed: Annotated[
        int, typer.Option(help="Graine aléatoire (mêmes fichiers pour la même graine).")
    ] = 42,
    scale: Annotated[
        float, typer.Option(help="Facteur de volume (1 = environ 70 000 événements sur 24 mois).")
    ] = 1.0,
    builtin: Annotated[
        bool, typer.Option("--builtin", help="Géographie intégrée simplifiée.")
    ] = False,
) -> None:
    """Écrit un fichier par silo, dans son format natif, avec la vérité terrain (manifest.json)."""
    manifest = _generate_with_bar(_settings(), out, months, seed, scale, builtin)
    console.print(
        f"Données écrites dans {out} : {_n(manifest.total_rows)} lignes, "
        "vérité terrain dans manifest.json."
    )


def _generate_with_bar(
    settings: Settings, out: Path, months: int, seed: int, scale: float, builtin: bool
) -> Any:
    from geotranquil.services.demo import generate_synthetic

    with steps_bar("Génération", 100) as (bar, task):

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=f"Génération : {step}", completed=done, total=total)

        return generate_synthetic(
            settings, out, months=months, seed=seed, scale=scale, builtin=builtin, progress=progress
        )


def _ingest_with_bar(
    settings: Settings, path: Path, source: str | None, mapping_file: Path | None, force: bool
) -> IngestSummary:
    from geotranquil.services.ingestion import ingest, resolve_mapping

    mapping = resolve_mapping(settings, source, mapping_file)
    with bytes_bar(f"{mapping.slug} ← {path.name}") as (bar, task):

        def progress(rows: int, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, rows=_n(rows))

        return ingest(settings, path, mapping, force=force, progress=progress)


def _place_batch(settings: Settings, summary: IngestSummary) -> None:
    """Geocode the address-only events of a batch, when a BAN is loaded."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geocoding import ban_loaded

    if summary.status != "completed" or summary.unlocated == 0:
        return
    if not ban_loaded(make_engine(settings)):
        console.print(
            f"{_n(summary.unlocated)} événement(s) sans position attendent le géocodage : "
            "chargez la BAN (geotranquil addresses load) puis lancez « geotranquil geocode »."
        )
        return
    print_geocoding(_geocode_events_with_bar(settings, summary.batch_id, False))


def print_summary(s: IngestSummary) -> None:
    """Summary of one ingestion, with rejections by reason."""
    if s.status == "skipped":
        console.print(
            f"[yellow]{s.file_name}[/] déjà ingéré (lot {s.batch_id}) : rien à faire. "
            "Utilisez --force pour le relire."
        )
        return
    table = Table(title=f"Lot {s.batch_id} — {s.source} — {s.file_name}", show_header=False)
    for label, value in (
        ("lignes lues", s.rows_read),
        ("nouveaux événements", s.inserted),
        ("événements corrigés", s.updated),
        ("inchangés", s.unchanged),
        ("sans position (adresse à géocoder)", s.unlocated),
        ("lignes rejetées", s.rejected),
    ):
        table.add_row(label, _n(value))
    for reason, n in s.rejections_by_reason.items():
        table.add_row(f"  rejet : {REASONS.get(reason, reason)} [dim]({reason})[/]", str(n))
    if s.resumed_from:
        table.add_row("reprise après la ligne", str(s.resumed_from))
    table.add_row("durée", f"{s.seconds:.1f} s")
    console.print(table)


@app.command("ingest")
@friendly
def ingest_cmd(
    file: Annotated[
        Path, typer.Argument(help="Fichier natif d'un silo (CSV, GeoJSON, JSON, JSON lines).")
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Source connue : police_municipale, csu, services_espace_public, habitants.",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", "-m", help="Fichier de correspondance TOML d'une nouvelle source."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Relire un fichier déjà ingéré.")] = False,
) -> None:
    """Ingère un fichier : validation ligne à ligne, rejets motivés, positions sur la grille H3.

    Relancer la même commande ne crée pas de doublon ; un fichier interrompu reprend
    où il s'était arrêté.
    Code de sortie non nul seulement si aucune ligne n'a pu être ingérée.
    """
    settings = _settings()
    summary = _ingest_with_bar(settings, file, source, mapping, force)
    print_summary(summary)
    _place_batch(settings, summary)
    if summary.status == "completed" and summary.accepted == 0:
        console.print("[bold red]Aucune ligne n'a pu être ingérée.[/]")
        raise typer.Exit(1)


@app.command("status")
@friendly
def status() -> None:
    """Résumé du contenu de la base : zones, grille, événements par source, derniers lots."""
    from geotranquil.services.status import database_status

    st = database_status(_settings())
    console.print(f"Révision du schéma : {st['revision']}")
    console.print(f"Zones : {st['areas']}   Grille : {st['grid']}")
    ban = st["ban"]
    console.print(
        f"Adresses (BAN) : {_n(ban['addresses'])}"
        + (f", version {ban['release']}" if ban["release"] else " (aucune chargée)")
        + f"   Géocodés : {_n(ban['geocoded'])} placés, {_n(ban['unplaced'])} non placés"
    )
    table = Table("source", "événements", "localisés", "à géocoder", title="Événements")
    for row in st["sources"]:
        table.add_row(row["slug"], _n(row["events"]), _n(row["located"]), _n(row["unlocated"]))
    console.print(table)
    lots = Table(
        "lot",
        "source",
        "fichier",
        "état",
        "lues",
        "nouveaux",
        "corrigés",
        "rejetées",
        title="Derniers lots d'ingestion",
    )
    for b in st["batches"]:
        lots.add_row(
            str(b["id"]),
            b["source"],
            b["file_name"],
            STATUS_FR.get(b["status"], b["status"]),
            _n(b["rows_read"]),
            _n(b["inserted"]),
            _n(b["updated"]),
            _n(b["rejected"]),
        )
    console.print(lots)
    console.print("Détail des rejets d'un lot : geotranquil rejects NUMÉRO_DE_LOT")


STATUS_FR = {"running": "en cours ou interrompu", "completed": "terminé", "failed": "en échec"}


@app.command("rejects")
@friendly
def rejects(
    batch: Annotated[int, typer.Argument(help="Numéro du lot (voir « geotranquil status »).")],
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Écrire les lignes rejetées, avec leur contenu brut, dans ce fichier CSV."
        ),
    ] = None,
) -> None:
    """Liste les lignes rejetées d'un lot, avec le motif, pour les corriger à la source."""
    import csv

    from geotranquil.db.batches import batch_rejections
    from geotranquil.db.engine import make_engine

    with make_engine(_settings()).connect() as conn:
        rows = batch_rejections(conn=conn, batch_id=batch)
    table = Table("ligne", "motif", "détail", title=f"Lot {batch} : {_n(len(rows))} rejet(s)")
    for r in rows[:200]:
        table.add_row(str(r["row_number"]), r["reason"], r["detail"])
    console.print(table)
    if len(rows) > 200:
        console.print(f"… et {_n(len(rows) - 200)} autres : utilisez --csv pour tout exporter.")
    if csv_out is not None:
        with csv_out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(["ligne", "motif", "detail", "contenu_brut"])
            for r in rows:
                writer.writerow([r["row_number"], r["reason"], r["detail"], r["raw"]])
        console.print(f"Rejets écrits dans {csv_out}.")


@app.command("overview")
@friendly
def overview(
    out: Annotated[Path, typer.Option("--out", help="Dossier où écrire les images.")] = Path(
        "var/overview"
    ),
    resolution: Annotated[int, typer.Option("--resolution", "-r", help="Résolution H3.")] = 9,
) -> None:
    """Dessine la carte des événements par hexagone et la courbe hebdomadaire par source (PNG)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.overview import write_overview

    result = write_overview(make_engine(_settings()), out, resolution)
    console.print(
        f"Carte : {result.map_png}\nCourbe : {result.weekly_png}\n"
        f"{_n(result.located_events)} événements localisés dans "
        f"{_n(result.cells_with_events)} hexagones."
    )


@app.command("hotspots")
@friendly
def hotspots(
    statistic: Annotated[
        str,
        typer.Option(
            "--statistic",
            "-s",
            help="; ".join(f"{s.name} ({s.help or s.title})" for s in STATISTICS.values()) + ".",
        ),
    ] = DEFAULT_STATISTIC,
    resolution: Annotated[
        int, typer.Option("--resolution", "-r", help="Résolution H3 (7 à 10).")
    ] = 9,
    start: Annotated[
        str | None, typer.Option(help="Début (AAAA-MM-JJ) ; défaut : 52 semaines avant la fin.")
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(help="Fin exclue (AAAA-MM-JJ) ; défaut : après le dernier événement."),
    ] = None,
    bin: Annotated[str, typer.Option("--bin", help="Pas de temps : day, week ou month.")] = "week",
    categories: Annotated[
        str | None, typer.Option(help="Catégories, séparées par des virgules (toutes par défaut).")
    ] = None,
    value: Annotated[
        str, typer.Option(help="counts, rate (pour 1 000 habitants) ou eb_rate (lissé).")
    ] = "counts",
    k: Annotated[int, typer.Option(help="Voisinage : anneaux H3 autour de la cellule.")] = 1,
    distance: Annotated[
        float | None,
        typer.Option(help="Voisinage : bande de distance en mètres (au lieu des anneaux H3)."),
    ] = None,
    permutations: Annotated[
        int,
        typer.Option(
            help="Permutations des p-valeurs simulées (0 : aucune pour Gi*, 999 pour Moran local)."
        ),
    ] = 0,
    seed: Annotated[int, typer.Option(help="Graine des permutations.")] = 42,
) -> None:
    """Calcule et enregistre une analyse de points chauds (statistiques : voir --statistic)."""
    from datetime import date as date_cls

    from geotranquil.db.engine import make_engine
    from geotranquil.services.hotspots import HotspotParams, compute_run, default_period

    settings = _settings()
    engine = make_engine(settings)
    try:
        start_d = date_cls.fromisoformat(start) if start else None
        end_d = date_cls.fromisoformat(end) if end else None
    except ValueError as exc:
        raise InvalidInput(f"date invalide ({exc}) : attendu AAAA-MM-JJ") from None
    if start_d is None or end_d is None:
        d_start, d_end = default_period(engine, timezone=settings.timezone)
        start_d, end_d = start_d or d_start, end_d or d_end
    params = HotspotParams(
        statistic=statistic,
        resolution=resolution,
        start=start_d,
        end=end_d,
        bin=bin,
        categories=tuple(c.strip() for c in categories.split(",")) if categories else None,
        value=value,
        k=k,
        distance_m=distance,
        permutations=permutations,
        seed=seed,
        timezone=settings.timezone,
    )
    stages = ["data_window", "aggregate", "values", "neighbours", "statistic", "store"]
    with steps_bar(f"Analyse {statistic}", len(stages)) as (bar, task):
        summary = compute_run(
            engine,
            params,
            lambda name: bar.update(task, description=f"Analyse : {name}", advance=1),
        )
    table = Table(
        "classe",
        "cellules",
        title=f"Calcul {summary.run_id} — {statistic}, "
        f"résolution {resolution}, {start_d} → {end_d}",
    )
    for label, n in summary.classes.items():
        table.add_row(label, _n(n))
    console.print(table)
    console.print("Durées : " + ", ".join(f"{k} {v:.2f} s" for k, v in summary.timings.items()))


@keys_app.command("create")
@friendly
def keys_create(
    role: Annotated[
        str,
        typer.Option(help="Rôle : admin, analyst, agent, planner ou partner.", show_default=False),
    ],
    name: Annotated[str, typer.Option(help="Qui utilise la clé (service, personne).")],
) -> None:
    """Crée une clé ; elle n'est affichée qu'une fois (seule son empreinte est conservée)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.access import create_key

    key, info = create_key(engine=make_engine(_settings()), name=name, role=role)
    console.print(f"Clé n° {info.id} « {info.name} », rôle [bold]{info.role.value}[/] :")
    print(key)
    console.print(
        "Conservez-la maintenant : elle ne sera plus affichée. Envoyez-la dans l'en-tête X-API-Key."
    )


@keys_app.command("list")
@friendly
def keys_list() -> None:
    """Liste les clés (sans les clés elles-mêmes)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.access import list_keys

    table = Table("n°", "nom", "rôle", "début", "créée", "dernier usage", "état")
    for k in list_keys(engine=make_engine(_settings())):
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


@keys_app.command("revoke")
@friendly
def keys_revoke(key_id: Annotated[int, typer.Argument(help="Numéro de la clé.")]) -> None:
    """Révoque une clé (tous les serveurs la refusent aussitôt ; dans les 30 secondes si Redis
    est injoignable)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.access import revoke_key
    from geotranquil.services.shared_state import SharedState

    settings = _settings()
    engine = make_engine(settings)
    shared = SharedState(settings.redis_url, prefix=settings.redis_prefix, engine=engine)
    info, at_once = revoke_key(engine=engine, key_id=key_id, shared=shared)
    console.print(f"Clé n° {info.id} « {info.name} » révoquée.")
    if not at_once:
        console.print(
            "Redis injoignable : les serveurs en marche la refuseront dans les 30 secondes."
        )


# --- issue 14 §3: the audit trail -------------------------------------------------------------
audit_app = typer.Typer(
    help="Journal d'audit : qui a lu des événements ou des données personnelles, exporté, "
    "créé ou révoqué une clé."
)
app.add_typer(audit_app, name="audit")


@audit_app.callback(invoke_without_command=True)
@friendly
def audit_list(
    ctx: typer.Context,
    depuis: Annotated[
        str | None,
        typer.Option("--depuis", help="Depuis (inclus) : date 2026-03-01 ou instant ISO 8601."),
    ] = None,
    jusqu_a: Annotated[
        str | None,
        typer.Option("--jusqu-a", help="Jusqu'à (exclu) : date ou instant ISO 8601."),
    ] = None,
    qui: Annotated[
        str | None, typer.Option("--qui", help="key:N, sso:IDENTIFIANT, cli:UTILISATEUR, public.")
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
    limite: Annotated[
        int, typer.Option("--limite", min=1, help="Lignes affichées (les plus récentes).")
    ] = 50,
) -> None:
    """Affiche le journal d'audit (les plus récentes d'abord filtrées), ou l'écrit en CSV."""
    if ctx.invoked_subcommand is not None:
        return
    from geotranquil.db.engine import make_engine
    from geotranquil.services import audit

    settings = _settings()
    engine = make_engine(settings)
    tz = settings.timezone
    query = audit.AuditQuery(
        who=qui,
        action=action,
        since=audit.parse_instant(depuis, tz, name="--depuis") if depuis else None,
        until=audit.parse_instant(jusqu_a, tz, name="--jusqu-a") if jusqu_a else None,
    )
    if csv_file is not None:
        n = 0
        with csv_file.open("w", encoding="utf-8", newline="") as out:
            rows = audit.every_row(engine, query)

            def counted() -> Any:
                nonlocal n
                for row in rows:
                    n += 1
                    yield row

            for chunk in audit.csv_lines(counted()):
                out.write(chunk)
        audit.record(engine, caller=audit.operator(), action=audit.READ_AUDIT, rows=n)
        console.print(f"{_n(n)} ligne(s) du journal écrite(s) dans {csv_file}.")
        return
    total = audit.search(engine, query, limit=1).total
    page = audit.search(engine, query, limit=limite, offset=max(0, total - limite))
    audit.record(engine, caller=audit.operator(), action=audit.READ_AUDIT, rows=len(page.rows))
    from zoneinfo import ZoneInfo

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
            "—" if r.rows is None else _n(r.rows),
            r.client or "—",
        )
    console.print(table)
    shown = len(page.rows)
    console.print(
        f"{_n(total)} ligne(s) trouvée(s)"
        + (f", les {_n(shown)} plus récentes affichées." if shown < total else ".")
    )


@audit_app.command("verifier")
@friendly
def audit_verify() -> None:
    """Vérifie la chaîne d'empreintes du journal : code 0 si intacte, 1 sinon."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services import audit

    result = audit.verify(make_engine(_settings()))
    if result.intact:
        console.print(f"Journal d'audit : chaîne intacte, {_n(result.rows)} lignes.")
        console.print(f"Dernière empreinte (à noter ailleurs) : {result.head}", soft_wrap=True)
        return
    console.print(
        f"[bold red]Journal d'audit altéré[/] à la ligne n° {result.broken_id} : "
        f"{result.reason} ; {_n(result.rows)} ligne(s) intacte(s) avant elle.",
        soft_wrap=True,
    )
    raise typer.Exit(1)


signalements_app = typer.Typer(
    help="Signalements des habitants (Open311) : données personnelles.", no_args_is_help=True
)
app.add_typer(signalements_app, name="signalements")


@signalements_app.command("purge")
@friendly
def signalements_purge() -> None:
    """Supprime coordonnées et photos au-delà de leur durée (raccourci de « retention purger »)."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.retention import purge

    settings = _settings()
    report = purge(make_engine(settings), settings, kinds=("contact", "photo"))
    contacts = report.count("contact", "service_request_contacts")
    photos = report.count("photo", "service_request_media")
    console.print(
        f"Données personnelles supprimées (politique de conservation {report.origin}) : "
        f"{_n(contacts)} coordonnée(s), {_n(photos)} photo(s)."
    )


@signalements_app.command("bilan")
@friendly
def signalements_bilan(
    jours: Annotated[
        int, typer.Option(min=1, max=3660, help="Période : les N derniers jours.")
    ] = 90,
    fin: Annotated[
        str | None,
        typer.Option(help="Dernier jour de la période (AAAA-MM-JJ ; défaut : aujourd'hui)."),
    ] = None,
    image: Annotated[
        Path | None, typer.Option(help="Image PNG (défaut : DATA_DIR/overview/signalements.png).")
    ] = None,
) -> None:
    """Bilan des signalements : par catégorie, où ils en sont et en combien de temps."""
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from geotranquil.db.engine import make_engine
    from geotranquil.services.open311_summary import reports_summary

    settings = _settings()
    end = None
    if fin is not None:
        try:
            last = date.fromisoformat(fin)
        except ValueError:
            raise typer.BadParameter(f"date AAAA-MM-JJ attendue, reçu « {fin} »") from None
        end = datetime.combine(last + timedelta(days=1), time(), ZoneInfo(settings.timezone))
    picture = image or settings.data_dir / "overview" / "signalements.png"
    done = reports_summary(make_engine(settings), settings, days=jours, end=end, picture=picture)
    print_reports_summary(done)


def print_reports_summary(done: Any) -> None:
    """The summary table in French, and where the picture is."""
    from datetime import timedelta

    last = done.end - timedelta(microseconds=1)  # the period ends before ``end``
    table = Table(title=f"Signalements des habitants, {done.start:%d/%m/%Y} – {last:%d/%m/%Y}")
    for header in (
        "catégorie",
        "reçus",
        "en attente",
        "résolus",
        "rejetés",
        "doublons",
        "1re action (h, méd.)",
        "résolution (j, méd.)",
    ):
        table.add_column(header, justify="left" if header == "catégorie" else "right")

    def number(value: float) -> str:
        return "—" if value != value else f"{value:.1f}".replace(".", ",")

    for name, row in done.table.iterrows():
        table.add_row(
            "Total" if name == "Total" else str(name),
            *(_n(int(row[c])) for c in ("filed", "open", "resolved", "rejected", "duplicates")),
            number(row["median_hours_to_first_action"]),
            number(row["median_days_to_resolution"]),
        )
    console.print(table)
    if done.picture is not None:
        console.print(f"Image : {done.picture}")
    else:
        console.print("Aucun signalement sur la période : pas d'image.")


# --- Retention (issue 14 §4): geotranquil retention regles | purger
retention_app = typer.Typer(
    help="Conservation des données : règles en vigueur et purge.", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")

#: tables touched by a purge, as staff call them
_RETENTION_TABLES = {
    "events": "événements",
    "event_geocoding": "géocodages",
    "service_requests": "signalements",
    "service_request_history": "historique",
    "service_request_contacts": "coordonnées",
    "service_request_media": "photos",
    "ingest_rejections": "lignes rejetées",
}


@retention_app.command("regles")
@friendly
def retention_regles() -> None:
    """Affiche la politique de conservation en vigueur et ce que chaque règle efface."""
    from geotranquil.retention_policy import KINDS
    from geotranquil.services.retention import current_policy

    policy = current_policy(_settings())
    console.print(f"Politique de conservation en vigueur : {policy.origin}", soft_wrap=True)
    table = Table()
    for column in ("n°", "source", "catégorie", "donnée", "gardée", "effacé", "note"):
        table.add_column(column)
    for r in policy.rules:
        kind = KINDS[r.data]
        cleared = kind.clears
        if r.data == "free_text":
            cleared = "champs " + ", ".join(r.attributes) + " ; " + cleared
        table.add_row(str(r.number), r.source, r.category, kind.label, r.duration, cleared, r.note)
    console.print(table)
    console.print(
        "La règle la plus précise l'emporte (source et catégorie, puis source, puis "
        "catégorie, puis « * »). Les événements restent : les comptages ne changent pas."
    )


@retention_app.command("purger")
@friendly
def retention_purger(
    simulation: Annotated[
        bool, typer.Option("--simulation", help="Compter seulement : rien n'est modifié.")
    ] = False,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Jour de la purge (AAAA-MM-JJ ; défaut : aujourd'hui)."),
    ] = None,
) -> None:
    """Efface ce qui a dépassé sa durée de conservation, en une transaction (rejouable)."""
    import datetime as dt

    from geotranquil.db.engine import make_engine
    from geotranquil.services.retention import purge

    day = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise InvalidInput(f"date « {date} » illisible : attendu AAAA-MM-JJ") from None
    settings = _settings()
    report = purge(make_engine(settings), settings, day=day, simulate=simulation)
    verb = "effacerait" if report.simulated else "efface"
    console.print(
        f"{'Simulation de purge' if report.simulated else 'Purge'} du {report.day}, "
        f"politique de conservation {report.origin} :",
        soft_wrap=True,
    )
    table = Table()
    for column in ("n°", "source", "catégorie", "donnée", "gardée", "avant le", "lignes"):
        table.add_column(column)
    for o in report.outcomes:
        r = o.rule
        detail = ", ".join(f"{_n(n)} {_RETENTION_TABLES[t]}" for t, n in o.counts.items() if n)
        table.add_row(
            str(r.number),
            r.source,
            r.category,
            r.data,
            r.duration,
            "—" if o.first_day_kept is None else str(o.first_day_kept),
            detail or "0",
        )
    console.print(table)
    console.print(
        f"Total : la purge {verb} {_n(report.total)} ligne(s)."
        + (" Simulation : rien n'a été modifié." if report.simulated else "")
    )


addresses_app = typer.Typer(
    help="Base Adresse Nationale : adresses de référence du géocodage.", no_args_is_help=True
)
app.add_typer(addresses_app, name="addresses")


@addresses_app.command("load")
@friendly
def addresses_load(
    file: Annotated[
        Path, typer.Argument(help="Fichier de la BAN (CSV « ; » officiel, ou .csv.gz).")
    ],
    force: Annotated[bool, typer.Option("--force", help="Relire un fichier déjà chargé.")] = False,
) -> None:
    """Charge un fichier de la Base Adresse Nationale (adresse.data.gouv.fr).

    Les adresses des communes du fichier remplacent la version précédente (nouvelles,
    modifiées, disparues) ; les autres communes ne changent pas. Relancer la même commande
    ne refait rien ; un chargement interrompu laisse les adresses précédentes utilisables.
    """
    from geotranquil.geocode.ban import REASONS as BAN_REASONS
    from geotranquil.services.addresses import load_ban

    with bytes_bar(f"BAN ← {file.name}") as (bar, task):

        def progress(rows: int, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, rows=_n(rows))

        s = load_ban(_settings(), file, force=force, progress=progress)
    if s.status == "skipped":
        console.print(
            f"[yellow]{s.file_name}[/] déjà chargé (version {s.release_id}, "
            f"{_n(s.unchanged)} adresses) : rien n'a changé. Utilisez --force pour le relire."
        )
        return
    table = Table(title=f"BAN version {s.release_id} — {s.file_name}", show_header=False)
    for label, value in (
        ("lignes lues", s.rows_read),
        ("nouvelles adresses", s.inserted),
        ("adresses modifiées", s.updated),
        ("inchangées", s.unchanged),
        ("disparues (supprimées)", s.removed),
        ("lignes rejetées", s.rejected),
    ):
        table.add_row(label, _n(value))
    for reason, n in s.rejections_by_reason.items():
        table.add_row(f"  rejet : {BAN_REASONS.get(reason, reason)} [dim]({reason})[/]", _n(n))
    table.add_row("communes", f"{len(s.communes)} : {', '.join(s.communes[:16])}")
    table.add_row("durée", f"{s.seconds:.1f} s")
    console.print(table)
    for r in s.rejections[:5]:
        console.print(f"  ligne {r.row_number} rejetée : {r.detail}", soft_wrap=True)


geocode_app = typer.Typer(
    help="Géocodage : placer les événements connus par leur seule adresse (BAN).",
    invoke_without_command=True,
)
app.add_typer(geocode_app, name="geocode")


def _geocode_events_with_bar(
    settings: Settings, batch_id: int | None, retry: bool
) -> GeocodeSummary:
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geocoding import geocode_events

    with steps_bar("Géocodage des adresses", 1) as (bar, task):

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return geocode_events(
            make_engine(settings), settings, batch_id=batch_id, retry=retry, progress=progress
        )


def print_geocoding(s: GeocodeSummary) -> None:
    """French summary of a geocoding pass."""
    if s.considered == 0:
        console.print("Géocodage : aucun événement à placer.")
        return
    details = ", ".join(f"{k} {_n(v)}" for k, v in sorted(s.by_precision.items()))
    console.print(
        f"Géocodage : {_n(s.placed)} placé(s) sur {_n(s.considered)} ({details or 'aucun'}) ; "
        f"{_n(s.unplaced)} non placé(s), gardé(s) pour une nouvelle tentative "
        f"(geotranquil geocode --retry) ; {s.seconds:.1f} s."
    )
    for reason, count in sorted(s.reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"   non placés — {reason} : {_n(count)}")


@geocode_app.callback()
@friendly
def geocode_main(
    ctx: typer.Context,
    retry: Annotated[
        bool,
        typer.Option("--retry", help="Réessayer aussi les adresses non placées (nouvelle BAN)."),
    ] = False,
    batch: Annotated[
        int | None, typer.Option("--lot", help="Seulement les événements de ce lot.")
    ] = None,
) -> None:
    """Place les événements qui n'ont qu'une adresse ; les autres restent, avec leur motif."""
    if ctx.invoked_subcommand is not None:
        return
    print_geocoding(_geocode_events_with_bar(_settings(), batch, retry))


@geocode_app.command("adresse")
@friendly
def geocode_one(text: Annotated[str, typer.Argument(help="Adresse en texte libre.")]) -> None:
    """Cherche une adresse dans la BAN et affiche le point, le score et la précision."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geocoding import geocode_batch

    settings = _settings()
    result = geocode_batch(make_engine(settings), settings, [text])[0]
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


@geocode_app.command("inverse")
@friendly
def geocode_reverse(
    lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
    lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
) -> None:
    """Adresse la plus proche d'un point, avec son quartier et son arrondissement."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.geocoding import reverse

    found = reverse(make_engine(_settings()), lon, lat)
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


forecast_app = typer.Typer(
    help="Prévision : où les incidents se concentreront la semaine prochaine.",
    invoke_without_command=True,
)
app.add_typer(forecast_app, name="forecast")


@forecast_app.callback()
@friendly
def forecast_main(
    ctx: typer.Context,
    method: Annotated[
        str,
        typer.Option(
            "--methode",
            "-m",
            help="naive, naive_year, kde, prospective, sepp, gbm, multiscale, ensemble.",
        ),
    ] = "ensemble",
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3 (9 ou 10).")] = 9,
    categories: Annotated[
        str | None, typer.Option("--categories", help="Codes séparés par des virgules.")
    ] = None,
    period: Annotated[
        str, typer.Option("--periode", help="Période prévue : week (semaine) ou day (jour).")
    ] = "week",
    horizon: Annotated[int, typer.Option("--horizon", help="Nombre de périodes prévues.")] = 1,
) -> None:
    """Calcule et enregistre la prévision de la période qui suit les dernières données."""
    if ctx.invoked_subcommand is not None:
        return
    from geotranquil.db.engine import make_engine
    from geotranquil.services.forecasting import compute_forecast

    settings = _settings()
    cats = tuple(c.strip() for c in categories.split(",")) if categories else None
    with console.status("Prévision en cours…"):
        s = compute_forecast(
            make_engine(settings),
            settings,
            method=method,
            resolution=resolution,
            categories=cats,
            period=period,
            horizon=horizon,
        )
    what = "la semaine du" if period == "week" else "le"
    span = f" (+{horizon - 1} période(s))" if horizon > 1 else ""
    console.print(
        f"Prévision {s.run_id} ({s.method}) pour {what} {s.origin}{span} : {_n(s.n_cells)} "
        f"cellules ; ajustement {s.seconds['fit']:.1f} s, prévision {s.seconds['predict']:.2f} s."
    )
    table = Table(
        "rang", "hexagone", "attendus", "part de la zone", title="Cellules les plus exposées"
    )
    for rank, h3, expected, share in zip(
        s.top["rank"], s.top["h3"], s.top["expected"], s.top["area_share"], strict=True
    ):
        table.add_row(str(rank), f"{int(h3):x}", f"{expected:.2f}", f"{share:.2%}")
    console.print(table)


@forecast_app.command("backtest")
@friendly
def forecast_backtest(
    origins: Annotated[int, typer.Option("--origines", help="Périodes prévues et notées.")] = 26,
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3.")] = 9,
    methods: Annotated[
        str | None, typer.Option("--methodes", help="Méthodes séparées par des virgules.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Dossier des images.")] = Path("var/forecast"),
    period: Annotated[
        str, typer.Option("--periode", help="Période prévue : week (semaine) ou day (jour).")
    ] = "week",
    categories: Annotated[
        str | None, typer.Option("--categories", help="Codes séparés par des virgules.")
    ] = None,
) -> None:
    """Compare toutes les méthodes en prévoyant chaque période passée avec ce qui la précédait."""
    from geotranquil.db.engine import make_engine
    from geotranquil.forecast.registry import METHODS
    from geotranquil.services.forecasting import run_backtest

    settings = _settings()
    chosen = tuple(m.strip() for m in methods.split(",")) if methods else tuple(METHODS)
    with steps_bar("Backtest", origins * len(chosen)) as (bar, task):

        def progress(_method: str, _done: int, _total: int) -> None:
            bar.advance(task)

        result, picture = run_backtest(
            make_engine(settings),
            settings,
            methods=chosen,
            resolution=resolution,
            n_origins=origins,
            out_dir=out,
            progress=progress,
            period=period,
            categories=tuple(c.strip() for c in categories.split(",")) if categories else None,
        )
    console.print(result.format_table(), soft_wrap=True)
    if picture is not None:
        console.print(f"Courbes de couverture : {picture}")


@forecast_app.command("fichier")
@friendly
def forecast_file(
    points: Annotated[Path, typer.Argument(help="Points datés : CSV (lon, lat) ou GeoJSON.")],
    zone: Annotated[
        Path | None,
        typer.Option("--zone", help="Zone d'étude (GeoJSON, GeoPackage…) ; défaut : enveloppe."),
    ] = None,
    time_column: Annotated[
        str | None, typer.Option("--colonne-temps", help="Colonne de la date et de l'heure.")
    ] = None,
    resolution: Annotated[int, typer.Option("-r", help="Résolution H3.")] = 9,
    period: Annotated[
        str, typer.Option("--periode", help="Période prévue : week (semaine) ou day (jour).")
    ] = "week",
    origins: Annotated[int, typer.Option("--origines", help="Périodes prévues et notées.")] = 26,
    methods: Annotated[
        str | None,
        typer.Option("--methodes", help="Méthodes comparées, séparées par des virgules."),
    ] = None,
    method: Annotated[
        str, typer.Option("--methode", "-m", help="Méthode de la prévision écrite.")
    ] = "ensemble",
    out: Annotated[Path, typer.Option("--out", help="Dossier des résultats.")] = Path(
        "var/forecast/fichier"
    ),
) -> None:
    """Backtest et prévision sur un fichier de points de n'importe quelle ville (sans la base)."""
    from geotranquil.forecast.registry import METHODS
    from geotranquil.services.points_forecast import forecast_points, read_area, read_points

    frame = read_points(points, time_column=time_column)
    area = read_area(zone) if zone is not None else None
    chosen = tuple(m.strip() for m in methods.split(",")) if methods else tuple(METHODS)
    with steps_bar("Backtest", origins * len(chosen)) as (bar, task):

        def progress(_method: str, _done: int, _total: int) -> None:
            bar.advance(task)

        done = forecast_points(
            frame,
            area,
            out,
            resolution=resolution,
            period=period,
            methods=chosen,
            method=method,
            n_origins=origins,
            progress=progress,
        )
    data = done.data
    console.print(
        f"{_n(len(data.events))} points sur {_n(data.n_cells)} cellules et {data.n_periods} "
        f"périodes ({data.periods[0]} → {data.periods[-1]}) ; {_n(done.dropped)} écarté(s) "
        "(sans date ou position, ou hors de la zone)."
    )
    console.print(done.result.format_table(), soft_wrap=True)
    console.print(f"Courbes de couverture : {done.coverage_png}")
    console.print(f"Prévision ({done.method}) de la période suivante : {done.forecast_geojson}")


@app.command("demo")
@friendly
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Démarrer le serveur à la fin.")
    ] = True,
    months: Annotated[int, typer.Option(help="Mois simulés.")] = 24,
    seed: Annotated[int, typer.Option(help="Graine aléatoire.")] = 42,
    scale: Annotated[float, typer.Option(help="Facteur de volume.")] = 1.0,
) -> None:
    """Démonstration complète : base, zones, grille, données de quatre silos, ingestion, serveur."""
    from geotranquil.db.engine import make_engine
    from geotranquil.services.database import upgrade_database
    from geotranquil.services.demo import DEMO_SOURCES
    from geotranquil.services.geography import build_cells, load_areas

    settings = _settings()
    console.rule("[bold]geotranquil — démonstration")
    result = upgrade_database(settings)
    console.print(f"1. Base prête (révision {result.revision}).")
    engine = make_engine(settings)
    geography, counts = load_areas(engine, settings.reference_dir)
    console.print(
        f"2. Zones chargées ({counts.arrondissements} arrondissements, "
        f"{counts.quartiers} quartiers, origine : {geography.origin})."
    )
    resolutions = list(settings.analysis_resolutions)
    with steps_bar("3. Grille H3", len(resolutions)) as (bar, task):
        cells = build_cells(engine, resolutions, lambda _r: bar.advance(task))
    console.print(f"   {_n(sum(cells.values()))} cellules.")
    out = settings.data_dir / f"synth-{seed}-{months}m-x{scale:g}"
    manifest = _generate_with_bar(settings, out, months, seed, scale, geography.origin == "builtin")
    console.print(f"4. Données synthétiques dans {out} ({_n(manifest.total_rows)} lignes).")
    from geotranquil.synth.ban import BAN_FILE

    addresses_load(out / BAN_FILE, force=False)
    for file_name, slug in DEMO_SOURCES.items():
        summary = _ingest_with_bar(settings, out / file_name, slug, None, False)
        print_summary(summary)
        _place_batch(settings, summary)
    # events ingested before the BAN was there (an earlier demo) are placed now
    print_geocoding(_geocode_events_with_bar(settings, None, False))
    from geotranquil.services.hotspots import HotspotParams, compute_run, default_period
    from geotranquil.services.overview import write_overview

    start, end = default_period(engine, timezone=settings.timezone)
    for stat in STATISTICS:
        run = compute_run(
            engine,
            HotspotParams(
                statistic=stat,
                resolution=9,
                start=start,
                end=end,
                permutations=99,
                seed=seed,
                timezone=settings.timezone,
            ),
        )
        console.print(f"   analyse {stat} : calcul {run.run_id} ({_n(run.n_cells)} cellules)")
    pictures = write_overview(engine, settings.data_dir / "overview")
    console.print(f"5. Images pour les analystes : {pictures.map_png}, {pictures.weekly_png}")
    from geotranquil.services.forecasting import compute_forecast, forecast_picture

    with console.status("Prévision de la semaine suivante…"):
        forecast = compute_forecast(engine, settings, resolution=9)
        picture = forecast_picture(
            engine, forecast.run_id, settings.data_dir / "overview" / "prevision.png"
        )
    console.print(
        f"   Prévision {forecast.run_id} pour la semaine du {forecast.origin} : {picture}"
    )
    from geotranquil.services.demo_reports import seed_reports

    reports = seed_reports(engine, settings, seed=seed)
    console.print(
        f"   Signalements des habitants (Open311) : {reports.filed} déposés"
        + (f", {reports.already} déjà présents" if reports.already else "")
        + (
            f" ; {reports.in_progress} en cours et {reports.resolved} résolus par l'agent démo."
            if reports.filed
            else "."
        )
    )
    from geotranquil.services.open311_summary import TOTAL, reports_summary

    bilan = reports_summary(
        engine, settings, days=90, picture=settings.data_dir / "overview" / "signalements.png"
    )
    total = bilan.table.astype({"filed": int, "open": int, "resolved": int}).to_dict("index")[TOTAL]
    filed, still_open, resolved = total["filed"], total["open"], total["resolved"]
    console.print(
        f"   Bilan sur 90 jours : {_n(filed)} reçus, {_n(still_open)} ouverts, "
        f"{_n(resolved)} résolus ; image : {bilan.picture} "
        "(détail : geotranquil signalements bilan)",
        soft_wrap=True,
    )
    from geotranquil.services.access import demo_keys

    console.print("6. Clés de démonstration (en-tête X-API-Key ; les précédentes sont révoquées) :")
    for role, key in demo_keys(engine=engine).items():
        console.print(f"   {role:8} {key}", soft_wrap=True)
    base = f"http://{settings.host}:{settings.port}"
    console.print(
        f"   Carte : {base}/carte (connexion avec une clé ci-dessus ; sans clé : vue publique)",
        soft_wrap=True,
    )
    console.print(
        f"   Application des habitants (téléphone) : {base}/habitants/ — traitement par les "
        f"agents : {base}/traitement (clé agent, analyste ou admin)",
        soft_wrap=True,
    )
    console.print(
        f"   Collections : {base}/collections — tuiles : {base}/tiles/hotspots.json — "
        f"QGIS : ajoutez une connexion OGC API Features sur {base}",
        soft_wrap=True,
    )
    if serve_after:
        serve()


@app.command("serve")
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Adresse d'écoute.")] = None,
    port: Annotated[int | None, typer.Option(help="Port d'écoute.")] = None,
) -> None:
    """Démarre le serveur HTTP (santé sur /health, documentation de l'API sur /api/docs)."""
    import uvicorn

    from geotranquil.api.access_log import log_config  # issue 14 §3: no key or address logged
    from geotranquil.api.app import create_app

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"Serveur sur http://{host}:{port} — documentation : http://{host}:{port}/api/docs"
    )
    # proxy headers are read by the application, from GEOTRANQUIL_TRUSTED_PROXIES only
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=log_config(),
        proxy_headers=False,
    )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
