"""How people actually write Marseille addresses: the vocabulary of :mod:`.address_phrasing`.

Written from police logbook extracts, resident reports and postal habits, on purpose apart from
the geocoder's parser (:mod:`geotranquil.geocode.normalize` is not imported here nor there): an
evaluation set that reuses the parser's own words would agree with it by construction.
"""

from __future__ import annotations

from typing import Final

#: How a logbook places an event at a house number; ``{n}`` the number, ``{s}`` the street.
LOGBOOK: Final[tuple[str, ...]] = (
    "devant le n° {n} {s}",
    "devant le n°{n} {s}",
    "à hauteur du {n} {s}",
    "à hauteur du n° {n}, {s}",
    "au droit du {n} {s}",
    "face au {n} {s}",
    "face au n°{n} {s}",
    "au niveau du {n} {s}",
    "sur la voie publique au {n} {s}",
    "VP devant le {n} {s}",
    "{s}, à hauteur du n° {n}",
    "{s} devant le n° {n}",
    "{s} au niveau du {n}",
    "intervention au {n} {s}",
)
#: Free words around the address, outside any fixed list.
FREE_WORDS: Final[tuple[str, ...]] = (
    "devant l'immeuble du {n} {s}",
    "{n} {s} devant la pharmacie",
    "{n} {s}, devant la boulangerie",
    "dans le hall du {n} {s}",
    "victime domiciliée {n} {s}",
    "en bas du {n} {s}",
    "{n} {s} (2e étage gauche)",
    "{n} {s} sortie de l'école",
    "arrêt de bus face au {n} {s}",
    "interpellation au {n} {s} vers 22h",
    "local poubelles du {n} {s}",
    "{n} {s} côté parking",
    "au pied de l'immeuble {n} {s}",
    "chez Mme X, {n} {s}",
)
#: Spellings of street types in real use: FANTOIR nature-of-way codes, La Poste's postal
#: abbreviations and what clerks type (upper / lower case, with or without a full stop).
TYPE_SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    "Rue": ("r", "R.", "R"),
    "Boulevard": ("bd", "Bd", "BD", "bld", "boul.", "Bvd"),
    "Avenue": ("av", "Av.", "AV", "ave", "avn"),
    "Chemin": ("che", "ch.", "chem", "CHE", "chm"),
    "Traverse": ("tra", "TRA", "trav", "tse", "Trav."),
    "Montée": ("mtée", "mte", "MTE", "Mtée"),
    "Impasse": ("imp", "Imp.", "IMP"),
    "Allée": ("all", "all.", "ALL"),
    "Place": ("pl", "Pl."),
    "Cours": ("crs", "CRS"),
    "Quai": ("qu", "qua", "QUAI"),
    "Route": ("rte", "RTE"),
}
#: Articles between a street type and its name, longest first.
ARTICLES: Final[tuple[str, ...]] = ("de la ", "de l'", "des ", "du ", "de ", "d'")
#: Words people add after an address as a country.
COUNTRY_TAILS: Final[tuple[str, ...]] = (", France", " FRANCE", " France", " - France")
