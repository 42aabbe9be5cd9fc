"""Matching free-text addresses against the BAN, in memory (pure: no database).

Why in memory rather than ``pg_trgm`` queries: a département holds a few tens of thousands of
streets, which fit in a few megabytes; fuzzy matching them with rapidfuzz (C++, edit-distance
ratios, documented and tested upstream) takes microseconds per query, where a trigram query
round trip takes milliseconds. The index is built once from ``ban_addresses`` per BAN release.

How a query is placed (:meth:`BanIndex.geocode`):

1. :func:`~geotranquil.geocode.normalize.parse_address` splits it into number, suffix, street
   (type and core words), postcode or arrondissement, or two streets of a crossing, or a place.
2. Candidate streets are found by a fuzzy ratio of their core words (insensitive to word order
   and to a missing type), within the postcode when there is one and in the whole index too,
   and weighed by :func:`~geotranquil.geocode.scoring.street_evidence` (name first; postcode,
   type and spelling adjust it). With a house number, a piece of a split street that does not
   hold the number gives way to the piece that does.
3. The house number is looked up on the best street (with its suffix, or without it); a number
   missing from the BAN is placed between the nearest numbers of the same side of the street,
   in proportion to the numbers (``interpolated``); a number past the street's ends is not a
   house number (``street``, under the placing threshold). Without a number, the street's
   middle address.
4. A crossing is placed where the two streets' axes (their numbers in order) meet, or at the
   middle of their closest points; a named place (BAN lieu-dit, ``numero`` 99999) at its point.
5. A rival street of about the same evidence lowers the score
   (:func:`~geotranquil.geocode.scoring.ambiguity`); scores are in [0, 1] and read as the
   probability of being within 50 m; results under :data:`MIN_SCORE` are not returned, and
   :meth:`BanIndex.candidates` gives the best few for an analyst.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import shapely
from rapidfuzz import fuzz, process

from geotranquil.geocode import scoring
from geotranquil.geocode.normalize import (
    STREET_TYPES,
    ParsedAddress,
    normalize,
    parse_address,
    spelling,
    street_core,
)
from geotranquil.geocode.result import GeocodeResult

PLACE_NUMBER = 99999
#: results scoring lower are not returned
MIN_SCORE = 0.5
#: candidates kept from the fuzzy search before the finer scoring
CANDIDATES = 8
PENALTY_POSTCODE_MISMATCH = 0.35  # named places
#: a rival street that does not hold the house number is that much less of a rival
POSTCODE_FREE_RIVAL = 0.1
PENALTY_BEYOND_END = 0.1
PENALTY_INTERPOLATED = 0.04
PENALTY_SUFFIX_MISSING = 0.03
PENALTY_NO_NUMBER_FOUND = 0.15
PENALTY_INTERSECTION = 0.05
_M_PER_DEG_LAT = 110_540.0


@dataclass
class Street:
    """One BAN street: its names, where it is, and its house numbers."""

    key: str
    name: str
    street_type: str | None
    core: str
    postcode: str | None
    citycode: str
    city: str
    numbers: dict[tuple[int, str], tuple[float, float, str]] = field(default_factory=dict)
    ordered: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # numero, lon, lat
    norm: str = ""  # the whole name, normalised (type and articles kept)
    spelled: str = ""  # the whole name as spelled (lower case, no accents, hyphens kept)
    first: int = 0  # lowest and highest house numbers
    last: int = 0

    def holds(self, number: int) -> bool:
        """Whether ``number`` lies between the street's first and last house numbers."""
        return self.first <= number <= self.last

    def middle(self) -> tuple[float, float]:
        """The point of the street's middle number (its mean point when it has none)."""
        if len(self.ordered) == 0:
            pts = np.array([(v[0], v[1]) for v in self.numbers.values()])
            return float(pts[:, 0].mean()), float(pts[:, 1].mean())
        mid = self.ordered[len(self.ordered) // 2]
        return float(mid[1]), float(mid[2])


@dataclass
class Place:
    """A named place (lieu-dit) of the BAN."""

    name: str
    norm: str
    lon: float
    lat: float
    postcode: str | None
    citycode: str
    ban_id: str


class BanIndex:
    """Streets, house numbers and named places of a BAN extract, ready to match queries."""

    def __init__(self, streets: list[Street], places: list[Place]) -> None:
        self.streets = streets
        self.places = places
        self._cores = [s.core for s in streets]
        self._by_postcode: dict[str, list[int]] = {}
        for i, s in enumerate(streets):
            if s.postcode:
                self._by_postcode.setdefault(s.postcode, []).append(i)
        self._place_names = [street_core(p.norm)[1] or p.norm for p in places]

    @classmethod
    def from_frame(cls, ban: pd.DataFrame) -> BanIndex:
        """Build the index from BAN rows (``ban_addresses`` columns).

        Examples
        --------
        >>> rows = pd.DataFrame({
        ...     "id": ["13201_0001_00001", "13201_0001_00003", "13201_0002_99999"],
        ...     "street_key": ["13201_0001", "13201_0001", "13201_0002"],
        ...     "numero": [1, 3, 99999], "rep": ["", "", ""],
        ...     "nom_voie": ["Rue de Rome", "Rue de Rome", "Vieux-Port"],
        ...     "code_postal": ["13001"] * 3, "code_insee": ["13201"] * 3,
        ...     "nom_commune": ["Marseille 1er Arrondissement"] * 3,
        ...     "lon": [5.3790, 5.3792, 5.3710], "lat": [43.2950, 43.2946, 43.2950]})
        >>> index = BanIndex.from_frame(rows)
        >>> len(index.streets), len(index.places)
        (1, 1)
        """
        streets: dict[str, Street] = {}
        places: list[Place] = []
        frame = ban.sort_values(["street_key", "numero", "rep"], kind="stable")
        text_columns = ("id", "street_key", "nom_voie", "code_insee", "nom_commune")
        texts = {c: frame[c].astype(str).tolist() for c in text_columns}
        reps = frame["rep"].fillna("").astype(str).str.strip().str.lower().tolist()
        postcodes = [None if pd.isna(v) else str(v) for v in frame["code_postal"]]
        numeros = frame["numero"].astype(int).tolist()
        lons = frame["lon"].astype(float).tolist()
        lats = frame["lat"].astype(float).tolist()
        for i, numero in enumerate(numeros):
            name, key, ban_id = texts["nom_voie"][i], texts["street_key"][i], texts["id"][i]
            if numero == PLACE_NUMBER:
                places.append(
                    Place(
                        name,
                        normalize(name),
                        lons[i],
                        lats[i],
                        postcodes[i],
                        texts["code_insee"][i],
                        ban_id,
                    )
                )
                continue
            street = streets.get(key)
            if street is None:
                norm = normalize(name)
                street_type, core = street_core(norm)
                street = Street(
                    key,
                    name,
                    street_type,
                    core,
                    postcodes[i],
                    texts["code_insee"][i],
                    texts["nom_commune"][i],
                    norm=norm,
                    spelled=f" {spelling(name)} ",
                )
                streets[key] = street
            street.numbers[(numero, reps[i])] = (lons[i], lats[i], ban_id)
        for street in streets.values():
            known = [n for n, _ in street.numbers]
            street.first, street.last = min(known), max(known)
            plain = sorted((n, v) for (n, r), v in street.numbers.items() if r == "")
            if plain:
                street.ordered = np.array([(n, v[0], v[1]) for n, v in plain], dtype=float)
        return cls(list(streets.values()), places)

    # --- streets ---------------------------------------------------------------------------

    def _street_candidates(self, core: str, postcode: str | None) -> list[tuple[int, float]]:
        """``(street index, name ratio in [0, 1])``, best first, from the postcode and all."""
        found: dict[int, float] = {}
        pools: list[list[int] | None] = [None]
        if postcode and postcode in self._by_postcode:
            pools.insert(0, self._by_postcode[postcode])
        for pool in pools:
            choices = self._cores if pool is None else [self._cores[i] for i in pool]
            for _, ratio, j in process.extract(
                core, choices, scorer=fuzz.token_sort_ratio, limit=CANDIDATES, score_cutoff=40
            ):
                i = j if pool is None else pool[j]
                found[i] = max(found.get(i, 0.0), ratio / 100.0)
        return sorted(found.items(), key=lambda kv: -kv[1])

    def _ranked(self, parsed: ParsedAddress) -> list[tuple[Street, float]]:
        """Candidate streets with their evidence (:func:`scoring.street_evidence`), best first."""
        if not parsed.core:
            return []
        out = []
        found = self._street_candidates(parsed.core, parsed.postcode)
        raw = f" {spelling(parsed.raw)} "

        def exactness(street: Street) -> int:
            # 2: spelled in the query as in the BAN (hyphens too); 1: equal once normalised
            return 2 if street.spelled in raw else 1 if street.norm == parsed.street else 0

        levels = {i: exactness(self.streets[i]) for i, _ in found}
        best_level = max(levels.values(), default=0)
        for i, ratio in found:
            street = self.streets[i]
            score = scoring.street_evidence(
                ratio,
                query_type=parsed.street_type,
                street_type=street.street_type,
                has_number=parsed.number is not None,
                query_postcode=parsed.postcode,
                street_postcode=street.postcode,
                spelled_otherwise=levels[i] < best_level,
                punctuation_only=levels[i] == 1 and best_level == 2,
            )
            out.append((street, score))
        out.sort(key=lambda kv: -kv[1])
        return out

    def _best_street(self, parsed: ParsedAddress) -> tuple[Street, float] | None:
        """The best street for a query, its score lowered by a rival (ambiguity)."""
        ranked = self._ranked(parsed)
        if not ranked:
            return None
        number = parsed.number
        if number is not None:
            # a piece of a split street that does not hold the number gives way to one that does
            holding = {s.norm: s for s, _ in ranked if s.holds(number)}
            ranked = [(s, sc) for s, sc in ranked if not _gives_way(s, holding, number)]
        street, score = ranked[0]
        rival = next(
            (
                sc - (0.0 if number is None or s.holds(number) else POSTCODE_FREE_RIVAL)
                for s, sc in ranked[1:]
                if s.key != street.key
            ),
            None,
        )
        return street, score - scoring.ambiguity(score, rival)

    def _house(
        self, street: Street, number: int, suffix: str | None
    ) -> tuple[float, float, str | None, bool, float]:
        """Position of a number on a street: lon, lat, BAN id, interpolated, penalty."""
        suffix = (suffix or "").lower()
        for key, penalty in (((number, suffix), 0.0), ((number, ""), PENALTY_SUFFIX_MISSING)):
            if key in street.numbers:
                lon, lat, ban_id = street.numbers[key]
                return lon, lat, ban_id, False, penalty if suffix else 0.0
        same_side = street.ordered[street.ordered[:, 0] % 2 == number % 2]
        pool = same_side if len(same_side) else street.ordered
        if len(pool) == 0:
            lon, lat = street.middle()
            return lon, lat, None, False, PENALTY_NO_NUMBER_FOUND
        below = pool[pool[:, 0] < number]
        above = pool[pool[:, 0] > number]
        if len(below) and len(above):
            a, b = below[-1], above[0]
            t = (number - a[0]) / (b[0] - a[0])
            lon = a[1] + t * (b[1] - a[1])
            lat = a[2] + t * (b[2] - a[2])
            return float(lon), float(lat), None, True, PENALTY_INTERPOLATED
        nearest = below[-1] if len(below) else above[0]
        return float(nearest[1]), float(nearest[2]), None, True, PENALTY_BEYOND_END

    def _street_result(self, parsed: ParsedAddress) -> GeocodeResult | None:
        found = self._best_street(parsed)
        if found is None:
            return None
        return self._on_street(parsed, *found)

    def _on_street(self, parsed: ParsedAddress, street: Street, score: float) -> GeocodeResult:
        """The query placed on one street (its house number, or its middle)."""
        if parsed.number is not None:
            lon, lat, ban_id, interpolated, penalty = self._house(
                street, parsed.number, parsed.suffix
            )
            suffix = f" {parsed.suffix}" if parsed.suffix else ""
            label = f"{parsed.number}{suffix} {street.name} {street.postcode or ''} {street.city}"
            precision = "housenumber" if penalty < PENALTY_NO_NUMBER_FOUND else "street"
            score -= penalty
            if not street.holds(parsed.number):
                # past the street's ends: the street is sure at best, not the house number
                precision = "street"
                score = min(score, scoring.BEYOND_END)
            return _result(lon, lat, score, precision, label, street, ban_id, interpolated)
        lon, lat = street.middle()
        label = f"{street.name} {street.postcode or ''} {street.city}"
        return _result(lon, lat, score, "street", label, street, None, False)

    # --- crossings and places --------------------------------------------------------------

    def _crossing(self, parsed: ParsedAddress) -> GeocodeResult | None:
        assert parsed.intersection is not None
        sides = []
        for text in parsed.intersection:
            side = parse_address(text)
            side = ParsedAddress(
                raw=side.raw,
                number=None,
                suffix=None,
                street=side.street,
                street_type=side.street_type,
                core=side.core or side.place,
                postcode=parsed.postcode,
                arrondissement=parsed.arrondissement,
                city=parsed.city,
                intersection=None,
                place=None,
            )
            found = self._best_street(side)
            if found is None:
                return None
            sides.append(found)
        (a, score_a), (b, score_b) = sides
        if a is b:
            return None
        point = _meeting_point(a, b)
        if point is None:
            return None
        label = f"{a.name} / {b.name} {a.postcode or ''} {a.city}"
        # streets that do not meet: the farther apart, the less sure the point is
        score = min(score_a, score_b) - PENALTY_INTERSECTION - point[2] / 200.0
        return _result(point[0], point[1], score, "street", label, a, None, False, True)

    def _place(self, text: str, postcode: str | None) -> GeocodeResult | None:
        if not self.places or not text:
            return None
        query = street_core(text)[1] or text
        match = process.extractOne(query, self._place_names, scorer=fuzz.token_sort_ratio)
        if match is None:
            return None
        place = self.places[match[2]]
        score = scoring.place_evidence(match[1] / 100.0)
        if postcode is not None and place.postcode != postcode:
            score -= PENALTY_POSTCODE_MISMATCH
        return GeocodeResult(
            lon=place.lon,
            lat=place.lat,
            score=round(max(0.0, min(1.0, score)), 4),
            precision="locality",
            label=f"{place.name} {place.postcode or ''}".strip(),
            ban_id=place.ban_id,
            postcode=place.postcode,
            citycode=place.citycode,
        )

    # --- one query --------------------------------------------------------------------------

    def geocode(self, text: str) -> GeocodeResult | None:
        """The best placement of one address, or None when nothing scores ``MIN_SCORE``.

        Examples
        --------
        >>> rows = pd.DataFrame({
        ...     "id": ["13201_0001_00001", "13201_0001_00005", "13201_0002_99999"],
        ...     "street_key": ["13201_0001", "13201_0001", "13201_0002"],
        ...     "numero": [1, 5, 99999], "rep": ["", "", ""],
        ...     "nom_voie": ["Rue de Rome", "Rue de Rome", "Vieux-Port"],
        ...     "code_postal": ["13001"] * 3, "code_insee": ["13201"] * 3,
        ...     "nom_commune": ["Marseille 1er Arrondissement"] * 3,
        ...     "lon": [5.3790, 5.3794, 5.3710], "lat": [43.2950, 43.2942, 43.2950]})
        >>> index = BanIndex.from_frame(rows)
        >>> r = index.geocode("3 r de rome 13001")
        >>> r.precision, r.interpolated, (round(r.lon, 4), round(r.lat, 4))
        ('housenumber', True, (5.3792, 43.2946))
        >>> index.geocode("vieux port").precision
        'locality'
        """
        parsed = parse_address(text)
        candidates: list[GeocodeResult] = []
        if parsed.intersection is not None:
            crossing = self._crossing(parsed)
            if crossing is not None:
                candidates.append(crossing)
        else:
            for reading in _readings(parsed):
                street = self._street_result(reading)
                if street is not None:
                    candidates.append(street)
            if parsed.number is None:
                place = self._place(parsed.place or parsed.street or "", parsed.postcode)
                if place is not None:
                    candidates.append(place)
        best = max(candidates, key=lambda r: r.score, default=None)
        if best is None or best.score < MIN_SCORE:
            return None
        return best

    def candidates(self, text: str, limit: int = 3) -> list[GeocodeResult]:
        """The best placements of one address, best first, at most ``limit`` (distinct labels),
        for an analyst to choose from when the best one is not sure enough.

        The first is :meth:`geocode`'s answer; the others are the next streets in order of
        evidence, their scores lowered like the first by how close they are to the best one
        and never above it.

        Examples
        --------
        >>> rows = pd.DataFrame({
        ...     "id": ["13201_0001_00001", "13204_0002_00001"],
        ...     "street_key": ["13201_0001", "13204_0002"], "numero": [1, 1], "rep": ["", ""],
        ...     "nom_voie": ["Rue de Tours", "Rue des Tours"],
        ...     "code_postal": ["13001", "13004"], "code_insee": ["13201", "13204"],
        ...     "nom_commune": ["Marseille"] * 2, "lon": [5.37, 5.40], "lat": [43.30, 43.31]})
        >>> [(r.label, r.score < 0.7) for r in BanIndex.from_frame(rows).candidates("1 rue tours")]
        [('1 Rue de Tours 13001 Marseille', True), ('1 Rue des Tours 13004 Marseille', True)]
        """
        best = self.geocode(text)
        out = [] if best is None else [best]
        parsed = parse_address(text)
        if parsed.intersection is None:
            for reading in _readings(parsed):
                ranked = self._ranked(reading)
                if reading.number is not None:
                    holding = {s.norm: s for s, _ in ranked if s.holds(reading.number)}
                    ranked = [
                        (s, v) for s, v in ranked if not _gives_way(s, holding, reading.number)
                    ]
                top = ranked[0][1] if ranked else 0.0
                cap = best.score if best is not None else 1.0
                out.extend(
                    self._on_street(reading, s, min(cap, v - scoring.ambiguity(top, v)))
                    for s, v in ranked[: limit + 1]
                )
        seen: set[str] = set()
        unique = []
        for r in out:
            if r.label not in seen and r.score >= MIN_SCORE / 2:
                seen.add(r.label)
                unique.append(r)
        return unique[:limit]  # the best, then the others in order of evidence

    def geocode_many(self, texts: Sequence[str]) -> list[GeocodeResult | None]:
        """Each address placed (distinct texts are matched once)."""
        done: dict[str, GeocodeResult | None] = {}
        out = []
        for text in texts:
            if text not in done:
                done[text] = self.geocode(text)
            out.append(done[text])
        return out


def _gives_way(street: Street, holding: dict[str, Street], number: int) -> bool:
    """Whether a street is a piece of a split street (same name, numbers that follow on) that
    does not hold ``number`` while another piece does; homonyms whose numbers overlap are not
    pieces of one street and stay rivals."""
    other = holding.get(street.norm)
    if other is None or street.holds(number):
        return False
    return street.last < other.first or other.last < street.first


def _readings(parsed: ParsedAddress) -> list[ParsedAddress]:
    """The parse, and, when the street ends with a bare number ("rue de Rome 56"), the reading
    with that number as the house number (the street name decides which one matches better).
    """
    words = (parsed.street or parsed.place or "").split()
    out = [parsed]
    if len(words) > 1 and words[-1] in STREET_TYPES and words[0] not in STREET_TYPES:
        # "Chave boulevard": the type after the name ("Grand Rue" stays as it is, too)
        moved = " ".join([words[-1], *words[:-1]])
        kind, core = street_core(moved)
        out.append(replace(parsed, street=moved, street_type=kind, core=core, place=None))
    if parsed.number is not None or len(words) < 2 or not words[-1].isdigit():
        return out
    if len(words[-1]) > 4:
        return [parsed]
    street = " ".join(words[:-1])
    street_type, core = street_core(street)
    return [
        parsed,
        replace(parsed, number=int(words[-1]), street=street, street_type=street_type, core=core),
    ]


def _result(
    lon: float,
    lat: float,
    score: float,
    precision: str,
    label: str,
    street: Street,
    ban_id: str | None,
    interpolated: bool,
    intersection: bool = False,
) -> GeocodeResult:
    return GeocodeResult(
        lon=round(lon, 7),
        lat=round(lat, 7),
        score=round(max(0.0, min(1.0, score)), 4),
        precision=precision,
        label=" ".join(label.split()),
        interpolated=interpolated,
        intersection=intersection,
        ban_id=ban_id,
        postcode=street.postcode,
        citycode=street.citycode,
    )


def _meeting_point(a: Street, b: Street) -> tuple[float, float, float] | None:
    """Where two streets meet (their axes' crossing, or the middle of their closest points),
    and the gap in metres between the axes (0 when they cross)."""
    if len(a.ordered) == 0 or len(b.ordered) == 0:
        return None
    lat0 = float(a.ordered[0, 2])
    kx = _M_PER_DEG_LAT * math.cos(math.radians(lat0))

    def axis(street: Street) -> shapely.Geometry:
        xy = np.column_stack([street.ordered[:, 1] * kx, street.ordered[:, 2] * _M_PER_DEG_LAT])
        if len(xy) > 2:  # odd and even numbers face each other: average neighbours
            xy = (xy[:-1] + xy[1:]) / 2
        return shapely.LineString(xy) if len(xy) > 1 else shapely.Point(xy[0])

    line_a, line_b = axis(a), axis(b)
    crossing = shapely.intersection(line_a, line_b)
    if not crossing.is_empty:
        c = crossing.centroid
        gap = 0.0
    else:
        pa, pb = shapely.shortest_line(line_a, line_b).coords
        c = shapely.Point((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2)
        gap = math.dist(pa, pb)
    return c.x / kx, c.y / _M_PER_DEG_LAT, gap
