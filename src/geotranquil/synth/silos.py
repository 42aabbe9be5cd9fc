"""The four silo files, each in its native format and vocabulary, with planted dirty rows.

Every event goes to exactly one silo (by category, with realistic shares; the CSU only sees
events within :data:`~geotranquil.synth.cameras.CAMERA_RANGE_M` of an installed camera). A
silo is written in three steps: plan where the dirty rows go, format all rows with vectorised
string operations, then spoil the dirty rows one by one (each with exactly one defect).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geotranquil.synth import vocab
from geotranquil.synth.area import FloatArray, IntArray, StudyArea, to_l93
from geotranquil.synth.cameras import CAMERA_RANGE_M, Cameras
from geotranquil.synth.streets import Addresser, Street
from geotranquil.synth.timegrid import local_fields, offset_strings, utc_strings

#: Dirty rows of each applicable reason, as a share of a file's valid rows (at least one).
DIRTY_RATE: Final = 0.0003
#: Templates of a dirty row are drawn among this many preceding valid rows.
TEMPLATE_WINDOW: Final = 50

#: Probability that an event seen by a camera is handled by the CSU, per category.
CSU_SHARE: Final[dict[str, float]] = {
    "rixe_violence": 0.7,
    "trafic_stupefiants": 0.5,
    "occupation_illicite": 0.4,
    "rodeo_urbain": 0.6,
    "degradation_bien_public": 0.3,
    "tag_graffiti": 0.3,
    "depot_sauvage": 0.2,
    "vol": 0.5,
    "stationnement_genant": 0.15,
}
#: Shares of the other silos (police, services, residents) for events not handled by the CSU.
SILO_SHARES: Final[dict[str, tuple[float, float, float]]] = {
    "nuisance_sonore": (0.45, 0.0, 0.55),
    "rixe_violence": (1.0, 0.0, 0.0),
    "vol": (1.0, 0.0, 0.0),
    "trafic_stupefiants": (1.0, 0.0, 0.0),
    "occupation_illicite": (0.6, 0.0, 0.4),
    "rodeo_urbain": (0.5, 0.0, 0.5),
    "stationnement_genant": (0.7, 0.0, 0.3),
    "degradation_bien_public": (0.3, 0.45, 0.25),
    "tag_graffiti": (0.0, 0.6, 0.4),
    "depot_sauvage": (0.0, 0.65, 0.35),
    "eclairage_defaillant": (0.0, 0.75, 0.25),
    "voirie_degradee": (0.0, 0.7, 0.3),
}
SILO_POLICE, SILO_CSU, SILO_SERVICES, SILO_HABITANTS = 0, 1, 2, 3

SUITES: Final = (
    "Verbalisation",
    "Rappel à la loi",
    "Interpellation",
    "Sans suite",
    "Orientation vers service compétent",
)
SUITE_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "rixe_violence": (0.05, 0.2, 0.35, 0.25, 0.15),
    "trafic_stupefiants": (0.0, 0.0, 0.4, 0.3, 0.3),
    "nuisance_sonore": (0.25, 0.45, 0.0, 0.25, 0.05),
    "stationnement_genant": (0.75, 0.15, 0.0, 0.1, 0.0),
    "vol": (0.0, 0.0, 0.25, 0.45, 0.3),
    "rodeo_urbain": (0.3, 0.1, 0.2, 0.4, 0.0),
}
DEFAULT_SUITE: Final = (0.2, 0.3, 0.05, 0.3, 0.15)

CSU_SEVERITY: Final[dict[str, tuple[float, float, float]]] = {
    "FIGHT": (0.0, 0.5, 0.5),
    "DRUG_DEALING": (0.1, 0.8, 0.1),
    "ILLEGAL_GATHERING": (0.6, 0.4, 0.0),
    "URBAN_RODEO": (0.1, 0.5, 0.4),
    "VANDALISM": (0.5, 0.5, 0.0),
    "GRAFFITI": (1.0, 0.0, 0.0),
    "ILLEGAL_DUMPING": (0.9, 0.1, 0.0),
    "THEFT": (0.2, 0.7, 0.1),
    "OBSTRUCTIVE_PARKING": (1.0, 0.0, 0.0),
}

DESCRIPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "bruit": (
        "Musique forte depuis {h}h",
        "Fête bruyante dans l'immeuble d'en face",
        "Cris et éclats de voix dans la rue",
        "Bar qui diffuse de la musique très fort",
        "Aboiements incessants",
        "Scooters qui tournent dans le quartier",
        "Bruit de travaux en pleine nuit",
        "Voisins très bruyants après {h}h",
    ),
    "dechets": (
        "Dépôt d'encombrants sur le trottoir",
        "Sacs poubelles éventrés",
        "Matelas abandonné au pied de l'immeuble",
        "Gravats déposés au bord de la route",
        "Conteneurs qui débordent depuis plusieurs jours",
        "Frigo abandonné devant l'école",
    ),
    "eclairage": (
        "Lampadaire éteint depuis plusieurs jours",
        "La rue est plongée dans le noir",
        "Éclairage qui clignote",
        "Plusieurs candélabres en panne",
        "Plus de lumière dans l'impasse depuis {h}h",
    ),
    "voirie": (
        "Nid de poule dangereux",
        "Trottoir défoncé",
        "Plaque d'égout descellée",
        "Chaussée affaissée",
        "Dalles du trottoir soulevées",
    ),
    "tag": (
        "Tags sur la façade",
        "Graffitis sur le mur de l'école",
        "Inscriptions sur l'abribus",
        "Tag injurieux sur un portail",
    ),
    "stationnement": (
        "Voiture garée sur le passage piéton",
        "Véhicule ventouse depuis des semaines",
        "Stationnement en double file permanent",
        "Camion garé sur le trottoir",
        "Voiture qui bloque la sortie de garage",
    ),
    "mobilier_urbain": (
        "Banc cassé",
        "Abribus vandalisé",
        "Poubelle publique arrachée",
        "Barrières arrachées",
        "Panneau de signalisation tordu",
    ),
    "rassemblement": (
        "Groupe bruyant en bas de l'immeuble",
        "Rassemblement tous les soirs dans le hall",
        "Regroupement sur la place jusqu'à {h}h",
        "Squat du parc à la nuit tombée",
    ),
    "rodeo": (
        "Rodéo de motos dans la cité",
        "Motos qui font des roues arrière",
        "Quads qui tournent sur le parking",
        "Rodéo urbain depuis {h}h",
    ),
}


def _reverse(mapping: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for native, canonical in mapping.items():
        out.setdefault(canonical, []).append(native)
    return out


@dataclass
class SiloEvents:
    """The events of one silo in chronological order (Lambert-93 and WGS84 positions)."""

    t: IntArray
    x: FloatArray
    y: FloatArray
    lon: FloatArray
    lat: FloatArray
    category: NDArray[np.int16]
    arr: IntArray
    cam: IntArray
    d_centre: FloatArray

    def __len__(self) -> int:
        return int(self.t.size)

    def take(self, idx: IntArray) -> SiloEvents:
        """Rows by index."""
        return SiloEvents(
            self.t[idx],
            self.x[idx],
            self.y[idx],
            self.lon[idx],
            self.lat[idx],
            self.category[idx],
            self.arr[idx],
            self.cam[idx],
            self.d_centre[idx],
        )

    def categories(self) -> list[str]:
        """Canonical category code of each event."""
        return [vocab.CATEGORIES[c] for c in self.category]


def assign_silos(
    category: NDArray[np.int16],
    cam_dist: FloatArray,
    rng: np.random.Generator,
) -> NDArray[np.int8]:
    """Silo of each event: the CSU if a camera sees it and handles it, else by category shares."""
    n = category.size
    csu_p = np.array([CSU_SHARE.get(c, 0.0) for c in vocab.CATEGORIES])
    shares = np.array([SILO_SHARES[c] for c in vocab.CATEGORIES])
    cum = np.cumsum(shares, axis=1)
    cum = cum / cum[:, -1:]
    u_csu = rng.random(n)
    u_other = rng.random(n)
    to_csu = (cam_dist <= CAMERA_RANGE_M) & (u_csu < csu_p[category])
    pick = (u_other[:, None] >= cum[category]).sum(axis=1)
    other = np.array([SILO_POLICE, SILO_SERVICES, SILO_HABITANTS])[np.minimum(pick, 2)]
    return np.where(to_csu, SILO_CSU, other).astype(np.int8)


@dataclass
class DirtyPlan:
    """Where the dirty rows go in the file, and which row each file row is made from."""

    rows: int
    positions: IntArray  # 0-based, sorted
    reasons: list[str]
    src: IntArray  # event index each row is made from
    t: IntArray  # instant each row is formatted with
    fresh: NDArray[np.bool_]  # whether the row gets a new id
    dup_of: dict[int, int] = field(default_factory=dict)  # row -> row it repeats

    def rejections(self) -> dict[str, list[int]]:
        """Reason -> sorted 1-based record numbers."""
        out: dict[str, list[int]] = {}
        for pos, reason in zip(self.positions, self.reasons, strict=True):
            out.setdefault(reason, []).append(int(pos) + 1)
        return {k: sorted(v) for k, v in sorted(out.items())}


def plan_dirty(t: IntArray, reasons: tuple[str, ...], rng: np.random.Generator) -> DirtyPlan:
    """Choose deterministic positions for the dirty rows among ``len(t)`` valid rows."""
    n = int(t.size)
    if n == 0:
        raise ValueError("a silo has no event: increase the scale or the number of months")
    k = max(1, round(n * DIRTY_RATE))
    kinds = [r for r in reasons for _ in range(k)]
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    d = len(kinds)
    total = n + d
    positions = np.sort(rng.choice(np.arange(1, total), size=d, replace=False))
    dirty = np.zeros(total, bool)
    dirty[positions] = True
    src = np.zeros(total, np.int64)
    src[~dirty] = np.arange(n)
    valid_before = np.cumsum(~dirty)  # valid rows at or before each row
    row_of_valid = np.flatnonzero(~dirty)
    times = np.zeros(total, np.int64)
    times[~dirty] = t
    fresh = np.ones(total, bool)
    dup_of: dict[int, int] = {}
    for pos, reason in zip(positions, kinds, strict=True):
        before = int(valid_before[pos])  # >= 1: row 0 is always valid
        if reason == vocab.DUPLICATE_ID:
            orig = int(rng.integers(0, before))
            src[pos] = orig
            times[pos] = t[orig]
            fresh[pos] = False
            dup_of[int(pos)] = int(row_of_valid[orig])
        else:
            lo = max(0, before - TEMPLATE_WINDOW)
            src[pos] = int(rng.integers(lo, before))
            times[pos] = t[before - 1]
    return DirtyPlan(total, positions.astype(np.int64), kinds, src, times, fresh, dup_of)


def _seq(keys: pd.Series, fresh: NDArray[np.bool_], width: int) -> pd.Series:
    """Per-key running numbers (1, 2, ...) for fresh rows, zero-padded; '' elsewhere."""
    out = pd.Series([""] * len(keys), dtype=object)
    k = keys[fresh]
    numbers = k.groupby(k, sort=False).cumcount() + 1
    out[fresh] = keys[fresh] + numbers.astype(str).str.zfill(width)
    return out


def _choose(
    rng: np.random.Generator, options: list[str], n: int, p: list[float] | None = None
) -> NDArray[np.str_]:
    if p is not None:
        w = np.asarray(p, dtype=float)
        return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=w / w.sum())]
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def _native(
    categories: NDArray[np.int16],
    mapping: dict[str, str],
    rng: np.random.Generator,
    weights: dict[str, list[float]] | None = None,
) -> NDArray[np.object_]:
    rev = _reverse(mapping)
    out = np.empty(categories.size, dtype=object)
    for code, natives in rev.items():
        idx = np.flatnonzero(categories == vocab.CATEGORY_INDEX[code])
        p = (weights or {}).get(code)
        out[idx] = _choose(rng, natives, idx.size, p)
    return out


def _q(values: pd.Series | NDArray[np.object_] | NDArray[np.str_] | list[str]) -> pd.Series:
    """JSON string literals (values never contain quotes or backslashes)."""
    s = pd.Series(values, dtype=object).astype(str)
    return '"' + s + '"'


def _fmt(fmt: str, values: FloatArray) -> pd.Series:
    return pd.Series(np.char.mod(fmt, values), dtype=object)


# --------------------------------------------------------------------------------------------
# Formatting of the rows of each silo (vectorised), and their single-row defects.
# --------------------------------------------------------------------------------------------


@dataclass
class SiloContext:
    """What the formatters need besides the events."""

    area: StudyArea
    streets: list[Street]
    addresser: Addresser
    cameras: Cameras
    t_end: int
    commune_name: str
    #: Inserted into the ids of a chunk of a data set written in chunks (unique ids overall).
    id_tag: str = ""
    #: First residents' report number (before the gaps).
    report_base: int = 80000
    #: Places outside the study area, for the rows planted outside it (name, lon, lat).
    far_places: tuple[tuple[str, float, float], ...] = vocab.FAR_PLACES


def police_fields(
    ev: SiloEvents, plan: DirtyPlan, ctx: SiloContext, rng: np.random.Generator
) -> pd.DataFrame:
    """Rows of the municipal police logbook (one string per field)."""
    n = len(ev)
    iso = pd.Series(local_fields(plan.t)[0], dtype=object)
    year = iso.str[0:4]
    ids = _seq("MC-" + year + "-" + ctx.id_tag, plan.fresh, 6)
    nature = _native(ev.category, vocab.POLICE_NATURES, rng)
    vol = np.flatnonzero(ev.category == vocab.CATEGORY_INDEX["vol"])
    p_arrache = np.where(ev.d_centre[vol] < 1500.0, 0.65, 0.3)
    nature[vol] = np.where(rng.random(vol.size) < p_arrache, "Vol à l'arraché", "Cambriolage")
    addr = ctx.addresser.lookup(ev.x, ev.y, ev.arr)
    street_names = np.array([s.name for s in ctx.streets], dtype=object)[addr.street]
    number = pd.Series(addr.number.astype(str), dtype=object)
    no_number = rng.random(n) < 0.08
    number[no_number] = ""
    u = rng.random(n)
    indice = np.where(u < 0.03, "bis", np.where(u < 0.04, "ter", ""))
    indice[no_number] = ""
    suites = np.empty(n, dtype=object)
    cats = ev.category
    for code in vocab.CATEGORIES:
        idx = np.flatnonzero(cats == vocab.CATEGORY_INDEX[code])
        suites[idx] = _choose(
            rng, list(SUITES), idx.size, list(SUITE_WEIGHTS.get(code, DEFAULT_SUITE))
        )
    return pd.DataFrame(
        {
            "id": ids,
            "date": iso.str[8:10] + "/" + iso.str[5:7] + "/" + year,
            "time": iso.str[11:16],
            "nature": nature,
            "number": number,
            "indice": indice.astype(object),
            "street": street_names,
            "postcode": np.array(ctx.area.arr_postcodes, dtype=object)[ev.arr],
            "commune": (
                ctx.commune_name
                if ctx.area.unit_communes is None
                else np.array(ctx.area.unit_communes, dtype=object)[ev.arr]
            ),
            "suite": suites,
        }
    )


def police_defect(row: dict[str, str | None], reason: str, k: int, ctx: SiloContext) -> str | None:
    """Spoil one police row in place; return a replacement line for malformed rows."""
    date = str(row["date"])
    if reason == vocab.MISSING_DATE:
        row["date"] = ""
    elif reason == vocab.INVALID_DATE:
        row["date"] = (f"31/02/{date[6:]}", "hier soir", f"{date[:2]}/13/{date[6:]}", "00/00/0000")[
            k % 4
        ]
    elif reason == vocab.UNKNOWN_CATEGORY:
        row["nature"] = vocab.UNKNOWN_NATIVE[vocab.SOURCE_POLICE][k % 3]
    elif reason == vocab.MISSING_ID:
        row["id"] = ""
    elif reason == vocab.MISSING_LOCATION:
        row["number"] = row["indice"] = row["street"] = row["postcode"] = ""
    elif reason == vocab.MALFORMED_ROW:
        values = [str(v) for v in row.values()]
        if k % 3 == 0:
            return ";".join(values[:6])
        if k % 3 == 1:
            values[6] = f"{values[6]}; angle {ctx.streets[k % len(ctx.streets)].name}"
            return ";".join(values)
        return ";".join([*values, "Observation : RAS"])
    return None


def csu_fields(
    ev: SiloEvents, plan: DirtyPlan, ctx: SiloContext, rng: np.random.Generator
) -> pd.DataFrame:
    """Rows of the CSU alerts (one JSON literal per field)."""
    n = len(ev)
    ids = _seq(pd.Series(["CSU-" + ctx.id_tag] * n, dtype=object), plan.fresh, 6)
    codes = _native(ev.category, vocab.CSU_CODES, rng)
    severity = np.zeros(n, dtype=np.int64)
    for code, probs in CSU_SEVERITY.items():
        idx = np.flatnonzero(codes == code)
        severity[idx] = rng.choice([1, 2, 3], idx.size, p=probs)
    confirmed = np.where(rng.random(n) < 0.85, "true", "false")
    return pd.DataFrame(
        {
            "alert_id": _q(ids),
            "camera_id": _q(np.array(ctx.cameras.ids, dtype=object)[ev.cam]),
            "event_code": _q(codes),
            "detected_at": _q(utc_strings(plan.t)),
            "operator_confirmed": confirmed.astype(object),
            "severity": severity.astype(str).astype(object),
        }
    )


def csu_defect(row: dict[str, str | None], reason: str, k: int, ctx: SiloContext) -> str | None:
    """Spoil one CSU alert in place; return a replacement line for malformed rows."""
    year = str(row["detected_at"])[1:5]
    if reason == vocab.MISSING_DATE:
        row["detected_at"] = ('""', "null")[k % 2]
    elif reason == vocab.INVALID_DATE:
        row["detected_at"] = (
            f'"{year}-13-45T25:00:00Z"',
            f'"{year}-02-30T10:00:00Z"',
            '"hier soir"',
        )[k % 3]
    elif reason == vocab.UNKNOWN_CATEGORY:
        row["event_code"] = f'"{vocab.UNKNOWN_NATIVE[vocab.SOURCE_CSU][k % 3]}"'
    elif reason == vocab.OUTSIDE_STUDY_AREA:
        row["camera_id"] = f'"{ctx.cameras.ids[ctx.cameras.outside]}"'
    elif reason == vocab.UNKNOWN_CAMERA:
        row["camera_id"] = f'"CAM-{9001 + k:04d}"'
    elif reason == vocab.MISSING_ID:
        row["alert_id"] = '""'
    elif reason == vocab.MALFORMED_ROW:
        line = _json_object(row)
        if k % 2 == 0:
            return line[: len(line) // 2]
        return line.replace('"', "'")
    return None


def services_fields(
    ev: SiloEvents, plan: DirtyPlan, ctx: SiloContext, rng: np.random.Generator
) -> pd.DataFrame:
    """Features of the public-space services (one JSON literal per property)."""
    n = len(ev)
    cats = ev.categories()
    service = np.array([vocab.SERVICES_OF_CATEGORY[c][0] for c in cats], dtype=object)
    prefix = pd.Series([vocab.SERVICES_OF_CATEGORY[c][1] for c in cats], dtype=object)
    iso = pd.Series(local_fields(plan.t)[0], dtype=object)
    ids = _seq(prefix + "-" + iso.str[0:4] + "-" + ctx.id_tag, plan.fresh, 5)
    types = _native(
        ev.category,
        vocab.SERVICES_TYPES,
        rng,
        {"eclairage_defaillant": [0.7, 0.3], "voirie_degradee": [0.55, 0.45]},
    )
    age_days = (ctx.t_end - plan.t) / 86400.0
    closed = rng.random(n) < 1.0 - np.exp(-age_days / 20.0)
    statut = np.where(closed, "clos", np.where(rng.random(n) < 0.4, "en cours", "ouvert"))
    coords = "[" + _fmt("%.1f", ev.x) + ", " + _fmt("%.1f", ev.y) + "]"
    return pd.DataFrame(
        {
            "id_intervention": _q(ids),
            "service": _q(service),
            "type_signalement": _q(types),
            "date_constat": _q(iso),
            "statut": _q(statut.astype(object)),
            "coordinates": coords,
        }
    )


def services_defect(
    row: dict[str, str | None], reason: str, k: int, ctx: SiloContext
) -> str | None:
    """Spoil one feature in place."""
    year = str(row["date_constat"])[1:5]
    y = str(row["coordinates"]).strip("[]").split(", ")[1]
    if reason == vocab.MISSING_DATE:
        row["date_constat"] = ('""', "null")[k % 2]
    elif reason == vocab.INVALID_DATE:
        row["date_constat"] = (f'"{year}-13-45T25:00:00"', f'"{year}-02-30T08:00:00"', '"hier"')[
            k % 3
        ]
    elif reason == vocab.UNKNOWN_CATEGORY:
        row["type_signalement"] = f'"{vocab.UNKNOWN_NATIVE[vocab.SOURCE_SERVICES][k % 3]}"'
    elif reason == vocab.INVALID_COORDINATES:
        row["coordinates"] = (f'["n/a", {y}]', f"[null, {y}]")[k % 2]
    elif reason == vocab.OUTSIDE_STUDY_AREA:
        _, lon, lat = ctx.far_places[k % len(ctx.far_places)]
        fx, fy = to_l93(lon, lat)
        row["coordinates"] = f"[{float(fx):.1f}, {float(fy):.1f}]"
    elif reason == vocab.MISSING_ID:
        row["id_intervention"] = '""'
    return None


def habitants_fields(
    ev: SiloEvents, plan: DirtyPlan, ctx: SiloContext, rng: np.random.Generator
) -> pd.DataFrame:
    """Residents' reports (one JSON literal per field)."""
    n = len(ev)
    gaps = rng.integers(1, 4, n)
    gaps[~plan.fresh] = 0
    report_id = ctx.report_base + np.cumsum(gaps)
    iso, offset = local_fields(plan.t)
    created = pd.Series(iso, dtype=object) + pd.Series(offset_strings(offset), dtype=object)
    natives = _native(ev.category, vocab.HABITANTS_CATEGORIES, rng)
    hours = pd.Series(iso, dtype=object).str[11:13].astype(int).astype(str)
    desc = np.full(n, "", dtype=object)
    for native, texts in DESCRIPTIONS.items():
        idx = np.flatnonzero(natives == native)
        if idx.size:
            chosen = pd.Series(_choose(rng, list(texts), idx.size), dtype=object)
            filled = [c.replace("{h}", h) for c, h in zip(chosen, hours.iloc[idx], strict=True)]
            desc[idx] = filled
    location = '{"lat": ' + _fmt("%.6f", ev.lat) + ', "lon": ' + _fmt("%.6f", ev.lon) + "}"
    return pd.DataFrame(
        {
            "report_id": report_id.astype(str).astype(object),
            "created": _q(created),
            "category": _q(natives),
            "location": location,
            "description": _q(desc),
        }
    )


