"""Normalising and parsing free-text French addresses (geocode.normalize): exact cases."""

from __future__ import annotations

import random
from typing import Any

import pytest

from geotranquil.geocode.normalize import (
    MAX_LENGTH,
    STOPWORDS,
    STREET_TYPES,
    ParsedAddress,
    _parse,
    arrondissement_postcode,
    fold,
    normalize,
    parse_address,
    street_core,
)

# ---------------------------------------------------------------------------------------- fold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rue Saint-Ferréol", "rue saint ferreol"),
        ("Rue d'Aubagne", "rue d aubagne"),
        ("Rue d’Aubagne", "rue d aubagne"),
        ("Rue d`Aubagne", "rue d aubagne"),
        ("  MONTÉE   des\tAccoules \n", "montee des accoules"),
        ("Cœur, Æther & Straße", "coeur aether straße".replace("ß", "ss")),
        ("ŒUVRE", "oeuvre"),
        ("Bd. (N°12) / angle; rue_X!", "bd n 12 angle rue x"),
        ("Impasse Montévidéo", "impasse montevideo"),
        ("Marseille 2ème", "marseille 2eme"),
        ("Place Jean Jaurès", "place jean jaures"),
        ("Çà et là", "ca et la"),
        ("Łódź Øster ﬁn", "lodz oster fin"),
        ("Й", "и"),  # the breve is dropped, the Cyrillic letter kept
        ("", ""),
        (" ,;:!? ", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


# ----------------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # BAN street names: only folding
        ("Rue de la République", "rue de la republique"),
        ("Boulevard des Dames", "boulevard des dames"),
        ("Avenue du Prado", "avenue du prado"),
        ("Rue d'Aubagne", "rue d aubagne"),
        ("Cours Julien", "cours julien"),
        ("Quai de Rive-Neuve", "quai de rive neuve"),
        ("Place Jean Jaurès", "place jean jaures"),
        ("Chemin du Roucas Blanc", "chemin du roucas blanc"),
        ("Traverse de la Martine", "traverse de la martine"),
        ("Montée des Accoules", "montee des accoules"),
        ("Impasse Montévidéo", "impasse montevideo"),
        ("Rue Saint-Ferréol", "rue saint ferreol"),
        # abbreviations of street types
        ("R ST FERREOL", "rue saint ferreol"),
        ("bd Baille", "boulevard baille"),
        ("BLD National", "boulevard national"),
        ("Boul. Michelet", "boulevard michelet"),
        ("blvd Michelet", "boulevard michelet"),
        ("av du Prado", "avenue du prado"),
        ("Ave du Prado", "avenue du prado"),
        ("aven de la Corse", "avenue de la corse"),
        ("ch du Roucas Blanc", "chemin du roucas blanc"),
        ("chem. de la Parette", "chemin de la parette"),
        ("crs Julien", "cours julien"),
        ("pl Jean Jaurès", "place jean jaures"),
        ("rte des Camoins", "route des camoins"),
        ("imp Montévidéo", "impasse montevideo"),
        ("qu de Rive-Neuve", "quai de rive neuve"),
        ("qua des Belges", "quai des belges"),
        ("sq Stalingrad", "square stalingrad"),
        ("tse de la Martine", "traverse de la martine"),
        ("trav. de la Martine", "traverse de la martine"),
        ("mte des Accoules", "montee des accoules"),
        ("all. Léon Gambetta", "allee leon gambetta"),
        ("esp. J.F. Kennedy", "esplanade j f kennedy"),
        ("prom. Georges Pompidou", "promenade georges pompidou"),
        ("res. Les Flots Bleus", "residence les flots bleus"),
        ("lot. Les Pins", "lotissement les pins"),
        ("ham. des Accates", "hameau des accates"),
        ("cit. Saint-Louis", "cite saint louis"),
        ("sen. du Vallon", "sentier du vallon"),
        ("pass. Leo Ferre", "passage leo ferre"),
        ("carr. de la Madeleine", "carrefour de la madeleine"),
        ("crf de la Madeleine", "carrefour de la madeleine"),
        ("rdpt du Prado", "rond point du prado"),
        ("Rd-Pt du Prado", "rond point du prado"),
        ("Rond-Point du Prado", "rond point du prado"),
        ("fbg Saint-Antoine", "faubourg saint antoine"),
        # saints and titles, anywhere
        ("rue Ste Cécile", "rue sainte cecile"),
        ("pl. des Sts Pères", "place des saints peres"),
        ("Allée des Stes Maries", "allee des saintes maries"),
        ("av du Gal Leclerc", "avenue du general leclerc"),
        ("av du Gén. de Gaulle", "avenue du general de gaulle"),
        ("bd du Mal Juin", "boulevard du marechal juin"),
        ("av du Pdt Kennedy", "avenue du president kennedy"),
        ("rue du Dr Escat", "rue du docteur escat"),
        ("bd du Prof. Leriche", "boulevard du professeur leriche"),
        ("rue du Cdt Rolland", "rue du commandant rolland"),
        ("rue du Cne Dessemond", "rue du capitaine dessemond"),
        ("bd du Lt Dagorno", "boulevard du lieutenant dagorno"),
        ("N.-D. de la Garde", "notre dame de la garde"),
        # house numbers in front: the street part starts after them
        ("12 bd de la Libération 13001", "12 boulevard de la liberation 13001"),
        ("12 r de Rome", "12 rue de rome"),
        ("12 b r de Rome", "12 b rue de rome"),
        ("12bis pl Castellane", "12bis place castellane"),
        ("n°12 r de Rome", "n 12 rue de rome"),
        # "r", "pl", "ch", "qu", "all", "lot", "res" ... only as the first street token
        ("rue de la Paix r", "rue de la paix r"),
        ("Av Pl Dupont", "avenue pl dupont"),
        ("chemin de la Ch", "chemin de la ch"),
        ("All You Need", "allee you need"),
        ("impasse du Lot", "impasse du lot"),
        ("rue des Res", "rue des res"),
        # not expanded on purpose
        ("pt de Vivaux", "pt de vivaux"),
        ("Col de la Gineste", "col de la gineste"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_ban_name_and_logbook_spelling_meet() -> None:
    assert normalize("Rue Saint-Ferréol") == normalize("R ST FERREOL")
    assert normalize("Boulevard de la Libération") == normalize("BD DE LA LIBERATION")
    assert normalize("Avenue du Général Leclerc") == normalize("av du gal leclerc")
    assert normalize("Traverse de la Martine") == normalize("tse de la martine")


def test_street_types_table() -> None:
    full = set(STREET_TYPES.values())
    assert all(STREET_TYPES[f] == f for f in full)
    assert STREET_TYPES["bd"] == STREET_TYPES["bld"] == STREET_TYPES["blvd"] == "boulevard"
    assert STREET_TYPES["r"] == "rue"
    assert STREET_TYPES["tse"] == STREET_TYPES["trav"] == STREET_TYPES["traverse"] == "traverse"
    assert STREET_TYPES["rdpt"] == STREET_TYPES["rond point"] == "rond point"
    assert "parc" not in STREET_TYPES and "gare" not in STREET_TYPES
    # every expansion is already normalised
    assert all(normalize(f) == f for f in full)
    assert {
        "de",
        "du",
        "des",
        "la",
        "le",
        "les",
        "l",
        "d",
        "a",
        "au",
        "aux",
        "en",
        "et",
    } <= STOPWORDS
    assert {"sur", "sous"} <= STOPWORDS


def test_module_table_lists_every_spelling() -> None:
    import geotranquil.geocode.normalize as module

    doc = module.__doc__ or ""
    words = set(doc.replace(",", " ").replace('"', " ").split())
    assert set(STREET_TYPES) - {"rond point"} <= words
    assert {"st", "ste", "sts", "stes", "gal", "gen", "mal", "pdt", "dr", "prof", "cdt"} <= words


# --------------------------------------------------------------------------------- street_core


@pytest.mark.parametrize(
    ("street", "expected"),
    [
        ("boulevard de la liberation", ("boulevard", "liberation")),
        ("rue de rome", ("rue", "rome")),
        ("rue de la republique", ("rue", "republique")),
        ("boulevard des dames", ("boulevard", "dames")),
        ("avenue du prado", ("avenue", "prado")),
        ("rue d aubagne", ("rue", "aubagne")),
        ("chemin du roucas blanc", ("chemin", "roucas blanc")),
        ("montee des accoules", ("montee", "accoules")),
        ("rond point du prado", ("rond point", "prado")),
        ("rue pierre et marie curie", ("rue", "pierre marie curie")),
        ("chemin de saint menet aux accates", ("chemin", "saint menet accates")),
        ("la canebiere", (None, "canebiere")),
        ("grand rue", (None, "grand rue")),
        ("rue", (None, "rue")),
        ("rue de la", ("rue", "de la")),
        ("", (None, "")),
    ],
)
def test_street_core(street: str, expected: tuple[str | None, str]) -> None:
    assert street_core(street) == expected


def test_arrondissement_postcode() -> None:
    assert arrondissement_postcode(1) == "13001"
    assert arrondissement_postcode(16) == "13016"
    with pytest.raises(ValueError):
        arrondissement_postcode(17)
    with pytest.raises(ValueError):
        arrondissement_postcode(0)


# ------------------------------------------------------------------------------- parse_address


def _check(text: str, expected: dict[str, Any]) -> None:
    """Every field of the parse equals ``expected`` (missing keys: None)."""
    parsed = parse_address(text)
    fields = (
        "number",
        "suffix",
        "street",
        "street_type",
        "core",
        "postcode",
        "arrondissement",
        "city",
        "intersection",
        "place",
    )
    unknown = set(expected) - set(fields)
    assert not unknown, unknown
    got = {f: getattr(parsed, f) for f in fields}
    assert got == {f: expected.get(f) for f in fields}
    assert parsed.raw == text


def _street(street: str, kind: str | None, core: str, **more: Any) -> dict[str, Any]:
    return {"street": street, "street_type": kind, "core": core, **more}


MARSEILLE_1 = {"postcode": "13001", "arrondissement": 1, "city": "marseille"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain streets, no number
        ("Rue de la République", _street("rue de la republique", "rue", "republique")),
        ("Boulevard des Dames", _street("boulevard des dames", "boulevard", "dames")),
        ("Avenue du Prado", _street("avenue du prado", "avenue", "prado")),
        ("Rue d'Aubagne", _street("rue d aubagne", "rue", "aubagne")),
        ("Cours Julien", _street("cours julien", "cours", "julien")),
        ("Quai de Rive-Neuve", _street("quai de rive neuve", "quai", "rive neuve")),
        ("Place Jean Jaurès", _street("place jean jaures", "place", "jean jaures")),
        ("Chemin du Roucas Blanc", _street("chemin du roucas blanc", "chemin", "roucas blanc")),
        ("Traverse de la Martine", _street("traverse de la martine", "traverse", "martine")),
        ("Montée des Accoules", _street("montee des accoules", "montee", "accoules")),
        ("Impasse Montévidéo", _street("impasse montevideo", "impasse", "montevideo")),
        ("Rue Saint-Ferréol", _street("rue saint ferreol", "rue", "saint ferreol")),
        ("R ST FERREOL", _street("rue saint ferreol", "rue", "saint ferreol")),
        ("RUE DE LA REPUBLIQUE", _street("rue de la republique", "rue", "republique")),
        (
            "rue pierre et marie curie",
            _street("rue pierre et marie curie", "rue", "pierre marie curie"),
        ),
        (
            "Carrefour de la Madeleine",
            _street("carrefour de la madeleine", "carrefour", "madeleine"),
        ),
        ("Avenue du 24 Avril 1915", _street("avenue du 24 avril 1915", "avenue", "24 avril 1915")),
        ("Rue du 141e RIA", _street("rue du 141e ria", "rue", "141e ria")),
        ("rue de rome 12", _street("rue de rome 12", "rue", "rome 12")),
        ("Rue de Rmoe", _street("rue de rmoe", "rue", "rmoe")),
        # postcode and city
        (
            "BD LIBERATION 13004",
            _street(
                "boulevard liberation",
                "boulevard",
                "liberation",
                postcode="13004",
                arrondissement=4,
                city="marseille",
            ),
        ),
        (
            "12 bd de la Libération 13001",
            _street(
                "boulevard de la liberation", "boulevard", "liberation", number=12, **MARSEILLE_1
            ),
        ),
        (
            "36 rue de la République 13002 Marseille",
            _street(
                "rue de la republique",
                "rue",
                "republique",
                number=36,
                postcode="13002",
                arrondissement=2,
                city="marseille",
            ),
        ),
        (
            "12 rue de Rome, 13001 Marseille, France",
            _street("rue de rome", "rue", "rome", number=12, **MARSEILLE_1),
        ),
        (
            "5 av de la Libération 13100 Aix-en-Provence",
            _street(
                "avenue de la liberation",
                "avenue",
                "liberation",
                number=5,
                postcode="13100",
                city="aix en provence",
            ),
        ),
        (
            "10 cours Foch, Aubagne 13400",
            _street("cours foch", "cours", "foch", number=10, postcode="13400", city="aubagne"),
        ),
        (
            "3 rue Sainte 06000 Nice Cedex 1",
            _street("rue sainte", "rue", "sainte", number=3, postcode="06000", city="nice"),
        ),
        ("12 rue de Rome 13", _street("rue de rome 13", "rue", "rome 13", number=12)),
        # house numbers and suffixes
        (
            "12bis Bd National Marseille 3e",
            _street(
                "boulevard national",
                "boulevard",
                "national",
                number=12,
                suffix="bis",
                postcode="13003",
                arrondissement=3,
                city="marseille",
            ),
        ),
        ("12 bis rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="bis")),
        ("12B rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="b")),
        ("12 b rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="b")),
        ("12 ter rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="ter")),
        ("12 t rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="t")),
        (
            "7 quater bd Baille",
            _street("boulevard baille", "boulevard", "baille", number=7, suffix="quater"),
        ),
        (
            "7 quinquies bd Baille",
            _street("boulevard baille", "boulevard", "baille", number=7, suffix="quinquies"),
        ),
        ("12 r de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("12 b r de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="b")),
        ("12-14 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("12/14 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("12 à 14 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("n°12 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("N° 12 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("no 12 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("nº12 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("12, rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("rue de Rome, 12", _street("rue de rome", "rue", "rome", number=12)),
        ("rue de Rome, 12 bis", _street("rue de rome", "rue", "rome", number=12, suffix="bis")),
        (
            "rue de Rome, 12, 13006 Marseille",
            _street(
                "rue de rome",
                "rue",
                "rome",
                number=12,
                postcode="13006",
                arrondissement=6,
                city="marseille",
            ),
        ),
        ("12 La Canebière", _street("la canebiere", None, "canebiere", number=12)),
        ("12", {"number": 12}),
        # lead-ins
        ("devant le 5 rue Paradis", _street("rue paradis", "rue", "paradis", number=5)),
        ("face au 3 bd Baille", _street("boulevard baille", "boulevard", "baille", number=3)),
        ("en face du 3 bd Baille", _street("boulevard baille", "boulevard", "baille", number=3)),
        ("à hauteur du 40 av du Prado", _street("avenue du prado", "avenue", "prado", number=40)),
        ("au niveau du 8 rue d'Aubagne", _street("rue d aubagne", "rue", "aubagne", number=8)),
        ("près du 2 cours Julien", _street("cours julien", "cours", "julien", number=2)),
        (
            "vers le 10 quai de Rive-Neuve",
            _street("quai de rive neuve", "quai", "rive neuve", number=10),
        ),
        ("DEVANT LE N°5 RUE PARADIS", _street("rue paradis", "rue", "paradis", number=5)),
        ("au 12 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        ("sortie métro Castellane", {"place": "metro castellane", "core": "metro castellane"}),
        ("entrée du parc Borély", {"place": "parc borely", "core": "parc borely"}),
        (
            "devant la gare Saint-Charles",
            {"place": "gare saint charles", "core": "gare saint charles"},
        ),
        # named places
        ("Vieux-Port", {"place": "vieux port", "core": "vieux port"}),
        ("Gare Saint-Charles", {"place": "gare saint charles", "core": "gare saint charles"}),
        (
            "Gare Saint-Charles 13001",
            {"place": "gare saint charles", "core": "gare saint charles", **MARSEILLE_1},
        ),
        (
            "Parc Borély 13008",
            {
                "place": "parc borely",
                "core": "parc borely",
                "postcode": "13008",
                "arrondissement": 8,
                "city": "marseille",
            },
        ),
        ("La Canebière", {"place": "la canebiere", "core": "canebiere"}),
        ("N.-D. de la Garde", {"place": "notre dame de la garde", "core": "notre dame garde"}),
        ("13001 Marseille", MARSEILLE_1),
    ],
)
def test_parse_address(text: str, expected: dict[str, Any]) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "arrondissement"),
    [
        ("Marseille 1er", 1),
        ("Marseille 1", 1),
        ("Marseille 01", 1),
        ("MARSEILLE 2E", 2),
        ("Marseille 2e", 2),
        ("Marseille 2eme", 2),
        ("Marseille 2ème", 2),
        ("Marseille 2nd", 2),
        ("Marseille 2 ème", 2),
        ("1er arrondissement", 1),
        ("13e arr", 13),
        ("13e arr.", 13),
        ("13eme arrondissement", 13),
        ("16ème arrdt", 16),
        ("Marseille 13e arrondissement", 13),
        ("Marseille-16e", 16),
        ("13013", 13),
    ],
)
def test_arrondissement_forms(text: str, arrondissement: int) -> None:
    _check(
        text,
        {
            "arrondissement": arrondissement,
            "postcode": arrondissement_postcode(arrondissement),
            "city": "marseille",
        },
    )
    # removed from the street, whatever surrounds them
    _check(
        f"12 rue de Rome {text}",
        {
            "number": 12,
            "street": "rue de rome",
            "street_type": "rue",
            "core": "rome",
            "arrondissement": arrondissement,
            "postcode": arrondissement_postcode(arrondissement),
            "city": "marseille",
        },
    )


def test_arrondissement_needs_marseille_or_the_word() -> None:
    # an ordinal alone is part of a street name ("Rue du 141e RIA", "Bd du 4 Septembre")
    assert parse_address("rue du 3e Zouaves").arrondissement is None
    assert parse_address("rue X 17e arrondissement").arrondissement is None
    # "Marseille 12 rue de Rome": 12 is the house number, not the arrondissement
    parsed = parse_address("Marseille 12 rue de Rome")
    assert (parsed.number, parsed.street, parsed.city, parsed.arrondissement) == (
        12,
        "rue de rome",
        "marseille",
        None,
    )
    # "Route de Marseille" stays a street
    parsed = parse_address("Route de Marseille 13400 Aubagne")
    assert (parsed.street, parsed.city, parsed.postcode) == (
        "route de marseille",
        "aubagne",
        "13400",
    )


# ------------------------------------------------------------------------------- intersections


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("angle rue de Rome / cours Saint-Louis", ("rue de rome", "cours saint louis")),
        ("Rue de Rome x Rue d'Aubagne", ("rue de rome", "rue d aubagne")),
        ("croisement bd Baille et rue de Lodi", ("boulevard baille", "rue de lodi")),
        ("angle rue Paradis et rue Sainte", ("rue paradis", "rue sainte")),
        ("angle de la rue Paradis et de la rue Sainte", ("rue paradis", "rue sainte")),
        (
            "à l'angle de la rue Paradis et du boulevard Baille",
            ("rue paradis", "boulevard baille"),
        ),
        ("A L'ANGLE DE LA R PARADIS ET DU BD BAILLE", ("rue paradis", "boulevard baille")),
        ("angle de Rome et de Paradis", ("rome", "paradis")),
        ("rue de Rome / rue d'Aubagne", ("rue de rome", "rue d aubagne")),
        ("bd Baille & rue de Lodi", ("boulevard baille", "rue de lodi")),
        ("carrefour bd Baille / rue de Lodi", ("boulevard baille", "rue de lodi")),
        ("carrefour bd Baille et rue de Lodi", ("boulevard baille", "rue de lodi")),
        ("intersection av du Prado et bd Rabatau", ("avenue du prado", "boulevard rabatau")),
        ("coin rue Paradis et rue Sainte", ("rue paradis", "rue sainte")),
        ("au coin de la rue Paradis et de la rue Sainte", ("rue paradis", "rue sainte")),
        (
            "angle rue Pierre et Marie Curie et bd Baille",
            ("rue pierre et marie curie", "boulevard baille"),
        ),
        ("R DE ROME X R D AUBAGNE", ("rue de rome", "rue d aubagne")),
        ("près de l'angle rue de Rome / rue Paradis", ("rue de rome", "rue paradis")),
    ],
)
def test_intersections(text: str, pair: tuple[str, str]) -> None:
    _check(text, {"intersection": pair})


def test_intersection_keeps_the_locality() -> None:
    _check(
        "angle rue de Rome / cours Saint-Louis 13001 Marseille",
        {"intersection": ("rue de rome", "cours saint louis"), **MARSEILLE_1},
    )
    _check(
        "angle bd Baille et rue de Lodi, Marseille 6e",
        {
            "intersection": ("boulevard baille", "rue de lodi"),
            "postcode": "13006",
            "arrondissement": 6,
            "city": "marseille",
        },
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "et" alone is part of a name
        (
            "rue Pierre et Marie Curie",
            _street("rue pierre et marie curie", "rue", "pierre marie curie"),
        ),
        # a keyword with a single street: the street
        ("angle rue de Rome", _street("rue de rome", "rue", "rome")),
        ("à l'angle de la rue de Rome", _street("rue de rome", "rue", "rome")),
        # a lone letter after the number is a suffix, not a crossing
        ("12 x rue de Rome", _street("rue de rome", "rue", "rome", number=12, suffix="x")),
        # a number range is not a crossing
        ("12/14 rue de Rome", _street("rue de rome", "rue", "rome", number=12)),
        # an address with a number before the slash: the numbered address
        ("12 rue de Rome / rue Paradis", _street("rue de rome", "rue", "rome", number=12)),
    ],
)
def test_not_intersections(text: str, expected: dict[str, Any]) -> None:
    _check(text, expected)


# ---------------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "?!", "/ / ,", "-", "’’", "&&&", "°"])
def test_empty_inputs_give_nothing(text: str) -> None:
    assert parse_address(text) == ParsedAddress(raw=text)


def test_long_input_is_truncated() -> None:
    text = "12 rue de Rome " + "tres long " * 200
    parsed = parse_address(text)
    assert parsed.raw == text[:MAX_LENGTH]
    assert parsed.number == 12 and parsed.street_type == "rue"


def test_never_raises_on_junk() -> None:
    rng = random.Random(20240601)
    alphabet = "0123456789 abcdefghijklmnopqrstuvwxyzéèàçœ°/&,-'x()" + "ÉÈ"
    pieces = [
        "angle",
        "et",
        "marseille",
        "13001",
        "1er",
        "arr",
        "devant",
        "le",
        "n°",
        "bis",
        "r",
        "bd",
        "x",
        "/",
        ",",
        "cedex",
        "france",
        "de",
        "rd",
        "pt",
    ]
    for _ in range(3000):
        if rng.random() < 0.5:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        else:
            text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        # the inner parser itself, so that the safety net hides no bug
        parsed = _parse(text)
        assert parsed.raw == text
        assert parsed.number is None or parsed.number >= 0
        assert parsed.intersection is None or all(parsed.intersection)
        assert parsed.postcode is None or len(parsed.postcode) == 5
        assert parsed.arrondissement is None or 1 <= parsed.arrondissement <= 16


def test_parsed_address_is_frozen() -> None:
    parsed = parse_address("12 rue de Rome")
    with pytest.raises(AttributeError):
        parsed.number = 13  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "number", "street"),
    [
        ("devant l'immeuble du 31 Rue Pascal", 31, "rue pascal"),
        ("31 Rue Pascal devant la pharmacie 13005", 31, "rue pascal"),
        ("126 Rue de la Source, devant la boulangerie 13008", 126, "rue de la source"),
        ("chez Mme X, 11 Boulevard Émile Zola", 11, "boulevard emile zola"),
        ("11 Boulevard Émile Zola bât. B esc 2 appt 12", 11, "boulevard emile zola"),
        ("rue de Rome, à hauteur du n° 12", 12, "rue de rome"),
        ("face au n°12 du boulevard Chave", 12, "boulevard chave"),
        ("arrêt de bus face au 73 La Canebière", 73, "la canebiere"),
        ("sur la voie publique au 42 La Canebière 13001", 42, "la canebiere"),
        ("Boulevard du 26e Centenaire", None, "boulevard du 26e centenaire"),
        ("12 Parc du 26e Centenaire", 12, "parc du 26e centenaire"),
        ("devant le n° 9 de la rue Honnorat", 9, "rue honnorat"),
        ("Chave boulevard 12", 12, "chave boulevard"),  # the matcher reads it both ways
        ("Honnorat (impasse), 9", 9, "impasse honnorat"),
        ("Jarre (avenue de la) 70 13009", 70, "avenue de la jarre"),
        ("12 tra des Camoins", 12, "traverse des camoins"),
        ("3 mtée des Oblats", 3, "montee des oblats"),
        ("3 Impasse Jeune France", 3, "impasse jeune france"),
        ("3 Impasse Jeune France 13004 Marseille, France", 3, "impasse jeune france"),
        ("8 rue de Rome 13001 France", 8, "rue de rome"),
    ],
)
def test_real_world_phrasing(text: str, number: int, street: str) -> None:
    """Issue 17: free words, types after the name, FANTOIR codes, a street ending in France."""
    parsed = parse_address(text)
    assert (parsed.number, parsed.street) == (number, street)
