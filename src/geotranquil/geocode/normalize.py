"""Normalise and parse free-text French addresses (pure: standard library only).

Police logbook addresses ("12 bd de la Libération 13001", "angle rue de Rome / cours
Saint-Louis", "Vieux-Port") and the street names of the Base Adresse Nationale (BAN) both go
through :func:`normalize`, so that they meet in the middle; :func:`parse_address` splits a query
into house number, street, postcode, arrondissement, city, intersection or named place.

Folding (:func:`fold`): lower case; accents removed (NFKD, combining marks dropped); ``œ`` ->
``oe``, ``æ`` -> ``ae``, ``ß`` -> ``ss``; apostrophes, hyphens, dots, commas, slashes,
parentheses and any other punctuation become a space; whitespace collapsed; stripped.

Abbreviations expanded by :func:`normalize`, token by token; the street types' spellings are read
from ``street_types.toml`` (FANTOIR nature-of-way codes, La Poste's NF Z10-011 abbreviations and
spellings in use, with their sources)). "first" means only as the first
token of a street part (after a possible house number and suffix), where the abbreviation cannot
be something else (a suffix letter, an initial, a word); "anywhere" means at any position.

=================  ======================================  ===========  =====================
full form          spellings (anywhere)                    first only   note
=================  ======================================  ===========  =====================
rue                rue                                     r            "r" may be a letter
boulevard          boulevard, bd, bld, blvd, bvd, boul,
                   boulv
avenue             avenue, av, avn                         ave, aven    "aven" is a word
chemin             chemin, chem, chm                       ch, che
cours              cours, crs
place              place                                   pl
route              route, rte
impasse            impasse, imp
quai               quai                                    qu, qua
square             square, sq
traverse           traverse, tse, trav, tra, trse
montee             montee, mte, mtee
allee              allee                                   all, al
esplanade          esplanade, esp, espl
promenade          promenade, prom                         pro
residence          residence, resid                        res
lotissement        lotissement                             lot
hameau             hameau                                  ham
cite               cite                                    cit
sentier            sentier, sent                           sen
passage            passage                                 pass, pas    "pas" is a word
carrefour          carrefour, carr, crf                    car          "car" is a word
rond point         rond point, rpt, rdpt, "rd pt"
faubourg           faubourg, fg, fbg
parvis             parvis, prv
corniche           corniche                                cor
ruelle             ruelle, rle
descente           descente, dsc
venelle, voie,     themselves only
sente, rampe,
placette
saint(e)(s)        st, ste, sts, stes
general            gal, gen
marechal           mal
president          pdt
docteur            dr
professeur         prof
commandant         cdt, cmdt
capitaine          cne, cpt, capt
lieutenant         lt, ltn
sergent            sgt
monseigneur        mgr
notre dame         nd, "n d"
=================  ======================================  ===========  =====================

Not expanded, on purpose: ``pt`` (pont, petit, port or pointe), ``col`` (colonel or a mountain
pass), ``pr`` (professeur or prolongée), ``pte`` (porte or petite), ``mar`` (maréchal or mars).
Named places ("parc", "gare", "port", "vallon"...) are not street types.

Lead-ins stripped before the house number (documented in :data:`LEADINS`): "devant",
"face", "en face", "à hauteur", "hauteur", "au niveau", "niveau", "près", "tout près",
"à proximité", "proximité", "vers", "sortie", "entrée", "derrière", "à côté", "aux abords",
"abords", "sur", "dans", "proche", "au droit", "voie publique", "VP", each with the articles
that follow it ("devant le", "face au", "à hauteur du" ...).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Final

from geotranquil.geocode import word_order

#: inputs longer than this are truncated before parsing
MAX_LENGTH: Final = 500


def _load_types() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """full type -> (spellings expanded anywhere, spellings expanded only as first token)."""
    text = resources.files("geotranquil.geocode").joinpath("street_types.toml").read_text("utf-8")
    return {
        full: (tuple(v.get("anywhere", ())), tuple(v.get("first", ())))
        for full, v in tomllib.loads(text)["types"].items()
    }


# read from street_types.toml (FANTOIR / La Poste codes and spellings in use, with sources)
_TYPES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = _load_types()

#: every accepted spelling of a street type -> the full normalised type
STREET_TYPES: Final[dict[str, str]] = {
    spelling: full
    for full, (anywhere, first) in _TYPES.items()
    for spelling in (full, *anywhere, *first)
}

#: words left out of a street's core
STOPWORDS: Final = frozenset(
    {"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "et", "sur", "sous"}
)

_TITLES: Final[dict[str, str]] = {
    "st": "saint",
    "ste": "sainte",
    "sts": "saints",
    "stes": "saintes",
    "gal": "general",
    "gen": "general",
    "mal": "marechal",
    "pdt": "president",
    "dr": "docteur",
    "prof": "professeur",
    "cdt": "commandant",
    "cmdt": "commandant",
    "cne": "capitaine",
    "cpt": "capitaine",
    "capt": "capitaine",
    "lt": "lieutenant",
    "ltn": "lieutenant",
    "sgt": "sergent",
    "mgr": "monseigneur",
    "nd": "notre dame",
}

# expansions valid at any position / at the first position of a street part
_ANYWHERE: Final[dict[str, str]] = {
    **{s: full for full, (anywhere, _) in _TYPES.items() for s in anywhere},
    **_TITLES,
}
_AT_START: Final[dict[str, str]] = {
    **_ANYWHERE,
    **{s: full for full, (_, first) in _TYPES.items() for s in first},
}
_FIRST_ONLY: Final = frozenset(s for _, first in _TYPES.values() for s in first)
_BIGRAMS: Final[dict[tuple[str, str], str]] = {
    ("rd", "pt"): "rond point",
    ("n", "d"): "notre dame",
}
_BIGRAM_FIRST: Final = frozenset(a for a, _ in _BIGRAMS)

#: lead-in phrases (folded) stripped before an address, with the articles that follow them
LEADINS: Final[tuple[tuple[str, ...], ...]] = (
    ("devant",),
    ("face",),
    ("en", "face"),
    ("a", "hauteur"),
    ("hauteur",),
    ("au", "niveau"),
    ("niveau",),
    ("pres",),
    ("tout", "pres"),
    ("a", "proximite"),
    ("proximite",),
    ("vers",),
    ("sortie",),
    ("a", "la", "sortie"),
    ("entree",),
    ("a", "l", "entree"),
    ("derriere",),
    ("a", "cote"),
    ("aux", "abords"),
    ("abords",),
    ("sur",),
    ("dans",),
    ("proche",),
    ("au", "droit"),
    ("voie", "publique"),  # "sur la voie publique au 42 ...": not the street type "voie"
    ("vp",),
)
_LEADIN_INDEX: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    first: tuple(sorted((p for p in LEADINS if p[0] == first), key=len, reverse=True))
    for first in {p[0] for p in LEADINS}
}
_ARTICLES: Final = frozenset({"le", "la", "les", "l", "du", "de", "des", "d", "au", "aux", "a"})
_INTERSECTION_WORDS: Final = frozenset({"angle", "croisement", "carrefour", "intersection", "coin"})
_SIDE_LEAD: Final = frozenset({"de", "du", "des", "d", "entre"})
_SIDE_ARTICLES: Final = frozenset({"la", "l", "le", "les"})
_MARKERS: Final = frozenset({",", "/", "&"})
_SEPARATORS: Final = frozenset({"/", "&"})
_SUFFIX_WORDS: Final = frozenset({"bis", "ter", "quater", "quinquies"})
_NUMBER_PREFIXES: Final = frozenset({"n", "no", "num", "numero"})
_ORDINAL_WORDS: Final = frozenset({"er", "ere", "e", "eme", "em", "nd", "nde"})
_ARR_WORDS: Final = frozenset(
    {"arr", "arrt", "arrdt", "ardt", "arrond", "arrondt", "arrondissement", "arrondissements"}
)
_CITY_STOP: Final = frozenset({"cedex", "france"})

_LIGATURES: Final = str.maketrans(
    {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"}
)
# the Latin combining-mark blocks (fast path): diacritics, extended, supplement, symbols, halves
_COMBINING: Final = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_NON_WORD: Final = re.compile(r"[\W_]+")
_TOKEN: Final = re.compile(r"[^\W_]+|[,/&]")
_PARENTHESES: Final = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
#: logbook notes after an address, dropped from its end ("entrée immeuble", "RDC" ...)
TRAILERS: Final[tuple[tuple[str, ...], ...]] = (
    ("entree", "immeuble"),
    ("entree",),
    ("immeuble",),
    ("rdc",),
    ("rez", "de", "chaussee"),
    ("domicile",),
    ("hall",),
    ("cave",),
    ("parking",),
    ("sous", "sol"),
    ("etage",),
)
_NUMBER: Final = re.compile(r"(?:n|no|num|numero)?(\d{1,4})(bis|ter|quater|quinquies|[a-z])?")
_ORDINAL: Final = re.compile(r"(\d{1,2})(er|ere|e|eme|em|nd|nde)?")


@dataclass(frozen=True)
class ParsedAddress:
    """The parts of a free-text address, each normalised (see :func:`parse_address`)."""

    raw: str
    number: int | None = None
    suffix: str | None = None
    street: str | None = None
    street_type: str | None = None
    core: str | None = None
    postcode: str | None = None
    arrondissement: int | None = None
    city: str | None = None
    intersection: tuple[str, str] | None = None
    place: str | None = None


def _prefold(text: str) -> str:
    """Lower case, ligatures spelled out, accents removed; punctuation left alone."""
    s = text.lower()
    if s.isascii():
        return s
    s = _COMBINING.sub("", unicodedata.normalize("NFKD", s.translate(_LIGATURES)))
    if s.isascii():
        return s
    return "".join(c for c in s if not unicodedata.combining(c))  # marks of other scripts


_LIGHT_SEPARATORS: Final = re.compile(r"[\s,;:()\[\]/]+")


def spelling(text: str) -> str:
    """Lower case, no accents, apostrophes straight, hyphens kept: how a name is spelled.

    Examples
    --------
    >>> spelling("Rue Sainte-Cécile"), spelling("12, rue d’Aubagne (13001)")
    ('rue sainte-cecile', "12 rue d'aubagne 13001")
    """
    light = _prefold(text).replace("\u2019", "'").replace("\u02bc", "'")
    return " ".join(_LIGHT_SEPARATORS.split(light)).strip()


def fold(text: str) -> str:
    """Lower case, accents and punctuation removed, whitespace collapsed.

    Examples
    --------
    >>> fold("  Montée des Accoules (2ème) ")
    'montee des accoules 2eme'
    >>> fold("Rue d'Aubagne / Cœur-Saint-Ferréol")
    'rue d aubagne coeur saint ferreol'
    """
    return _NON_WORD.sub(" ", _prefold(text)).strip()


def _expand(tokens: list[str], start: int = 0) -> list[str]:
    """Abbreviations expanded; ``start`` is the index of the street part's first token."""
    out: list[str] = []
    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if t in _BIGRAM_FIRST and i + 1 < n:
            pair = _BIGRAMS.get((t, tokens[i + 1]))
            if pair is not None:
                out.append(pair)
                i += 2
                continue
        out.append((_AT_START if i == start else _ANYWHERE).get(t, t))
        i += 1
    return out