def habitants_defect(
    row: dict[str, str | None], reason: str, k: int, ctx: SiloContext
) -> str | None:
    """Spoil one report in place."""
    created = str(row["created"])
    year, offset = created[1:5], created[-7:-1]
    lat = str(row["location"]).split('"lat": ')[1].split(",")[0]
    if reason == vocab.MISSING_DATE:
        row["created"] = ('""', "null")[k % 2]
    elif reason == vocab.INVALID_DATE:
        row["created"] = (
            f'"{year}-13-45T25:00:00{offset}"',
            '"hier soir"',
            f'"{year}-02-30T10:00:00{offset}"',
        )[k % 3]
    elif reason == vocab.UNKNOWN_CATEGORY:
        row["category"] = f'"{vocab.UNKNOWN_NATIVE[vocab.SOURCE_HABITANTS][k % 3]}"'
    elif reason == vocab.INVALID_COORDINATES:
        bad = ('"n/a"', "null", '""')[k % 3]
        row["location"] = f'{{"lat": {lat}, "lon": {bad}}}'
    elif reason == vocab.OUTSIDE_STUDY_AREA:
        _, lon, la = ctx.far_places[k % len(ctx.far_places)]
        row["location"] = f'{{"lat": {la:.6f}, "lon": {lon:.6f}}}'
    elif reason == vocab.MISSING_ID:
        row["report_id"] = "null"
    elif reason == vocab.MISSING_LOCATION:
        row["location"] = None
    return None


