"""Emerging hot spot analysis: space-time Gi* against esda, FDR, and every pattern reached."""

from __future__ import annotations

import warnings

import esda
import h3
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from geotranquil.stats.emerging import (
    PATTERN_LABELS_FR,
    PATTERNS,
    classify_patterns,
    emerging_hot_spots,
    space_time_gi_star,
)
from geotranquil.stats.weights import SpatialWeights

CENTRE = (43.2965, 5.3698)  # Vieux-Port, Marseille


def _patch(k: int, res: int = 9) -> tuple[list[str], sp.csr_matrix]:
    """H3 disk of radius ``k`` (centre first, then its first ring, ...) and its 1-ring matrix."""
    centre = h3.latlng_to_cell(*CENTRE, res)
    rings = [sorted(h3.grid_ring(centre, d)) for d in range(k + 1)]
    cells = [c for ring in rings for c in ring]
    index = {c: i for i, c in enumerate(cells)}
    rows, cols = [], []
    for c, i in index.items():
        for nb in h3.grid_disk(c, 1):
            if nb in index and nb != c:
                rows.append(i)
                cols.append(index[nb])
    n = len(cells)
    return cells, sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def _space_time_w(a: sp.csr_matrix, n_bins: int, time_lags: int) -> libpysal.weights.W:
    """libpysal W on the flattened cube (index ``cell * n_bins + bin``), built independently."""
    a = a.tolil()
    neighbours: dict[int, list[int]] = {}
    for i in range(a.shape[0]):
        ring = [*a.rows[i], i]
        for t in range(n_bins):
            me = i * n_bins + t
            neighbours[me] = [
                j * n_bins + s
                for j in ring
                for s in range(max(0, t - time_lags), t + 1)
                if j * n_bins + s != me
            ]
    return libpysal.weights.W(neighbours, silence_warnings=True)


# --------------------------------------------------------------------------- Gi* vs esda