def _street_start(tokens: list[str]) -> int:
    """Index of the first street token after a leading house number and suffix."""
    n = len(tokens)
    if not n:
        return 0
    i = 0
    if tokens[0] in _NUMBER_PREFIXES and n > 1 and tokens[1].isdigit():
        i = 2
    elif _NUMBER.fullmatch(tokens[0]):
        i = 1
    else:
        return 0
    if i < n and (
        tokens[i] in _SUFFIX_WORDS
        or (len(tokens[i]) == 1 and tokens[i].isalpha() and tokens[i] not in _FIRST_ONLY)
    ):
        i += 1
    return i


def normalize(text: str) -> str:
    """Fold a text and expand the abbreviations of street types and titles.

    Parameters
    ----------
    text : str
        A street name, an address or any free text.

    Returns
    -------
    str
        The folded text with abbreviations expanded (see the module's table); "r", "pl" and
        the other ambiguous spellings only as the first token of the street part.

    Examples
    --------
    >>> normalize("12 bd de la Libération")
    '12 boulevard de la liberation'
    >>> normalize("R ST FERREOL")
    'rue saint ferreol'
    >>> normalize("Rue Saint-Ferréol")
    'rue saint ferreol'
    >>> normalize("12 b r du Gal Leclerc")
    '12 b rue du general leclerc'
    """
    tokens = fold(text).split()
    return " ".join(_expand(tokens, _street_start(tokens)))