# --------------------------------------------------------------------------------------------
# Serialisation.
# --------------------------------------------------------------------------------------------


def _json_object(row: dict[str, str | None]) -> str:
    return "{" + ", ".join(f'"{k}": {v}' for k, v in row.items() if v is not None) + "}"


def _feature(row: dict[str, str | None]) -> str:
    coords = row["coordinates"]
    props = {k: v for k, v in row.items() if k != "coordinates"}
    return (
        '{"type": "Feature", "properties": '
        + _json_object(props)
        + ', "geometry": {"type": "Point", "coordinates": '
        + str(coords)
        + "}}"
    )


def _columns(df: pd.DataFrame) -> list[list[str]]:
    return [[str(v) for v in df[c].tolist()] for c in df.columns]


def _lines_csv(df: pd.DataFrame) -> list[str]:
    return [";".join(values) for values in zip(*_columns(df), strict=True)]


def _json_template(columns: list[str]) -> str:
    return "{" + ", ".join(f'"{c}": %s' for c in columns) + "}"


def _lines_json(df: pd.DataFrame) -> list[str]:
    template = _json_template([str(c) for c in df.columns])
    return [template % values for values in zip(*_columns(df), strict=True)]


def _lines_features(df: pd.DataFrame) -> list[str]:
    props = [str(c) for c in df.columns if c != "coordinates"]
    template = (
        '{"type": "Feature", "properties": '
        + _json_template(props)
        + ', "geometry": {"type": "Point", "coordinates": %s}}'
    )
    cols = _columns(df[[*props, "coordinates"]])
    return [template % values for values in zip(*cols, strict=True)]


