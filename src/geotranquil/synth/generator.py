"""Generate a synthetic, realistic incident data set of Marseille in the native silo formats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from geotranquil.errors import InvalidInput
from geotranquil.geocode.ban import write_ban_csv
from geotranquil.geography.reference import Geography
from geotranquil.synth import vocab
from geotranquil.synth.area import StudyArea, to_l93, to_wgs84
from geotranquil.synth.ban import BAN_FILE, ban_frame
from geotranquil.synth.cameras import build_cameras, camera_count
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
from geotranquil.synth.planted import PlacedItem, place_items, sample_planted
from geotranquil.synth.silos import (
    FORMATS,
    SiloContext,
    SiloEvents,
    assign_silos,
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
    geography: Geography, seed: int, start: date, months: int, scale: float, streets: bool
) -> _Model:
    area = StudyArea.from_geography(geography)
    rng_space, rng_streets = structure_rngs(seed)
    spatial = SpatialModel(area, rng_space)
    network = build_streets(area, spatial, rng_streets) if streets else []
    grid = TimeGrid(start, add_months(start, months))
    items = place_items(area, spatial, grid, scale)
    return _Model(area, spatial, network, grid, items)


def _simulate(model: _Model, scale: float, rng: np.random.Generator) -> EventArrays:
    grid = model.grid
    background = sample_background(model.spatial, grid, scale, rng)
    planted = sample_planted(model.items, model.spatial, grid, scale, rng)
    primary = EventArrays.concat([background, planted])
    windows_end = np.array(
        [local_midnight(grid.start + timedelta(days=it.window[1])) for it in model.items]
        or [grid.t1],
        dtype=np.int64,
    )
    children = sample_offspring(primary, model.area, grid.t1, windows_end, rng)
    return EventArrays.concat([primary, children]).sorted()


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
    lon, lat = to_wgs84(events.x, events.y)
    lon, lat = lon.round(6), lat.round(6)
    arr = area.arrondissement_of(events.x, events.y)
    cameras = build_cameras(
        area,
        model.spatial,
        model.streets,
        model.items,
        camera_count(scale),
        grid.start,
        grid.end,
        np.random.default_rng([seed, 4]),
    )
    cam, cam_dist = cameras.nearest(events.x, events.y, events.t)
    silo = assign_silos(events.category, cam_dist, np.random.default_rng([seed, 5]))
    cx, cy = to_l93(*CITY_CENTRE)
    d_centre = np.hypot(events.x - cx, events.y - cy)
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
    for s, source in enumerate(vocab.SOURCES):
        idx = np.flatnonzero(silo == s)
        ev = SiloEvents(
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
        planted=[_planted_entry(i, it, events, grid) for i, it in enumerate(model.items)],
        totals=_totals(events, files),
        truth_files=truth_files,
    )
    (out_dir / vocab.MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
    report("manifest", total_stages, total_stages)
    return manifest


def _planted_entry(
    index: int, item: PlacedItem, events: EventArrays, grid: TimeGrid
) -> PlantedEntry:
    start = grid.start + timedelta(days=item.window[0])
    end = grid.start + timedelta(days=item.window[1])
    cats = [vocab.CATEGORY_INDEX[c] for c in item.spec.categories]
    in_disk = (
        np.isin(events.category, cats)
        & (np.hypot(events.x - item.x, events.y - item.y) <= item.spec.radius_m)
        & (events.t >= local_midnight(start))
        & (events.t < local_midnight(end))
    )
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
        excess_events=int(((events.origin == index) & ~events.offspring).sum()),
        events_in_radius=int(in_disk.sum()),
    )


def _totals(events: EventArrays, files: dict[str, FileEntry]) -> Totals:
    counts = np.bincount(events.category, minlength=len(vocab.CATEGORIES))
    return Totals(
        events=len(events),
        background=int(((events.origin < 0) & ~events.offspring).sum()),
        planted=int(((events.origin >= 0) & ~events.offspring).sum()),
        offspring=int(events.offspring.sum()),
        rows=sum(f.rows for f in files.values()),
        rejected=sum(f.rejected for f in files.values()),
        categories={c: int(counts[i]) for i, c in enumerate(vocab.CATEGORIES)},
    )


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