def street_core(street: str) -> tuple[str | None, str]:
    """``(full type or None, core)`` of a normalised street: core without type and stopwords.

    A street made only of a type word ("rue") is its own core; a core made only of stopwords
    keeps them.

    Examples
    --------
    >>> street_core("boulevard de la liberation")
    ('boulevard', 'liberation')
    >>> street_core("la canebiere")
    (None, 'canebiere')
    """
    tokens = street.split()
    if not tokens:
        return None, ""
    if len(tokens) > 1 and tokens[0] == "rond" and tokens[1] == "point":
        kind: str | None = "rond point"
        rest = tokens[2:]
    else:
        kind = STREET_TYPES.get(tokens[0])
        rest = tokens[1:] if kind is not None else tokens
    if not rest:
        return None, " ".join(tokens)
    core = [t for t in rest if t not in STOPWORDS]
    return kind, " ".join(core or rest)


def arrondissement_postcode(n: int) -> str:
    """The postcode of Marseille's arrondissement ``n`` (1..16): ``1 -> "13001"``."""
    if not 1 <= n <= 16:
        raise ValueError(f"Marseille has arrondissements 1 to 16, not {n}")
    return f"{13000 + n}"


def _read_arrondissement(tokens: list[str], i: int, after_city: bool) -> tuple[int, int] | None:
    """``(arrondissement, next index)`` for an arrondissement form at ``i``, else None."""
    m = _ORDINAL.fullmatch(tokens[i])
    if m is None:
        return None
    value = int(m[1])
    if not 1 <= value <= 16:
        return None
    n = len(tokens)
    ordinal = m[2] is not None
    j = i + 1
    if j < n and tokens[j] in _ORDINAL_WORDS:
        ordinal = True
        j += 1
    if j < n and tokens[j] in _ARR_WORDS:
        return value, j + 1
    if not after_city:
        return None
    if not ordinal and j < n and tokens[j] in STREET_TYPES:
        return None  # "Marseille 12 rue de Rome": a house number
    return value, j


