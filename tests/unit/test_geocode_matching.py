"""The in-memory BAN matcher on a small hand-made extract with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from geotranquil.geocode.evaluation import HIGH_CONFIDENCE
from geotranquil.geocode.matching import MIN_SCORE, BanIndex

# Rue de Rome: numbers 1..9 odd on one side, 2..10 even on the other, 7 missing (interpolation)
# Boulevard Baille crosses it at its number 5 / 6; Vieux-Port and Gare Saint-Charles are places.
ROME = [
    (1, 5.3790, 43.2950),
    (3, 5.3792, 43.2946),
    (5, 5.3794, 43.2942),
    (9, 5.3798, 43.2934),
    (2, 5.3791, 43.2950),
    (4, 5.3793, 43.2946),
    (6, 5.3795, 43.2942),
    (8, 5.3797, 43.2938),
    (10, 5.3799, 43.2934),
]
BAILLE = [(n, 5.3754 + 0.0008 * (n // 2), 43.2942) for n in range(1, 21)]


def _rows() -> pd.DataFrame:
    rows = []
    for n, lon, lat in ROME:
        rows.append(("13206_0001", n, "", "Rue de Rome", "13006", "13206", lon, lat))
    rows.append(("13206_0001", 3, "bis", "Rue de Rome", "13006", "13206", 5.37925, 43.29455))
    for n, lon, lat in BAILLE:
        rows.append(("13206_0002", n, "", "Boulevard Baille", "13006", "13206", lon, lat))
    rows.append(("13205_0003", 1, "", "Boulevard Baille Prolongé", "13005", "13205", 5.40, 43.29))
    rows.append(("13201_0004", 12, "", "Boulevard de la Libération", "13001", "13201", 5.39, 43.30))
    rows.append(("13204_0005", 12, "", "Boulevard de la Libération", "13004", "13204", 5.40, 43.31))
    rows.append(("13201_0006", 99999, "", "Vieux-Port", "13001", "13201", 5.3710, 43.2950))
    rows.append(("13201_0007", 99999, "", "Gare Saint-Charles", "13001", "13201", 5.3800, 43.3030))
    frame = pd.DataFrame(
        rows,
        columns=[
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
    frame["id"] = [
        f"{k}_{n:05d}" + (f"_{r}" if r else "")
        for k, n, r in zip(frame["street_key"], frame["numero"], frame["rep"], strict=True)
    ]
    frame["nom_commune"] = "Marseille"
    return frame


@pytest.fixture(scope="module")
def index() -> BanIndex:
    return BanIndex.from_frame(_rows())


@pytest.mark.parametrize(
    "query",
    [
        "5 Rue de Rome 13006 Marseille",
        "5 r de rome 13006",
        "5 RUE DE ROME",
        "5 rue de rmoe 13006",
        "devant le 5 rue de Rome",
        "13006 Marseille, 5 rue de Rome",
        "rue de Rome 5, 13006",
        "5 rue de Rome Marseille 6e",
    ],
)
def test_a_known_number_is_found_exactly(index: BanIndex, query: str) -> None:
    result = index.geocode(query)
    assert result is not None
    assert (result.lon, result.lat) == (5.3794, 43.2942)
    assert result.precision == "housenumber" and not result.interpolated
    assert result.ban_id == "13206_0001_00005"


def test_a_clean_address_scores_high_and_degraded_ones_a_little_less(index: BanIndex) -> None:
    clean = index.geocode("5 Rue de Rome 13006 Marseille")
    typo = index.geocode("5 rue de rmoe 13006")
    assert clean is not None and typo is not None
    assert clean.score == 1.0
    assert MIN_SCORE < typo.score < clean.score


def test_suffixes(index: BanIndex) -> None:
    bis = index.geocode("3bis rue de Rome 13006")
    assert bis is not None and bis.ban_id == "13206_0001_00003_bis"
    ter = index.geocode("3 ter rue de Rome 13006")  # no 3 ter in the BAN: number 3
    assert ter is not None and ter.ban_id == "13206_0001_00003"
    assert ter.score < bis.score


def test_a_missing_number_is_interpolated_on_its_side(index: BanIndex) -> None:
    result = index.geocode("7 rue de Rome 13006")
    assert result is not None and result.interpolated and result.precision == "housenumber"
    assert (result.lon, result.lat) == pytest.approx((5.3796, 43.2938))  # between 5 and 9
    beyond = index.geocode("15 rue de Rome 13006")  # past the last odd number: the last one
    assert beyond is not None and beyond.interpolated
    assert (beyond.lon, beyond.lat) == (5.3798, 43.2934)


def test_the_postcode_chooses_between_homonyms(index: BanIndex) -> None:
    first = index.geocode("12 bd de la Libération 13001")
    fourth = index.geocode("12 bd de la Libération 13004")
    assert first is not None and fourth is not None
    assert first.ban_id == "13201_0004_00012" and fourth.ban_id == "13204_0005_00012"


def test_a_street_without_number_is_placed_at_its_middle(index: BanIndex) -> None:
    result = index.geocode("rue de Rome 13006")
    assert result is not None and result.precision == "street"
    assert (result.lon, result.lat) == (5.3794, 43.2942)  # number 5 of 1..9 and 2..10 sorted


def test_crossings_are_placed_where_the_streets_meet(index: BanIndex) -> None:
    for query in ("angle rue de Rome / bd Baille", "rue de Rome x boulevard Baille"):
        result = index.geocode(query)
        assert result is not None and result.intersection and result.precision == "street"
        assert result.lon == pytest.approx(5.3794, abs=2e-4)
        assert result.lat == pytest.approx(43.2942, abs=2e-4)


def test_named_places(index: BanIndex) -> None:
    port = index.geocode("Vieux Port")
    gare = index.geocode("gare st charles 13001")
    assert port is not None and port.precision == "locality" and port.lon == 5.3710
    assert gare is not None and gare.ban_id == "13201_0007_99999"


@pytest.mark.parametrize(
    "query", ["12 rue des Glycines Bleues 13006", "4 avenue Jean Moulinard 13006", "", "???"]
)
def test_unknown_streets_are_not_placed_with_confidence(index: BanIndex, query: str) -> None:
    result = index.geocode(query)
    assert result is None or result.score < HIGH_CONFIDENCE


def test_batches_match_each_distinct_text_once(index: BanIndex) -> None:
    queries = ["5 rue de Rome 13006", "Vieux Port", "5 rue de Rome 13006", "nulle part 99"]
    results = index.geocode_many(queries)
    assert results[0] is results[2]
    assert [r is None for r in results] == [False, False, False, True]
