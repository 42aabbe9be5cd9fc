"""BAN files: official CSV reader and writer, and the synthetic BAN of the street network."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geotranquil.errors import InvalidInput
from geotranquil.geocode.ban import (
    ADDRESS_COLUMNS,
    BAN_HEADER,
    read_ban,
    read_ban_frame,
    write_ban_csv,
)
from geotranquil.geography.reference import load_geography
from geotranquil.synth.ban import (
    BIS_EVERY,
    MISSING_EVERY,
    PLACES,
    TER_EVERY,
    ban_frame,
    missing_numbers,
)
from geotranquil.synth.streets import house_numbers, street_network

OFFICIAL_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "marseille"

HEADER = ";".join(BAN_HEADER)


def _line(
    ban_id: str = "13201_0001_00001",
    numero: str = "1",
    rep: str = "",
    nom_voie: str = "Rue Pavillon",
    code_insee: str = "13201",
    lon: str = "5.3772",
    lat: str = "43.2957",
) -> str:
    fields = dict.fromkeys(BAN_HEADER, "")
    fields.update(
        id=ban_id,
        id_fantoir="13201_0001",
        numero=numero,
        rep=rep,
        nom_voie=nom_voie,
        code_postal="13001",
        code_insee=code_insee,
        nom_commune="Marseille 1er Arrondissement",
        lon=lon,
        lat=lat,
        type_position="entrée",
    )
    return ";".join(fields[c] for c in BAN_HEADER)


@pytest.fixture(scope="module")
def network() -> pd.DataFrame:
    return street_network(load_geography(None), seed=7)


@pytest.fixture(scope="module")
def synth(network: pd.DataFrame) -> pd.DataFrame:
    return ban_frame(network)


def test_round_trip_is_exact(synth: pd.DataFrame, tmp_path: Path) -> None:
    path = write_ban_csv(synth, tmp_path / "adresses-13.csv")
    assert path.read_text("utf-8").splitlines()[0] == HEADER
    back, rejections = read_ban_frame(path)
    assert rejections == []
    assert list(back.columns) == list(ADDRESS_COLUMNS)
    pd.testing.assert_frame_equal(back, synth)
    # chunked reading gives the same rows, in order, in chunks of the asked size
    chunks = list(read_ban(path, chunk_rows=1000))
    assert [len(c.frame) for c in chunks[:-1]] == [1000] * (len(chunks) - 1)
    assert chunks[-1].last_row == len(synth)
    assert chunks[-1].bytes_read == path.stat().st_size
    pd.testing.assert_frame_equal(pd.concat([c.frame for c in chunks], ignore_index=True), synth)


def test_written_file_has_plausible_official_columns(synth: pd.DataFrame, tmp_path: Path) -> None:
    path = write_ban_csv(synth.head(50), tmp_path / "b.csv")
    rows = [
        dict(zip(BAN_HEADER, r.split(";"), strict=True)) for r in path.read_text().split("\n")[1:-1]
    ]
    first = rows[0]
    assert first["id_fantoir"] == first["id"].rsplit("_", 1)[0]
    assert first["libelle_acheminement"] == "MARSEILLE"
    assert first["certification_commune"] == "1" and first["cad_parcelles"] == ""
    assert first["source_nom_voie"] == "commune"
    assert first["nom_afnor"] == first["nom_afnor"].upper() and first["nom_afnor"].isascii()
    # Lambert-93 of Marseille's centre
    assert 880_000 < float(first["x"]) < 910_000 and 6_235_000 < float(first["y"]) < 6_260_000
    # same frame, same bytes (gzip included: no date in its header)
    assert write_ban_csv(synth.head(50), tmp_path / "c.csv").read_bytes() == path.read_bytes()
    gz1 = write_ban_csv(synth.head(50), tmp_path / "d.csv.gz").read_bytes()
    gz2 = write_ban_csv(synth.head(50), tmp_path / "e.csv.gz").read_bytes()
    assert gz1 == gz2 and gzip.decompress(gz1) == path.read_bytes()


def test_gzip_input_is_recognised_by_its_content(synth: pd.DataFrame, tmp_path: Path) -> None:
    plain = write_ban_csv(synth, tmp_path / "plain.csv")
    gz = tmp_path / "adresses-13.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    back, _ = read_ban_frame(gz)
    pd.testing.assert_frame_equal(back, synth)
    oddly_named = tmp_path / "adresses.csv"  # gzip content without the .gz suffix
    oddly_named.write_bytes(gz.read_bytes())
    pd.testing.assert_frame_equal(read_ban_frame(oddly_named)[0], synth)
    chunks = list(read_ban(gz, chunk_rows=5000))
    assert chunks[-1].bytes_read == gz.stat().st_size  # progress counts compressed bytes


def test_wrong_header_names_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    header = [c for c in BAN_HEADER if c not in ("numero", "lat")]
    path.write_text(";".join(header) + "\n", "utf-8")
    with pytest.raises(InvalidInput) as err:
        next(read_ban(path))
    message = str(err.value)
    assert "bad.csv" in message and "Base Adresse Nationale" in message
    assert "colonnes absentes de l'en-tête : numero, lat" in message
    comma = tmp_path / "comma.csv"
    comma.write_text(",".join(BAN_HEADER) + "\n", "utf-8")
    with pytest.raises(InvalidInput, match="séparateur attendu est « ; »"):
        next(read_ban(comma))
    empty = tmp_path / "empty.csv"
    empty.write_text("", "utf-8")
    with pytest.raises(InvalidInput, match="fichier vide"):
        next(read_ban(empty))
    with pytest.raises(InvalidInput, match="introuvable"):
        next(read_ban(tmp_path / "absent.csv"))


def test_dirty_rows_are_rejected_with_their_reason_and_row_number(tmp_path: Path) -> None:
    lines = [
        HEADER,
        _line("13201_0001_00001"),  # 1 ok
        _line(""),  # 2
        _line("13201_0001_00003", numero="3a"),  # 3
        _line("13201_0001_00005", lon=""),  # 4
        _line("13201_0001_00007", lat="95.2"),  # 5
        _line("13201_0001_00009", lon="cinq"),  # 6
        _line("13201_0001_00011", nom_voie=""),  # 7
        _line("13201_0001_00013", code_insee=""),  # 8
        "",  # 9: blank line, skipped
        _line("13201_0001_00001"),  # 10: duplicate of row 1
        "13201_0001_00015;trop;court",  # 11
        _line("13201_0001_00002_bis", numero="2", rep="BIS"),  # 12 ok
        _line("13201_0001_00017", numero="-4"),  # 13
    ]
    path = tmp_path / "dirty.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    frame, rejections = read_ban_frame(path)
    assert frame["id"].tolist() == ["13201_0001_00001", "13201_0001_00002_bis"]
    assert frame["rep"].tolist() == ["", "bis"]
    assert frame["street_key"].tolist() == ["13201_0001", "13201_0001"]
    assert [(r.row_number, r.reason) for r in rejections] == [
        (2, "missing_id"),
        (3, "invalid_numero"),
        (4, "missing_position"),
        (5, "position_out_of_range"),
        (6, "invalid_position"),
        (7, "missing_nom_voie"),
        (8, "missing_code_insee"),
        (10, "duplicate_id"),
        (11, "malformed_row"),
        (13, "invalid_numero"),
    ]
    assert rejections[1].raw == lines[3]
    assert rejections[1].ban_id == "13201_0001_00003"
    assert rejections[8].raw == "13201_0001_00015;trop;court"
    assert rejections[8].detail == f"3 champs au lieu de {len(BAN_HEADER)}"
    assert rejections[0].ban_id == ""
    chunks = list(read_ban(path, chunk_rows=4))
    assert [c.rows_read for c in chunks] == [4, 4, 4]  # the blank line is not a row
    assert [c.last_row for c in chunks] == [4, 8, 13]


def test_synthetic_ban_covers_the_network_but_the_planted_gaps(
    network: pd.DataFrame, synth: pd.DataFrame
) -> None:
    assert synth["id"].is_unique
    assert synth["id"].is_monotonic_increasing
    numbers = house_numbers(network)
    gaps = missing_numbers(network)
    streets = synth[synth["numero"] != 99999]
    plain = streets[streets["rep"] == ""]
    have = set(zip(plain["street_key"].str[-4:].astype(int), plain["numero"], strict=True))
    every = set(zip(numbers["street_id"], numbers["number"], strict=True))
    left_out = set(zip(gaps["street_id"], gaps["numero"], strict=True))
    assert have == every - left_out and left_out <= every
    # the rule: multiples of 37 that have a same-side neighbour after them
    max_no = dict(zip(network["street_id"], network["max_number"], strict=True))
    expected = {(s, n) for s, n in every if n % MISSING_EVERY == 0 and n + 2 <= max_no[s]}
    assert left_out == expected
    assert 0.015 < len(left_out) / len(every) < 0.035
    for s, n in left_out:  # both neighbours are there, for interpolation
        assert (s, n - 2) in have and (s, n + 2) in have
    # true positions of the gaps are those of house_numbers
    merged = gaps.merge(numbers, left_on=["street_id", "numero"], right_on=["street_id", "number"])
    assert np.allclose(merged["lon_x"], merged["lon_y"]) and len(merged) == len(gaps)
    # ids, keys and communes in the BAN's shape
    row = plain.iloc[0]
    assert row["id"] == f"{row['street_key']}_{row['numero']:05d}"
    assert row["code_insee"].startswith("132") and row["code_postal"].startswith("130")
    assert row["code_postal"][-2:] == row["code_insee"][-2:]
    names = set(synth["nom_commune"])
    assert "Marseille 1er Arrondissement" in names and "Marseille 2e Arrondissement" in names
    assert (streets["type_position"] == "entrée").all()


def test_bis_and_ter_numbers(network: pd.DataFrame, synth: pd.DataFrame) -> None:
    reps = synth[synth["rep"] != ""]
    assert set(reps["rep"]) == {"bis", "ter"}
    bis = reps[reps["rep"] == "bis"]
    assert (bis["numero"] % BIS_EVERY == 0).all()
    assert (reps.loc[reps["rep"] == "ter", "numero"] % TER_EVERY == 0).all()
    assert (bis["id"] == bis["id"].str.rsplit("_", n=1).str[0] + "_bis").all()
    base = synth.set_index("id")
    for _, r in bis.head(200).iterrows():
        b = base.loc[f"{r['street_key']}_{r['numero']:05d}"]  # its number is in the file
        # a few metres away
        dx = (r["lon"] - b["lon"]) * 111_320 * np.cos(np.radians(43.3))
        dy = (r["lat"] - b["lat"]) * 110_540
        assert 1.0 < np.hypot(dx, dy) < 15.0
    numbers = house_numbers(network)
    expected = int(
        ((numbers["number"] % BIS_EVERY == 0) & (numbers["number"] % MISSING_EVERY != 0)).sum()
    )
    assert abs(len(bis) - expected) <= 5  # a multiple of 17 * 37 at a street's end stays


def test_named_places_lie_in_the_commune(synth: pd.DataFrame) -> None:
    places = synth[synth["numero"] == 99999]
    assert len(places) == len(PLACES) >= 15
    assert (places["nom_ld"] == places["nom_voie"]).all()
    assert {"Vieux-Port", "Gare Saint-Charles", "Stade Vélodrome", "Parc Borély"} <= set(
        places["nom_voie"]
    )
    assert "Cours Julien" not in set(places["nom_voie"])  # a street, not a place
    assert set(places["nom_voie"]).isdisjoint(set(synth.loc[synth["numero"] != 99999, "nom_voie"]))
    assert places["id"].str.endswith("_99999").all()
    geographies = [load_geography(None)]
    if (OFFICIAL_DIR / "commune.geojson").is_file():
        geographies.append(load_geography(OFFICIAL_DIR))
    for geography in geographies:
        pts = shapely.points(places["lon"], places["lat"])
        assert shapely.contains(geography.commune, pts).all(), geography.origin
    if len(geographies) == 2:  # and in their arrondissement of the official boundaries
        arr = geographies[1].arrondissements
        for _, p in places.iterrows():
            hit = arr[arr.contains(shapely.Point(p["lon"], p["lat"]))]["code"].tolist()
            assert hit == [p["code_insee"]], p["nom_voie"]


def test_synthetic_ban_is_deterministic(network: pd.DataFrame, synth: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(ban_frame(network), synth)


def test_address_columns_are_the_tables_staging_columns() -> None:
    """The file format lists its columns itself (it loads no database code); they must stay
    those the database stages, in the same order."""
    from geotranquil.db.ban import STAGE_COLUMNS
    from geotranquil.geocode.ban import ADDRESS_COLUMNS

    assert ADDRESS_COLUMNS == STAGE_COLUMNS