@dataclass(frozen=True)
class SiloFormat:
    """How one silo is formatted, spoiled and serialised."""

    source: str
    file: str
    format: str
    encoding: str
    crs: str | None
    fields: Callable[[SiloEvents, DirtyPlan, SiloContext, np.random.Generator], pd.DataFrame]
    defect: Callable[[dict[str, str | None], str, int, SiloContext], str | None]
    lines: Callable[[pd.DataFrame], list[str]]
    one_line: Callable[[dict[str, str | None]], str]
    header: str
    separator: str
    footer: str


FORMATS: Final[dict[str, SiloFormat]] = {
    vocab.SOURCE_POLICE: SiloFormat(
        vocab.SOURCE_POLICE,
        vocab.POLICE_FILE,
        "csv",
        "cp1252",
        None,
        police_fields,
        police_defect,
        _lines_csv,
        lambda row: ";".join(str(v) for v in row.values()),
        ";".join(vocab.POLICE_HEADER) + "\r\n",
        "\r\n",
        "\r\n",
    ),
    vocab.SOURCE_CSU: SiloFormat(
        vocab.SOURCE_CSU,
        vocab.CSU_FILE,
        "jsonl",
        "utf-8",
        None,
        csu_fields,
        csu_defect,
        _lines_json,
        _json_object,
        "",
        "\n",
        "\n",
    ),
    vocab.SOURCE_SERVICES: SiloFormat(
        vocab.SOURCE_SERVICES,
        vocab.SERVICES_FILE,
        "geojson",
        "utf-8",
        "EPSG:2154",
        services_fields,
        services_defect,
        _lines_features,
        _feature,
        '{"type": "FeatureCollection", "name": "services_espace_public", "crs": {"type": '
        '"name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}, "features": [\n',
        ",\n",
        "\n]}\n",
    ),
    vocab.SOURCE_HABITANTS: SiloFormat(
        vocab.SOURCE_HABITANTS,
        vocab.HABITANTS_FILE,
        "json",
        "utf-8",
        "EPSG:4326",
        habitants_fields,
        habitants_defect,
        _lines_json,
        _json_object,
        "[\n",
        ",\n",
        "\n]\n",
    ),
}


