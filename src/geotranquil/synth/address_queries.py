"""Address queries with known answers, written the way people and legacy systems write them.

:func:`address_queries` draws addresses from a BAN-like table (one row per address point:
``id, street_key, numero, rep, nom_voie, code_postal, code_insee, nom_commune, nom_ld, lon,
lat``; ``numero`` 99999 marks a named place) and writes each one in one of :data:`KINDS`:
clean, degraded in one known way (:data:`DEGRADED_KINDS`), a street intersection, a named
place, or a street that does not exist. Every query carries its truth (the point a geocoder
should return, or none) and the precision expected of the answer, so that a geocoder can be
scored kind by kind (see :func:`geotranquil.geocode.evaluation.evaluate`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from geotranquil.geocode.query_kinds import KINDS
from geotranquil.synth.area import to_wgs84

#: ``numero`` of a named place (lieu-dit) in the BAN.
NAMED_PLACE_NUMERO: Final = 99999
#: Two streets whose lines pass this close (metres) are taken as meeting.
INTERSECTION_DISTANCE_M: Final = 15.0

COLUMNS: Final = (
    "query",
    "kind",
    "true_lon",
    "true_lat",
    "true_ban_id",
    "expected_precision",
)

#: Abbreviations of street types and of Saint / Sainte, as found in police logbooks.
ABBREVIATIONS: Final[dict[str, tuple[str, ...]]] = {
    "Boulevard": ("bd", "bld", "boul"),
    "Avenue": ("av", "ave"),
    "Rue": ("r",),
    "Chemin": ("ch", "che"),
    "Cours": ("crs",),
    "Place": ("pl",),
    "Route": ("rte",),
    "Impasse": ("imp",),
    "Quai": ("qu",),
    "Square": ("sq",),
    "Traverse": ("tse",),
    "Montée": ("mte",),
    "Allée": ("all",),
    "Saint": ("st",),
    "Sainte": ("ste",),
}
#: Words read before the number ("devant le 12 rue ...").
LEAD_INS: Final = ("devant le", "face au", "à hauteur du", "près du")
#: Noise written after the street or the whole address.
TRAILERS: Final = ("(domicile)", "entrée immeuble", "RDC")
#: Gender and elision of street types, for "à l'angle de la rue X et du boulevard Y".
_OF_TYPE: Final[dict[str, str]] = {
    "rue": "de la",
    "traverse": "de la",
    "montée": "de la",
    "place": "de la",
    "route": "de la",
    "corniche": "de la",
    "avenue": "de l'",
    "impasse": "de l'",
    "allée": "de l'",
    "boulevard": "du",
    "chemin": "du",
    "cours": "du",
    "quai": "du",
    "square": "du",
}
#: Complements of invented street names: none is a street of Marseille.
UNKNOWN_COMPLEMENTS: Final = (
    "des Glycines Bleues",
    "Jean Moulinard",
    "des Hérons Cendrés",
    "du Capitaine Ferrandou",
    "des Lavandes Hautes",
    "de la Colline Rousse",
    "des Trois Moulinets",
    "du Docteur Amalric",
    "Frédéric Castagnol",
    "des Cerisiers Noirs",
    "de la Bergerie Haute",
    "des Chardonnerets",
    "du Vieux Pressoir",
    "de la Roche Percée",
    "Paul Vidalenc",
    "des Sept Fontaines",
    "du Clos Fleuri",
    "de l'Étang Salé",
    "Marius Barbaroux",
    "des Cyprès Jumeaux",
    "du Moulin Brûlé",
    "de la Pinède Grise",
    "des Grillons Verts",
    "Louise Michelin",
    "Henri Tourrel",
    "des Arbousiers Rouges",
    "de la Sauvagine",
    "du Petit Canal",
    "des Calanques Bleues",
    "Émilien Roustan",
)
UNKNOWN_TYPES: Final = ("Rue", "Avenue", "Boulevard", "Impasse", "Chemin", "Traverse", "Allée")

_ARTICLE = re.compile(r"^(?:le |la |les |l')", re.IGNORECASE)
_ARR_SUFFIX = re.compile(r"\s+Arrondissement$", re.IGNORECASE)
_CITY = re.compile(r"\s+\d+\s*(?:er|e|ème)\s+Arrondissement$", re.IGNORECASE)


# --------------------------------------------------------------------------- text helpers


def strip_accents(text: str) -> str:
    """The text without diacritics (``œ`` and ``æ`` spelt out), as legacy systems store it.

    Examples
    --------
    >>> strip_accents("Boulevard de Sainte-Marguerite, Cœur de Saint-Jérôme")
    'Boulevard de Sainte-Marguerite, Coeur de Saint-Jerome'
    """
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def house_number(numero: int, rep: str = "") -> str:
    """A house number with its suffix as a careful clerk writes it (``12 bis``, ``7 B``).

    Examples
    --------
    >>> house_number(12, "bis"), house_number(7, "b"), house_number(3)
    ('12 bis', '7 B', '3')
    """
    rep = rep.strip()
    if not rep:
        return str(int(numero))
    return f"{int(numero)} {rep.upper() if len(rep) == 1 else rep.lower()}"


def clean_address(
    numero: int, rep: str, nom_voie: str, code_postal: str, city: str = "Marseille"
) -> str:
    """The clean form of an address: ``"{numero}{ rep} {nom_voie} {code_postal} {city}"``.

    Examples
    --------
    >>> clean_address(12, "bis", "Rue de Rome", "13001")
    '12 bis Rue de Rome 13001 Marseille'
    """
    return f"{house_number(numero, rep)} {nom_voie} {code_postal} {city}"


def city_of(nom_commune: str) -> str:
    """The city of a commune name: ``"Marseille 1er Arrondissement"`` -> ``"Marseille"``."""
    return _CITY.sub("", nom_commune.strip()) or nom_commune


def short_commune(nom_commune: str) -> str:
    """The everyday name of an arrondissement: ``"Marseille 1er"``; other communes unchanged."""
    return _ARR_SUFFIX.sub("", nom_commune.strip())


def _norm_name(name: str) -> str:
    """A street name reduced for comparisons (lower case, no accents, no punctuation)."""
    text = strip_accents(name).lower().replace("-", " ").replace("'", " ")
    return " ".join(text.split())


def _complement(name: str) -> str:
    """What follows the street type: ``"Rue de Rome"`` -> ``"de rome"``."""
    parts = _norm_name(name).split(" ", 1)
    return parts[1] if len(parts) == 2 else parts[0]


def _lower_type(name: str) -> str:
    """The street type in lower case, as in running text: ``"rue de Rome"``."""
    first, _, rest = name.partition(" ")
    if first in ABBREVIATIONS and first not in ("Saint", "Sainte"):
        return f"{first.lower()} {rest}" if rest else first.lower()
    return name


def _of(name: str) -> str:
    """``"de la rue de Rome"``, ``"du boulevard Baille"``, ``"de la Canebière"``."""
    first, _, rest = name.partition(" ")
    article = _OF_TYPE.get(first.lower())
    if article is not None:
        body = f"{first.lower()} {rest}".strip()
        return f"{article}{body}" if article.endswith("'") else f"{article} {body}"
    low = name[:3].lower()
    if low == "la " or low == "le ":
        return ("de la " if low == "la " else "du ") + name[3:]
    if name[:4].lower() == "les ":
        return "des " + name[4:]
    if name[:2].lower() == "l'":
        return "de l'" + name[2:]
    return f"de {name}"


def _case_variant(word: str, rng: np.random.Generator, dot: bool) -> str:
    """``bd``, ``Bd`` or ``BD`` (6:3:1), with a full stop one time in five if ``dot``."""
    r = rng.random()
    out = word if r < 0.6 else word.capitalize() if r < 0.9 else word.upper()
    return out + "." if dot and rng.random() < 0.2 else out


# --------------------------------------------------------------------------- degradations


def _abbreviable(name: str) -> bool:
    """Whether :func:`abbreviate` changes the name."""
    return name.split(" ", 1)[0] in ABBREVIATIONS or bool(re.search(r"\bSainte?\b", name))


def abbreviate(name: str, rng: np.random.Generator) -> str | None:
    """The street name with its type and any Saint / Sainte abbreviated; None if none applies.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> abbreviate("Boulevard de Sainte-Marguerite", rng)
    'boul de ste-Marguerite'
    >>> abbreviate("La Canebière", rng) is None
    True
    """
    tokens = re.split(r"([ \-])", name)
    changed = False
    for i, token in enumerate(tokens):
        forms = ABBREVIATIONS.get(token)
        is_type = i == 0
        if forms is None or (not is_type and token not in ("Saint", "Sainte")):
            continue
        tokens[i] = _case_variant(forms[int(rng.integers(len(forms)))], rng, dot=is_type)
        changed = True
    return "".join(tokens) if changed else None


def _edit_once(word: str, pos: int, op: str, rng: np.random.Generator) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    if op == "substitution":
        options = [c for c in letters if c != word[pos].lower()]
        c = options[int(rng.integers(len(options)))]
        return word[:pos] + (c.upper() if word[pos].isupper() else c) + word[pos + 1 :]
    if op == "deletion":
        return word[:pos] + word[pos + 1 :]
    if op == "insertion":
        c = letters[int(rng.integers(len(letters)))]
        return word[:pos] + c + word[pos:]
    # transposition of word[pos] and word[pos + 1]
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def typo(word: str, rng: np.random.Generator, n_edits: int | None = None) -> str:
    """The word with one or two typing errors (substitution, deletion, insertion, transposition).

    The first letter is kept; two edits fall at least two letters apart, so the result is
    always one or two edits away from the word (optimal string alignment distance). Words
    longer than six letters get two edits half of the time when ``n_edits`` is not given.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> [typo("Libération", rng) for _ in range(3)]
    ['Liéraion', 'Lebération', 'Libréaption']
    """
    if len(word) < 3:
        raise ValueError(f"word too short for a typo: {word!r}")
    if n_edits is None:
        n_edits = 1 if len(word) <= 6 else int(rng.integers(1, 3))
    ops = ("substitution", "deletion", "insertion", "transposition")
    for _ in range(100):
        # Positions in the original word, from the second letter, edited right to left so
        # that an edit never shifts the position of the next one.
        slots = np.arange(1, len(word) - 1)
        first = int(rng.choice(slots))
        positions = [first]
        if n_edits == 2:
            far = slots[np.abs(slots - first) >= 3]
            if far.size == 0:
                positions = [first]
            else:
                positions.append(int(rng.choice(far)))
        out = word
        for pos in sorted(positions, reverse=True):
            op = ops[int(rng.integers(len(ops)))]
            if op == "transposition" and out[pos].lower() == out[pos + 1].lower():
                op = "substitution"
            out = _edit_once(out, pos, op, rng)
        if out.lower() != word.lower():
            return out
    raise ValueError(f"no typo found for {word!r}")  # pragma: no cover


def _longest_word(name: str) -> tuple[int, int]:
    """Start and end of the word of a street name that gets the typo.

    The longest word after the street type (ties: the first), or the type itself when the
    rest has no word of four letters: a typo in "Boulevard" tests little.
    """
    best = (0, 0)
    first = (0, 0)
    for k, m in enumerate(re.finditer(r"[^\s\-']+", name)):
        if k == 0 and m.group(0) in ABBREVIATIONS:
            first = (m.start(), m.end())
            continue
        if m.end() - m.start() > best[1] - best[0]:
            best = (m.start(), m.end())
    return best if best[1] - best[0] >= 4 else max(best, first, key=lambda b: b[1] - b[0])


# --------------------------------------------------------------------------- BAN access


class _Ban:
    """The BAN table with the columns the generator needs, normalised once."""

    def __init__(self, ban: pd.DataFrame) -> None:
        df = ban.reset_index(drop=True)
        n = len(df)
        self.id = df["id"].astype(str).to_numpy()
        numero = pd.to_numeric(df["numero"], errors="coerce").fillna(-1).astype(np.int64)
        self.numero = numero.to_numpy()
        rep = df["rep"] if "rep" in df else pd.Series([""] * n)
        self.rep = rep.fillna("").astype(str).str.strip().to_numpy()
        self.nom_voie = df["nom_voie"].fillna("").astype(str).to_numpy()
        nom_ld = df["nom_ld"] if "nom_ld" in df else pd.Series([""] * n)
        self.nom_ld = nom_ld.fillna("").astype(str).to_numpy()
        cp = df["code_postal"].astype(str).str.replace(r"\.0$", "", regex=True).str.zfill(5)
        self.code_postal = cp.to_numpy()
        if "nom_commune" in df:
            communes = df["nom_commune"].fillna("").astype(str)
        else:
            communes = pd.Series(["Marseille"] * n)
        self.city = np.array([city_of(c) or "Marseille" for c in communes])
        self.commune_short = np.array([short_commune(c) or "Marseille" for c in communes])
        self.lon = df["lon"].to_numpy(dtype=float)
        self.lat = df["lat"].to_numpy(dtype=float)
        if "street_key" in df:
            key = df["street_key"].astype(str)
        else:
            key = pd.Series(self.nom_voie) + "|" + pd.Series(self.code_postal)
        self.street_key = key.to_numpy()
        self.is_place = self.numero == NAMED_PLACE_NUMERO
        self.is_number = (~self.is_place) & (self.numero > 0) & (self.nom_voie != "")
        names = pd.Series(self.nom_voie[self.is_number])
        self.names = set(names)
        self.norm_names = {_norm_name(s) for s in self.names}
        self.complements = {_complement(s) for s in self.names}
        postcodes_per_name = (
            pd.DataFrame(
                {"n": self.nom_voie[self.is_number], "cp": self.code_postal[self.is_number]}
            )
            .groupby("n")["cp"]
            .nunique()
        )
        self.unique_names = set(postcodes_per_name.index[postcodes_per_name == 1])

    def clean(self, i: int) -> str:
        return clean_address(
            int(self.numero[i]), self.rep[i], self.nom_voie[i], self.code_postal[i], self.city[i]
        )

    def number(self, i: int) -> str:
        return house_number(int(self.numero[i]), self.rep[i])

    def sample(self, rng: np.random.Generator, mask: np.ndarray, n: int) -> list[int]:
        """Up to ``n`` distinct address rows among ``mask``, each street equally likely."""
        idx = np.flatnonzero(mask)
        if idx.size == 0 or n <= 0:
            return []
        counts = pd.Series(self.street_key[idx]).map(pd.Series(self.street_key[idx]).value_counts())
        p = 1.0 / counts.to_numpy(dtype=float)
        k = min(n, idx.size)
        return [int(i) for i in idx[rng.choice(idx.size, size=k, replace=False, p=p / p.sum())]]


# --------------------------------------------------------------------------- per kind


Row = tuple[str, float, float, str | None, str | None]


def _housenumber_rows(ban: _Ban, rows: Sequence[int], write: Callable[[int], str]) -> list[Row]:
    return [
        (write(i), float(ban.lon[i]), float(ban.lat[i]), str(ban.id[i]), "housenumber")
        for i in rows
    ]


def _clean(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    return _housenumber_rows(ban, ban.sample(rng, ban.is_number, n), ban.clean)


def _abbreviated(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    can = ban.is_number & np.array([_abbreviable(name) for name in ban.nom_voie], dtype=bool)

    def write(i: int) -> str:
        street = abbreviate(ban.nom_voie[i], rng) or ban.nom_voie[i]
        if rng.random() < 0.3 and ban.commune_short[i] != ban.city[i]:
            return f"{ban.number(i)} {street} {ban.commune_short[i]}"
        return f"{ban.number(i)} {street} {ban.code_postal[i]} {ban.city[i]}"

    return _housenumber_rows(ban, ban.sample(rng, can, n), write)


def _no_accents(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    accented = np.array([strip_accents(s) != s for s in ban.nom_voie], dtype=bool)
    rows = ban.sample(rng, ban.is_number & accented, n)
    return _housenumber_rows(ban, rows, lambda i: strip_accents(ban.clean(i)))


def _upper_case(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    def write(i: int) -> str:
        text = ban.clean(i).upper()
        return strip_accents(text) if rng.random() < 0.5 else text

    return _housenumber_rows(ban, ban.sample(rng, ban.is_number, n), write)


def _typo(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    spans = [_longest_word(name) for name in ban.nom_voie]
    long_enough = np.array([end - start >= 4 for start, end in spans], dtype=bool)

    def write(i: int) -> str:
        name = ban.nom_voie[i]
        s, e = _longest_word(name)
        street = name[:s] + typo(name[s:e], rng) + name[e:]
        return clean_address(
            int(ban.numero[i]), ban.rep[i], street, ban.code_postal[i], ban.city[i]
        )

    return _housenumber_rows(ban, ban.sample(rng, ban.is_number & long_enough, n), write)


def _no_postcode(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    unique = np.isin(ban.nom_voie, list(ban.unique_names))

    def write(i: int) -> str:
        base = f"{ban.number(i)} {ban.nom_voie[i]}"
        r = rng.random()
        return base if r < 0.5 else f"{base} {ban.city[i]}" if r < 0.8 else f"{base}, {ban.city[i]}"

    return _housenumber_rows(ban, ban.sample(rng, ban.is_number & unique, n), write)


def _extra_words(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    def write(i: int) -> str:
        name = ban.nom_voie[i] if rng.random() < 0.5 else _lower_type(ban.nom_voie[i])
        street = f"{ban.number(i)} {name}"
        tail = f"{ban.code_postal[i]} {ban.city[i]}"
        r = rng.random()
        lead = LEAD_INS[int(rng.integers(len(LEAD_INS)))]
        trail = TRAILERS[int(rng.integers(len(TRAILERS)))]
        if r < 0.5:
            return f"{lead} {street} {tail}"
        if r < 0.7:
            return f"{street} {tail} {trail}"
        if r < 0.85:
            return f"{street} {trail} {tail}"
        return f"{lead} {street} {tail} {trail}"

    return _housenumber_rows(ban, ban.sample(rng, ban.is_number, n), write)


def _suffix_variant(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    has_rep = ban.rep != ""
    with_rep = ban.sample(rng, ban.is_number & has_rep, n // 2)
    without = ban.sample(rng, ban.is_number & ~has_rep, n - len(with_rep))
    rows = [i for pair in zip(with_rep, without, strict=False) for i in pair]
    rows += with_rep[len(without) :] + without[len(with_rep) :]

    def write(i: int) -> str:
        num, rep = int(ban.numero[i]), ban.rep[i].lower()
        street = f"{ban.nom_voie[i]} {ban.code_postal[i]} {ban.city[i]}"
        if rep:
            forms = (
                f"{num}{rep[0]}",
                f"{num} {rep[0].upper()}",
                f"{num}{rep}",
                f"{num} {rep.upper()}",
            )
            return f"{forms[int(rng.integers(4))]} {street}"
        forms = (f"n°{num} ", f"n° {num} ", f"N°{num} ", f"{num}, ")
        return f"{forms[int(rng.integers(4))]}{street}"

    return _housenumber_rows(ban, rows, write)


def _word_order(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    def write(i: int) -> str:
        name = _lower_type(ban.nom_voie[i]) if rng.random() < 0.5 else ban.nom_voie[i]
        num, cp, city = ban.number(i), ban.code_postal[i], ban.city[i]
        r = rng.random()
        if r < 0.4:
            return f"{cp} {city}, {num} {name}"
        if r < 0.7:
            return f"{name} {num}, {cp}"
        return f"{name} {num}, {cp} {city}"

    return _housenumber_rows(ban, ban.sample(rng, ban.is_number, n), write)


def _round_robin(
    rng: np.random.Generator, variants: list[list[tuple[str, Row]]], n: int
) -> list[Row]:
    """Up to ``n`` rows: each item's variants in turn, items shuffled, no query twice."""
    pools = [list(v) for v in variants]
    for pool in pools:
        rng.shuffle(pool)
    order = rng.permutation(len(pools))
    out: list[Row] = []
    seen: set[str] = set()
    while len(out) < n and any(pools):
        for k in order:
            pool = pools[int(k)]
            while pool:
                query, row = pool.pop()
                if query not in seen:
                    seen.add(query)
                    out.append(row)
                    break
            if len(out) >= n:
                break
    return out


