"""Score a geocoder on address queries with known answers, kind by kind.

The queries come from :func:`geotranquil.synth.address_queries.address_queries`; the results
are what the geocoder answered for each query, in the same order. The measures are the ones a
user of the map cares about: how many addresses land where they should, how many land
elsewhere while the geocoder says it is sure (the harmful case), and how many are not placed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from pyproj import Geod

from geotranquil.config import Settings
from geotranquil.geocode.query_kinds import (
    DEGRADED_KINDS,
    KINDS,
    PHRASING_DEGRADED_KINDS,
    PHRASING_KINDS,
)
from geotranquil.geocode.result import GeocodeResult

#: A score from which a result is taken as sure: the one that places an event
#: (``GEOTRANQUIL_GEOCODE_MIN_SCORE``'s default; one threshold everywhere, issue 17).
HIGH_CONFIDENCE: Final[float] = float(Settings.model_fields["geocode_min_score"].default)
#: The measures of :func:`evaluate`, in their column order.
MEASURES: Final = ("n", "placed", "within", "wrong_high", "unplaced")

_GEOD: Final = Geod(ellps="WGS84")


def distances_m(
    lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray
) -> np.ndarray:
    """Geodesic distances (WGS84 ellipsoid, metres) between paired points; NaN where any is NaN.

    Examples
    --------
    >>> d = distances_m(np.array([5.37, np.nan]), np.array([43.29, 43.29]),
    ...                 np.array([5.37, 5.37]), np.array([43.30, 43.30]))
    >>> round(float(d[0]), 1), bool(np.isnan(d[1]))
    (1111.0, True)
    """
    a = [np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2)]
    out = np.full(a[0].shape, np.nan)
    ok = np.isfinite(a[0]) & np.isfinite(a[1]) & np.isfinite(a[2]) & np.isfinite(a[3])
    if ok.any():
        _, _, dist = _GEOD.inv(a[0][ok], a[1][ok], a[2][ok], a[3][ok])
        out[ok] = np.asarray(dist, dtype=float)
    return out


def _measures(
    placed: np.ndarray, within: np.ndarray, wrong_high: np.ndarray
) -> dict[str, float | int]:
    n = int(placed.size)
    if n == 0:
        return {
            "n": 0,
            "placed": np.nan,
            "within": np.nan,
            "wrong_high": np.nan,
            "unplaced": np.nan,
        }
    return {
        "n": n,
        "placed": float(placed.mean()),
        "within": float(within.mean()),
        "wrong_high": float(wrong_high.mean()),
        "unplaced": float(1.0 - placed.mean()),
    }


def evaluate(
    queries: pd.DataFrame,
    results: Sequence[GeocodeResult | None],
    *,
    tolerance_m: float = 50.0,
    high_confidence: float = HIGH_CONFIDENCE,
) -> pd.DataFrame:
    """Shares of queries placed, placed right, placed wrong with confidence, and not placed.

    Parameters
    ----------
    queries
        Columns ``kind``, ``true_lon``, ``true_lat`` (NaN: the address does not exist, any
        placement is wrong), as made by
        :func:`~geotranquil.synth.address_queries.address_queries`.
    results
        The geocoder's answer to each query, in the same order; None when it placed nothing.
        A result with a non-finite position counts as not placed.
    tolerance_m
        A result is right when it lies within this geodesic distance of the truth.
    high_confidence
        Results with a score at least this high are "sure": give the placing threshold in
        use (``settings.geocode_min_score``); the default is that setting's default.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``kind``: one row per kind present, in :data:`PHRASING_KINDS` order when
        they are all of that set, else in :data:`KINDS` then :data:`PHRASING_KINDS` order
        (other kinds after, in order of appearance), then ``degraded`` (the
        :data:`DEGRADED_KINDS` and :data:`PHRASING_DEGRADED_KINDS` together, when any is
        present) and ``all``. Columns: ``n``; ``placed``, the share
        with a result; ``within``, the share placed within ``tolerance_m`` of the truth
        (always 0 for queries without truth); ``wrong_high``, the share placed farther than
        ``tolerance_m`` (or placed at all, for queries without truth) with a score
        ``>= high_confidence``; ``unplaced``, the share without result. Shares are over all
        the queries of the row. ``table.attrs["tolerance_m"]`` keeps the tolerance.

    Examples
    --------
    >>> queries = pd.DataFrame({
    ...     "kind": ["clean", "clean", "typo", "unknown_street"],
    ...     "true_lon": [5.37, 5.38, 5.39, np.nan], "true_lat": [43.29, 43.30, 43.31, np.nan]})
    >>> results = [
    ...     GeocodeResult(5.37, 43.29, 0.95, "housenumber", "1 Rue A"),   # right
    ...     GeocodeResult(5.38, 43.301, 0.9, "housenumber", "2 Rue B"),   # 111 m off, sure
    ...     None,                                                         # not placed
    ...     GeocodeResult(5.40, 43.32, 0.5, "street", "Rue C")]           # placed, unsure
    >>> table = evaluate(queries, results)
    >>> table  # doctest: +NORMALIZE_WHITESPACE
                    n  placed  within  wrong_high  unplaced
    kind
    clean           2    1.00    0.50        0.50      0.00
    typo            1    0.00    0.00        0.00      1.00
    unknown_street  1    1.00    0.00        0.00      0.00
    degraded        1    0.00    0.00        0.00      1.00
    all             4    0.75    0.25        0.25      0.25
    >>> print(format_table(table))
    type            n  < 50 m  faux sûr  non placé
    clean           2  50,0 %    50,0 %      0,0 %
    typo            1   0,0 %     0,0 %    100,0 %
    unknown_street  1   0,0 %     0,0 %      0,0 %
    degraded        1   0,0 %     0,0 %    100,0 %
    all             4  25,0 %    25,0 %     25,0 %
    """
    if len(results) != len(queries):
        raise ValueError(f"{len(results)} results for {len(queries)} queries")
    kinds = queries["kind"].astype(str).to_numpy()
    true_lon = queries["true_lon"].to_numpy(dtype=float)
    true_lat = queries["true_lat"].to_numpy(dtype=float)
    lon = np.array([np.nan if r is None else float(r.lon) for r in results], dtype=float)
    lat = np.array([np.nan if r is None else float(r.lat) for r in results], dtype=float)
    score = np.array([np.nan if r is None else float(r.score) for r in results], dtype=float)
    placed = np.isfinite(lon) & np.isfinite(lat)
    has_truth = np.isfinite(true_lon) & np.isfinite(true_lat)
    dist = distances_m(lon, lat, true_lon, true_lat)
    within = placed & has_truth & (dist <= tolerance_m)
    wrong = placed & ~within
    sure = np.nan_to_num(score, nan=-np.inf) >= high_confidence
    wrong_high = wrong & sure

    present = list(dict.fromkeys(kinds))
    phrasing_only = set(present) <= set(PHRASING_KINDS)
    known = list(PHRASING_KINDS if phrasing_only else dict.fromkeys([*KINDS, *PHRASING_KINDS]))
    order = [k for k in known if k in present] + [k for k in present if k not in known]
    rows: dict[str, dict[str, float | int]] = {}
    for kind in order:
        m = kinds == kind
        rows[kind] = _measures(placed[m], within[m], wrong_high[m])
    degraded = np.isin(kinds, list({*DEGRADED_KINDS, *PHRASING_DEGRADED_KINDS}))
    if degraded.any():
        rows["degraded"] = _measures(placed[degraded], within[degraded], wrong_high[degraded])
    rows["all"] = _measures(placed, within, wrong_high)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(MEASURES))
    table["n"] = table["n"].astype(int)
    table.index.name = "kind"
    table.attrs["tolerance_m"] = float(tolerance_m)
    return table


def _percent(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{100.0 * value:.1f} %".replace(".", ",")


def format_table(table: pd.DataFrame) -> str:
    """The table of :func:`evaluate` as fixed-width text with French headers, in percent.

    Examples
    --------
    >>> table = pd.DataFrame(
    ...     {"n": [200, 10], "placed": [1.0, 0.9], "within": [0.975, 0.5],
    ...      "wrong_high": [0.0, 0.25], "unplaced": [0.0, 0.1]},
    ...     index=pd.Index(["clean", "all"], name="kind"))
    >>> print(format_table(table))
    type     n  < 50 m  faux sûr  non placé
    clean  200  97,5 %     0,0 %      0,0 %
    all     10  50,0 %    25,0 %     10,0 %
    """
    tolerance = float(table.attrs.get("tolerance_m", 50.0))
    headers = ["type", "n", f"< {tolerance:g} m", "faux sûr", "non placé"]
    body = [
        [
            str(kind),
            str(int(row["n"])),
            _percent(float(row["within"])),
            _percent(float(row["wrong_high"])),
            _percent(float(row["unplaced"])),
        ]
        for kind, row in table.iterrows()
    ]
    widths = [max(len(r[c]) for r in [headers, *body]) for c in range(len(headers))]
    lines = []
    for r in [headers, *body]:
        cells = [r[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


#: Score bins of the reliability curve, highest first: [low, high).
RELIABILITY_BINS: Final = ((0.9, 1.0001), (0.8, 0.9), (0.7, 0.8), (0.5, 0.7))


def reliability(
    queries: pd.DataFrame,
    results: Sequence[GeocodeResult | None],
    *,
    tolerance_m: float = 50.0,
    bins: Sequence[tuple[float, float]] = RELIABILITY_BINS,
) -> pd.DataFrame:
    """A reliability curve: of the answers scored in each bin, the share within tolerance.

    Answers to queries without truth count as wrong (they should not have been placed). A
    calibrated score has ``within`` inside its bin.

    Examples
    --------
    >>> queries = pd.DataFrame({"kind": ["clean"] * 3, "true_lon": [5.37, 5.38, np.nan],
    ...                         "true_lat": [43.29, 43.30, np.nan]})
    >>> results = [GeocodeResult(5.37, 43.29, 0.95, "housenumber", "1 Rue A"),
    ...            GeocodeResult(5.38, 43.31, 0.92, "housenumber", "2 Rue B"),
    ...            GeocodeResult(5.40, 43.32, 0.75, "street", "Rue C")]
    >>> reliability(queries, results)  # doctest: +NORMALIZE_WHITESPACE
                n  within
    bin
    0.9-1.0     2     0.5
    0.8-0.9     0     NaN
    0.7-0.8     1     0.0
    0.5-0.7     0     NaN
    """
    true_lon = queries["true_lon"].to_numpy(dtype=float)
    true_lat = queries["true_lat"].to_numpy(dtype=float)
    lon = np.array([np.nan if r is None else float(r.lon) for r in results], dtype=float)
    lat = np.array([np.nan if r is None else float(r.lat) for r in results], dtype=float)
    score = np.array([np.nan if r is None else float(r.score) for r in results], dtype=float)
    within = distances_m(lon, lat, true_lon, true_lat) <= tolerance_m
    rows = {}
    for low, high in bins:
        m = (score >= low) & (score < high)
        label = f"{low:g}-{min(high, 1.0):.1f}"
        rows[label] = {"n": int(m.sum()), "within": float(within[m].mean()) if m.any() else np.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "bin"
    return table
