"""Where the street is in a folded address written freely (issue 17, classes 6 and 7).

Helpers of :func:`geotranquil.geocode.normalize.parse_address`, on folded tokens; the
vocabularies (street types, stopwords, markers) are passed in by the parser, so this module
imports nothing of it:

- free words before the address: a house number followed by a street type is where the
  address starts ("devant l'immeuble du 31 rue Pascal", "VP devant le 12 bd X");
- a house number after the street, behind logbook words ("rue X, à hauteur du n° 12",
  "Chave boulevard 12", "Honnorat (impasse), 9");
- free words after the street ("31 rue Pascal devant la pharmacie", "..., côté parking"):
  the street stops at the first comma or at a word that opens such a phrase;
- a street type in parentheses ("Honnorat (impasse)", tagged by the parser with
  :data:`OPEN` / :data:`CLOSE`) goes back in front; one written after the name ("Chave
  boulevard") is read both ways by the matcher ("Grand Rue" is a name).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final

#: tags around a street type the parser found in parentheses
OPEN: Final = "qxtypeopen"
CLOSE: Final = "qxtypeclose"
#: articles between a house number and its street ("au 12 du boulevard X")
_OF: Final = frozenset({"de", "du", "des", "la", "l", "d"})
#: words that open a phrase after the street ("devant la pharmacie", "vers 22h", "bât. B",
#: "esc. 2", "appt 12" ...)
AFTER_STREET: Final = frozenset(
    {"devant", "face", "vers", "pres", "cote", "sortie", "chez", "derriere", "proche", "niveau"}
    | {"bat", "batiment", "bt", "esc", "escalier", "appt", "apt", "appartement", "etage"}
)


def from_number_and_type(
    body: list[str],
    is_number_at: Callable[[list[str], int], bool],
    street_types: Collection[str],
    glue: Collection[str] = (),
) -> list[str]:
    """The tokens from the first house number that a street type follows (articles between
    them dropped: "au 12 du boulevard X", "n° 9 de la rue Y"), or else that a logbook word
    (``glue``) precedes, with no street type before it.

    Examples
    --------
    >>> types = {"rue", "boulevard", "bd"}
    >>> def is_number(t, i): return t[i].isdigit()
    >>> from_number_and_type("devant l immeuble du 31 rue pascal".split(), is_number, types)
    ['31', 'rue', 'pascal']
    >>> from_number_and_type("face au 12 du boulevard chave".split(), is_number, types)
    ['12', 'boulevard', 'chave']
    >>> from_number_and_type("rue de la 2e division".split(), is_number, types)
    ['rue', 'de', 'la', '2e', 'division']
    >>> from_number_and_type("arret de bus face au 73 la canebiere".split(), is_number, types,
    ...                      {"face", "au"})
    ['73', 'la', 'canebiere']
    """
    for j in range(len(body) - 1):
        if not is_number_at(body, j) or (j and body[j - 1][0].isdigit()):
            continue
        k = j + 2 if body[j] in ("n", "no", "num", "numero") else j + 1
        if k < len(body) and len(body[k]) == 1 and body[k] not in {*street_types, *_OF}:
            k += 1  # a suffix letter
        if k < len(body) and body[k] in ("bis", "ter", "quater"):
            k += 1
        t = k
        while t < len(body) and body[t] in _OF:
            t += 1
        if t < len(body) and body[t] in street_types:
            return body[j:k] + body[t:]
        if j == 0:
            return body  # "12-14 rue X", "12 à 14 rue X": the address starts at the first one
    # no type after the number ("arrêt de bus face au 73 La Canebière"): the number after a
    # logbook word, when no street type comes before it ("rue du 141e RIA" is a name)
    for j in range(1, len(body) - 1):
        if any(t in street_types for t in body[:j]):
            break
        # plain digits only: "Parc du 26e Centenaire" has an ordinal, not a house number
        if body[j - 1] in glue and body[j].isdigit() and body[j + 1].isalpha():
            return body[j:]
    return body


def trailing_number(
    body: list[str],
    take_number: Callable[[list[str]], tuple[int | None, str | None, list[str]]],
    glue: Collection[str],
    street_types: Collection[str] = (),
) -> tuple[int | None, str | None, list[str]]:
    """A house number at the end, behind logbook words: ``(number, suffix, street tokens)``.

    Without logbook words, only when the street does not start with its type ("Chave
    boulevard 12"): "avenue du 24 avril 1915" keeps its number (the matcher tries both).

    Examples
    --------
    >>> def take(b): return (int(b[0]), None, b[1:]) if b and b[0].isdigit() else (None, None, b)
    >>> trailing_number("rue de rome a hauteur du n 12".split(), take, {"a", "hauteur", "du", "n"})
    (12, None, ['rue', 'de', 'rome'])
    >>> trailing_number("chave boulevard 12".split(), take, set())
    (12, None, ['chave', 'boulevard'])
    """
    if len(body) < 2 or body[0][0].isdigit():
        return None, None, body
    for start in (len(body) - 1, len(body) - 2):
        if start < 1:
            continue
        number, suffix, rest = take_number(body[start:])
        if number is None or rest:
            continue
        k = start
        while k > 0 and body[k - 1] in glue:
            k -= 1
        if k == start and body[0] in street_types and suffix is None:
            continue  # "avenue du 24 avril 1915"; "rue X 34 bis" has a house number
        if k > 0 and any(t.isalpha() and len(t) > 1 for t in body[:k]):
            return number, suffix, body[:k]
    return None, None, body


def street_words(
    body: list[str],
    leading_number: bool,
    markers: Collection[str],
    street_types: Collection[str],
    stopwords: Collection[str],
) -> list[str]:
    """The street's words: a type in parentheses moved in front, free words after the street
    dropped. (A type after the name, "Chave boulevard", is left for the matcher to try both
    ways: "Grand Rue" is a name.)

    Examples
    --------
    >>> args = ({",", "/"}, {"rue", "impasse", "boulevard"}, {"de", "la", "du"})
    >>> street_words(["honnorat", OPEN, "impasse", CLOSE], False, *args)
    ['impasse', 'honnorat']
    >>> street_words("rue pascal devant la pharmacie".split(), True, *args)
    ['rue', 'pascal']
    >>> street_words("rue de la source , devant la boulangerie".split(), True, *args)
    ['rue', 'de', 'la', 'source']
    """
    moved: list[str] = []
    if OPEN in body:
        i = body.index(OPEN)
        j = body.index(CLOSE, i) if CLOSE in body[i:] else len(body)
        moved, body = body[i + 1 : j], body[:i] + body[j + 1 :]
    words: list[str] = []
    for t in body:
        content = any(w.isalpha() and w not in stopwords for w in words)
        if content and leading_number and (t in markers or t in AFTER_STREET):
            break
        if t not in markers:
            words.append(t)
    return moved + words