def _intersection_pairs(
    ban: _Ban, network: gpd.GeoDataFrame
) -> list[tuple[str, str, str | None, float, float]]:
    """Pairs of streets that cross once or pass within 15 m: names, shared postcode, point."""
    net = network.to_crs(2154) if network.crs is not None else network.set_crs(4326).to_crs(2154)
    names = net["name"].astype(str).to_numpy()
    postcodes = (
        net["postcode"].astype(str).to_numpy() if "postcode" in net else np.full(len(net), "")
    )
    keep = np.isin(names, list(ban.names)) if ban.names else np.ones(len(net), dtype=bool)
    geoms = np.asarray(net.geometry.values)[keep]
    names, postcodes = names[keep], postcodes[keep]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=INTERSECTION_DISTANCE_M)
    out = []
    for a, b in zip(left, right, strict=True):
        if a >= b or names[a] == names[b]:
            continue
        ga: BaseGeometry = geoms[a]
        gb: BaseGeometry = geoms[b]
        inter = ga.intersection(gb)
        if inter.is_empty:
            pa, pb = nearest_points(ga, gb)
            x = (float(shapely.get_x(pa)) + float(shapely.get_x(pb))) / 2.0
            y = (float(shapely.get_y(pa)) + float(shapely.get_y(pb))) / 2.0
        elif inter.geom_type == "Point":
            x, y = float(shapely.get_x(inter)), float(shapely.get_y(inter))
        else:  # crossing twice or overlapping: no single place to name
            continue
        lon, lat = to_wgs84(x, y)
        shared = postcodes[a] if postcodes[a] == postcodes[b] and postcodes[a] else None
        out.append((names[a], names[b], shared, round(float(lon), 7), round(float(lat), 7)))
    return out


