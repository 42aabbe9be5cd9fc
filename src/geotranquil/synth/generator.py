"""Generate a synthetic, realistic incident data set of Marseille in the native silo formats."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from geotranquil.errors import InvalidInput
from geotranquil.geocode.ban import write_ban_csv
from geotranquil.geography.reference import Geography
from geotranquil.synth import vocab
from geotranquil.synth.area import StudyArea, to_l93, to_wgs84
from geotranquil.synth.ban import BAN_FILE, PLACES, ban_frame
from geotranquil.synth.cameras import Cameras, build_cameras, camera_count
from geotranquil.synth.intensity import (
    CITY_CENTRE,
    COMPONENTS,
    OFFSPRING_MEAN,
    EventArrays,
    SpatialModel,
    sample_background,
    sample_offspring,
)
from geotranquil.synth.manifest import (
    GENERATOR_VERSION,
    CameraEntry,
    FileEntry,
    Manifest,
    PlantedEntry,
    Totals,
)
from geotranquil.synth.planted import SPECS, PlacedItem, PlantedSpec, place_items, sample_planted
from geotranquil.synth.silos import (
    FORMATS,
    SiloAppender,
    SiloContext,
    SiloEvents,
    assign_silos,
    police_truth_frame,
    write_cameras,
    write_police_truth,
    write_silo,
)
from geotranquil.synth.streets import (
    Addresser,
    Street,
    build_streets,
    network_frame,
    structure_rngs,
)
from geotranquil.synth.timegrid import PARIS, TimeGrid, add_months, local_midnight

Progress = Callable[[str, int, int], None]

_STAGES = ("model", "events", *vocab.SOURCES, "manifest")


@dataclass
class _Model:
    area: StudyArea
    spatial: SpatialModel
    streets: list[Street]
    grid: TimeGrid
    items: list[PlacedItem]


def _check(months: int, seed: int, scale: float) -> None:
    if months < 1:
        raise InvalidInput("le nombre de mois doit être au moins 1")
    if seed < 0:
        raise InvalidInput("la graine doit être positive ou nulle")
    if not scale > 0:
        raise InvalidInput("l'échelle doit être strictement positive")


def _build(
    geography: Geography,
    seed: int,
    start: date,
    months: int,
    scale: float,
    streets: bool,
    specs: tuple[PlantedSpec, ...] = SPECS,
) -> _Model:
    area = StudyArea.from_geography(geography)
    rng_space, rng_streets = structure_rngs(seed)
    spatial = SpatialModel(area, rng_space)
    network = build_streets(area, spatial, rng_streets) if streets else []
    grid = TimeGrid(start, add_months(start, months))
    items = place_items(area, spatial, grid, scale, specs)
    return _Model(area, spatial, network, grid, items)


def _simulate(model: _Model, scale: float, rng: np.random.Generator) -> EventArrays:
    grid = model.grid
    background = sample_background(model.spatial, grid, scale, rng)
    planted = sample_planted(model.items, model.spatial, grid, scale, rng)
    primary = EventArrays.concat([background, planted])
    children = _offspring(model, primary, rng)
    return EventArrays.concat([primary, children]).sorted()


def _offspring(model: _Model, primary: EventArrays, rng: np.random.Generator) -> EventArrays:
    """One generation of near-repeats of ``primary`` over the model's period, planted events
    having none after their item's period."""
    grid = model.grid
    windows_end = np.array(
        [local_midnight(grid.start + timedelta(days=it.window[1])) for it in model.items]
        or [grid.t1],
        dtype=np.int64,
    )
    return sample_offspring(primary, model.area, grid.t1, windows_end, rng)


@dataclass(frozen=True)
class Simulation:
    """The events of a synthetic data set with their ground truth, before silo formatting.

    ``events.t`` are epoch seconds, ``events.x``/``events.y`` Lambert-93 metres (the true
    positions, before any silo rounds or geocodes them); ``events.origin`` is the index in
    ``items`` of the planted item that produced an event (``-1`` for the background) and
    ``events.offspring`` marks the planted near-repeats. ``start`` and ``end`` bound the period
    (local days, end excluded).
    """

    events: EventArrays
    items: list[PlacedItem]
    start: date
    end: date