@dataclass
class SiloResult:
    """What was written for one silo."""

    source: str
    path: Path
    rows: int
    valid: int
    rejections: dict[str, list[int]]
    categories: dict[str, int]
    unlocated: int
    sha256: str
    fields: pd.DataFrame  # the formatted rows before spoiling (duplicates not copied yet)
    valid_rows: IntArray  # 0-based rows that are valid, in the order of the events


def silo_lines(
    source: str, ev: SiloEvents, ctx: SiloContext, rng: np.random.Generator
) -> tuple[list[str], DirtyPlan, pd.DataFrame]:
    """The records of one silo (dirty ones included), their plan and their formatted fields."""
    fmt = FORMATS[source]
    plan = plan_dirty(ev.t, vocab.SOURCE_REASONS[source], rng)
    rows_ev = ev.take(plan.src)
    df = fmt.fields(rows_ev, plan, ctx, rng)
    lines = fmt.lines(df)
    for pos, orig in plan.dup_of.items():
        lines[pos] = lines[orig]  # an exact repeat of an earlier row
    counters: dict[str, int] = {}
    for pos, reason in zip(plan.positions, plan.reasons, strict=True):
        if reason == vocab.DUPLICATE_ID:
            continue
        k = counters.get(reason, 0)
        counters[reason] = k + 1
        row: dict[str, str | None] = {str(c): str(v) for c, v in df.iloc[int(pos)].items()}
        override = fmt.defect(row, reason, k, ctx)
        lines[int(pos)] = override if override is not None else fmt.one_line(row)
    return lines, plan, df