def _extract_locality(
    tokens: list[str],
) -> tuple[list[str], str | None, int | None, str | None]:
    """Postcode, arrondissement and city taken out of the tokens."""
    postcode: str | None = None
    arr: int | None = None
    city: str | None = None
    out: list[str] = []
    out_at_postcode = -1
    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if t == "marseille" and not (out and out[-1] in ("de", "d", "du")):
            city = "marseille"
            i += 1
            if i < n:
                found = _read_arrondissement(tokens, i, after_city=True)
                if found is not None:
                    arr, i = found
            continue
        if t[0].isdigit():
            if len(t) == 5 and t.isdigit():
                value = int(t)
                if 1000 <= value <= 98999 and postcode is None:
                    postcode = t
                    out_at_postcode = len(out)
                    i += 1
                    if 13001 <= value <= 13016:
                        arr = arr or value - 13000
                    else:
                        j = i
                        while j < n and tokens[j].isalpha() and tokens[j] not in _CITY_STOP:
                            j += 1
                        if j > i and tokens[i] != "marseille":
                            city = " ".join(tokens[i:j])
                            i = j
                    continue
            else:
                found = _read_arrondissement(tokens, i, after_city=False)
                if found is not None:
                    arr, i = found
                    continue
        elif t == "cedex":
            i += 1
            if i < n and tokens[i].isdigit() and len(tokens[i]) <= 2:
                i += 1
            continue
        elif t == "france" and i == n - 1 and _after_locality(tokens, i):
            break  # the country, after a postcode or a city ("Impasse Jeune France" keeps it)
        out.append(t)
        i += 1
    if postcode is not None and city is None:
        if postcode.startswith("130") and 1 <= int(postcode[3:]) <= 16:
            city = "marseille"
        elif out_at_postcode == len(out):
            # "10 rue X, Aubagne 13400": the segment between the last comma and the postcode
            end = len(out)
            while end and out[end - 1] in _MARKERS:
                end -= 1
            comma = end - 1
            while comma >= 0 and out[comma] != ",":
                comma -= 1
            segment = out[comma + 1 : end]
            if (
                comma > 0
                and segment
                and all(s.isalpha() for s in segment)
                and segment[0] not in STREET_TYPES
                and segment[0] not in _SIDE_ARTICLES
            ):
                city = " ".join(segment)
                out = out[:comma]
    if arr is not None:
        if postcode is None:
            postcode = arrondissement_postcode(arr)
        if city is None:
            city = "marseille"
    return out, postcode, arr, city


