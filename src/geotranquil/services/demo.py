"""The demo: synthetic files of the four silos (generated once per parameter set), and the whole
demonstration sequence (:func:`run_demo`), which the ``geotranquil demo`` command only prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from geotranquil.config import Settings
from geotranquil.errors import InvalidInput
from geotranquil.geography.reference import load_geography
from geotranquil.ingest.pipeline import IngestSummary
from geotranquil.services.addresses import BanLoadSummary
from geotranquil.services.geocoding import GeocodeSummary
from geotranquil.stats.registry import STATISTICS
from geotranquil.synth import GENERATOR_VERSION, MetropolePlan, generate, generate_metropole

#: Files written by the generator, and the packaged mapping that reads each one.
DEMO_SOURCES: dict[str, str] = {
    "police_municipale_main_courante.csv": "police_municipale",
    "csu_alertes.jsonl": "csu",
    "services_espace_public.geojson": "services_espace_public",
    "signalements_habitants.json": "habitants",
}


@dataclass(frozen=True)
class SynthResult:
    directory: Path
    total_rows: int
    reused: bool


def _total_rows(manifest_path: Path) -> int:
    data = json.loads(manifest_path.read_text("utf-8"))
    return sum(int(f["rows"]) for f in data["files"].values())


def generate_synthetic(
    settings: Settings,
    out: Path,
    *,
    months: int,
    seed: int,
    scale: float,
    builtin: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> SynthResult:
    """Write the silo files into ``out``, unless a complete set for the same parameters is there."""
    manifest_path = out / "manifest.json"
    if manifest_path.is_file() and all((out / f).is_file() for f in DEMO_SOURCES):
        data = json.loads(manifest_path.read_text("utf-8"))
        wanted = (seed, months, scale, GENERATOR_VERSION)
        found = (
            data.get("seed"),
            data.get("months"),
            float(data.get("scale", 0)),
            data.get("generator_version"),
        )
        if found == wanted:
            return SynthResult(out, _total_rows(manifest_path), reused=True)
    geography = load_geography(None if builtin else settings.reference_dir)
    generate(geography, out, months=months, seed=seed, scale=scale, progress=progress)
    return SynthResult(out, _total_rows(manifest_path), reused=False)


def generate_metropole_data(
    settings: Settings,
    out: Path,
    *,
    months: int,
    seed: int,
    facteur: float,
    builtin: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    announce: Callable[[MetropolePlan], None] | None = None,
) -> SynthResult:
    """Write the Métropole-scale data set into ``out`` (see
    :func:`geotranquil.synth.generate_metropole`), Marseille's geography from the settings."""
    geography = load_geography(None if builtin else settings.reference_dir)
    manifest = generate_metropole(
        geography,
        out,
        months=months,
        seed=seed,
        facteur=facteur,
        progress=progress,
        announce=announce,
    )
    return SynthResult(out, manifest.totals.rows, reused=False)


def generated_files(directory: Path) -> list[tuple[Path, str]]:
    """The silo files of a generated directory (city or Métropole) with the slug of the source
    whose packaged mapping reads each, from its ``manifest.json``: a Métropole set has one file
    per silo and per year, ingested one by one like the city's."""
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    return [
        (directory / str(entry["file"]), str(entry["source"]))
        for _, entry in sorted(manifest["files"].items())
    ]


# --- the whole demonstration, without the command line (issue 15 §1) --------------------------


class TaskHandle(Protocol):
    """One progress task (a bar on a terminal, stage lines elsewhere)."""

    def update(
        self,
        *,
        completed: int | None = None,
        total: int | None = None,
        advance: int | None = None,
        description: str | None = None,
        rows: str | None = None,
    ) -> None: ...

    def advance(self, step: int = 1) -> None: ...