@pytest.mark.parametrize("time_lags", [0, 1, 2])
def test_space_time_gi_star_equals_esda_on_flattened_cube(time_lags: int) -> None:
    _, a = _patch(3)
    rng = np.random.default_rng(100 + time_lags)
    cube = rng.poisson(2.0, size=(a.shape[0], 8)).astype(float)
    cube[:7, 5:] += 6
    ours = space_time_gi_star(cube, a, time_lags=time_lags)
    w = _space_time_w(a, cube.shape[1], time_lags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(cube.ravel(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours.ravel(), ref.Zs, rtol=0, atol=1e-9)


def test_space_time_gi_star_equals_esda_with_spatialweights_space_time() -> None:
    cells, _ = _patch(3)
    ids = np.array([h3.str_to_int(c) for c in cells], dtype=np.int64)
    spatial = SpatialWeights.from_h3(ids, k=1, include_self=True)
    cube = np.random.default_rng(3).poisson(1.5, size=(spatial.n, 6)).astype(float)
    ours = space_time_gi_star(cube, spatial, time_lags=1)
    w = spatial.space_time(6, lags=1).to_libpysal()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(cube.ravel(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours.ravel(), ref.Zs, rtol=0, atol=1e-9)
    # a SpatialWeights and its plain CSR matrix give the same result
    np.testing.assert_array_equal(ours, space_time_gi_star(cube, spatial.sparse, time_lags=1))


def test_space_time_gi_star_equals_plain_gi_star_on_explicit_space_time_weights() -> None:
    from geotranquil.stats.getis_ord import gi_star

    cells, _ = _patch(3)
    ids = np.array([h3.str_to_int(c) for c in cells], dtype=np.int64)
    spatial = SpatialWeights.from_h3(ids, k=1)
    cube = np.random.default_rng(6).poisson(2.0, size=(spatial.n, 9)).astype(float)
    for lags in (0, 1, 3):
        explicit = gi_star(cube.ravel(), spatial.space_time(9, lags=lags)).z
        implicit = space_time_gi_star(cube, spatial, time_lags=lags)
        np.testing.assert_allclose(implicit.ravel(), explicit, rtol=0, atol=1e-9)


def test_gi_star_self_is_always_in_the_neighbourhood() -> None:
    _, a = _patch(2)
    with_self = a + sp.identity(a.shape[0], format="csr")
    cube = np.random.default_rng(1).poisson(3.0, size=(a.shape[0], 5)).astype(float)
    np.testing.assert_array_equal(space_time_gi_star(cube, a), space_time_gi_star(cube, with_self))


def test_constant_cube_has_no_pattern() -> None:
    _, a = _patch(2)
    r = emerging_hot_spots(np.full((a.shape[0], 6), 3.0), a)
    assert (r.z == 0).all()
    assert (r.significant == 0).all()
    assert set(r.pattern.tolist()) == {"no_pattern"}


def test_input_validation() -> None:
    _, a = _patch(1)
    with pytest.raises(ValueError):
        space_time_gi_star(np.ones((a.shape[0] + 1, 4)), a)
    with pytest.raises(ValueError):
        space_time_gi_star(np.ones((a.shape[0], 4)), a, time_lags=-1)
    with pytest.raises(ValueError):
        space_time_gi_star(np.full((a.shape[0], 4), np.nan), a)
    with pytest.raises(TypeError):
        space_time_gi_star(np.ones((a.shape[0], 4)), [[1, 0], [0, 1]])
    with pytest.raises(ValueError):
        emerging_hot_spots(np.ones((a.shape[0], 4)), a, alpha=0.0)


# --------------------------------------------------------------------------- FDR


def test_fdr_is_benjamini_hochberg_over_the_whole_cube() -> None:
    _, a = _patch(4)
    cube = np.random.default_rng(4).poisson(2.0, size=(a.shape[0], 12)).astype(float)
    cube[:7, 8:] += 3
    r = emerging_hot_spots(cube, a, alpha=0.05, fdr=True)
    expected = false_discovery_control(r.p.ravel(), method="bh").reshape(r.p.shape) <= 0.05
    np.testing.assert_array_equal(r.significant != 0, expected)
    np.testing.assert_array_equal(r.significant, (np.sign(r.z) * expected).astype(np.int8))
    assert (r.significant != 0).any()


def test_fdr_is_stricter_than_plain_alpha() -> None:
    _, a = _patch(4)
    cube = np.random.default_rng(9).poisson(2.0, size=(a.shape[0], 12)).astype(float)
    cube[:7, 6:] += 4
    strict = emerging_hot_spots(cube, a, fdr=True)
    loose = emerging_hot_spots(cube, a, fdr=False)
    assert (strict.significant != 0).sum() <= (loose.significant != 0).sum()
    assert ((strict.significant != 0) <= (loose.significant != 0)).all()
    np.testing.assert_array_equal(loose.significant != 0, loose.p < 0.05)


# --------------------------------------------------------------------------- classification

NO = 1.0  # trend p-value: no significant trend
YES = 0.001  # trend p-value: significant trend


def _sig(states: str) -> list[int]:
    return [{"H": 1, "C": -1, ".": 0}[s] for s in states]


#: (expected pattern, significance series, trend p, trend z) -- 10 steps, so 90 % = 9 steps
CLASSIFICATION_CASES = [
    ("new_hot", ".........H", NO, 0.0),
    ("consecutive_hot", "......HHHH", YES, 3.0),
    ("intensifying_hot", ".HHHHHHHHH", YES, 3.0),
    ("persistent_hot", "HHHHHHHHHH", NO, 0.5),
    ("diminishing_hot", "HHHHHHHH.H", YES, -3.0),
    ("sporadic_hot", "H..HH.H..H", NO, 0.0),
    ("oscillating_hot", "C..HH.H..H", NO, 0.0),
    ("historical_hot", "HHHHHHHHH.", NO, 0.0),
    ("new_cold", ".........C", NO, 0.0),
    ("consecutive_cold", "........CC", NO, 0.0),
    ("intensifying_cold", "CCCCCCCCCC", YES, -3.0),
    ("persistent_cold", "CC.CCCCCCC", NO, 0.0),
    ("diminishing_cold", ".CCCCCCCCC", YES, 3.0),
    ("sporadic_cold", "C.C..CC..C", NO, 0.0),
    ("oscillating_cold", "H.C..CC..C", NO, 0.0),
    ("historical_cold", "CCCCCCCCC.", YES, 3.0),
    ("no_pattern", "..........", NO, 0.0),
]


def test_every_pattern_has_a_classification_case_and_a_french_label() -> None:
    assert sorted(c[0] for c in CLASSIFICATION_CASES) == sorted(PATTERNS)
    assert set(PATTERN_LABELS_FR) == set(PATTERNS)
    assert PATTERN_LABELS_FR["new_hot"] == "Nouveau point chaud"
    assert PATTERN_LABELS_FR["no_pattern"] == "Aucune tendance"


@pytest.mark.parametrize(("expected", "states", "trend_p", "trend_z"), CLASSIFICATION_CASES)
def test_classify_hand_built_series(
    expected: str, states: str, trend_p: float, trend_z: float
) -> None:
    code = classify_patterns([_sig(states)], [trend_p], [trend_z], alpha=0.05)
    assert PATTERNS[code[0]] == expected


def test_classify_all_at_once_equals_one_by_one() -> None:
    sig = [_sig(c[1]) for c in CLASSIFICATION_CASES]
    codes = classify_patterns(
        sig, [c[2] for c in CLASSIFICATION_CASES], [c[3] for c in CLASSIFICATION_CASES]
    )
    assert [PATTERNS[c] for c in codes] == [c[0] for c in CLASSIFICATION_CASES]


@pytest.mark.parametrize(
    ("states", "trend_p", "trend_z", "expected"),
    [
        # 90 % is inclusive: 9 hot steps out of 10, final hot, no trend
        ("H.HHHHHHHH", NO, 0.0, "persistent_hot"),
        # 8 of 10 is below 90 %: on and off
        ("H..HHHHHHH", NO, 0.0, "sporadic_hot"),
        # a single final hot bin after cold ones is new (ArcGIS: never *hot* before)
        ("CC.......H", NO, 0.0, "new_hot"),
        # one final run after earlier cold bins is consecutive; after earlier hot ones, sporadic
        ("C.....HHHH", NO, 0.0, "consecutive_hot"),
        ("H.....HHHH", NO, 0.0, "sporadic_hot"),
        # a trend only matters with >= 90 % of the steps
        ("......HHHH", YES, -3.0, "consecutive_hot"),
        # the trend's p-value must be below alpha
        (".HHHHHHHHH", 0.05, 3.0, "persistent_hot"),
        # the final step decides hot or cold first: hot now, mostly cold before
        ("CCCCCCCHCH", NO, 0.0, "oscillating_hot"),
        ("CCCCCCCCCH", NO, 0.0, "new_hot"),
        ("CCCCCCCCHH", NO, 0.0, "consecutive_hot"),
        # >= 90 % hot, not hot in the final step: historical, whatever the trend
        ("HHHHHHHHH.", YES, -3.0, "historical_hot"),
        ("HHHHHHHHHC", YES, -3.0, "historical_hot"),
    ],
)
def test_classification_precedence_and_thresholds(
    states: str, trend_p: float, trend_z: float, expected: str
) -> None:
    assert PATTERNS[classify_patterns([_sig(states)], [trend_p], [trend_z])[0]] == expected


def test_single_step_cube() -> None:
    codes = classify_patterns([[1], [-1], [0]], [1.0] * 3, [0.0] * 3)
    assert [PATTERNS[c] for c in codes] == ["new_hot", "new_cold", "no_pattern"]


# --------------------------------------------------------------------------- end to end

BLOCK = list(range(7))  # the centre cell and its first ring: the centre's whole neighbourhood


def _block_cube(
    n_cells: int, states: str, values: np.ndarray | None = None, background: float = 20.0
) -> np.ndarray:
    level = {"H": 60.0, "C": 0.0, ".": background}
    cube = np.full((n_cells, len(states)), background)
    for t, s in enumerate(states):
        cube[BLOCK, t] = level[s] if values is None else values[t]
    return cube


STEPS = np.arange(10)
#: (pattern, states of the centre's block per bin, values of the block if not the defaults)
CUBE_CASES: list[tuple[str, str, np.ndarray | None]] = [
    ("new_hot", ".........H", None),
    ("consecutive_hot", ".......HHH", None),
    ("intensifying_hot", "HHHHHHHHHH", 40.0 + 5 * STEPS),
    ("persistent_hot", "HHHHHHHHHH", None),
    ("diminishing_hot", "HHHHHHHHHH", 100.0 - 5 * STEPS),
    ("sporadic_hot", "H..H.H..HH", None),
    ("oscillating_hot", "C...H..H.H", None),
    ("historical_hot", "HHHHHHHHH.", None),
    ("new_cold", ".........C", None),
    ("consecutive_cold", ".......CCC", None),
    ("intensifying_cold", "CCCCCCCCCC", 9.0 - STEPS),
    ("persistent_cold", "CCCCCCCCCC", None),
    ("diminishing_cold", "CCCCCCCCCC", 0.0 + STEPS),
    ("sporadic_cold", "C..C.C..CC", None),
    ("oscillating_cold", "H...C..C.C", None),
    ("historical_cold", "CCCCCCCCC.", None),
    ("no_pattern", "..........", None),
]


def test_every_pattern_has_a_cube() -> None:
    assert sorted(c[0] for c in CUBE_CASES) == sorted(PATTERNS)


@pytest.mark.parametrize(("expected", "states", "values"), CUBE_CASES)
def test_hand_built_cube_reaches_its_pattern(
    expected: str, states: str, values: np.ndarray | None
) -> None:
    cells, a = _patch(4)
    cube = _block_cube(len(cells), states, values)
    r = emerging_hot_spots(cube, a, time_lags=0)
    assert r.pattern[0] == expected, (r.significant[0].tolist(), r.trend_p[0], r.trend_z[0])
    # the outer ring sees none of the block: nothing is found there
    outer = len(cells) - 6 * 4
    assert set(r.pattern[outer:].tolist()) == {"no_pattern"}


def _poisson_case(make: str) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    cells, a = _patch(8)
    n, t = len(cells), 20
    lam = np.full((n, t), 2.0)
    if make == "new_hot":  # a cluster that appears in the last bin
        lam[BLOCK, -1] = 12.0
    elif make == "intensifying_hot":  # present throughout, growing
        lam[BLOCK, :] = 6.0 + 0.6 * np.arange(t)
    elif make == "historical_hot":  # present, then gone for the last two bins
        lam[BLOCK, :18] = 10.0
    elif make == "persistent_hot":  # present throughout at one level
        lam[BLOCK, :] = 10.0
    cube = np.random.default_rng(42).poisson(lam).astype(float)
    distance = np.array([h3.grid_distance(cells[0], c) for c in cells])
    return a, cube, distance


@pytest.mark.parametrize(
    "pattern", ["new_hot", "intensifying_hot", "historical_hot", "persistent_hot"]
)
def test_planted_poisson_cluster_on_h3_patch(pattern: str) -> None:
    a, cube, distance = _poisson_case(pattern)
    r = emerging_hot_spots(cube, a, time_lags=1)
    assert r.pattern[0] == pattern
    # nothing is found far from the planted cluster (its neighbourhood reaches distance 2)
    assert set(r.pattern[distance >= 3].tolist()) == {"no_pattern"}
    assert r.z.shape == r.significant.shape == cube.shape
    assert r.trend_z.shape == r.trend_p.shape == r.tau.shape == (cube.shape[0],)


def test_result_trend_is_mann_kendall_of_each_z_series() -> None:
    import pymannkendall as pmk

    a, cube, _ = _poisson_case("intensifying_hot")
    r = emerging_hot_spots(cube, a)
    for i in (0, 1, 30, 100):
        ref = pmk.original_test(r.z[i])
        assert r.trend_z[i] == pytest.approx(ref.z, rel=1e-12, abs=1e-15)
        assert r.trend_p[i] == pytest.approx(ref.p, rel=1e-12, abs=1e-15)
        assert r.tau[i] == pytest.approx(ref.Tau, rel=1e-12, abs=1e-15)
    assert sum(r.counts().values()) == cube.shape[0]
    assert r.pattern_fr[0] == "Point chaud en intensification"