def write_silo(
    source: str, ev: SiloEvents, ctx: SiloContext, out_dir: Path, rng: np.random.Generator
) -> SiloResult:
    """Format, spoil and write one silo file."""
    fmt = FORMATS[source]
    lines, plan, df = silo_lines(source, ev, ctx, rng)
    text = fmt.header + fmt.separator.join(lines) + fmt.footer
    data = text.encode(fmt.encoding)
    path = out_dir / fmt.file
    path.write_bytes(data)
    valid_rows = np.flatnonzero(~np.isin(np.arange(plan.rows), plan.positions))
    counts = np.bincount(ev.category, minlength=len(vocab.CATEGORIES))
    return SiloResult(
        source=source,
        path=path,
        rows=plan.rows,
        valid=len(ev),
        rejections=plan.rejections(),
        categories={c: int(counts[i]) for i, c in enumerate(vocab.CATEGORIES)},
        unlocated=len(ev) if source == vocab.SOURCE_POLICE else 0,
        sha256=hashlib.sha256(data).hexdigest(),
        fields=df,
        valid_rows=valid_rows,
    )


def write_cameras(cameras: Cameras, out_dir: Path) -> tuple[Path, str]:
    """Write the camera file (comma-separated UTF-8); returns its path and SHA-256."""
    frame = pd.DataFrame(
        {
            "camera_id": cameras.ids,
            "lon": np.char.mod("%.6f", cameras.lon),
            "lat": np.char.mod("%.6f", cameras.lat),
            "label": cameras.labels,
            "installed_on": cameras.installed_on,
        }
    )
    text = frame.to_csv(index=False, lineterminator="\n")
    data = text.encode("utf-8")
    path = out_dir / vocab.CAMERAS_FILE
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def write_police_truth(result: SiloResult, ev: SiloEvents, out_dir: Path) -> Path:
    """``police_truth.csv``: id, true lon/lat and UTC instant of each valid police row."""
    frame = police_truth_frame(result.fields, result.valid_rows, ev)
    path = out_dir / vocab.POLICE_TRUTH_FILE
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return path


