"""The evaluation set written apart from the parser, and the traps of its street network."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geotranquil.synth.address_phrasing as phrasing
import geotranquil.synth.phrasing_vocab as vocab
from geotranquil.geocode.query_kinds import PHRASING_DEGRADED_KINDS, PHRASING_KINDS
from geotranquil.geography.reference import load_geography
from geotranquil.synth.address_phrasing import my_fold, phrased_queries
from geotranquil.synth.ban import PLACES, ban_frame
from geotranquil.synth.street_traps import ABSENT_PLACES, SPLIT_STREETS, trap_ban
from geotranquil.synth.streets import street_network


@pytest.fixture(scope="module")
def ban() -> pd.DataFrame:
    geography = load_geography(None)
    network = street_network(geography, seed=5)
    return pd.concat([ban_frame(network, PLACES), trap_ban(geography, seed=5)], ignore_index=True)


@pytest.fixture(scope="module")
def queries(ban: pd.DataFrame) -> pd.DataFrame:
    return phrased_queries(ban, ABSENT_PLACES, n_per_kind=40, seed=9)


def test_written_apart_from_the_parser() -> None:
    for module in (phrasing, vocab):
        tree = ast.parse(Path(str(module.__file__)).read_text("utf-8"))
        imported = {
            n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
        } | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any("normalize" in m or "matching" in m for m in imported), imported


def test_every_kind_with_its_truth(queries: pd.DataFrame) -> None:
    assert list(dict.fromkeys(queries["kind"])) == list(PHRASING_KINDS)
    counts = queries.groupby("kind", sort=False).size()
    assert (counts[list(PHRASING_DEGRADED_KINDS)] == 40).all(), counts
    no_truth = queries["kind"].isin(["beyond_end", "absent_place"])
    assert queries.loc[no_truth, "true_lon"].isna().all()
    assert queries.loc[~no_truth, "true_lon"].notna().all()


def test_phrasings(queries: pd.DataFrame, ban: pd.DataFrame) -> None:
    by = {k: g for k, g in queries.groupby("kind")}
    assert by["apostrophe"]["query"].str.contains("’").all()
    assert not by["apostrophe"]["query"].str.contains("'").any()
    assert by["country_suffix"]["query"].str.contains("France|FRANCE").all()
    assert (by["combined"]["query"] != by["clean"]["query"].iloc[0]).all()
    assert by["combined"]["query"].str.match(r"^\S").all() and len(by["combined"]) == 40
    spellings = {w.lower() for k, v in vocab.TYPE_SPELLINGS.items() for w in (k, *v)}
    for text in by["type_after"]["query"]:
        words = [w for w in text.split() if not w.isdigit()]
        assert words[0].lower() not in spellings, text  # the type comes after the name
        assert any(w.strip("(),").lower() in spellings for w in words[1:]), text
    cp_of = ban.set_index("id")["code_postal"]
    wrong = by["neighbour_postcode"]
    for text, ban_id in zip(wrong["query"], wrong["true_ban_id"], strict=True):
        assert cp_of[ban_id] not in text, text
    splits = by["split_street"]
    assert splits["query"].str.contains("|".join(s[0] for s in SPLIT_STREETS)).all()
    for text, ban_id in zip(splits["query"], splits["true_ban_id"], strict=True):
        assert cp_of[ban_id] not in text, text  # the other piece's postcode, or none


def test_traps(ban: pd.DataFrame) -> None:
    plain = ban[ban["numero"] < 99999]
    chave = plain[plain["nom_voie"] == "Boulevard Chave"]
    ranges = chave.groupby("code_postal")["numero"].agg(["min", "max"]).sort_values("min")
    assert list(ranges.index) == ["13005", "13004"]
    assert ranges["min"].iloc[1] == ranges["max"].iloc[0] + 1  # numbering goes on
    assert my_fold("Rue de Tours") == my_fold("Rue des Tours")
    names = set(plain["nom_voie"])
    assert {"Rue de Tours", "Rue des Tours", "Impasse Jeune France", "Rue Brandis"} <= names
    assert "Château d'If" not in names and "Rue du Château d'If" in names
    assert np.isfinite(plain[["lon", "lat"]].to_numpy()).all()


def test_trap_names_are_not_random_names() -> None:
    """A trap must not meet a name of the random network by chance (it would be a third one)."""
    from geotranquil.synth.street_traps import SINGLE_STREETS
    from geotranquil.synth.streets import KNOWN_STREETS, NAME_PARTS, STREET_TYPES

    possible = {f"{t[0]} {p}" for t in STREET_TYPES for p in NAME_PARTS}
    possible |= {k[0] for k in KNOWN_STREETS}
    assert not {s[0] for s in (*SPLIT_STREETS, *SINGLE_STREETS)} & possible