class DemoProgress(Protocol):
    """Where :func:`run_demo` says what it does (the CLI prints it; a test records it)."""

    def say(self, line: str) -> None:
        """A line for people, in French."""

    def task(
        self, label: str, *, unit: str = "steps", total: int | None = None, lazy: bool = False
    ) -> AbstractContextManager[TaskHandle]:
        """A task counting ``steps`` or ``bytes``; ``lazy``: shown once it has a total."""

    def ingested(self, summary: IngestSummary) -> None:
        """One file ingested."""

    def addresses_loaded(self, summary: BanLoadSummary) -> None:
        """The BAN file loaded."""

    def geocoded(self, summary: GeocodeSummary) -> None:
        """A geocoding pass done."""


class _Quiet:
    def update(self, **_: Any) -> None:
        return None

    def advance(self, step: int = 1) -> None:
        return None


@dataclass
class RecordedProgress:
    """A :class:`DemoProgress` that keeps everything (for tests and scripts)."""

    lines: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    summaries: list[IngestSummary] = field(default_factory=list)
    geocodings: list[GeocodeSummary] = field(default_factory=list)
    addresses: list[BanLoadSummary] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)

    @contextmanager
    def task(
        self, label: str, *, unit: str = "steps", total: int | None = None, lazy: bool = False
    ) -> Iterator[TaskHandle]:
        self.tasks.append(label)
        yield _Quiet()

    def ingested(self, summary: IngestSummary) -> None:
        self.summaries.append(summary)

    def addresses_loaded(self, summary: BanLoadSummary) -> None:
        self.addresses.append(summary)

    def geocoded(self, summary: GeocodeSummary) -> None:
        self.geocodings.append(summary)


