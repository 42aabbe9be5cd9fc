"""A synthetic Base Adresse Nationale of the synthetic street network, with planted gaps.

Every house number of :func:`geotranquil.synth.streets.house_numbers` becomes a BAN address
(type_position "entrée"), with ids in the BAN's shape (``<insee>_<street>_<numero>[_<rep>]``),
plus:

- "bis" numbers: every number that is a multiple of :data:`BIS_EVERY` (17) also has a "bis",
  placed 40 % of the way towards the next number on the same side; multiples of
  :data:`TER_EVERY` (51) also have a "ter", 70 % of the way;
- named places (lieux-dits, ``numero`` 99999, ``nom_voie`` and ``nom_ld`` the place's name)
  from :data:`PLACES`, real places of Marseille at their approximate real position;
- planted gaps for testing interpolation: a number that is a multiple of
  :data:`MISSING_EVERY` (37) and has a same-side neighbour after it (``numero + 2`` still on
  the street) is left out of the file, so that both neighbours ``numero - 2`` and
  ``numero + 2`` are in it. :func:`missing_numbers` lists them with their true positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from geotranquil.geocode.ban import ADDRESS_COLUMNS, PLACE_NUMERO
from geotranquil.synth.streets import house_numbers

#: Name of the synthetic BAN file written by :func:`geotranquil.synth.generate`.
BAN_FILE: Final = "adresses-13-synth.csv"
#: Numbers that are multiples of this (with a neighbour after them) are left out of the file.
MISSING_EVERY: Final = 37
#: Numbers that are multiples of this also have a "bis".
BIS_EVERY: Final = 17
#: Numbers that are multiples of this also have a "ter".
TER_EVERY: Final = 51
#: Where a "bis" / "ter" sits between its number and the next one on the same side.
_REP_SHIFT: Final = {"bis": 0.4, "ter": 0.7}


@dataclass(frozen=True)
class Place:
    """A named place (lieu-dit): name, approximate real position, arrondissement (1 to 16)."""

    name: str
    lon: float
    lat: float
    arrondissement: int

    @property
    def code_insee(self) -> str:
        return f"{13200 + self.arrondissement}"

    @property
    def code_postal(self) -> str:
        return f"{13000 + self.arrondissement}"


#: Real places of Marseille (none is a street of the synthetic network), checked to lie in
#: their arrondissement of the official boundaries.
PLACES: Final[tuple[Place, ...]] = (
    Place("Vieux-Port", 5.3748, 43.2953, 1),
    Place("Gare Saint-Charles", 5.3803, 43.3027, 1),
    Place("Noailles", 5.3805, 43.2962, 1),
    Place("Belsunce", 5.3770, 43.2995, 1),
    Place("Le Panier", 5.3680, 43.2990, 2),
    Place("La Joliette", 5.3685, 43.3040, 2),
    Place("Les Docks", 5.3665, 43.3066, 2),
    Place("Fort Saint-Jean", 5.3625, 43.2960, 2),
    Place("Porte d'Aix", 5.3728, 43.3006, 2),
    Place("Friche la Belle de Mai", 5.3900, 43.3110, 3),
    Place("Palais Longchamp", 5.3945, 43.3045, 4),
    Place("La Plaine", 5.3875, 43.2948, 5),
    Place("Hôpital de la Timone", 5.4010, 43.2895, 5),
    Place("Notre-Dame de la Garde", 5.3713, 43.2840, 6),
    Place("Castellane", 5.3840, 43.2855, 6),
    Place("Palais du Pharo", 5.3595, 43.2935, 7),
    Place("Vallon des Auffes", 5.3515, 43.2860, 7),
    Place("Parc Borély", 5.3820, 43.2590, 8),
    Place("Stade Vélodrome", 5.3958, 43.2699, 8),
    Place("Plage du Prado", 5.3730, 43.2610, 8),
    Place("Les Goudes", 5.3510, 43.2170, 8),
    Place("Campus de Luminy", 5.4360, 43.2320, 9),
    Place("Parc du 26e Centenaire", 5.3985, 43.2845, 10),
    Place("La Valentine", 5.4840, 43.2960, 11),
    Place("Les Trois-Lucs", 5.4575, 43.3080, 12),
    Place("Château-Gombert", 5.4430, 43.3600, 13),
    Place("Le Merlan", 5.4040, 43.3410, 14),
    Place("Marché aux puces", 5.3700, 43.3400, 15),
    Place("L'Estaque", 5.3230, 43.3630, 16),
)


def commune_name(code_insee: str) -> str:
    """The BAN's ``nom_commune`` of a Marseille arrondissement.

    Examples
    --------
    >>> commune_name("13201"), commune_name("13216")
    ('Marseille 1er Arrondissement', 'Marseille 16e Arrondissement')
    """
    n = int(code_insee) - 13200
    return f"Marseille {n}{'er' if n == 1 else 'e'} Arrondissement"


def _insee(network: gpd.GeoDataFrame) -> pd.Series:
    if "arrondissement_code" in network.columns:
        return network["arrondissement_code"].astype(str)
    return "132" + network["postcode"].astype(str).str[-2:]


def _numbers(network: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every house number with its street's keys, and whether it is left out."""
    numbers = house_numbers(network)
    info = pd.DataFrame(
        {
            "street_id": network["street_id"].to_numpy(),
            "code_insee": _insee(network).to_numpy(),
            "max_number": network["max_number"].to_numpy(),
        }
    )
    numbers = numbers.merge(info, on="street_id", how="left", validate="many_to_one")
    numbers["street_key"] = [
        f"{c}_{int(s):04d}"
        for c, s in zip(numbers["code_insee"], numbers["street_id"], strict=True)
    ]
    no = numbers["number"].to_numpy()
    numbers["missing"] = (no % MISSING_EVERY == 0) & (no + 2 <= numbers["max_number"].to_numpy())
    return numbers


