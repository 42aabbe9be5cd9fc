"""Issue 17's classes of confident errors, each on a small hand-made BAN with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from geotranquil.geocode.evaluation import HIGH_CONFIDENCE, distances_m
from geotranquil.geocode.matching import BanIndex

# (street key, name, postcode, first number, last number, lon of number 1, lat)
STREETS = [
    ("13206_0001", "Rue Paradis", "13006", 1, 20, 5.3780, 43.2900),
    ("13205_0002", "Rue Brandis", "13005", 1, 20, 5.4000, 43.2950),
    ("13205_0003", "Boulevard Chave", "13005", 1, 10, 5.3900, 43.2960),
    ("13204_0004", "Boulevard Chave", "13004", 11, 20, 5.3900, 43.2969),
    ("13201_0005", "Rue de Tours", "13001", 1, 20, 5.3750, 43.3000),
    ("13204_0006", "Rue des Tours", "13004", 1, 20, 5.4050, 43.3050),
    ("13205_0007", "Rue Sainte-Cécile", "13005", 1, 20, 5.3950, 43.2900),
    ("13210_0008", "Rue Sainte Cécile", "13010", 1, 20, 5.4150, 43.2800),
    ("13207_0009", "Rue du Château d'If", "13007", 1, 20, 5.3600, 43.2850),
    ("13204_0010", "Impasse Jeune France", "13004", 1, 20, 5.4100, 43.3100),
    ("13203_0011", "Impasse Honnorat", "13003", 1, 20, 5.3800, 43.3100),
    ("13203_0012", "Rue Honnorat", "13003", 1, 20, 5.3850, 43.3150),
    ("13202_0013", "Grand Rue", "13002", 1, 20, 5.3700, 43.2980),
    ("13205_0014", "Rue Grande", "13005", 1, 20, 5.3990, 43.2920),
    ("13213_0015", "Avenue Jean Jaurès", "13013", 1, 20, 5.4200, 43.3500),
    ("13214_0016", "Impasse Jean Jaurès", "13014", 1, 20, 5.3900, 43.3450),
]
STEP = 0.0001  # degrees of latitude between consecutive numbers (about 11 m)


def _ban() -> pd.DataFrame:
    rows = []
    for key, name, cp, first, last, lon, lat in STREETS:
        for n in range(first, last + 1):
            rows.append(
                (
                    f"{key}_{n:05d}",
                    key,
                    n,
                    "",
                    name,
                    cp,
                    "132" + cp[-2:],
                    lon,
                    lat + (n - first) * STEP,
                )
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "id",
            "street_key",
            "numero",
            "rep",
            "nom_voie",
            "code_postal",
            "code_insee",
            "lon",
            "lat",
        ],
    )
    frame["nom_commune"] = "Marseille"
    return frame


@pytest.fixture(scope="module")
def ban() -> pd.DataFrame:
    return _ban()


@pytest.fixture(scope="module")
def index(ban: pd.DataFrame) -> BanIndex:
    return BanIndex.from_frame(ban)


def _off_m(ban: pd.DataFrame, result, ban_id: str) -> float:
    row = ban.set_index("id").loc[ban_id]
    return float(
        distances_m(
            *(pd.Series([v]).to_numpy() for v in (result.lon, result.lat, row["lon"], row["lat"]))
        )[0]
    )


@pytest.mark.parametrize(
    ("query", "ban_id"),
    [
        ("12 Rue Brandis 13006", "13205_0002_00012"),  # class 1: a neighbouring postcode
        ("15 Boulevard Chave 13005", "13204_0004_00015"),  # class 2: the piece holding 15
        ("15 Boulevard Chave", "13204_0004_00015"),
        ("3 Rue des Tours", "13204_0006_00003"),  # class 3: the exact spelling
        ("3 Rue de Tours", "13201_0005_00003"),
        ("5 Rue Sainte Cécile", "13210_0008_00005"),  # hyphens: preferred, not certain
        ("3 Impasse Jeune France", "13204_0010_00003"),  # class 5
        ("3 Impasse Jeune France 13004 Marseille, France", "13204_0010_00003"),
        ("Honnorat (impasse), 9", "13203_0011_00009"),  # class 6
        ("devant l'immeuble du 9 Rue Honnorat", "13203_0012_00009"),  # class 7
        ("Chave boulevard 3", "13205_0003_00003"),  # class 6: a type after the name
        ("12 Grand Rue", "13202_0013_00012"),  # ... and a name ending with a type word
        ("9 tra. Honnorat", None),  # class 8 (no such traverse: not placed with confidence)
    ],
)
def test_the_right_answer_and_a_placing_score(
    index: BanIndex, ban: pd.DataFrame, query: str, ban_id: str | None
) -> None:
    result = index.geocode(query)
    if ban_id is None:
        assert result is None or result.score < HIGH_CONFIDENCE, result
        return
    assert result is not None and result.score >= HIGH_CONFIDENCE, result
    assert result.precision == "housenumber"
    assert _off_m(ban, result, ban_id) < 1.0, result


@pytest.mark.parametrize(
    "query",
    [
        "25 Boulevard Chave 13004",  # past the end of the street: no house number
        "5 rue ste cecile",  # a true tie once folded (no postcode)
        "5 rue tours",  # "de" or "des": a tie
        "5 Rue des Tours 13001",  # the exact spelling against the postcode: a near tie
        "8 ave Jean Jaurse 13014",  # a typo, and another type or another postcode: two doubts
        "Château d'If",  # a place not in the BAN
        "Parc Chanot",
    ],
)
def test_uncertain_answers_stay_under_the_placing_threshold(index: BanIndex, query: str) -> None:
    result = index.geocode(query)
    assert result is None or result.score < HIGH_CONFIDENCE, result


def test_past_the_end_is_a_street_not_a_house_number(index: BanIndex) -> None:
    result = index.geocode("25 Boulevard Chave 13004")
    assert result is not None and result.precision == "street" and result.interpolated
