"""The Métropole-scale synthetic data set: its plausible study area, its files month by month,
its planted truth inside and outside Marseille, determinism and bounded memory (issue 18)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geotranquil.geography.reference import Geography, load_geography
from geotranquil.synth import SOURCES, Manifest, MetropolePlan, generate_metropole
from geotranquil.synth.area import geom_to_l93
from geotranquil.synth.metropole import (
    AREA_KM2,
    COMMUNES,
    POPULATION,
    build_metropole,
    planted_specs,
)
from tests.conftest import official_dir_or_skip

TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)
#: Two years at a volume of about 25,000 events a year.
TINY = {"months": 24, "seed": 11, "facteur": 0.005}


@pytest.fixture(scope="module")
def builtin() -> Geography:
    return load_geography(None)


@pytest.fixture(scope="module")
def tiny(builtin: Geography, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("metropole")
    return out, generate_metropole(builtin, out, **TINY)  # type: ignore[arg-type]


def _check_area(marseille: Geography, seed: int) -> None:
    m = build_metropole(marseille, seed=seed)
    whole = geom_to_l93(m.geography.commune)
    assert abs(whole.area / 1e6 - AREA_KM2) <= 0.05 * AREA_KM2
    assert abs(m.area_km2 - AREA_KM2) < 2.0  # built to the target, not just near it
    city = geom_to_l93(marseille.commune)
    assert shapely.difference(city, whole).area < 1.0  # the real commune is inside, whole
    communes = m.communes
    assert len(communes) == COMMUNES == 92
    assert communes["code"].is_unique and communes["name"].is_unique
    assert int(communes["population"].sum()) == POPULATION == 1_900_000
    assert communes["name"].iloc[0] == marseille.commune_name
    assert int(communes["population"].iloc[0]) == marseille.population
    assert (communes["population"].iloc[1:] > 0).all()
    # the communes tile the area: no overlap, no gap
    areas = [geom_to_l93(g).area for g in communes.geometry]
    assert abs(sum(areas) - whole.area) < 1e-6 * whole.area
    # every synthetic commune's centre is in it
    for row in communes.iloc[1:].itertuples():
        assert row.geometry.contains(shapely.Point(row.centre_lon, row.centre_lat))
    # the synthetic hinterland is on land: north and east of Marseille, not south of it
    assert whole.bounds[1] >= city.bounds[1] - 1.0
    # units: Marseille's arrondissements, then the other communes
    units = m.geography.arrondissements
    assert len(units) == len(marseille.arrondissements) + 91
    assert int(units["population"].sum()) == POPULATION


def test_metropole_area_builtin(builtin: Geography) -> None:
    _check_area(builtin, seed=42)


def test_metropole_area_official() -> None:
    official = load_geography(official_dir_or_skip())
    assert official.population == 870_321
    _check_area(official, seed=42)


def test_metropole_is_deterministic_for_a_seed(builtin: Geography) -> None:
    a, b, c = (build_metropole(builtin, seed=s) for s in (3, 3, 4))
    assert a.communes.drop(columns="geometry").equals(b.communes.drop(columns="geometry"))
    assert all(x.equals(y) for x, y in zip(a.communes.geometry, b.communes.geometry, strict=True))
    assert not a.communes["name"].equals(c.communes["name"])


def _police_truth(out: Path, manifest: Manifest) -> pd.DataFrame:
    frames = [
        pd.read_csv(out / name, dtype={"id": str}).assign(year=key.rsplit("_", 1)[1])
        for key, name in sorted(manifest.truth_files.items())
    ]
    return pd.concat(frames, ignore_index=True)


def test_events_in_marseille_and_outside_every_year(
    tiny: tuple[Path, Manifest], builtin: Geography
) -> None:
    out, manifest = tiny
    assert manifest.start == "2016-01-01" and manifest.end == "2018-01-01"
    assert 40_000 <= manifest.totals.events <= 60_000
    names = sorted(manifest.files)
    assert names == sorted(
        f"{stem}_{year}.{ext}"
        for year in ("2016", "2017")
        for stem, ext in (
            ("police_municipale_main_courante", "csv"),
            ("csu_alertes", "jsonl"),
            ("services_espace_public", "geojson"),
            ("signalements_habitants", "json"),
        )
    )
    # every event went to exactly one silo file
    assert sum(f.valid for f in manifest.files.values()) == manifest.totals.events
    assert sum(f.rows for f in manifest.files.values()) == manifest.totals.rows
    # true positions of the police rows: in Marseille and elsewhere in the Métropole, each year
    truth = _police_truth(out, manifest)
    x, y = TO_L93.transform(truth["lon"].to_numpy(), truth["lat"].to_numpy())
    metro = build_metropole(builtin, seed=TINY["seed"])  # type: ignore[arg-type]
    whole = geom_to_l93(metro.geography.commune).buffer(1.0)
    city = geom_to_l93(builtin.commune)
    assert shapely.contains_xy(whole, x, y).all()
    in_city = shapely.contains_xy(city, x, y)
    for year in ("2016", "2017"):
        mine = (truth["year"] == year).to_numpy()
        assert in_city[mine].sum() > 1000 and (~in_city[mine]).sum() > 1000, year
    # residents of the other communes make about half of the events outside Marseille
    share = float((~in_city).mean())
    assert 0.25 < share < 0.75, share


def test_planted_truth_inside_and_outside_marseille(
    tiny: tuple[Path, Manifest], builtin: Geography
) -> None:
    _, manifest = tiny
    metro = build_metropole(builtin, seed=TINY["seed"])  # type: ignore[arg-type]
    whole = metro.geography.commune
    outside = [p for p in manifest.planted if not p.arrondissement.startswith("132")]
    inside = [p for p in manifest.planted if p.arrondissement.startswith("132")]
    assert len(inside) == 8
    assert [p.name for p in outside] == [s.name for s in planted_specs(metro)]
    assert sorted(p.kind for p in outside) == ["control", "emerging", "persistent"]
    for p in manifest.planted:
        assert whole.contains(shapely.Point(p.center_lon, p.center_lat)), p.name
        assert p.h3_res9, p.name
        if p.kind == "control":
            assert p.excess_events == 0
        else:
            assert p.excess_events > 0, p.name
            assert p.events_in_radius >= p.excess_events
    persistent = next(p for p in outside if p.kind == "persistent")
    assert persistent.start == "2016-01-01" and persistent.end == "2018-01-01"
    emerging = next(p for p in outside if p.kind == "emerging")
    assert emerging.start == "2017-09-01" and emerging.end == "2018-01-01"


def test_ids_are_unique_over_the_months_and_years(tiny: tuple[Path, Manifest]) -> None:
    out, manifest = tiny
    police: Counter[str] = Counter()
    csu: Counter[str] = Counter()
    for name, entry in manifest.files.items():
        if entry.source == "police_municipale":
            text = (out / name).read_bytes().decode("cp1252")
            rows = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
            police.update(r[0] for r in rows if r and r[0])
        elif entry.source == "csu":
            for line in (out / name).read_text("utf-8").splitlines():
                try:
                    csu[json.loads(line).get("alert_id", "")] += 1
                except json.JSONDecodeError:
                    continue
    # the only repeated ids are the planted duplicates
    dup_police = sum(
        len(e.rejections.get("duplicate_id", []))
        for e in manifest.files.values()
        if e.source == "police_municipale"
    )
    dup_csu = sum(
        len(e.rejections.get("duplicate_id", []))
        for e in manifest.files.values()
        if e.source == "csu"
    )
    assert sum(n - 1 for n in police.values() if n > 1) == dup_police
    assert sum(n - 1 for k, n in csu.items() if k and n > 1) == dup_csu


@pytest.fixture(scope="module")
def one_month(
    builtin: Geography, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Manifest, list[MetropolePlan]]:
    out = tmp_path_factory.mktemp("one-month")
    plans: list[MetropolePlan] = []
    manifest = generate_metropole(
        builtin, out, months=1, seed=5, facteur=0.01, announce=plans.append
    )
    return out, manifest, plans


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_files(
    builtin: Geography, tmp_path: Path, one_month: tuple[Path, Manifest, list[MetropolePlan]]
) -> None:
    out, _, _ = one_month
    generate_metropole(builtin, tmp_path, months=1, seed=5, facteur=0.01)
    again = _digest(tmp_path)
    assert again == _digest(out)
    # four silos, BAN, cameras, manifest, police truth; outline, communes, populations
    assert len(again) == 4 + 4 + 3


def test_memory_does_not_grow_with_the_period(builtin: Geography, tmp_path: Path) -> None:
    """Month by month by construction: what is allocated after the first month does not grow
    with the number of months (holding the whole period would make it 2.5 times larger)."""
    peaks = {}
    for months in (2, 5):
        started = False

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal started
            if not started:  # after the first month: the model, streets and BAN are built
                tracemalloc.start()
                started = True

        generate_metropole(
            builtin, tmp_path / str(months), months=months, seed=3, facteur=0.1, progress=progress
        )
        peaks[months] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    manifest = Manifest.load(tmp_path / "5")
    assert manifest.totals.events > 5 * 30_000  # more than 30,000 events a month
    assert peaks[5] < 1.5 * peaks[2], peaks


def test_size_estimate_is_announced(
    one_month: tuple[Path, Manifest, list[MetropolePlan]],
) -> None:
    out, manifest, plans = one_month
    (plan,) = plans
    assert plan.communes == 92 and abs(plan.area_km2 - AREA_KM2) < 5
    assert abs(plan.expected_events - manifest.totals.events) < 0.1 * plan.expected_events
    written = sum((out / f).stat().st_size for f in manifest.files)
    assert abs(plan.expected_bytes - written) < 0.25 * written
    # at facteur 1, the ten years hold about 50 million events
    assert abs(plan.expected_events / 0.01 * 12 * 10 - 50_000_000) < 2_500_000
    assert np.isclose(manifest.scale, plan.scale)
    assert set(SOURCES) == {f.source for f in manifest.files.values()}


def test_command_line(tmp_path: Path) -> None:
    """The French names of the brief and the English ones; size estimate, then progress."""
    from typer.testing import CliRunner

    from geotranquil.cli.main import app

    env = {"COLUMNS": "200", "GEOTRANQUIL_DATA_DIR": str(tmp_path / "var")}
    args = ["synth", "generate", "--echelle", "metropole", "--out", str(tmp_path / "m")]
    result = CliRunner().invoke(
        app, [*args, "--mois", "1", "--graine", "4", "--facteur", "0.001", "--builtin"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "Métropole synthétique : 92 communes" in result.output
    assert "Estimation :" in result.output
    manifest = Manifest.load(tmp_path / "m")
    assert manifest.seed == 4 and manifest.months == 1
    assert (tmp_path / "m" / "geographie" / "commune.geojson").is_file()
    help_text = CliRunner().invoke(app, ["synth", "generate", "--help"], env=env).output
    assert "--extent" in help_text and "--years" in help_text


def test_a_large_month_is_written_in_parts(builtin: Geography, tmp_path: Path) -> None:
    """Memory is bounded whatever the volume: a month expecting more than ``chunk_events``
    events is simulated and written in parts, with ids still unique."""
    stages: list[tuple[str, int, int]] = []
    manifest = generate_metropole(
        builtin,
        tmp_path,
        months=1,
        seed=9,
        facteur=0.01,
        chunk_events=1500,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    n = len(stages)
    assert n >= 3 and stages == [("2016-01", k, n) for k in range(1, n + 1)]
    assert sum(f.valid for f in manifest.files.values()) == manifest.totals.events
    text = (tmp_path / "police_municipale_main_courante_2016.csv").read_bytes().decode("cp1252")
    ids = [r[0] for r in csv.reader(io.StringIO(text), delimiter=";")][1:]
    duplicates = len(
        manifest.files["police_municipale_main_courante_2016.csv"].rejections["duplicate_id"]
    )
    assert len([i for i in ids if i]) - len(set(i for i in ids if i)) == duplicates
    prefixes = {i.split("-")[2] for i in ids if i.count("-") == 3}
    assert prefixes == {f"{k:03d}" for k in range(1, n + 1)}