def missing_numbers(network: gpd.GeoDataFrame) -> pd.DataFrame:
    """The house numbers deliberately left out of :func:`ban_frame`, at their true position.

    Returns
    -------
    pandas.DataFrame
        ``street_id, street_key, name, code_insee, code_postal, numero, lon, lat``.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> from geotranquil.synth.streets import street_network
    >>> gaps = missing_numbers(street_network(load_geography(None), seed=1))
    >>> bool((gaps["numero"] % MISSING_EVERY == 0).all()), len(gaps) > 50
    (True, True)
    """
    numbers = _numbers(network)
    gaps = numbers[numbers["missing"]]
    return pd.DataFrame(
        {
            "street_id": gaps["street_id"].to_numpy(),
            "street_key": gaps["street_key"].to_numpy(),
            "name": gaps["name"].to_numpy(),
            "code_insee": gaps["code_insee"].to_numpy(),
            "code_postal": gaps["postcode"].astype(str).to_numpy(),
            "numero": gaps["number"].to_numpy(dtype=np.int64),
            "lon": gaps["lon"].to_numpy(),
            "lat": gaps["lat"].to_numpy(),
        }
    )


def _rep_rows(numbers: pd.DataFrame, rep: str, every: int) -> pd.DataFrame:
    """The "bis"/"ter" of every present number that is a multiple of ``every``."""
    no = numbers["number"].to_numpy()
    base = numbers[(no % every == 0) & ~numbers["missing"].to_numpy()]
    keyed = numbers.set_index(["street_id", "number"])
    nxt = keyed.reindex(list(zip(base["street_id"], base["number"] + 2, strict=True)))
    prv = keyed.reindex(list(zip(base["street_id"], base["number"] - 2, strict=True)))
    has_next = nxt["lon"].notna().to_numpy()
    lon0, lat0 = base["lon"].to_numpy(), base["lat"].to_numpy()
    # towards the next number on the same side, or away from the previous one at the end
    dlon = np.where(has_next, nxt["lon"].to_numpy() - lon0, lon0 - prv["lon"].to_numpy())
    dlat = np.where(has_next, nxt["lat"].to_numpy() - lat0, lat0 - prv["lat"].to_numpy())
    shift = _REP_SHIFT[rep]
    return base.assign(
        rep=rep,
        lon=(lon0 + shift * dlon).round(6),
        lat=(lat0 + shift * dlat).round(6),
    )