@dataclass(frozen=True)
class DemoResult:
    """What the demonstration left: the data folder, the runs, the keys (shown once)."""

    data_dir: Path
    hotspot_runs: dict[str, int]
    forecast_run: int
    reports_filed: int
    keys: dict[str, str]


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def run_demo(
    settings: Settings,
    progress: DemoProgress,
    *,
    months: int = 24,
    seed: int = 42,
    scale: float = 1.0,
) -> DemoResult:
    """Database, areas, grid, four silos generated and ingested, BAN, geocoding, analyses,
    forecast, residents' reports and demonstration keys, said step by step to ``progress``.

    Every step is idempotent: run it again and nothing is duplicated (the keys are renewed).
    """
    from geotranquil.services.access import demo_keys
    from geotranquil.services.addresses import load_ban
    from geotranquil.services.database import upgrade_database
    from geotranquil.services.demo_reports import seed_reports
    from geotranquil.services.engine import open_engine
    from geotranquil.services.geocoding import geocode_events
    from geotranquil.services.geography import build_cells, load_areas
    from geotranquil.services.ingestion import ingest, resolve_mapping
    from geotranquil.services.open311_summary import TOTAL, reports_summary
    from geotranquil.services.placing import needs_placing, place_batch
    from geotranquil.services.refresh import refresh_analyses
    from geotranquil.synth.ban import BAN_FILE

    say = progress.say
    upgraded = upgrade_database(settings)
    say(f"1. Base prête (révision {upgraded.revision}).")
    engine = open_engine(settings)
    geography, counts = load_areas(engine, settings.reference_dir)
    say(
        f"2. Zones chargées ({counts.arrondissements} arrondissements, "
        f"{counts.quartiers} quartiers, origine : {geography.origin})."
    )
    resolutions = list(settings.analysis_resolutions)
    with progress.task("3. Grille H3", total=len(resolutions)) as bar:
        cells = build_cells(engine, resolutions, lambda _r: bar.advance())
    say(f"   {_n(sum(cells.values()))} cellules.")

    out = settings.data_dir / f"synth-{seed}-{months}m-x{scale:g}"
    with progress.task("Génération", total=100) as bar:

        def generating(step: str, done: int, total: int) -> None:
            bar.update(description=f"Génération : {step}", completed=done, total=total)

        manifest = generate_synthetic(
            settings,
            out,
            months=months,
            seed=seed,
            scale=scale,
            builtin=geography.origin == "builtin",
            progress=generating,
        )
    say(f"4. Données synthétiques dans {out} ({_n(manifest.total_rows)} lignes).")

    def reading(bar: TaskHandle) -> Callable[[int, int, int], None]:
        return lambda rows, done, total: bar.update(completed=done, total=total, rows=_n(rows))

    with progress.task(f"BAN ← {BAN_FILE}", unit="bytes") as bar:
        addresses = load_ban(settings, out / BAN_FILE, progress=reading(bar))
    progress.addresses_loaded(addresses)
    for file_name, slug in DEMO_SOURCES.items():
        mapping = resolve_mapping(settings, slug, None)
        with progress.task(f"{slug} ← {file_name}", unit="bytes") as bar:
            summary = ingest(settings, out / file_name, mapping, progress=reading(bar))
        progress.ingested(summary)
        if needs_placing(summary):
            with progress.task("Géocodage des adresses", lazy=True) as bar:
                placed = place_batch(
                    engine, settings, summary, lambda d, t: bar.update(completed=d, total=t)
                )
            if placed is not None:
                progress.geocoded(placed)
    # events ingested before the BAN was there (an earlier demo) are placed now
    with progress.task("Géocodage des adresses", lazy=True) as bar:
        progress.geocoded(
            geocode_events(engine, settings, progress=lambda d, t: bar.update(completed=d, total=t))
        )

    # the analyses, pictures and forecast, as the worker refreshes them (recorded as a refresh:
    # a worker started beside finds them up to date)
    report = refresh_analyses(
        engine,
        settings,
        trigger="manual",
        force=True,
        progress=lambda line: say(f"   {line.strip()}"),
    )
    runs = {stat: report.runs[stat] for stat in STATISTICS if stat in report.runs}
    forecast_run = report.runs.get("forecast")
    if forecast_run is None:
        raise InvalidInput("prévision impossible : " + "; ".join(report.notes))
    overview = settings.data_dir / "overview"
    say(f"5. Images pour les analystes et prévision : {overview}")

    reports = seed_reports(engine, settings, seed=seed)
    say(
        f"   Signalements des habitants (Open311) : {reports.filed} déposés"
        + (f", {reports.already} déjà présents" if reports.already else "")
        + (
            f" ; {reports.in_progress} en cours et {reports.resolved} résolus par l'agent démo."
            if reports.filed
            else "."
        )
    )
    summary90 = reports_summary(engine, settings, days=90, picture=overview / "signalements.png")
    total = summary90.table.astype({"filed": int, "open": int, "resolved": int})
    row = total.to_dict("index")[TOTAL]
    say(
        f"   Bilan sur 90 jours : {_n(row['filed'])} reçus, {_n(row['open'])} ouverts, "
        f"{_n(row['resolved'])} résolus ; "
        + (f"image : {summary90.picture}" if summary90.picture else "pas d'image")
        + " (détail : geotranquil reports summary)"
    )
    keys = demo_keys(engine=engine)
    say("6. Clés de démonstration (en-tête X-API-Key ; les précédentes sont révoquées) :")
    for role, key in keys.items():
        say(f"   {role:8} {key}")
    base = f"http://{settings.host}:{settings.port}"
    say(f"   Carte : {base}/carte (connexion avec une clé ci-dessus ; sans clé : vue publique)")
    say(
        f"   Application des habitants (téléphone) : {base}/habitants/ — traitement par les "
        f"agents : {base}/traitement (clé agent, analyste ou admin)"
    )
    say(
        f"   Collections : {base}/collections — tuiles : {base}/tiles/hotspots.json — "
        f"QGIS : ajoutez une connexion OGC API Features sur {base}"
    )
    return DemoResult(
        data_dir=out,
        hotspot_runs=runs,
        forecast_run=forecast_run,
        reports_filed=reports.filed + reports.already,
        keys=keys,
    )
