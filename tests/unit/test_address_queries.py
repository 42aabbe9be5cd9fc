"""Address queries with known answers: counts, determinism, and that every truth is right."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from rapidfuzz.distance import OSA

from geotranquil.geocode.query_kinds import DEGRADED_KINDS, KINDS
from geotranquil.geography.reference import load_geography
from geotranquil.synth.address_queries import (
    LEAD_INS,
    TRAILERS,
    abbreviate,
    address_queries,
    clean_address,
    house_number,
    strip_accents,
    typo,
)
from geotranquil.synth.area import to_l93
from geotranquil.synth.streets import house_numbers, street_network

N = 200
#: Named places of the test BAN: (name, postcode, lon, lat).
PLACES = (
    ("Le Vieux-Port", "13001", 5.3725, 43.2950),
    ("Notre-Dame de la Garde", "13006", 5.3713, 43.2840),
    ("La Plaine", "13005", 5.3855, 43.2935),
    ("Le Panier", "13002", 5.3680, 43.2990),
    ("Les Goudes", "13008", 5.3480, 43.2160),
)


def _commune(postcode: str) -> str:
    a = int(postcode) - 13000
    return f"Marseille {a}{'er' if a == 1 else 'e'} Arrondissement"


def make_ban(network: gpd.GeoDataFrame) -> pd.DataFrame:
    """A BAN-like table: every house number, a suffix on every number ending in 3
    (bis, ter or a, 2 m further north), and five named places."""
    h = house_numbers(network)
    h["rep"] = ""
    rep = h[h["number"] % 10 == 3].copy()
    rep["rep"] = np.array(["bis", "ter", "a"])[(rep["number"].to_numpy() // 10) % 3]
    rep["lat"] = (rep["lat"] + 0.000018).round(6)
    h = pd.concat([h, rep], ignore_index=True).sort_values(["street_id", "number", "rep"])
    insee = (h["postcode"].astype(int) + 200).astype(str)
    ban = pd.DataFrame(
        {
            "id": [
                f"{c}_{s:05d}_{n:05d}{'_' + r if r else ''}"
                for c, s, n, r in zip(insee, h["street_id"], h["number"], h["rep"], strict=True)
            ],
            "street_key": [f"{c}_{s:05d}" for c, s in zip(insee, h["street_id"], strict=True)],
            "numero": h["number"].to_numpy(),
            "rep": h["rep"].to_numpy(),
            "nom_voie": h["name"].to_numpy(),
            "code_postal": h["postcode"].to_numpy(),
            "code_insee": insee.to_numpy(),
            "nom_commune": [_commune(p) for p in h["postcode"]],
            "nom_ld": "",
            "lon": h["lon"].to_numpy(),
            "lat": h["lat"].to_numpy(),
        }
    )
    places = pd.DataFrame(
        {
            "id": [f"{int(p) + 200}_ld{k:03d}_99999" for k, (_, p, _, _) in enumerate(PLACES)],
            "street_key": [f"{int(p) + 200}_ld{k:03d}" for k, (_, p, _, _) in enumerate(PLACES)],
            "numero": 99999,
            "rep": "",
            "nom_voie": [p[0] for p in PLACES],
            "code_postal": [p[1] for p in PLACES],
            "code_insee": [str(int(p[1]) + 200) for p in PLACES],
            "nom_commune": [_commune(p[1]) for p in PLACES],
            "nom_ld": [p[0] for p in PLACES],
            "lon": [p[2] for p in PLACES],
            "lat": [p[3] for p in PLACES],
        }
    )
    return pd.concat([ban, places], ignore_index=True)


@pytest.fixture(scope="module")
def network() -> gpd.GeoDataFrame:
    return street_network(load_geography(None), seed=1)


@pytest.fixture(scope="module")
def ban(network: gpd.GeoDataFrame) -> pd.DataFrame:
    return make_ban(network)


@pytest.fixture(scope="module")
def queries(ban: pd.DataFrame, network: gpd.GeoDataFrame) -> pd.DataFrame:
    return address_queries(ban, network, n_per_kind=N, seed=0)


def _of(queries: pd.DataFrame, kind: str) -> pd.DataFrame:
    return queries[queries["kind"] == kind]


def _joined(queries: pd.DataFrame, ban: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The queries of a kind with the BAN row of their truth (suffix ``_ban``)."""
    rows = _of(queries, kind)
    return rows.merge(ban, left_on="true_ban_id", right_on="id", how="left", suffixes=("", "_ban"))


def _clean(row: pd.Series) -> str:
    return clean_address(int(row["numero"]), row["rep"], row["nom_voie"], row["code_postal"])