def _after_locality(tokens: list[str], i: int) -> bool:
    """Whether the tokens before ``i`` (markers skipped) end with a postcode or a city."""
    j = i - 1
    while j >= 0 and tokens[j] in _MARKERS:
        j -= 1
    if j < 0:
        return False
    t = tokens[j]
    return (
        (len(t) == 5 and t.isdigit())
        or t in ("marseille", "cedex")
        or t in _ARR_WORDS
        or t in _ORDINAL_WORDS
        or (j > 0 and tokens[j - 1] == "marseille")
        or (t.isalpha() and j > 0 and len(tokens[j - 1]) == 5 and tokens[j - 1].isdigit())
    )


def _is_number_at(tokens: list[str], i: int) -> bool:
    n = len(tokens)
    if i >= n:
        return False
    if tokens[i] in _NUMBER_PREFIXES and i + 1 < n and tokens[i + 1].isdigit():
        return True
    return _NUMBER.fullmatch(tokens[i]) is not None


def _skip_leadins(tokens: list[str]) -> int:
    """Index after the lead-in words ("devant le", "face au", "à hauteur du" ...)."""
    n = len(tokens)
    i = 0
    while i < n and tokens[i] in _MARKERS:
        i += 1
    stripped = False
    while i < n:
        phrases = _LEADIN_INDEX.get(tokens[i])
        if phrases is None:
            break
        for phrase in phrases:
            k = len(phrase)
            if tuple(tokens[i : i + k]) == phrase:
                i += k
                stripped = True
                j = i  # "sur la voie publique au 12": articles between two lead-ins
                while j < n and tokens[j] in _ARTICLES:
                    j += 1
                if j < n and j > i and tokens[j] in _LEADIN_INDEX:
                    i = j
                break
        else:
            break
    if stripped:
        while i < n and (tokens[i] in _ARTICLES or tokens[i] in _MARKERS):
            i += 1
    else:
        j = i
        while j < n and tokens[j] in _ARTICLES:
            j += 1
        if j > i and _is_number_at(tokens, j):
            i = j
    return i


def _meaningful(tokens: list[str]) -> bool:
    return any(len(t) > 1 and t.isalpha() and t not in STOPWORDS for t in tokens)


def _clean_side(tokens: list[str]) -> list[str]:
    """One street of a crossing, without markers and leading "de", "du", "de la" ..."""
    side = [t for t in tokens if t not in _MARKERS]
    i = 0
    while i < len(side) and side[i] in _SIDE_LEAD:
        i += 1
    if i + 1 < len(side) and side[i] in _SIDE_ARTICLES and side[i + 1] in STREET_TYPES:
        i += 1
    return side[i:]


def _is_x_separator(body: list[str], k: int) -> bool:
    if not 0 < k < len(body) - 1:
        return False
    left, right = body[k - 1], body[k + 1]
    return (
        left.isalpha()
        and left not in STREET_TYPES
        and left not in STOPWORDS
        and right not in STOPWORDS
        and right not in _MARKERS
    )