def ban_frame(
    network: gpd.GeoDataFrame,
    places: tuple[Place, ...] | list[Place] = PLACES,
    commune_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The synthetic BAN of a street network: an address frame sorted by id.

    Parameters
    ----------
    network
        A street network from :func:`geotranquil.synth.streets.street_network`.
    places
        Named places to add (numero 99999).
    commune_names
        ``nom_commune`` of INSEE codes that are not arrondissements of Marseille (the other
        communes of a wider study area).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`geotranquil.geocode.ban.ADDRESS_COLUMNS`, as
        :func:`geotranquil.geocode.ban.read_ban` reads them back from
        :func:`geotranquil.geocode.ban.write_ban_csv`'s file.

    Examples
    --------
    >>> from geotranquil.geography.reference import load_geography
    >>> from geotranquil.synth.streets import street_network
    >>> ban = ban_frame(street_network(load_geography(None), seed=1))
    >>> bool(ban["id"].is_unique), sorted(set(ban["rep"]))
    (True, ['', 'bis', 'ter'])
    >>> ban.loc[ban["nom_ld"] == "Vieux-Port", ["id", "numero", "nom_commune"]].values.tolist()
    [['13201_b001_99999', 99999, 'Marseille 1er Arrondissement']]
    """
    numbers = _numbers(network)
    plain = numbers[~numbers["missing"]].assign(rep="")
    rows = pd.concat(
        [plain, _rep_rows(numbers, "bis", BIS_EVERY), _rep_rows(numbers, "ter", TER_EVERY)],
        ignore_index=True,
    )
    suffix = np.where(rows["rep"] == "", "", "_" + rows["rep"])
    ids = [
        f"{k}_{int(n):05d}{s}"
        for k, n, s in zip(rows["street_key"], rows["number"], suffix, strict=True)
    ]
    streets = pd.DataFrame(
        {
            "id": ids,
            "street_key": rows["street_key"].to_numpy(),
            "numero": rows["number"].to_numpy(dtype=np.int64),
            "rep": rows["rep"].to_numpy(),
            "nom_voie": rows["name"].to_numpy(),
            "code_postal": rows["postcode"].astype(str).to_numpy(),
            "code_insee": rows["code_insee"].to_numpy(),
            "nom_commune": [
                (commune_names or {}).get(c) or commune_name(c) for c in rows["code_insee"]
            ],
            "nom_ancienne_commune": None,
            "alias": None,
            "nom_ld": None,
            "type_position": "entrée",
            "source_position": "commune",
            "lon": rows["lon"].to_numpy(dtype=float),
            "lat": rows["lat"].to_numpy(dtype=float),
        }
    )
    named = pd.DataFrame(
        {
            "id": [f"{p.code_insee}_b{i:03d}_{PLACE_NUMERO}" for i, p in enumerate(places, 1)],
            "street_key": [f"{p.code_insee}_b{i:03d}" for i, p in enumerate(places, 1)],
            "numero": np.full(len(places), PLACE_NUMERO, dtype=np.int64),
            "rep": "",
            "nom_voie": [p.name for p in places],
            "code_postal": [p.code_postal for p in places],
            "code_insee": [p.code_insee for p in places],
            "nom_commune": [commune_name(p.code_insee) for p in places],
            "nom_ancienne_commune": None,
            "alias": None,
            "nom_ld": [p.name for p in places],
            "type_position": "segment",
            "source_position": "commune",
            "lon": np.array([p.lon for p in places], dtype=float),
            "lat": np.array([p.lat for p in places], dtype=float),
        }
    )
    out = pd.concat([streets, named], ignore_index=True)
    out = out.sort_values("id", kind="stable", ignore_index=True)
    for c in ADDRESS_COLUMNS:
        if c not in ("numero", "lon", "lat"):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[list(ADDRESS_COLUMNS)]