class SiloAppender:
    """One silo file written chunk by chunk (header, records of each chunk, footer).

    The bytes are those :func:`write_silo` would write for all the chunks' records at once;
    record numbers of the dirty rows run over the whole file.
    """

    def __init__(self, source: str, path: Path) -> None:
        self.fmt = FORMATS[source]
        self.source = source
        self.path = path
        self._handle = path.open("wb")
        self._sha = hashlib.sha256()
        self.rows = 0
        self.valid = 0
        self.rejections: dict[str, list[int]] = {}
        self.counts = np.zeros(len(vocab.CATEGORIES), np.int64)
        self._write(self.fmt.header)

    def _write(self, text: str) -> None:
        data = text.encode(self.fmt.encoding)
        self._handle.write(data)
        self._sha.update(data)

    def append(
        self, ev: SiloEvents, ctx: SiloContext, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, IntArray]:
        """Write the records of a chunk's events; returns their fields and valid row numbers
        (0-based, within the chunk)."""
        lines, plan, df = silo_lines(self.source, ev, ctx, rng)
        self._write((self.fmt.separator if self.rows else "") + self.fmt.separator.join(lines))
        for reason, numbers in plan.rejections().items():
            self.rejections.setdefault(reason, []).extend(n + self.rows for n in numbers)
        self.rows += plan.rows
        self.valid += len(ev)
        self.counts += np.bincount(ev.category, minlength=len(vocab.CATEGORIES))
        return df, np.flatnonzero(~np.isin(np.arange(plan.rows), plan.positions))

    def close(self) -> str:
        """Write the footer; returns the file's SHA-256."""
        self._write(self.fmt.footer)
        self._handle.close()
        return self._sha.hexdigest()

    def categories(self) -> dict[str, int]:
        """Valid records per canonical category."""
        return {c: int(self.counts[i]) for i, c in enumerate(vocab.CATEGORIES)}


def police_truth_frame(fields: pd.DataFrame, valid_rows: IntArray, ev: SiloEvents) -> pd.DataFrame:
    """Id, true lon/lat and UTC instant of each valid police row."""
    return pd.DataFrame(
        {
            "id": fields["id"].iloc[valid_rows].to_numpy(),
            "lon": np.char.mod("%.6f", ev.lon),
            "lat": np.char.mod("%.6f", ev.lat),
            "occurred_at": utc_strings(ev.t),
        }
    )