def simulate(
    geography: Geography,
    *,
    months: int = 24,
    seed: int = 42,
    start: date = date(2024, 11, 1),
    scale: float = 1.0,
) -> Simulation:
    """The events :func:`generate` writes for the same arguments, with their ground truth.

    Analyses are checked against this truth: which events are planted near-repeats, where and
    when each planted hot spot is.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> sim = simulate(load_geography(None), months=1, scale=0.02, seed=3)
    >>> bool(sim.events.offspring.any()), sim.start, sim.end
    (True, datetime.date(2024, 11, 1), datetime.date(2024, 12, 1))
    """
    _check(months, seed, scale)
    model = _build(geography, seed, start, months, scale, streets=False)
    events = _simulate(model, scale, np.random.default_rng([seed, 3]))
    return Simulation(events, model.items, model.grid.start, model.grid.end)


def generate(
    geography: Geography,
    out_dir: Path,
    *,
    months: int = 24,
    seed: int = 42,
    start: date = date(2024, 11, 1),
    scale: float = 1.0,
    progress: Progress | None = None,
) -> Manifest:
    """Write a synthetic incident data set in the four silos' native formats.

    Events follow a space-time intensity (residents, activity centres, daily, weekly and
    seasonal rhythms, near-repeat contagion) with planted hot spots (persistent, emerging,
    fading) and control areas. Each event goes to exactly one silo file; a few dirty rows are
    planted in each. The streets' addresses are written as a Base Adresse Nationale file
    (:data:`geotranquil.synth.ban.BAN_FILE`, see :mod:`geotranquil.synth.ban` for its planted
    gaps). Same arguments give byte-identical files.

    Parameters
    ----------
    geography
        Commune and arrondissements (official or built-in).
    out_dir
        Directory to write to (created if missing; files are overwritten).
    months
        Length of the period in calendar months, from ``start``.
    seed
        Seed of every random draw.
    start
        First local day of the period (Europe/Paris).
    scale
        Multiplies every rate: 1.0 gives about 70,000 events over 24 months.
    progress
        Called as ``progress(stage, done, total)`` after each stage.

    Returns
    -------
    Manifest
        Also written to ``out_dir / "manifest.json"``: files, record counts, positions and
        reasons of the dirty rows, cameras, planted items and totals.

    Examples
    --------
    >>> import tempfile
    >>> from geotranquil.geography.reference import load_geography
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     m = generate(load_geography(None), Path(tmp), months=1, scale=0.02, seed=3)
    ...     sorted(p.name for p in Path(tmp).iterdir())[:4]
    ['adresses-13-synth.csv', 'csu_alertes.jsonl', 'csu_cameras.csv', 'manifest.json']
    >>> m.files["police_municipale"].rows > m.files["police_municipale"].valid
    True
    """
    _check(months, seed, scale)
    report = progress or (lambda stage, done, total: None)
    total_stages = len(_STAGES)
    out_dir.mkdir(parents=True, exist_ok=True)

    model = _build(geography, seed, start, months, scale, streets=True)
    area, grid = model.area, model.grid
    report("model", 1, total_stages)

    events = _simulate(model, scale, np.random.default_rng([seed, 3]))
    cameras = _cameras(model, scale, seed)
    silos = _silo_events(events, area, cameras, np.random.default_rng([seed, 5]))
    report("events", 2, total_stages)

    ctx = SiloContext(
        area=area,
        streets=model.streets,
        addresser=Addresser(model.streets),
        cameras=cameras,
        t_end=grid.t1,
        commune_name=geography.commune_name,
    )
    files: dict[str, FileEntry] = {}
    truth_files: dict[str, str] = {}
    for s, (source, ev) in enumerate(zip(vocab.SOURCES, silos, strict=True)):
        result = write_silo(source, ev, ctx, out_dir, np.random.default_rng([seed, 10 + s]))
        fmt = FORMATS[source]
        files[source] = FileEntry(
            file=fmt.file,
            source=source,
            format=fmt.format,
            encoding=fmt.encoding,
            crs=fmt.crs,
            rows=result.rows,
            valid=result.valid,
            rejections=result.rejections,
            categories=result.categories,
            unlocated=result.unlocated,
            sha256=result.sha256,
        )
        if source == vocab.SOURCE_POLICE:
            truth_files[source] = write_police_truth(result, ev, out_dir).name
        report(source, 3 + s, total_stages)

    _, cam_sha = write_cameras(cameras, out_dir)
    write_ban_csv(ban_frame(network_frame(area, model.streets)), out_dir / BAN_FILE)
    manifest = _write_manifest(
        out_dir,
        seed=seed,
        months=months,
        model=model,
        scale=scale,
        geography=geography,
        files=files,
        cameras=cameras,
        cam_sha=cam_sha,
        planted=_planted_counts(model.items, events, grid),
        counts=_event_counts(events),
        truth_files=truth_files,
    )
    report("manifest", total_stages, total_stages)
    return manifest