def test_the_test_ban(ban: pd.DataFrame) -> None:
    assert len(ban) == 38_588
    assert int((ban["rep"] != "").sum()) == 3_567
    assert int((ban["numero"] == 99999).sum()) == 5
    assert ban["id"].is_unique


def test_counts_per_kind(queries: pd.DataFrame) -> None:
    counts = queries.groupby("kind", sort=False).size().to_dict()
    # named places: 5 places, each with its distinct spellings: 32 for "Le Vieux-Port"
    # (with or without article and hyphen, in two cases, four endings), 16 for the others
    assert counts == {**{k: N for k in KINDS if k != "named_place"}, "named_place": 96}
    assert list(dict.fromkeys(queries["kind"])) == list(KINDS)
    assert list(queries.columns) == [
        "query",
        "kind",
        "true_lon",
        "true_lat",
        "true_ban_id",
        "expected_precision",
    ]
    assert queries.index.equals(pd.RangeIndex(len(queries)))


def test_queries_are_distinct_within_a_kind(queries: pd.DataFrame) -> None:
    assert not queries.duplicated(["kind", "query"]).any()


def test_deterministic_for_a_seed(ban: pd.DataFrame, network: gpd.GeoDataFrame) -> None:
    a = address_queries(ban, network, n_per_kind=30, seed=7)
    b = address_queries(ban, network, n_per_kind=30, seed=7)
    c = address_queries(ban, network, n_per_kind=30, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert (a["query"] != c["query"]).mean() > 0.9


def test_a_kind_does_not_depend_on_n_per_kind_of_others(
    ban: pd.DataFrame, network: gpd.GeoDataFrame
) -> None:
    # each kind draws from its own stream: the clean queries of a seed do not change when
    # another kind is added or removed (no network: no intersection)
    a = address_queries(ban, network, n_per_kind=30, seed=3)
    b = address_queries(ban, None, n_per_kind=30, seed=3)
    for kind in KINDS:
        if kind != "intersection":
            assert _of(a, kind)["query"].tolist() == _of(b, kind)["query"].tolist()


def test_expected_precision_and_truth_columns(queries: pd.DataFrame) -> None:
    expected = {k: "housenumber" for k in ("clean", *DEGRADED_KINDS)}
    expected |= {"intersection": "street", "named_place": "locality"}
    for kind, precision in expected.items():
        rows = _of(queries, kind)
        assert (rows["expected_precision"] == precision).all(), kind
        assert rows[["true_lon", "true_lat"]].notna().all().all(), kind
    unknown = _of(queries, "unknown_street")
    assert unknown["true_lon"].isna().all() and unknown["true_lat"].isna().all()
    assert unknown["true_ban_id"].map(lambda v: v is None).all()
    assert unknown["expected_precision"].map(lambda v: v is None).all()
    assert _of(queries, "intersection")["true_ban_id"].map(lambda v: v is None).all()


def test_clean_queries_are_the_ban_points(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "clean")
    assert rows["id"].notna().all()
    assert (rows["true_lon"] == rows["lon"]).all()
    assert (rows["true_lat"] == rows["lat"]).all()
    assert rows["query"].tolist() == [_clean(r) for _, r in rows.iterrows()]
    paradis = {_clean(r) for _, r in ban[ban["nom_voie"] == "Rue Paradis"].iterrows()}
    assert {"13 ter Rue Paradis 13006 Marseille", "23 A Rue Paradis 13006 Marseille"} <= paradis


def test_every_address_truth_is_its_ban_point(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    for kind in ("clean", *DEGRADED_KINDS, "named_place"):
        rows = _joined(queries, ban, kind)
        assert rows["id"].notna().all(), kind
        assert np.array_equal(rows["true_lon"], rows["lon"]), kind
        assert np.array_equal(rows["true_lat"], rows["lat"]), kind
        if kind != "named_place":
            assert (rows["numero"] != 99999).all()
            # every query keeps its house number
            numbers = rows["query"].map(lambda q: set(re.findall(r"\d+", q)))
            assert all(str(n) in ns for n, ns in zip(rows["numero"], numbers, strict=True)), kind


def test_streets_are_drawn_evenly(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    # every street equally likely: 200 clean queries spread over many of the 300 streets
    rows = _joined(queries, ban, "clean")
    assert rows["street_key"].nunique() == 148
    assert rows["street_key"].value_counts().max() == 3


def test_abbreviated(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "abbreviated")
    assert (rows["query"] != rows.apply(_clean, axis=1)).all()
    with_arr = rows["query"].str.contains(r"Marseille \d+(?:er|e)$")
    assert int(with_arr.sum()) == 61
    assert not rows.loc[with_arr, "query"].str.contains(r"\b130\d\d\b").any()
    first = pd.Series(
        [
            q.removeprefix(house_number(n, r) + " ").split(" ")[0].lower().rstrip(".")
            for q, n, r in zip(rows["query"], rows["numero"], rows["rep"], strict=True)
        ]
    )
    assert set(first) <= {
        "bd",
        "bld",
        "boul",
        "av",
        "ave",
        "r",
        "ch",
        "che",
        "imp",
        "qu",
        "tse",
        "mte",
        "all",
        "st",
        "ste",
    } | {w.lower() for w in rows["nom_voie"].str.split(" ").str[0]}


def test_abbreviate_planted() -> None:
    rng = np.random.default_rng(0)
    outs = {abbreviate("Boulevard Saint-Loup", rng) for _ in range(200)}
    bodies = {o.lower().replace(".", "") for o in outs if o is not None}
    assert bodies == {f"{t} st-loup" for t in ("bd", "bld", "boul")}
    assert abbreviate("Corniche Kennedy", rng) is None
    assert abbreviate("Montée des Accoules", rng) in {"mte des Accoules", "Mte des Accoules"} | {
        "MTE des Accoules",
        "mte. des Accoules",
        "Mte. des Accoules",
        "MTE. des Accoules",
    }


def test_no_accents_and_upper_case(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "no_accents")
    assert rows["query"].tolist() == [strip_accents(_clean(r)) for _, r in rows.iterrows()]
    assert (rows["nom_voie"].map(strip_accents) != rows["nom_voie"]).all()
    assert rows["query"].map(str.isascii).all()
    rows = _joined(queries, ban, "upper_case")
    clean = rows.apply(_clean, axis=1).str.upper()
    assert ((rows["query"] == clean) | (rows["query"] == clean.map(strip_accents))).all()
    # without accents half of the time (only visible on streets with accents)
    has_accent = clean.map(strip_accents) != clean
    stripped = rows["query"] != clean
    assert int(has_accent.sum()) == 45 and int((stripped & has_accent).sum()) == 27


def test_typos_are_one_or_two_edits(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "typo")
    clean = rows.apply(_clean, axis=1)
    dist = [OSA.distance(q, c) for q, c in zip(rows["query"], clean, strict=True)]
    assert set(dist) == {1, 2}
    assert dist.count(2) == 54
    # the number, the postcode and the city are untouched; the first letters too
    assert all(
        q.split(" ")[0] == c.split(" ")[0] for q, c in zip(rows["query"], clean, strict=True)
    )
    tails = rows["code_postal"] + " Marseille"
    assert all(q.endswith(t) for q, t in zip(rows["query"], tails, strict=True))


def test_typo_planted() -> None:
    rng = np.random.default_rng(5)
    for word in ("Libération", "Rome", "Canebière", "Pasteur"):
        for n_edits in (1, 2):
            out = typo(word, rng, n_edits=n_edits)
            assert out[0] == word[0]
            assert 1 <= OSA.distance(out, word) <= n_edits
    with pytest.raises(ValueError):
        typo("Ô", rng)


def test_no_postcode(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "no_postcode")
    assert not rows["query"].str.contains(r"\b13\d\d\d\b").any()
    assert not rows["query"].str.contains("Arrondissement|1er").any()
    base = rows["numero"].astype(str) + rows["rep"].map(lambda r: f" {r}" if r else "")
    base = base.str.replace(r" ([a-z])$", lambda m: f" {m.group(1).upper()}", regex=True)
    base = base + " " + rows["nom_voie"]
    ok = [
        q in (b, f"{b} Marseille", f"{b}, Marseille")
        for q, b in zip(rows["query"], base, strict=True)
    ]
    assert all(ok)
    # only street names found in one postcode: no ambiguity without the postcode
    per_name = ban[ban["numero"] != 99999].groupby("nom_voie")["code_postal"].nunique()
    assert (rows["nom_voie"].map(per_name) == 1).all()


def test_extra_words(queries: pd.DataFrame) -> None:
    rows = _of(queries, "extra_words")
    lead = rows["query"].map(lambda q: any(q.startswith(w + " ") for w in LEAD_INS))
    trail = rows["query"].map(lambda q: any(w in q for w in TRAILERS))
    assert (lead | trail).all()
    assert int(lead.sum()) == 140 and int(trail.sum()) == 92
    # the number stays right after the lead-in
    led = rows.loc[lead, "query"]
    assert led.str.match(r"^(?:devant le|face au|à hauteur du|près du) \d+ ").all()
    assert "devant le" in " ".join(led)


def test_suffix_variant(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "suffix_variant")
    with_rep = rows["rep"] != ""
    assert int(with_rep.sum()) == N // 2
    for q, num, rep in zip(rows["query"], rows["numero"], rows["rep"], strict=True):
        forms: tuple[str, ...] = (f"n°{num} ", f"n° {num} ", f"N°{num} ", f"{num}, ")
        if rep:
            forms = (f"{num}{rep[0]} ", f"{num} {rep[0].upper()} ", f"{num}{rep} ")
            forms += (f"{num} {rep.upper()} ",)
        assert q.startswith(forms), q


def test_word_order(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _joined(queries, ban, "word_order")
    city_first = rows["query"].str.match(r"^130\d\d Marseille, \d+ ")
    number_after = rows["query"].str.contains(r" \d+(?: (?:bis|ter|A))?, 130\d\d(?: Marseille)?$")
    assert (city_first ^ number_after).all()
    assert int(city_first.sum()) == 81


def test_intersections_are_where_the_streets_meet(
    queries: pd.DataFrame, network: gpd.GeoDataFrame
) -> None:
    rows = _of(queries, "intersection")
    net = network.to_crs(2154)
    lines = dict(zip(net["name"], net.geometry, strict=True))
    names_low = {n.lower(): n for n in lines}
    x, y = to_l93(rows["true_lon"].to_numpy(), rows["true_lat"].to_numpy())
    pairs = set()
    for q, px, py in zip(rows["query"], x, y, strict=True):
        low = q.lower()
        found = [n for k, n in names_low.items() if k in low]
        found = [n for n in found if not any(n != m and n.lower() in m.lower() for m in found)]
        assert len(found) == 2, (q, found)
        point = shapely.Point(px, py)
        for name in found:
            assert lines[name].distance(point) <= 15.0, (q, name)
        pairs.add(frozenset(found))
    # 92 pairs of streets meet once (82 cross, 10 pass within 15 m); all are used
    assert len(pairs) == 92
    assert rows["query"].str.match(r"^(?:angle |croisement |à l'angle )|.* x ").all()


def test_no_network_no_intersection(ban: pd.DataFrame) -> None:
    q = address_queries(ban, None, n_per_kind=10, seed=0)
    assert "intersection" not in set(q["kind"])
    assert len(q) == 10 * (len(KINDS) - 1)


def test_named_places(queries: pd.DataFrame) -> None:
    rows = _of(queries, "named_place")
    assert set(rows["true_ban_id"]) == {
        f"{int(p) + 200}_ld{k:03d}_99999" for k, (_, p, _, _) in enumerate(PLACES)
    }
    assert "Vieux Port" in set(rows["query"])
    assert "vieux port 13001" in set(rows["query"])
    assert "Le Vieux-Port" in set(rows["query"])
    truth = {
        f"{int(p) + 200}_ld{k:03d}_99999": (lon, lat) for k, (_, p, lon, lat) in enumerate(PLACES)
    }
    assert all(
        truth[i] == (lon, lat)
        for i, lon, lat in zip(rows["true_ban_id"], rows["true_lon"], rows["true_lat"], strict=True)
    )


def test_unknown_streets_are_not_in_the_ban(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    rows = _of(queries, "unknown_street")
    parts = rows["query"].str.extract(r"^(\d+) (.+) (130\d\d) Marseille$")
    assert parts.notna().all().all()
    known = {strip_accents(n).lower() for n in ban["nom_voie"]}
    assert not parts[1].map(lambda n: strip_accents(n).lower() in known).any()
    assert set(parts[2]) <= set(ban["code_postal"])
    assert parts[1].nunique() == 133


def test_fewer_rows_when_the_ban_is_small() -> None:
    ban = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "numero": [5, 7, 99999],
            "rep": ["", "bis", ""],
            "nom_voie": ["Rue de Rome", "Rue Paradis", "La Plaine"],
            "code_postal": ["13001", "13006", "13005"],
            "nom_commune": [_commune("13001"), _commune("13006"), _commune("13005")],
            "lon": [5.38, 5.378, 5.3855],
            "lat": [43.29, 43.288, 43.2935],
        }
    )
    q = address_queries(ban, n_per_kind=20, seed=1)
    counts = q.groupby("kind", sort=False).size().to_dict()
    assert counts == {
        "clean": 2,
        "abbreviated": 2,
        "upper_case": 2,
        "typo": 2,
        "no_postcode": 2,
        "extra_words": 2,
        "suffix_variant": 2,
        "word_order": 2,
        "named_place": 16,
        "unknown_street": 20,
    }
    with pytest.raises(ValueError):
        address_queries(ban, n_per_kind=-1)
