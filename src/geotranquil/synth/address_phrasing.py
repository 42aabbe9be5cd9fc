"""An evaluation set of address queries written apart from the parser (issue 17).

:func:`phrased_queries` draws real house numbers from a BAN-like table (the synthetic BAN plus
the traps of :mod:`geotranquil.synth.street_traps`) and writes them as people do, kind by kind
(:data:`PHRASING_KINDS`), with the vocabulary of :mod:`geotranquil.synth.phrasing_vocab`. The
street structure it needs (split streets, names sharing a folded form, neighbouring
postcodes) is read from the table itself, with its own folding: nothing comes from the
geocoder's parser.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from geotranquil.geocode.query_kinds import PHRASING_KINDS
from geotranquil.synth import phrasing_mix
from geotranquil.synth import phrasing_vocab as vocab
from geotranquil.synth.phrasing_mix import abbreviated, after, split_type

COLUMNS: Final = ("query", "kind", "true_lon", "true_lat", "true_ban_id", "expected_precision")
_LINK = re.compile(r"[-'’\s]+")
_ARTICLE_WORDS: Final = frozenset({"de", "des", "du", "la", "le", "les", "l", "d"})

Row = tuple[str, float, float, str | None, str | None]


def my_fold(name: str) -> str:
    """Lower case, no accents, no hyphens or apostrophes, no articles (this module's own).

    Examples
    --------
    >>> my_fold("Rue de l'Église"), my_fold("Rue des Tours") == my_fold("Rue de Tours")
    ('rue eglise', True)
    """
    plain = unicodedata.normalize("NFKD", name.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(w for w in _LINK.split(plain) if w and w not in _ARTICLE_WORDS)


class _Table:
    """House-number rows and the structure of the streets, read from the BAN rows."""

    def __init__(self, ban: pd.DataFrame) -> None:
        df = ban[(ban["numero"] < 99999) & (ban["rep"].fillna("") == "")].reset_index(drop=True)
        self.df = df
        self.name: list[str] = df["nom_voie"].astype(str).tolist()
        self.cp: list[str] = df["code_postal"].astype(str).tolist()
        self.key = df["street_key"].astype(str).to_numpy()
        self.no: list[int] = [int(v) for v in df["numero"]]
        # split streets: one name, several BAN streets whose numbers follow on (no overlap)
        spans = df.groupby(["nom_voie", "street_key"])["numero"].agg(["min", "max"])
        self.split: set[str] = set()
        for street, g in spans.groupby(level=0):
            g = g.sort_values("min")
            if len(g) > 1 and (g["min"].to_numpy()[1:] > g["max"].to_numpy()[:-1]).all():
                self.split.add(str(street))
        folded = pd.Series({n: my_fold(n) for n in set(self.name)})
        per_fold = folded.groupby(folded).size()
        self.homonyms = {str(n) for n, f in folded.items() if per_fold[f] > 1}
        centres = df.groupby("code_postal")[["lon", "lat"]].mean()
        self.neighbours: dict[str, list[str]] = {}
        for cp, (lon, lat) in centres.iterrows():
            d = np.hypot((centres["lon"] - lon) * 0.73, centres["lat"] - lat).drop(cp)
            self.neighbours[str(cp)] = [str(c) for c in d.nsmallest(3).index]
        self.cps_of = df.groupby("nom_voie")["code_postal"].agg(set).to_dict()
        self.last = df.groupby("street_key")["numero"].max().to_dict()

    def sample(self, rng: np.random.Generator, mask: np.ndarray, n: int) -> list[int]:
        """Up to ``n`` distinct rows among ``mask``, every street equally likely."""
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            return []
        counts = pd.Series(self.key[idx]).map(pd.Series(self.key[idx]).value_counts())
        p = 1.0 / counts.to_numpy(dtype=float)
        k = min(n, idx.size)
        return [int(i) for i in idx[rng.choice(idx.size, size=k, replace=False, p=p / p.sum())]]

    def row(self, i: int, text: str) -> Row:
        r = self.df.iloc[i]
        return text, float(r["lon"]), float(r["lat"]), str(r["id"]), "housenumber"

    def mask(self, names: set[str] | None = None) -> np.ndarray:
        return np.ones(len(self.df), bool) if names is None else np.isin(self.name, list(names))


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _town(rng: np.random.Generator, cp: str) -> str:
    return _pick(rng, (f" {cp} Marseille", f", {cp} Marseille", f" {cp}", f" Marseille {cp}"))


def _lowtype(name: str) -> str:
    kind, rest = split_type(name)
    return f"{kind.lower()} {rest}" if kind else name


def _rows(
    t: _Table, rng: np.random.Generator, n: int, mask: np.ndarray, write: Callable
) -> list[Row]:
    return [t.row(i, write(i)) for i in t.sample(rng, mask, n)]


def _kind_rows(kind: str, t: _Table, rng: np.random.Generator, n: int) -> list[Row]:
    name, cp, no = t.name, t.cp, t.no
    if kind == "clean":
        return _rows(t, rng, n, t.mask(), lambda i: f"{no[i]} {name[i]} {cp[i]} Marseille")
    if kind == "logbook":
        return _rows(
            t,
            rng,
            n,
            t.mask(),
            lambda i: (
                _pick(rng, vocab.LOGBOOK).format(n=no[i], s=_lowtype(name[i]))
                + (_town(rng, cp[i]) if rng.random() < 0.6 else "")
            ),
        )
    if kind == "free_words":
        return _rows(
            t,
            rng,
            n,
            t.mask(),
            lambda i: (
                _pick(rng, vocab.FREE_WORDS).format(n=no[i], s=name[i])
                + (_town(rng, cp[i]) if rng.random() < 0.7 else "")
            ),
        )
    if kind == "abbreviation":
        typed = {s for s in set(name) if split_type(s)[0]}
        return _rows(
            t,
            rng,
            n,
            t.mask(typed),
            lambda i: f"{no[i]} {abbreviated(rng, name[i])}{_town(rng, cp[i])}",
        )
    if kind == "type_after":
        typed = {s for s in set(name) if split_type(s)[0]}
        return _rows(
            t, rng, n, t.mask(typed), lambda i: after(rng, name[i], no[i]) + _town(rng, cp[i])
        )
    if kind == "apostrophe":
        quoted = {s for s in set(name) if "'" in s}
        return _rows(
            t,
            rng,
            n,
            t.mask(quoted),
            lambda i: f"{no[i]} {name[i].replace(chr(39), '’')}{_town(rng, cp[i])}",
        )
    if kind == "neighbour_postcode":

        def wrong(i: int) -> str:
            others = [c for c in t.neighbours[cp[i]] if c not in t.cps_of[name[i]]]
            return f"{no[i]} {name[i]} {others[0] if others else cp[i]} Marseille"

        return _rows(t, rng, n, t.mask(), wrong)
    if kind == "no_postcode":
        return _rows(
            t,
            rng,
            n,
            t.mask(),
            lambda i: f"{no[i]} {name[i]}" + _pick(rng, ("", " Marseille", ", Marseille")),
        )
    if kind == "split_street":

        def other_cp(i: int) -> str:
            cps = sorted(t.cps_of[name[i]] - {cp[i]})
            return _pick(rng, ("", f" {cps[0]} Marseille", f", {cps[0]}")) if cps else ""

        return _rows(t, rng, n, t.mask(t.split), lambda i: f"{no[i]} {name[i]}{other_cp(i)}")
    if kind == "folded_homonym":
        return _rows(
            t,
            rng,
            n,
            t.mask(t.homonyms),
            lambda i: f"{no[i]} {name[i]}" + (_town(rng, cp[i]) if rng.random() < 0.5 else ""),
        )
    if kind == "country_suffix":
        return _rows(
            t,
            rng,
            n,
            t.mask(),
            lambda i: f"{no[i]} {name[i]}{_town(rng, cp[i])}" + _pick(rng, vocab.COUNTRY_TAILS),
        )
    if kind == "combined":

        def mixed(i: int) -> str:
            others = [c for c in t.neighbours[cp[i]] if c not in t.cps_of[name[i]]]
            return phrasing_mix.combined(rng, no[i], name[i], cp[i], others)

        return _rows(t, rng, n, t.mask(), mixed)
    if kind == "beyond_end":
        single = t.mask(set(name) - t.split)
        last = np.array([t.last[k] for k in t.key])
        rows = t.sample(rng, single & (np.array(no) == last), n)
        return [
            (
                f"{no[i] + 2 * int(rng.integers(2, 8))} {name[i]} {cp[i]} Marseille",
                np.nan,
                np.nan,
                None,
                None,
            )
            for i in rows
        ]
    raise ValueError(f"unknown kind {kind}")


def _absent(
    rng: np.random.Generator, places: Sequence[tuple[str, float, float]], n: int
) -> list[Row]:
    forms = ("{p}", "{p} Marseille", "devant le {p}", "parking du {p}", "{p}, 13000 Marseille")
    texts = sorted({f.format(p=p[0]) for p in places for f in forms})
    chosen = rng.permutation(len(texts))[:n]
    return [(texts[int(k)], np.nan, np.nan, None, None) for k in chosen]


def phrased_queries(
    ban: pd.DataFrame,
    absent_places: Sequence[tuple[str, float, float]] = (),
    *,
    n_per_kind: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Queries of every kind of :data:`PHRASING_KINDS` with the answer a geocoder should give.

    ``beyond_end`` (a number past the end of a street that is in one piece) and
    ``absent_place`` (a landmark missing from the BAN) have no right answer: their truth is
    NaN, and any placement at the placing threshold counts as confidently wrong. Kinds that
    the BAN cannot feed (no split street, no apostrophe...) get fewer rows or none.

    Examples
    --------
    >>> ban = pd.DataFrame({"id": ["13201_0001_00001", "13201_0001_00003"],
    ...     "street_key": ["13201_0001"] * 2, "numero": [1, 3], "rep": ["", ""],
    ...     "nom_voie": ["Rue d'Italie"] * 2, "code_postal": ["13001"] * 2,
    ...     "lon": [5.37, 5.371], "lat": [43.29, 43.29]})
    >>> q = phrased_queries(ban, n_per_kind=1, seed=1)
    >>> q.loc[q["kind"] == "apostrophe", "query"].tolist()
    ['3 Rue d’Italie 13001']
    """
    t = _Table(ban)
    frames = []
    for k, kind in enumerate(PHRASING_KINDS):
        rng = np.random.default_rng([seed, 1000 + k])
        rows = (
            _absent(rng, absent_places, n_per_kind)
            if kind == "absent_place"
            else _kind_rows(kind, t, rng, n_per_kind)
        )
        frame = pd.DataFrame(rows, columns=list(COLUMNS[:1]) + list(COLUMNS[2:]))
        frame.insert(1, "kind", kind)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