def _find_intersection(body: list[str]) -> tuple[tuple[str, str] | None, list[str]]:
    """``(pair of streets, None)`` for a crossing, else ``(None, body to parse further)``."""
    n = len(body)
    j = 0
    while j < n and body[j] in _ARTICLES:
        j += 1
    keyword = body[j] if j < n and body[j] in _INTERSECTION_WORDS else None
    rest = body[j + 1 :] if keyword is not None else body
    split: tuple[list[str], list[str]] | None = None
    if "/" in rest or "&" in rest or "x" in rest:
        for k, t in enumerate(rest):
            if t in _SEPARATORS or (t == "x" and _is_x_separator(rest, k)):
                left, right = _clean_side(rest[:k]), _clean_side(rest[k + 1 :])
                if _meaningful(left) and _meaningful(right):
                    if keyword is None and _is_number_at(left, 0):
                        return None, rest[:k]  # "12 rue de Rome / rue X": keep the address
                    split = left, right
                    break
    if split is None and keyword is not None and ("et" in rest or "avec" in rest):
        candidates: list[tuple[list[str], list[str]]] = []
        for k, t in enumerate(rest):
            if t in ("et", "avec"):
                left, right = _clean_side(rest[:k]), _clean_side(rest[k + 1 :])
                if _meaningful(left) and _meaningful(right):
                    candidates.append((left, right))
        for left, right in candidates:
            if right[0] in STREET_TYPES:
                split = left, right
                break
        else:
            if candidates:
                split = candidates[0]
    if split is not None:
        left, right = split
        return (" ".join(_expand(left)), " ".join(_expand(right))), []
    if keyword is None or keyword == "carrefour":
        return None, body
    return None, _clean_side(rest)


#: words between a street and a house number written after it ("rue X, à hauteur du n° 12")
_GLUE: Final = frozenset(
    {w for phrase in LEADINS for w in phrase} | _ARTICLES | _NUMBER_PREFIXES | _MARKERS
)


def _take_number(body: list[str]) -> tuple[int | None, str | None, list[str]]:
    """House number and suffix at the start of ``body``, and the tokens after them."""
    n = len(body)
    i = 0
    if n > 1 and body[0] in _NUMBER_PREFIXES and body[1].isdigit():
        i = 1
    m = _NUMBER.fullmatch(body[i]) if i < n else None
    if m is None:
        return None, None, body
    number = int(m[1])
    suffix = m[2]
    i += 1
    if i < n and suffix is None:
        t = body[i]
        if t in ("a", "au") and i + 1 < n and body[i + 1].isdigit():
            i += 2  # "12 à 14"
        elif t in _SUFFIX_WORDS or (
            len(t) == 1
            and t.isalpha()
            # "12 r de Rome": "r" is the street type, "12 r rue de Rome": a suffix
            and not (t in _FIRST_ONLY and i + 1 < n and body[i + 1] not in STREET_TYPES)
        ):
            suffix = t
            i += 1
    j = i + 1 if i < n and body[i] == "/" else i
    if j + 1 < n and body[j].isdigit() and len(body[j]) <= 4:
        i = j + 1  # "12-14", "12/14": the first number
        if i < n and body[i] in _SUFFIX_WORDS:
            i += 1
    return number, suffix, body[i:]


def _take_trailing_number(body: list[str]) -> tuple[int | None, str | None, list[str]]:
    """``"rue de Rome, 12"``: a number after a comma at the end of the street."""
    k = len(body)
    while k and body[k - 1] in _MARKERS:
        k -= 1
    k -= 1
    suffix: str | None = None
    if k >= 0 and body[k] in _SUFFIX_WORDS:
        suffix = body[k]
        k -= 1
    if k < 1:
        return None, None, body
    m = _NUMBER.fullmatch(body[k])
    if m is None or (suffix is not None and m[2] is not None):
        return None, None, body
    before = k - 1
    if body[before] in _NUMBER_PREFIXES:
        before -= 1
    if before < 1 or body[before] != "," or not _meaningful(body[:before]):
        return None, None, body
    return int(m[1]), suffix or m[2], body[:before]