def _intersection(
    ban: _Ban, network: gpd.GeoDataFrame | None, rng: np.random.Generator, n: int
) -> list[Row]:
    if network is None or len(network) == 0:
        return []
    variants: list[list[tuple[str, Row]]] = []
    for name_a, name_b, postcode, lon, lat in _intersection_pairs(ban, network):
        texts = []
        for a, b in ((name_a, name_b), (name_b, name_a)):
            texts += [
                f"angle {a} / {b}",
                f"{a} x {b}",
                f"croisement {a} et {b}",
                f"à l'angle {_of(a)} et {_of(b)}",
            ]
        if postcode is not None:
            texts += [f"angle {name_a} / {name_b} {postcode} Marseille"]
        variants.append([(t, (t, lon, lat, None, "street")) for t in texts])
    return _round_robin(rng, variants, n)


def _place_spellings(name: str, postcode: str, city: str) -> list[str]:
    bare = _ARTICLE.sub("", name)
    bare = bare[:1].upper() + bare[1:]
    forms = {name, bare, name.replace("-", " "), bare.replace("-", " ")}
    out: list[str] = []
    for form in sorted(forms):
        for text in (form, form.lower()):
            out += [text, f"{text} {postcode}", f"{text} {postcode} {city}", f"{text}, {city}"]
    return list(dict.fromkeys(out))