def _cameras(model: _Model, scale: float, seed: int) -> Cameras:
    """The cameras of the study area over the period (their count follows ``scale``)."""
    return build_cameras(
        model.area,
        model.spatial,
        model.streets,
        model.items,
        camera_count(scale),
        model.grid.start,
        model.grid.end,
        np.random.default_rng([seed, 4]),
    )


def _silo_events(
    events: EventArrays, area: StudyArea, cameras: Cameras, rng: np.random.Generator
) -> Iterator[SiloEvents]:
    """The events of each silo, in the order of :data:`vocab.SOURCES` (``rng`` assigns them).

    The positions, arrondissements, cameras and distances to the centre are computed here;
    each silo's slice of them when it is asked for."""
    lon, lat = to_wgs84(events.x, events.y)
    lon, lat = lon.round(6), lat.round(6)
    arr = area.arrondissement_of(events.x, events.y)
    cam, cam_dist = cameras.nearest(events.x, events.y, events.t)
    silo = assign_silos(events.category, cam_dist, rng)
    cx, cy = to_l93(*CITY_CENTRE)
    d_centre = np.hypot(events.x - cx, events.y - cy)
    return (
        SiloEvents(
            events.t[idx],
            events.x[idx],
            events.y[idx],
            lon[idx],
            lat[idx],
            events.category[idx],
            arr[idx],
            cam[idx],
            d_centre[idx],
        )
        for idx in (np.flatnonzero(silo == s) for s in range(len(vocab.SOURCES)))
    )