def _drop_trailers(tokens: list[str]) -> list[str]:
    """The address without logbook notes at its end (see :data:`TRAILERS`)."""
    changed = True
    while changed and tokens:
        changed = False
        while tokens and tokens[-1] in _MARKERS:
            tokens = tokens[:-1]
        for phrase in TRAILERS:
            n = len(phrase)
            if len(tokens) > n and tuple(tokens[-n:]) == phrase:
                tokens = tokens[:-n]
                changed = True
                break
    return tokens


def _parenthesis(match: re.Match[str]) -> str:
    """A street type in parentheses ("Honnorat (impasse)") is kept, between two tags."""
    inner = fold(match[0][1:-1]).split()
    if inner and (inner[0] in STREET_TYPES or inner[:2] == ["rond", "point"]):
        return f" {word_order.OPEN} {' '.join(inner)} {word_order.CLOSE} "
    return " , "


def _parse(raw: str) -> ParsedAddress:
    text = _PARENTHESES.sub(_parenthesis, raw)
    tokens = _drop_trailers(_TOKEN.findall(_prefold(text)))
    if not tokens:
        return ParsedAddress(raw=raw)
    tokens, postcode, arr, city = _extract_locality(tokens)
    body = _drop_trailers(tokens[_skip_leadins(tokens) :])
    pair, body = _find_intersection(body) if body else (None, body)
    if pair is not None:
        return ParsedAddress(
            raw=raw, postcode=postcode, arrondissement=arr, city=city, intersection=pair
        )
    body = word_order.from_number_and_type(body, _is_number_at, STREET_TYPES, _GLUE)
    number, suffix, body = _take_number(body)
    leading = number is not None
    if number is None:
        number, suffix, body = _take_trailing_number(body)
    if number is None:
        number, suffix, body = word_order.trailing_number(body, _take_number, _GLUE, STREET_TYPES)
    words = word_order.street_words(body, leading, _MARKERS, STREET_TYPES, STOPWORDS)
    street: str | None = None
    kind: str | None = None
    core: str | None = None
    place: str | None = None
    if words:
        text = " ".join(_expand(words))
        kind, core = street_core(text)
        if number is None and kind is None:
            place = text
        else:
            street = text
    return ParsedAddress(
        raw=raw,
        number=number,
        suffix=suffix,
        street=street,
        street_type=kind,
        core=core,
        postcode=postcode,
        arrondissement=arr,
        city=city,
        place=place,
    )


def parse_address(text: str) -> ParsedAddress:
    """Split a free-text French address into normalised parts; never raises.

    The text is truncated to :data:`MAX_LENGTH` characters (``raw`` keeps it so). Lead-ins
    ("devant le", "face au" ...) are stripped; a postcode (any 5-digit token 01000-98999),
    Marseille's arrondissement in any usual form ("Marseille 1er", "13e arr", "13013") and the
    city are taken out of the street. A crossing ("angle X / Y", "X x Y", "croisement X et Y")
    fills ``intersection`` only. Text with no house number and no street type is a named
    ``place``; its ``core`` is the place without stopwords.

    Parameters
    ----------
    text : str
        The address as typed, in any case, with or without accents.

    Returns
    -------
    ParsedAddress
        Every part that could be recognised; the others are None.

    Examples
    --------
    >>> a = parse_address("12bis Bd National Marseille 3e")
    >>> a.number, a.suffix, a.street, a.street_type, a.core
    (12, 'bis', 'boulevard national', 'boulevard', 'national')
    >>> a.postcode, a.arrondissement, a.city
    ('13003', 3, 'marseille')
    >>> parse_address("angle rue de Rome / cours Saint-Louis").intersection
    ('rue de rome', 'cours saint louis')
    >>> p = parse_address("Gare Saint-Charles 13001")
    >>> p.place, p.street, p.postcode
    ('gare saint charles', None, '13001')
    """
    raw = text[:MAX_LENGTH] if isinstance(text, str) else ""
    try:
        return _parse(raw)
    except Exception:  # a safety net: a query that cannot be parsed is just not parsed
        return ParsedAddress(raw=raw)
