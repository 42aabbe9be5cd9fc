"""Tests of the synthetic data generator: formats, determinism, dirty rows, planted truth."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geotranquil.geography.reference import Geography, load_geography
from geotranquil.synth import (
    CATEGORIES,
    CSU_CODES,
    HABITANTS_CATEGORIES,
    POLICE_HEADER,
    POLICE_NATURES,
    SERVICES_TYPES,
    SOURCE_REASONS,
    SOURCES,
    Manifest,
    generate,
    generate_points,
    house_numbers,
    local_fields,
    street_network,
    utc_strings,
)
from geotranquil.synth.cameras import camera_count, short_street_name
from geotranquil.synth.timegrid import add_months
from geotranquil.taxonomy import load_taxonomy
from tests.conftest import official_dir_or_skip

PARIS = ZoneInfo("Europe/Paris")
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)
TO_L93 = Transformer.from_crs(4326, 2154, always_xy=True)

SMALL_SEED = 7
SMALL_SCALE = 0.05
SMALL_START = date(2025, 2, 1)  # three months spanning the change to summer time on 30 March


# ------------------------------------------------------------------------------------------
# A reference reader of the four silos, written independently of the generator.
# ------------------------------------------------------------------------------------------


class Parsed:
    """The files of one generated directory, read back and classified record by record."""

    def __init__(self, directory: Path, geography: Geography) -> None:
        self.dir = directory
        self.geography = geography
        self.commune = geography.commune
        shapely.prepare(self.commune)
        self.manifest = Manifest.load(directory)
        self.cameras = pd.read_csv(directory / "csu_cameras.csv", dtype={"camera_id": str})
        self.camera_pos = {
            r.camera_id: (r.lon, r.lat) for r in self.cameras.itertuples(index=False)
        }
        self.camera_installed = dict(
            zip(self.cameras["camera_id"], self.cameras["installed_on"], strict=True)
        )
        # source -> list of (reason or None, record); valid records carry parsed values
        self.records: dict[str, list[tuple[str | None, dict[str, Any]]]] = {
            "police_municipale": self._police(),
            "csu": self._csu(),
            "services_espace_public": self._services(),
            "habitants": self._habitants(),
        }

    def inside(self, lon: float, lat: float) -> bool:
        return bool(shapely.contains_xy(self.commune, lon, lat))

    @staticmethod
    def _number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    def _police(self) -> list[tuple[str | None, dict[str, Any]]]:
        text = (self.dir / "police_municipale_main_courante.csv").read_bytes().decode("cp1252")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert tuple(rows[0]) == POLICE_HEADER
        seen: set[str] = set()
        out: list[tuple[str | None, dict[str, Any]]] = []
        for row in rows[1:]:
            reason: str | None = None
            rec: dict[str, Any] = {}
            if len(row) != len(POLICE_HEADER):
                reason = "malformed_row"
            else:
                rec = dict(zip(POLICE_HEADER, row, strict=True))
                rid = rec["N° main courante"]
                if not rid:
                    reason = "missing_id"
                elif rid in seen:
                    reason = "duplicate_id"
                elif not rec["Date des faits"]:
                    reason = "missing_date"
                else:
                    try:
                        naive = datetime.strptime(
                            f"{rec['Date des faits']} {rec['Heure des faits']}", "%d/%m/%Y %H:%M"
                        )
                        rec["local"] = naive
                    except ValueError:
                        reason = "invalid_date"
                if reason is None and rec["Nature des faits"] not in POLICE_NATURES:
                    reason = "unknown_category"
                if reason is None and not rec["Libellé voie"] and not rec["Code postal"]:
                    reason = "missing_location"
                if rid:
                    seen.add(rid)
                if reason is None:
                    rec["category"] = POLICE_NATURES[rec["Nature des faits"]]
            out.append((reason, rec))
        return out

    def _csu(self) -> list[tuple[str | None, dict[str, Any]]]:
        inside_cams = {c for c, (lo, la) in self.camera_pos.items() if self.inside(lo, la)}
        seen: set[str] = set()
        out: list[tuple[str | None, dict[str, Any]]] = []
        text = (self.dir / "csu_alertes.jsonl").read_text(encoding="utf-8")
        assert text.endswith("\n")
        for line in text.splitlines():
            reason: str | None = None
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                out.append(("malformed_row", {}))
                continue
            rid = rec.get("alert_id")
            if not rid:
                reason = "missing_id"
            elif rid in seen:
                reason = "duplicate_id"
            elif not rec.get("detected_at"):
                reason = "missing_date"
            else:
                try:
                    rec["utc"] = datetime.strptime(
                        rec["detected_at"], "%Y-%m-%dT%H:%M:%SZ"
                    ).replace(tzinfo=ZoneInfo("UTC"))
                except ValueError:
                    reason = "invalid_date"
            if reason is None and rec.get("event_code") not in CSU_CODES:
                reason = "unknown_category"
            if reason is None and rec.get("camera_id") not in self.camera_pos:
                reason = "unknown_camera"
            if reason is None and rec["camera_id"] not in inside_cams:
                reason = "outside_study_area"
            if rid:
                seen.add(rid)
            if reason is None:
                rec["category"] = CSU_CODES[rec["event_code"]]
                rec["lon"], rec["lat"] = self.camera_pos[rec["camera_id"]]
            out.append((reason, rec))
        return out

    def _services(self) -> list[tuple[str | None, dict[str, Any]]]:
        data = json.loads((self.dir / "services_espace_public.geojson").read_text("utf-8"))
        assert data["type"] == "FeatureCollection"
        assert data["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
        seen: set[str] = set()
        out: list[tuple[str | None, dict[str, Any]]] = []
        for feat in data["features"]:
            props = feat["properties"]
            rec = dict(props)
            reason: str | None = None
            rid = props.get("id_intervention")
            coords = feat["geometry"]["coordinates"]
            if not rid:
                reason = "missing_id"
            elif rid in seen:
                reason = "duplicate_id"
            elif not props.get("date_constat"):
                reason = "missing_date"
            else:
                try:
                    rec["local"] = datetime.strptime(props["date_constat"], "%Y-%m-%dT%H:%M:%S")
                except ValueError:
                    reason = "invalid_date"
            if reason is None and props.get("type_signalement") not in SERVICES_TYPES:
                reason = "unknown_category"
            if reason is None and not all(self._number(c) for c in coords):
                reason = "invalid_coordinates"
            if reason is None:
                lon, lat = TO_WGS84.transform(coords[0], coords[1])
                rec["lon"], rec["lat"], rec["x"], rec["y"] = lon, lat, coords[0], coords[1]
                if not self.inside(lon, lat):
                    reason = "outside_study_area"
            if rid:
                seen.add(rid)
            if reason is None:
                rec["category"] = SERVICES_TYPES[props["type_signalement"]]
            out.append((reason, rec))
        return out

    def _habitants(self) -> list[tuple[str | None, dict[str, Any]]]:
        data = json.loads((self.dir / "signalements_habitants.json").read_text("utf-8"))
        assert isinstance(data, list)
        seen: set[int] = set()
        out: list[tuple[str | None, dict[str, Any]]] = []
        for rec in data:
            reason: str | None = None
            rid = rec.get("report_id")
            if rid is None or rid == "":
                reason = "missing_id"
            elif rid in seen:
                reason = "duplicate_id"
            elif not rec.get("created"):
                reason = "missing_date"
            else:
                try:
                    rec["aware"] = datetime.fromisoformat(rec["created"])
                    assert rec["aware"].tzinfo is not None
                except ValueError:
                    reason = "invalid_date"
            if reason is None and rec.get("category") not in HABITANTS_CATEGORIES:
                reason = "unknown_category"
            if reason is None and "location" not in rec:
                reason = "missing_location"
            if reason is None:
                loc = rec["location"]
                if not (self._number(loc.get("lat")) and self._number(loc.get("lon"))):
                    reason = "invalid_coordinates"
                elif not self.inside(loc["lon"], loc["lat"]):
                    reason = "outside_study_area"
                else:
                    rec["lon"], rec["lat"] = loc["lon"], loc["lat"]
            if rid is not None and rid != "":
                seen.add(rid)
            if reason is None:
                rec["category"] = HABITANTS_CATEGORIES[rec["category"]]
            out.append((reason, rec))
        return out

    def rejections(self, source: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, (reason, _) in enumerate(self.records[source], start=1):
            if reason is not None:
                out.setdefault(reason, []).append(i)
        return out

    def valid(self, source: str) -> list[dict[str, Any]]:
        return [rec for reason, rec in self.records[source] if reason is None]

    def located(self) -> pd.DataFrame:
        """Every valid event with a position (police from the truth file) and its UTC time."""
        truth = pd.read_csv(self.dir / "police_truth.csv", dtype={"id": str})
        rows: list[tuple[str, str, float, float, pd.Timestamp]] = []
        by_id = truth.set_index("id")
        for rec in self.valid("police_municipale"):
            t = by_id.loc[rec["N° main courante"]]
            rows.append(
                (
                    "police_municipale",
                    rec["category"],
                    float(t.lon),
                    float(t.lat),
                    pd.Timestamp(t.occurred_at),
                )
            )
        for rec in self.valid("csu"):
            rows.append(("csu", rec["category"], rec["lon"], rec["lat"], pd.Timestamp(rec["utc"])))
        for rec in self.valid("services_espace_public"):
            aware = pd.Timestamp(rec["local"]).tz_localize(PARIS, ambiguous=True)
            rows.append(
                (
                    "services_espace_public",
                    rec["category"],
                    rec["lon"],
                    rec["lat"],
                    aware.tz_convert("UTC"),
                )
            )
        for rec in self.valid("habitants"):
            rows.append(
                (
                    "habitants",
                    rec["category"],
                    rec["lon"],
                    rec["lat"],
                    pd.Timestamp(rec["aware"]).tz_convert("UTC"),
                )
            )
        frame = pd.DataFrame(rows, columns=["source", "category", "lon", "lat", "t"])
        frame["t"] = pd.to_datetime(frame["t"], utc=True)
        x, y = TO_L93.transform(frame["lon"].to_numpy(), frame["lat"].to_numpy())
        frame["x"], frame["y"] = x, y
        return frame


# ------------------------------------------------------------------------------------------
# Fixtures.
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtin() -> Geography:
    return load_geography(None)


@pytest.fixture(scope="module")
def small(builtin: Geography, tmp_path_factory: pytest.TempPathFactory) -> Parsed:
    out = tmp_path_factory.mktemp("small")
    generate(builtin, out, months=3, scale=SMALL_SCALE, seed=SMALL_SEED, start=SMALL_START)
    return Parsed(out, builtin)


@pytest.fixture(scope="module")
def medium(builtin: Geography, tmp_path_factory: pytest.TempPathFactory) -> Parsed:
    out = tmp_path_factory.mktemp("medium")
    generate(builtin, out, months=24, scale=0.5, seed=11)
    return Parsed(out, builtin)


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> Parsed:
    # beside the checkout: a missing folder skips outside CI and fails in CI
    geography = load_geography(official_dir_or_skip())
    out = tmp_path_factory.mktemp("official")
    generate(geography, out, months=4, scale=0.1, seed=5, start=date(2025, 9, 1))
    return Parsed(out, geography)


SILO_FILES = (
    "police_municipale_main_courante.csv",
    "csu_alertes.jsonl",
    "csu_cameras.csv",
    "services_espace_public.geojson",
    "signalements_habitants.json",
    "manifest.json",
    "police_truth.csv",
)


# ------------------------------------------------------------------------------------------
# Determinism and formats.
# ------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_differs(builtin: Geography, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(builtin, a, months=2, scale=0.05, seed=3)
    generate(builtin, b, months=2, scale=0.05, seed=3)
    generate(builtin, c, months=2, scale=0.05, seed=4)
    for name in SILO_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in SILO_FILES[:5]:
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_overwrites_existing_directory(builtin: Geography, tmp_path: Path) -> None:
    generate(builtin, tmp_path, months=1, scale=0.05, seed=1)
    first = (tmp_path / "manifest.json").read_bytes()
    generate(builtin, tmp_path, months=1, scale=0.05, seed=2)
    assert (tmp_path / "manifest.json").read_bytes() != first
    assert Manifest.load(tmp_path).seed == 2


def test_police_file_is_cp1252_semicolon_with_exact_header(small: Parsed) -> None:
    raw = (small.dir / "police_municipale_main_courante.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # "°" and accents are single cp1252 bytes
    first = raw.split(b"\r\n", 1)[0].decode("cp1252")
    assert first == (
        "N° main courante;Date des faits;Heure des faits;Nature des faits;N° voie;Indice;"
        "Libellé voie;Code postal;Commune;Suite donnée"
    )
    valid = small.valid("police_municipale")
    assert valid
    for rec in valid:
        assert rec["Commune"] == "Marseille"
        assert rec["Code postal"] in {f"130{i:02d}" for i in range(1, 17)}
        assert rec["N° voie"] == "" or rec["N° voie"].isdigit()
        assert rec["Indice"] in {"", "bis", "ter"}
        assert rec["Suite donnée"] in {
            "Verbalisation",
            "Rappel à la loi",
            "Interpellation",
            "Sans suite",
            "Orientation vers service compétent",
        }
        assert rec["N° main courante"].startswith("MC-20")
        assert len(rec["Heure des faits"]) == 5


def test_csu_and_camera_files(small: Parsed) -> None:
    header = (small.dir / "csu_cameras.csv").read_text("utf-8").splitlines()[0]
    assert header == "camera_id,lon,lat,label,installed_on"
    cams = small.cameras
    m = small.manifest
    assert len(cams) == m.cameras.count == camera_count(SMALL_SCALE)
    assert m.cameras.count >= 40
    assert cams["camera_id"].is_unique
    outside = [c for c, (lo, la) in small.camera_pos.items() if not small.inside(lo, la)]
    assert outside == [m.cameras.outside_camera_id]
    for rec in small.valid("csu"):
        assert set(rec) >= {
            "alert_id",
            "camera_id",
            "event_code",
            "detected_at",
            "operator_confirmed",
            "severity",
        }
        assert isinstance(rec["operator_confirmed"], bool)
        assert rec["severity"] in (1, 2, 3)
        assert rec["detected_at"].endswith("Z")
        installed = date.fromisoformat(small.camera_installed[rec["camera_id"]])
        assert rec["utc"].astimezone(PARIS).date() >= installed


def test_services_geojson_is_lambert93(small: Parsed) -> None:
    for rec in small.valid("services_espace_public"):
        assert 800_000 < rec["x"] < 950_000 and 6_200_000 < rec["y"] < 6_300_000
        assert round(rec["x"], 1) == rec["x"]
        assert rec["service"] in {"Propreté", "Éclairage public", "Voirie"}
        assert rec["statut"] in {"ouvert", "en cours", "clos"}
        prefix = {"Propreté": "PROP", "Éclairage public": "ECL", "Voirie": "VOI"}[rec["service"]]
        assert rec["id_intervention"].startswith(prefix + "-")


def test_habitants_json(small: Parsed) -> None:
    valid = small.valid("habitants")
    assert valid
    for rec in valid:
        assert isinstance(rec["report_id"], int)
        assert rec["description"] and "{" not in rec["description"]
        assert round(rec["lat"], 6) == rec["lat"]
        offset = rec["aware"].utcoffset()
        assert offset in (timedelta(hours=1), timedelta(hours=2))
        assert rec["aware"].astimezone(PARIS).utcoffset() == offset


def test_rows_are_chronological_except_dirty(small: Parsed) -> None:
    police = [r["local"] for r in small.valid("police_municipale")]
    assert police == sorted(police)
    csu = [r["utc"] for r in small.valid("csu")]
    assert csu == sorted(csu)
    hab = [r["aware"] for r in small.valid("habitants")]
    assert hab == sorted(hab)


# ------------------------------------------------------------------------------------------
# Counts and dirty rows.
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_counts_and_dirty_rows_match_manifest(small: Parsed, source: str) -> None:
    entry = small.manifest.files[source]
    records = small.records[source]
    assert entry.source == source
    assert entry.rows == len(records)
    assert entry.valid == len(small.valid(source))
    assert entry.rows - entry.valid == entry.rejected
    # each applicable reason occurs at least once, and only applicable ones
    assert set(entry.rejections) == set(SOURCE_REASONS[source])
    # the reference reader finds exactly the planted defects, at the stated positions
    assert small.rejections(source) == entry.rejections
    counts = Counter(rec["category"] for rec in small.valid(source))
    assert {c: counts.get(c, 0) for c in CATEGORIES} == entry.categories
    assert entry.unlocated == (entry.valid if source == "police_municipale" else 0)


def test_duplicates_repeat_an_earlier_valid_row(small: Parsed) -> None:
    rows = small.records["police_municipale"]
    for pos in small.manifest.files["police_municipale"].rejections["duplicate_id"]:
        rec = rows[pos - 1][1]
        earlier = [r for reason, r in rows[: pos - 1] if reason is None]
        assert any(r["N° main courante"] == rec["N° main courante"] for r in earlier)


def test_dirty_share_is_small_at_scale(medium: Parsed) -> None:
    for source in SOURCES:
        entry = medium.manifest.files[source]
        if entry.valid > 5000:
            assert 0.001 <= entry.rejected / entry.rows <= 0.003, source


def test_totals(small: Parsed) -> None:
    t = small.manifest.totals
    assert t.events == sum(f.valid for f in small.manifest.files.values())
    assert t.events == t.background + t.planted + t.offspring
    assert t.rows == sum(f.rows for f in small.manifest.files.values())
    assert sum(t.categories.values()) == t.events
    assert 200 <= t.events <= 800


def test_manifest_round_trip(small: Parsed) -> None:
    text = (small.dir / "manifest.json").read_text("utf-8")
    assert Manifest.load(small.dir / "manifest.json").to_json() == text
    m = small.manifest
    assert (m.start, m.end, m.months, m.seed) == ("2025-02-01", "2025-05-01", 3, 7)
    assert m.geography == "builtin"


# ------------------------------------------------------------------------------------------
# Places and times.
# ------------------------------------------------------------------------------------------


def test_located_events_inside_commune(small: Parsed) -> None:
    frame = small.located()
    assert len(frame) == small.manifest.totals.events
    assert shapely.contains_xy(small.commune, frame["lon"], frame["lat"]).all()


def _arrondissement_postcodes(geography: Geography, lon: np.ndarray, lat: np.ndarray) -> list[str]:
    arr = geography.arrondissements
    out = []
    for x, y in zip(lon, lat, strict=True):
        hit = [
            pc
            for pc, g in zip(arr["postcode"], arr.geometry, strict=True)
            if g.contains(shapely.Point(x, y))
        ]
        if not hit:
            d = [g.distance(shapely.Point(x, y)) for g in arr.geometry]
            hit = [arr["postcode"].iloc[int(np.argmin(d))]]
        out.append(hit[0])
    return out


def _check_postcodes(parsed: Parsed, seed: int) -> None:
    truth = pd.read_csv(parsed.dir / "police_truth.csv", dtype={"id": str}).set_index("id")
    valid = parsed.valid("police_municipale")
    assert len(truth) == len(valid)
    ids = [r["N° main courante"] for r in valid]
    expected = _arrondissement_postcodes(
        parsed.geography, truth.loc[ids, "lon"].to_numpy(), truth.loc[ids, "lat"].to_numpy()
    )
    assert [r["Code postal"] for r in valid] == expected
    net = street_network(parsed.geography, seed)
    streets = set(zip(net["name"], net["postcode"], strict=True))
    max_no = dict(
        zip(zip(net["name"], net["postcode"], strict=True), net["max_number"], strict=True)
    )
    for rec in valid:
        key = (rec["Libellé voie"], rec["Code postal"])
        assert key in streets
        if rec["N° voie"]:
            assert 1 <= int(rec["N° voie"]) <= max_no[key]


def test_postcodes_match_true_arrondissement(small: Parsed) -> None:
    _check_postcodes(small, SMALL_SEED)


def test_police_local_time_matches_truth_instant(small: Parsed) -> None:
    truth = pd.read_csv(small.dir / "police_truth.csv", dtype={"id": str}).set_index("id")
    crossed = set()
    for rec in small.valid("police_municipale"):
        utc = datetime.fromisoformat(truth.loc[rec["N° main courante"], "occurred_at"])
        local = utc.astimezone(PARIS)
        assert rec["Date des faits"] == local.strftime("%d/%m/%Y")
        assert rec["Heure des faits"] == local.strftime("%H:%M")
        crossed.add(local.utcoffset())
    assert crossed == {timedelta(hours=1), timedelta(hours=2)}  # the period spans 30 March


def test_local_and_utc_formatting_across_dst() -> None:
    instants = [
        datetime(2025, 3, 30, 0, 59, 59, tzinfo=ZoneInfo("UTC")),  # 01:59:59 CET
        datetime(2025, 3, 30, 1, 0, 0, tzinfo=ZoneInfo("UTC")),  # 03:00:00 CEST
        datetime(2025, 10, 26, 0, 30, 0, tzinfo=ZoneInfo("UTC")),  # 02:30 CEST
        datetime(2025, 10, 26, 1, 30, 0, tzinfo=ZoneInfo("UTC")),  # 02:30 CET (again)
    ]
    t = np.array([int(i.timestamp()) for i in instants])
    text, offset = local_fields(t)
    assert text.tolist() == [
        "2025-03-30T01:59:59",
        "2025-03-30T03:00:00",
        "2025-10-26T02:30:00",
        "2025-10-26T02:30:00",
    ]
    assert offset.tolist() == [3600, 7200, 7200, 3600]
    assert utc_strings(t).tolist() == [i.strftime("%Y-%m-%dT%H:%M:%SZ") for i in instants]
    for i, txt in zip(instants, text, strict=True):
        assert i.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S") == txt


def test_csu_and_habitants_instants_consistent(small: Parsed) -> None:
    for rec in small.valid("habitants"):
        aware = rec["aware"]
        assert aware.utcoffset() == aware.astimezone(PARIS).utcoffset()
    for rec in small.valid("csu"):
        assert rec["utc"].utcoffset() == timedelta(0)


# ------------------------------------------------------------------------------------------
# Realism and planted truth.
# ------------------------------------------------------------------------------------------


def _disk_counts(
    frame: pd.DataFrame, lon: float, lat: float, radius: float, categories: list[str]
) -> pd.DataFrame:
    x0, y0 = TO_L93.transform(lon, lat)
    d = np.hypot(frame["x"] - x0, frame["y"] - y0)
    return frame[(d <= radius) & frame["category"].isin(categories)]


def test_planted_items_have_their_excess(medium: Parsed) -> None:
    frame = medium.located()
    m = medium.manifest
    controls = [p for p in m.planted if p.kind == "control"]
    assert len(controls) == 3
    assert [p.kind for p in m.planted].count("persistent") == 3
    start = pd.Timestamp(m.start, tz=PARIS)
    end = pd.Timestamp(m.end, tz=PARIS)
    for item in m.planted:
        if item.kind == "control":
            continue
        area = math.pi * item.radius_m**2
        hits = _disk_counts(frame, item.center_lon, item.center_lat, item.radius_m, item.categories)
        p0 = pd.Timestamp(item.start, tz=PARIS)
        p1 = pd.Timestamp(item.end, tz=PARIS)
        within = hits[(hits["t"] >= p0) & (hits["t"] < p1)]
        days_in = (p1 - p0).days
        density = len(within) / area / days_in
        control_density = np.mean(
            [
                len(_disk_counts(frame, c.center_lon, c.center_lat, c.radius_m, item.categories))
                / (math.pi * c.radius_m**2)
                / (end - start).days
                for c in controls
            ]
        )
        assert density >= 3 * control_density, item.name
        assert item.multiplier >= 4, item.name
        if item.kind in ("emerging", "fading"):
            outside = hits[(hits["t"] < p0) | (hits["t"] >= p1)]
            days_out = (end - start).days - days_in
            rate_in = len(within) / days_in
            rate_out = len(outside) / days_out
            assert rate_out < rate_in / 3, item.name
    emerging = next(p for p in m.planted if p.kind == "emerging")
    assert (emerging.start, emerging.end) == (
        add_months(date.fromisoformat(m.start), 20).isoformat(),
        m.end,
    )
    fading = next(p for p in m.planted if p.kind == "fading")
    assert (fading.start, fading.end) == (
        m.start,
        add_months(date.fromisoformat(m.start), 12).isoformat(),
    )


def test_planted_items_placement(medium: Parsed) -> None:
    m = medium.manifest
    commune_l93 = shapely.transform(
        medium.commune, lambda c: np.column_stack(TO_L93.transform(c[:, 0], c[:, 1]))
    )
    pts = []
    for item in m.planted:
        x, y = TO_L93.transform(item.center_lon, item.center_lat)
        p = shapely.Point(x, y)
        assert commune_l93.contains(p) and commune_l93.boundary.distance(p) >= 500, item.name
        pts.append((x, y))
        assert item.h3_res9, item.name
        for cell in item.h3_res9:
            lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
            cx, cy = TO_L93.transform(lon, lat)
            assert math.hypot(cx - x, cy - y) <= item.radius_m
            assert h3.get_resolution(h3.int_to_str(cell)) == 9
        assert item.start < item.end
    for i, a in enumerate(pts):
        for b in pts[i + 1 :]:
            assert math.dist(a, b) > 1500


def test_weekend_nights_are_noisier(medium: Parsed) -> None:
    frame = medium.located()
    noise = frame[frame["category"] == "nuisance_sonore"]
    local = noise["t"].dt.tz_convert(PARIS)
    dow, hour = local.dt.day_of_week, local.dt.hour
    weekend_night = (((dow == 4) | (dow == 5)) & (hour >= 20)) | (
        ((dow == 5) | (dow == 6)) & (hour < 4)
    )
    weekday_day = (dow < 5) & (hour >= 8) & (hour < 18)
    per_hour_night = weekend_night.sum() / (2 * 8)  # hour slots a week
    per_hour_day = weekday_day.sum() / (5 * 10)
    assert per_hour_night > 4 * per_hour_day
    # fights mostly at night; lighting failures more in winter; thefts by day
    fights = frame[frame["category"] == "rixe_violence"]["t"].dt.tz_convert(PARIS).dt.hour
    assert ((fights >= 20) | (fights < 4)).mean() > 0.5
    thefts = frame[frame["category"] == "vol"]["t"].dt.tz_convert(PARIS).dt.hour
    assert ((thefts >= 8) & (thefts < 20)).mean() > 0.6
    light = frame[frame["category"] == "eclairage_defaillant"]["t"].dt.tz_convert(PARIS).dt.month
    assert light.isin([11, 12, 1]).sum() > 1.3 * light.isin([5, 6, 7]).sum()


def test_rodeos_in_the_north(medium: Parsed) -> None:
    frame = medium.located()
    rodeo = frame[frame["category"] == "rodeo_urbain"]
    postcodes = _arrondissement_postcodes(
        medium.geography, rodeo["lon"].to_numpy(), rodeo["lat"].to_numpy()
    )
    north = np.isin(postcodes, ["13013", "13014", "13015", "13016"]).mean()
    assert north > 0.7


def test_scale_is_linear(builtin: Geography, tmp_path: Path) -> None:
    a = generate(builtin, tmp_path / "a", months=6, scale=0.1, seed=2).totals.events
    b = generate(builtin, tmp_path / "b", months=6, scale=0.3, seed=2).totals.events
    assert 2.5 < b / a < 3.5


def test_full_scale_size_is_in_range(medium: Parsed) -> None:
    # medium is scale 0.5 over 24 months: scale 1 gives 60,000 to 80,000 events
    assert 60_000 <= medium.manifest.totals.events / 0.5 <= 80_000


# ------------------------------------------------------------------------------------------
# Streets, cameras, points, official geography.
# ------------------------------------------------------------------------------------------


def test_street_network(builtin: Geography) -> None:
    net = street_network(builtin, seed=7)
    assert set(net.columns) >= {"name", "postcode", "arrondissement_code", "geometry", "max_number"}
    assert net["name"].is_unique
    sizes = net.groupby("arrondissement_code").size()
    assert len(sizes) == 16 and sizes.between(10, 25).all()
    lengths = net.to_crs(2154).geometry.length
    assert lengths.between(199.0, 1501.0).all()
    assert net.geometry.apply(lambda g: 2 <= len(g.coords) <= 5).all()
    arr = builtin.arrondissements.set_index("code")
    for code, geom in zip(net["arrondissement_code"], net.geometry, strict=True):
        assert arr.loc[code, "geometry"].contains(geom)
    assert {"La Canebière", "Rue de Rome"} <= set(net["name"])
    numbers = house_numbers(net.head(5))
    assert (
        numbers.groupby("street_id")["number"].max().to_numpy()
        == net.head(5)["max_number"].to_numpy()
    ).all()


def test_categories_are_the_taxonomy() -> None:
    assert [c.code for c in load_taxonomy()] == list(CATEGORIES)
    assert set(CSU_CODES.values()) | set(HABITANTS_CATEGORIES.values()) | set(
        POLICE_NATURES.values()
    ) | set(SERVICES_TYPES.values()) == set(CATEGORIES)


def test_short_street_names() -> None:
    assert short_street_name("Boulevard de la Libération") == "Libération"
    assert short_street_name("Rue d'Aubagne") == "Aubagne"
    assert short_street_name("Traverse de la Martine") == "Martine"


def test_generate_points_200k(builtin: Geography) -> None:
    pts = generate_points(200_000, seed=1, geography=builtin, start=date(2024, 11, 1), months=24)
    assert list(pts.columns) == ["event_id", "occurred_at", "category", "lon", "lat"]
    assert len(pts) == 200_000
    assert pts["event_id"].is_unique and isinstance(pts["event_id"].iloc[0], str)
    assert str(pts["occurred_at"].dt.tz) == "Europe/Paris"
    assert pts["occurred_at"].is_monotonic_increasing
    assert pts["occurred_at"].min() >= pd.Timestamp("2024-11-01", tz=PARIS)
    assert pts["occurred_at"].max() < pd.Timestamp("2026-11-01", tz=PARIS)
    assert set(pts["category"]) == set(CATEGORIES)
    assert shapely.contains_xy(builtin.commune, pts["lon"], pts["lat"]).all()
    again = generate_points(1000, seed=1, geography=builtin, months=2)
    assert again.equals(generate_points(1000, seed=1, geography=builtin, months=2))


def test_invalid_arguments(builtin: Geography, tmp_path: Path) -> None:
    from geotranquil.errors import InvalidInput

    with pytest.raises(InvalidInput):
        generate(builtin, tmp_path, months=0)
    with pytest.raises(InvalidInput):
        generate(builtin, tmp_path, scale=0)


def test_official_geography(official: Parsed) -> None:
    m = official.manifest
    assert m.geography.startswith("official:")
    for source in SOURCES:
        assert official.rejections(source) == m.files[source].rejections, source
        assert m.files[source].valid == len(official.valid(source))
    frame = official.located()
    assert shapely.contains_xy(official.commune, frame["lon"], frame["lat"]).all()
    _check_postcodes(official, 5)