def _write_manifest(
    out_dir: Path,
    *,
    seed: int,
    months: int,
    model: _Model,
    scale: float,
    geography: Geography,
    files: dict[str, FileEntry],
    cameras: Cameras,
    cam_sha: str,
    planted: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    truth_files: dict[str, str],
) -> Manifest:
    """The manifest of a generated data set, written to ``out_dir``: ``planted`` holds the
    items' :func:`_planted_counts`, ``counts`` the events' :func:`_event_counts`."""
    grid = model.grid
    manifest = Manifest(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        months=months,
        start=grid.start.isoformat(),
        end=grid.end.isoformat(),
        scale=float(scale),
        timezone=PARIS,
        geography=geography.origin,
        files=files,
        cameras=CameraEntry(
            file=vocab.CAMERAS_FILE,
            count=len(cameras.ids),
            inside=len(cameras.ids) - 1,
            outside_camera_id=cameras.ids[cameras.outside],
            sha256=cam_sha,
        ),
        planted=[
            _planted_entry(it, grid, int(excess), int(in_radius))
            for it, (excess, in_radius) in zip(model.items, planted, strict=True)
        ],
        totals=Totals(
            events=int(counts[0]),
            background=int(counts[1]),
            planted=int(counts[2]),
            offspring=int(counts[3]),
            rows=sum(f.rows for f in files.values()),
            rejected=sum(f.rejected for f in files.values()),
            categories={c: int(counts[4 + i]) for i, c in enumerate(vocab.CATEGORIES)},
        ),
        truth_files=truth_files,
    )
    (out_dir / vocab.MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _planted_counts(
    items: list[PlacedItem], events: EventArrays, grid: TimeGrid
) -> npt.NDArray[np.int64]:
    """For each item (a row), the events it produced (near-repeats not included) and the
    events of its categories in its disk during its period."""
    counts = np.zeros((len(items), 2), np.int64)
    for index, item in enumerate(items):
        start = grid.start + timedelta(days=item.window[0])
        end = grid.start + timedelta(days=item.window[1])
        cats = [vocab.CATEGORY_INDEX[c] for c in item.spec.categories]
        in_disk = (
            np.isin(events.category, cats)
            & (np.hypot(events.x - item.x, events.y - item.y) <= item.spec.radius_m)
            & (events.t >= local_midnight(start))
            & (events.t < local_midnight(end))
        )
        counts[index] = ((events.origin == index) & ~events.offspring).sum(), in_disk.sum()
    return counts


def _planted_entry(
    item: PlacedItem, grid: TimeGrid, excess_events: int, events_in_radius: int
) -> PlantedEntry:
    start = grid.start + timedelta(days=item.window[0])
    end = grid.start + timedelta(days=item.window[1])
    return PlantedEntry(
        name=item.spec.name,
        kind=item.spec.kind,
        center_lon=item.lon,
        center_lat=item.lat,
        radius_m=float(item.spec.radius_m),
        categories=list(item.spec.categories),
        start=start.isoformat(),
        end=end.isoformat(),
        multiplier=round(item.multiplier, 3),
        h3_res9=list(item.h3_res9),
        arrondissement=item.arrondissement,
        expected_background=round(item.expected_background, 3),
        expected_excess=round(item.expected_excess, 3),
        excess_events=excess_events,
        events_in_radius=events_in_radius,
    )


def _event_counts(events: EventArrays) -> npt.NDArray[np.int64]:
    """The events, background, planted and offspring events, then the events of each category
    (in :data:`vocab.CATEGORIES` order): counts that add up over the parts of a period."""
    first = (
        len(events),
        ((events.origin < 0) & ~events.offspring).sum(),
        ((events.origin >= 0) & ~events.offspring).sum(),
        events.offspring.sum(),
    )
    by_category = np.bincount(events.category, minlength=len(vocab.CATEGORIES))
    return np.concatenate([np.array(first, np.int64), by_category.astype(np.int64)])


def generate_points(
    n: int,
    *,
    seed: int,
    geography: Geography,
    start: date = date(2024, 11, 1),
    months: int = 24,
) -> pd.DataFrame:
    """Draw exactly ``n`` events from the same intensity model, without silo formatting.

    The model is simulated at the scale that gives a little more than ``n`` events, which are
    then thinned at random to ``n`` (thinning keeps the shape of the intensity).

    Parameters
    ----------
    n
        Number of events.
    seed
        Seed of every random draw.
    geography
        Commune and arrondissements.
    start, months
        The period.

    Returns
    -------
    pandas.DataFrame
        ``event_id`` (unique str), ``occurred_at`` (tz-aware Europe/Paris), ``category``
        (canonical code), ``lon``, ``lat`` (WGS84, inside the commune), in time order.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> pts = generate_points(500, seed=1, geography=load_geography(None), months=2)
    >>> len(pts), list(pts.columns)
    (500, ['event_id', 'occurred_at', 'category', 'lon', 'lat'])
    >>> bool(pts["event_id"].is_unique), str(pts["occurred_at"].dt.tz)
    (True, 'Europe/Paris')
    """
    if n < 0:
        raise InvalidInput("le nombre d'événements doit être positif")
    _check(months, seed, 1.0)
    model = _build(geography, seed, start, months, 1.0, streets=False)
    per_scale = sum(model.grid.expected(c.profile, c.annual, None) for c in COMPONENTS) + sum(
        it.expected_excess for it in model.items
    )
    per_scale *= 1.0 + OFFSPRING_MEAN * 0.95
    scale = max(n, 1) / per_scale * 1.04 + 1e-9
    rng = np.random.default_rng([seed, 20])
    for _ in range(20):
        model.items = place_items(model.area, model.spatial, model.grid, scale)
        events = _simulate(model, scale, rng)
        if len(events) >= n:
            break
        scale *= 1.1
    keep = np.sort(rng.choice(len(events), size=n, replace=False))
    events = events.take(keep)
    lon, lat = to_wgs84(events.x, events.y)
    width = max(7, len(str(n)))
    ids = np.char.add("EV-", np.char.zfill(np.arange(1, n + 1).astype(str), width))
    occurred = pd.DatetimeIndex(pd.to_datetime(events.t, unit="s", utc=True)).tz_convert(PARIS)
    return pd.DataFrame(
        {
            "event_id": ids.astype(object),
            "occurred_at": occurred,
            "category": np.asarray(vocab.CATEGORIES, dtype=object)[events.category],
            "lon": lon.round(6),
            "lat": lat.round(6),
        }
    )


# --- the Métropole-scale data set, written month by month (issue 18) -------------------------

#: Events a year of the Métropole data set at ``facteur`` 1 (50 million over ten years).
METROPOLE_EVENTS_PER_YEAR: Final = 5_000_000
#: Mean bytes of a record over the four silos (measured), for the size estimate.
BYTES_PER_EVENT: Final = 190
#: A month with more expected events than this is simulated and written in several parts
#: (memory grows with a part's events: about 0.4 GB per 450,000 above the model's 0.6 GB).
CHUNK_EVENTS: Final = 450_000


@dataclass(frozen=True)
class MetropolePlan:
    """What :func:`generate_metropole` is about to write (said before it starts)."""

    start: date
    end: date
    months: int
    scale: float
    expected_events: int
    expected_bytes: int
    communes: int
    area_km2: float


def _expected_per_scale(model: _Model) -> float:
    """Expected events at scale 1 (background, planted excess, near-repeats)."""
    per_scale = sum(model.grid.expected(c.profile, c.annual, None) for c in COMPONENTS) + sum(
        it.expected_excess for it in model.items
    )
    return per_scale * (1.0 + OFFSPRING_MEAN * 0.95)


def _chunk_items(items: list[PlacedItem], grid: TimeGrid, chunk: TimeGrid) -> list[PlacedItem]:
    """The items restricted to a chunk: windows in the chunk's days, excess in proportion."""
    d0, d1 = grid.day_of(chunk.start), grid.day_of(chunk.end)
    out = []
    for it in items:
        lo, hi = max(it.window[0], d0), min(it.window[1], d1)
        if hi <= lo or it.expected_excess <= 0:
            out.append(replace(it, window=(0, 0), expected_excess=0.0))
            continue
        whole = grid.expected(it.spec.profile, 1.0, it.window)
        part = grid.expected(it.spec.profile, 1.0, (lo, hi))
        share = part / whole if whole > 0 else 0.0
        out.append(
            replace(it, window=(lo - d0, hi - d0), expected_excess=it.expected_excess * share)
        )
    return out


def _simulate_chunk(
    model: _Model,
    chunk: TimeGrid,
    scale: float,
    carry: EventArrays,
    rng: np.random.Generator,
) -> tuple[EventArrays, EventArrays]:
    """The events of one chunk of the period, and the near-repeats that fall after it.

    The same process as :func:`_simulate` restricted to the chunk: background and planted
    excess of the chunk, one generation of near-repeats (those after the chunk are carried
    to the next one, as ``carry`` brings the previous chunk's).
    """
    grid = model.grid
    background = sample_background(model.spatial, chunk, scale, rng)
    planted = sample_planted(
        _chunk_items(model.items, grid, chunk), model.spatial, chunk, scale, rng
    )
    primary = EventArrays.concat([background, planted])
    children = _offspring(model, primary, rng)
    pool = EventArrays.concat([primary, children, carry])
    now = pool.t < chunk.t1
    return pool.take(now).sorted(), pool.take(~now)


def _write_ban_in_parts(network: pd.DataFrame, names: dict[str, str], path: Path) -> None:
    """The synthetic BAN of a large network, written a few communes at a time (bounded
    memory): Marseille's arrondissements with its named places, then the other communes.

    Ids begin with the INSEE code, so parts in code order make a file sorted by id.
    """
    codes = sorted(set(network["arrondissement_code"]))
    marseille = [c for c in codes if c.startswith("132")]
    others = [c for c in codes if not c.startswith("132")]
    groups = [marseille] + [others[k : k + 15] for k in range(0, len(others), 15)]
    part = path.with_name(path.name + ".part")
    with path.open("wb") as out:
        for g, group in enumerate(g for g in groups if g):
            sub = network[network["arrondissement_code"].isin(group)]
            places = PLACES if g == 0 and marseille else ()
            write_ban_csv(ban_frame(sub, places, commune_names=names), part)
            data = part.read_bytes()
            out.write(data if g == 0 else data[data.index(b"\n") + 1 :])
    part.unlink()


def _chunks(start: date, months: int, per_day: float, most: int) -> list[tuple[date, date]]:
    """Calendar months from ``start``, each cut into equal runs of days so that none expects
    more than ``most`` events (``per_day`` expected a day)."""
    out: list[tuple[date, date]] = []
    for m in range(months):
        lo, hi = add_months(start, m), add_months(start, m + 1)
        days = (hi - lo).days
        parts = min(days, max(1, int(np.ceil(per_day * days / most))))
        cuts = [lo + timedelta(days=round(j * days / parts)) for j in range(parts + 1)]
        out += list(itertools.pairwise(cuts))
    return out


def _file_name(name: str, label: str) -> str:
    stem, dot, ext = name.partition(".")
    return f"{stem}_{label}{dot}{ext}"


def generate_metropole(
    marseille: Geography,
    out_dir: Path,
    *,
    years: int = 10,
    months: int | None = None,
    seed: int = 42,
    start: date = date(2016, 1, 1),
    facteur: float = 1.0,
    progress: Progress | None = None,
    announce: Callable[[MetropolePlan], None] | None = None,
    chunk_events: int = CHUNK_EVENTS,
) -> Manifest:
    """Write a Métropole-scale synthetic data set, month by month, in bounded memory.

    The study area is the synthetic Métropole of :func:`geotranquil.synth.metropole.
    build_metropole` (Marseille and 91 invented communes, a plausible zone d'étude, not the
    official limit). The events come from the same model as :func:`generate` (residents of
    every commune around its centre, Marseille's activity centres, rhythms, near-repeats,
    Marseille's planted items and three planted outside Marseille), simulated one calendar
    month at a time (or part of a month, see ``chunk_events``) with seeds derived from
    ``seed``; each silo gets one file per year (``police_municipale_main_courante_2016.csv``
    ...), appended month by month, so memory stays that of one month whatever the size.
    Addresses of the police logbook are those of the synthetic streets of every commune, all
    in the synthetic BAN file. The geography is
    written to ``out_dir / "geographie"`` (reference files for ``geotranquil areas load``).
    Same arguments give byte-identical files.

    Parameters
    ----------
    marseille
        Marseille's commune and arrondissements (official or built-in).
    out_dir
        Directory to write to (created if missing; files are overwritten).
    years, months
        Length of the period: ``months`` calendar months when given, else ``years`` years.
    seed
        Seed of every random draw.
    start
        First local day of the period.
    facteur
        Volume: 1.0 gives about :data:`METROPOLE_EVENTS_PER_YEAR` events a year.
    progress
        Called as ``progress(stage, done, total)`` after each month or part of a month
        (stage ``"2016-01"``).
    announce
        Called once before the first month with the size estimate.
    chunk_events
        A month expecting more events is cut into parts expecting at most this many (memory
        stays that of such a part whatever ``facteur``).

    Returns
    -------
    Manifest
        Also in ``out_dir / "manifest.json"``; ``files`` is keyed by file name.

    Examples
    --------
    >>> import tempfile
    >>> from geotranquil.geography.reference import load_geography
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     m = generate_metropole(load_geography(None), Path(tmp), months=1, facteur=0.0005)
    ...     sorted(m.files)[0], len(m.planted)
    ('csu_alertes_2016.jsonl', 11)
    """
    from geotranquil.synth.metropole import build_metropole, planted_specs, write_geography

    n_months = months if months is not None else 12 * years
    _check(n_months, seed, facteur)
    report = progress or (lambda stage, done, total: None)
    out_dir.mkdir(parents=True, exist_ok=True)

    metropole = build_metropole(marseille, seed)
    write_geography(metropole, out_dir / "geographie")
    geography = metropole.geography
    specs = (*SPECS, *planted_specs(metropole))
    model = _build(geography, seed, start, n_months, 1.0, streets=True, specs=specs)
    area, grid = model.area, model.grid
    per_scale = _expected_per_scale(model)
    scale = facteur * METROPOLE_EVENTS_PER_YEAR / (per_scale / (grid.n_days / 365.25))
    model.items = [  # expected counts are linear in the scale
        replace(
            it,
            expected_background=it.expected_background * scale,
            expected_excess=it.expected_excess * scale,
        )
        for it in model.items
    ]
    expected = round(per_scale * scale)
    if announce is not None:
        announce(
            MetropolePlan(
                start=grid.start,
                end=grid.end,
                months=n_months,
                scale=scale,
                expected_events=expected,
                expected_bytes=expected * BYTES_PER_EVENT,
                communes=len(metropole.communes),
                area_km2=round(metropole.area_km2, 1),
            )
        )

    cameras = _cameras(model, scale, seed)
    _, cam_sha = write_cameras(cameras, out_dir)
    names = dict(zip(metropole.communes["code"], metropole.communes["name"], strict=True))
    _write_ban_in_parts(network_frame(area, model.streets), names, out_dir / BAN_FILE)
    addresser = Addresser(model.streets)
    far_x, far_y = to_l93(*np.array([p[1:] for p in vocab.FAR_PLACES]).T)
    wide = area.commune_l93.buffer(5_000.0)
    far_places = tuple(  # Aix-en-Provence and Aubagne are in the Métropole: not far
        p
        for p, x, y in zip(vocab.FAR_PLACES, far_x, far_y, strict=True)
        if not wide.contains(shapely.Point(x, y))
    )

    files: dict[str, FileEntry] = {}
    truth_files: dict[str, str] = {}
    writers: dict[str, SiloAppender] = {}
    truth: tuple[Path, int] | None = None
    label = ""
    planted = np.zeros((len(model.items), 2), np.int64)
    counts = np.zeros(4 + len(vocab.CATEGORIES), np.int64)

    def close_year() -> None:
        for source, writer in writers.items():
            sha = writer.close()
            fmt = FORMATS[source]
            files[writer.path.name] = FileEntry(
                file=writer.path.name,
                source=source,
                format=fmt.format,
                encoding=fmt.encoding,
                crs=fmt.crs,
                rows=writer.rows,
                valid=writer.valid,
                rejections={k: v for k, v in sorted(writer.rejections.items())},
                categories=writer.categories(),
                unlocated=writer.valid if source == vocab.SOURCE_POLICE else 0,
                sha256=sha,
            )
        writers.clear()

    carry = EventArrays.empty()
    chunks = _chunks(start, n_months, expected / grid.n_days, chunk_events)
    for i, (lo, hi) in enumerate(chunks):
        chunk = TimeGrid(lo, hi)
        events, carry = _simulate_chunk(
            model, chunk, scale, carry, np.random.default_rng([seed, 3, i])
        )
        if str(chunk.start.year) != label:
            close_year()
            label = str(chunk.start.year)
            for source in vocab.SOURCES:
                path = out_dir / _file_name(FORMATS[source].file, label)
                writers[source] = SiloAppender(source, path)
            truth = (out_dir / _file_name(vocab.POLICE_TRUTH_FILE, label), 0)
            truth_files[f"{vocab.SOURCE_POLICE}_{label}"] = truth[0].name
        silos = _silo_events(events, area, cameras, np.random.default_rng([seed, 5, i]))
        ctx = SiloContext(
            area=area,
            streets=model.streets,
            addresser=addresser,
            cameras=cameras,
            t_end=grid.t1,
            commune_name=geography.commune_name,
            id_tag=f"{i + 1:03d}-",
            report_base=80000 + 10_000_000 * i,
            far_places=far_places,
        )
        for s, (source, ev) in enumerate(zip(vocab.SOURCES, silos, strict=True)):
            if len(ev) == 0:
                continue
            fields, valid_rows = writers[source].append(
                ev, ctx, np.random.default_rng([seed, 10 + s, i])
            )
            if source == vocab.SOURCE_POLICE and truth is not None:
                frame = police_truth_frame(fields, valid_rows, ev)
                text = frame.to_csv(index=False, header=truth[1] == 0, lineterminator="\n")
                with truth[0].open("ab" if truth[1] else "wb") as handle:
                    handle.write(text.encode("utf-8"))
                truth = (truth[0], truth[1] + len(frame))
        planted += _planted_counts(model.items, events, grid)
        counts += _event_counts(events)
        report(f"{chunk.start:%Y-%m}", i + 1, len(chunks))
    close_year()
    return _write_manifest(
        out_dir,
        seed=seed,
        months=n_months,
        model=model,
        scale=scale,
        geography=geography,
        files=files,
        cameras=cameras,
        cam_sha=cam_sha,
        planted=planted,
        counts=counts,
        truth_files=truth_files,
    )