def _named_place(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    variants: list[list[tuple[str, Row]]] = []
    for i in np.flatnonzero(ban.is_place):
        name = ban.nom_voie[i] or ban.nom_ld[i]
        if not name:
            continue
        truth = (float(ban.lon[i]), float(ban.lat[i]), str(ban.id[i]), "locality")
        texts = _place_spellings(name, ban.code_postal[i], ban.city[i])
        variants.append([(t, (t, *truth)) for t in texts])
    return _round_robin(rng, variants, n)


def _unknown_street(ban: _Ban, rng: np.random.Generator, n: int) -> list[Row]:
    names = [
        f"{t} {c}"
        for t in UNKNOWN_TYPES
        for c in UNKNOWN_COMPLEMENTS
        if _complement(f"{t} {c}") not in ban.complements
        and _norm_name(f"{t} {c}") not in ban.norm_names
    ]
    postcodes = sorted(set(ban.code_postal[ban.is_number])) or ["13001"]
    city = str(ban.city[ban.is_number][0]) if ban.is_number.any() else "Marseille"
    out: list[Row] = []
    seen: set[str] = set()
    while names and len(out) < n and len(seen) < 50 * n:
        name = names[int(rng.integers(len(names)))]
        number = int(rng.integers(1, 121))
        postcode = postcodes[int(rng.integers(len(postcodes)))]
        query = clean_address(number, "", name, postcode, city)
        if query in seen:
            continue
        seen.add(query)
        out.append((query, np.nan, np.nan, None, None))
    return out


# --------------------------------------------------------------------------- entry point


def address_queries(
    ban: pd.DataFrame,
    network: gpd.GeoDataFrame | None = None,
    *,
    n_per_kind: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Address queries of every kind, with the answer a geocoder should give.

    Parameters
    ----------
    ban
        BAN-like addresses: ``id, numero, rep, nom_voie, code_postal, nom_commune, lon, lat``
        (``street_key`` and ``nom_ld`` used when present); ``numero`` 99999 marks a named
        place.
    network
        The street network (``name``, ``postcode``, LineString geometry) the BAN was made from;
        needed for the ``intersection`` kind, which has no row without it.
    n_per_kind
        Rows per kind. A kind gets fewer when the BAN cannot give that many distinct queries:
        ``no_accents`` needs streets with accents, ``typo`` a word of four letters or more,
        ``no_postcode`` street names found in a single postcode, ``abbreviated`` a street type
        or Saint(e) with an abbreviation; ``suffix_variant`` takes half of its rows among
        numbers with a suffix (``rep``) and the rest without; ``intersection`` and
        ``named_place`` cycle through the spellings of each pair / place (each query
        string once); ``unknown_street`` is limited by its invented names.
    seed
        Every kind draws from its own stream of this seed: the same seed, BAN and network
        give the same table.

    Returns
    -------
    pandas.DataFrame
        ``query, kind, true_lon, true_lat, true_ban_id, expected_precision``, the kinds in
        :data:`KINDS` order. ``true_lon`` / ``true_lat`` are NaN and ``true_ban_id`` and
        ``expected_precision`` None for ``unknown_street`` (the right answer is no place);
        ``true_ban_id`` is None for intersections. ``expected_precision`` is
        ``"housenumber"``, ``"street"`` (intersections) or ``"locality"`` (named places).

    Notes
    -----
    Rules per kind (house-number kinds draw distinct BAN rows, every street equally likely):

    - ``clean``: ``"12 bis Rue de Rome 13001 Marseille"``.
    - ``abbreviated``: street type (Boulevard: bd / bld / boul, Avenue: av / ave, ...) and
      Saint / Sainte (st / ste) abbreviated, in lower, capitalised or upper case, sometimes
      with a full stop; 30 % write ``"Marseille 1er"`` instead of the postcode.
    - ``no_accents``: streets with diacritics only, all diacritics removed.
    - ``upper_case``: all upper case, without diacritics half of the time.
    - ``typo``: one or two edits in the longest word of the street name after its type
      (the type itself if no other word has four letters), never in the first letter.
    - ``no_postcode``: ``"12 Rue de Rome"``, ``"... Marseille"`` or ``"..., Marseille"``.
    - ``extra_words``: a lead-in before the number (``"devant le 12 ..."``) and/or noise
      after the street or the address (``"(domicile)"``, ``"entrée immeuble"``, ``"RDC"``).
    - ``suffix_variant``: ``"12b"``, ``"12 B"``, ``"12bis"``, ``"12 BIS"`` for numbers with a
      suffix; ``"n°12"``, ``"n° 12"``, ``"N°12"`` or ``"12,"`` for the others.
    - ``word_order``: ``"13001 Marseille, 12 rue de Rome"``, ``"rue de Rome 12, 13001"``...
    - ``intersection``: ``"angle A / B"``, ``"A x B"``, ``"croisement A et B"``, ``"à l'angle
      de la rue A et du boulevard B"`` (both orders) for streets whose lines cross once or
      pass within 15 m; the truth is the crossing point, or the midpoint of the closest
      points.
    - ``named_place``: the name as written, without its article, with spaces for hyphens,
      in lower case, followed or not by the postcode and city.
    - ``unknown_street``: an invented street (``"Rue des Glycines Bleues"``) whose name and
      complement are in no BAN street, with a number, a postcode and the city.

    Examples
    --------
    >>> ban = pd.DataFrame({
    ...     "id": ["a1", "a2", "p1"], "numero": [12, 3, 99999], "rep": ["bis", "", ""],
    ...     "nom_voie": ["Rue de Rome", "Boulevard de la Libération", "Le Vieux-Port"],
    ...     "code_postal": ["13001", "13004", "13001"],
    ...     "nom_commune": ["Marseille 1er Arrondissement", "Marseille 4e Arrondissement",
    ...                     "Marseille 1er Arrondissement"],
    ...     "lon": [5.381, 5.392, 5.372], "lat": [43.291, 43.301, 43.295]})
    >>> q = address_queries(ban, n_per_kind=2, seed=0)
    >>> q.loc[q["kind"] == "clean", "query"].tolist()
    ['3 Boulevard de la Libération 13004 Marseille', '12 bis Rue de Rome 13001 Marseille']
    >>> q.loc[q["kind"] == "no_accents", "query"].tolist()
    ['3 Boulevard de la Liberation 13004 Marseille']
    >>> q.groupby("kind", sort=False).size().to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'clean': 2, 'abbreviated': 2, 'no_accents': 1, 'upper_case': 2, 'typo': 2,
     'no_postcode': 2, 'extra_words': 2, 'suffix_variant': 2, 'word_order': 2,
     'named_place': 2, 'unknown_street': 2}
    """
    if n_per_kind < 0:
        raise ValueError("n_per_kind must be >= 0")
    data = _Ban(ban)
    builders: dict[str, Callable[[np.random.Generator], list[Row]]] = {
        "clean": lambda r: _clean(data, r, n_per_kind),
        "abbreviated": lambda r: _abbreviated(data, r, n_per_kind),
        "no_accents": lambda r: _no_accents(data, r, n_per_kind),
        "upper_case": lambda r: _upper_case(data, r, n_per_kind),
        "typo": lambda r: _typo(data, r, n_per_kind),
        "no_postcode": lambda r: _no_postcode(data, r, n_per_kind),
        "extra_words": lambda r: _extra_words(data, r, n_per_kind),
        "suffix_variant": lambda r: _suffix_variant(data, r, n_per_kind),
        "word_order": lambda r: _word_order(data, r, n_per_kind),
        "intersection": lambda r: _intersection(data, network, r, n_per_kind),
        "named_place": lambda r: _named_place(data, r, n_per_kind),
        "unknown_street": lambda r: _unknown_street(data, r, n_per_kind),
    }
    records: list[tuple[str, str, float, float, str | None, str | None]] = []
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng([seed, k])
        for query, lon, lat, ban_id, precision in builders[kind](rng):
            records.append((query, kind, lon, lat, ban_id, precision))
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    out["true_lon"] = out["true_lon"].astype(float)
    out["true_lat"] = out["true_lat"].astype(float)
    out["true_ban_id"] = out["true_ban_id"].astype(object).where(out["true_ban_id"].notna(), None)
    out["expected_precision"] = (
        out["expected_precision"].astype(object).where(out["expected_precision"].notna(), None)
    )
    return out
