"""Several real-world degradations at once, for :mod:`.address_phrasing`'s ``combined`` kind.

People rarely make one mistake at a time: a logbook line is abbreviated, without accents, with
a neighbouring arrondissement's postcode and a typo. :func:`combined` draws two to four of the
degradations below for each address, written apart from the geocoder's parser like the rest of
the evaluation set.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

from geotranquil.synth import phrasing_vocab as vocab

DEGRADATIONS = ("accents", "case", "abbreviation", "wrapper", "postcode", "typo")


def _plain(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "OE"))
    return "".join(c for c in nfkd if not unicodedata.combining(c))


def _typo(word: str, rng: np.random.Generator) -> str:
    """One edit (swap, drop, double, replace) in a word of five letters or more, not the first."""
    if len(word) < 5 or not word.isalpha():
        return word
    k = int(rng.integers(1, len(word) - 1))
    op = int(rng.integers(4))
    if op == 0:
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    if op == 1:
        return word[:k] + word[k + 1 :]
    if op == 2:
        return word[:k] + word[k] + word[k:]
    return word[:k] + "aeiou"[int(rng.integers(5))] + word[k + 1 :]


def combined(
    rng: np.random.Generator, number: int, name: str, postcode: str, neighbours: list[str]
) -> str:
    """One address written with two to four degradations drawn at random.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> combined(rng, 12, "Boulevard de la Libération", "13001", ["13004"])  # doctest: +SKIP
    'au niveau du 12 bd de la Liberation 13004'
    """
    chosen = set(rng.choice(len(DEGRADATIONS), size=int(rng.integers(2, 5)), replace=False))
    kinds = {DEGRADATIONS[int(k)] for k in chosen}
    kind, _, rest = name.partition(" ")
    street = name
    if "abbreviation" in kinds and kind in vocab.TYPE_SPELLINGS and rest:
        spellings = vocab.TYPE_SPELLINGS[kind]
        street = f"{spellings[int(rng.integers(len(spellings)))]} {rest}"
    if "typo" in kinds:
        words = street.split()
        longest = max(range(1, len(words)), key=lambda i: len(words[i]), default=0)
        words[longest] = _typo(words[longest], rng)
        street = " ".join(words)
    cp = postcode
    if "postcode" in kinds:
        cp = "" if not neighbours or rng.random() < 0.5 else neighbours[0]
    text = f"{number} {street}"
    if "wrapper" in kinds:
        frames = vocab.LOGBOOK + vocab.FREE_WORDS
        text = frames[int(rng.integers(len(frames)))].format(n=number, s=street)
    text = f"{text} {cp}".strip()
    if "accents" in kinds:
        text = _plain(text)
    if "case" in kinds:
        text = text.upper() if rng.random() < 0.5 else text.lower()
    return text


def split_type(name: str) -> tuple[str | None, str]:
    """``("Boulevard", "de la Pomme")``; ``(None, name)`` when no known type leads.

    Examples
    --------
    >>> split_type("Boulevard de la Pomme"), split_type("La Canebière")
    (('Boulevard', 'de la Pomme'), (None, 'La Canebière'))
    """
    first, _, rest = name.partition(" ")
    return (first, rest) if first in vocab.TYPE_SPELLINGS and rest else (None, name)


def abbreviated(rng: np.random.Generator, name: str) -> str:
    """The name with its type written as one of its short spellings."""
    kind, rest = split_type(name)
    return f"{_pick(rng, vocab.TYPE_SPELLINGS[kind])} {rest}" if kind else name


def after(rng: np.random.Generator, name: str, no: int) -> str:
    """``"Chave boulevard 12"``, ``"Honnorat (impasse), 9"``, ``"Pomme (bd de la), 4"``."""
    kind, rest = split_type(name)
    assert kind is not None
    article = next((a for a in vocab.ARTICLES if rest.startswith(a)), "")
    core = rest[len(article) :]
    label = kind.lower() if rng.random() < 0.7 else vocab.TYPE_SPELLINGS[kind][0]
    if not article and rng.random() < 0.5:
        return _pick(rng, (f"{core} {label} {no}", f"{no} {core} {label}"))
    return _pick(
        rng,
        (
            f"{core} ({label} {article.strip()}), {no}".replace(" )", ")"),
            f"{core} ({label} {article.strip()}) {no}".replace(" )", ")"),
        ),
    )


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]
