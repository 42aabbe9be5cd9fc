"""Hit rate, PAI, PEI, deviance and the coverage curve on tiny hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geotranquil.forecast.metrics import (
    AREA_SHARES,
    coverage_curve,
    hit_rate,
    pai,
    pei,
    poisson_deviance,
    score_table,
)

# Ten equal cells. Ranking by risk (stable: cell 1 before cell 2 at 0.8):
#   cell   7    1    2    9    4    8    6    0    3    5
#   risk  0.9  0.8  0.8  0.6  0.5  0.4  0.3  0.2  0.1  0.0
#   y      4    3    0    1    2    0    0    1    0    1      (12 events)
RISK = np.array([0.2, 0.8, 0.8, 0.1, 0.5, 0.0, 0.3, 0.9, 0.4, 0.6])
ACTUAL = np.array([1, 3, 0, 0, 2, 1, 0, 4, 0, 1])


@pytest.mark.parametrize(
    ("share", "hits", "cells"),
    [
        (0.05, 4, 1),  # floor(0.5) = 0 -> at least one cell: 7
        (0.10, 4, 1),  # cell 7
        (0.20, 7, 2),  # cells 7, 1
        (0.25, 7, 2),  # floor(2.5) = 2
        (0.30, 7, 3),  # cells 7, 1, 2 (cell 2 has no event)
        (0.50, 10, 5),  # 4 + 3 + 0 + 1 + 2
        (1.00, 12, 10),
    ],
)
def test_hit_rate_and_pai_equal_areas(share: float, hits: int, cells: int) -> None:
    assert hit_rate(RISK, ACTUAL, share) == pytest.approx(hits / 12, abs=1e-15)
    # PAI divides by the share actually flagged (cells / 10), not the share asked for
    assert pai(RISK, ACTUAL, share) == pytest.approx((hits / 12) / (cells / 10), abs=1e-12)


def test_pai_exact_values() -> None:
    assert pai(RISK, ACTUAL, 0.1) == pytest.approx(10 / 3, abs=1e-12)  # (4/12) / 0.1
    assert pai(RISK, ACTUAL, 0.2) == pytest.approx(35 / 12, abs=1e-12)  # (7/12) / 0.2
    assert pai(RISK, ACTUAL, 0.3) == pytest.approx(35 / 18, abs=1e-12)  # (7/12) / 0.3
    assert pai(RISK, ACTUAL, 1.0) == 1.0


def test_pei_equal_areas() -> None:
    # best k cells hold 4, 4+3, 4+3+2, ..., top 5 = 4+3+2+1+1 = 11
    assert pei(RISK, ACTUAL, 0.1) == 1.0  # 4 / 4
    assert pei(RISK, ACTUAL, 0.2) == 1.0  # 7 / 7
    assert pei(RISK, ACTUAL, 0.3) == pytest.approx(7 / 9, abs=1e-15)
    assert pei(RISK, ACTUAL, 0.5) == pytest.approx(10 / 11, abs=1e-15)
    assert pei(RISK, ACTUAL, 1.0) == 1.0


def test_ties_keep_cell_order() -> None:
    # cells 1 and 2 tie at 0.8: cell 1 (3 events) is flagged first, so 7 hits at 20 %
    assert hit_rate(RISK, ACTUAL, 0.2) == pytest.approx(7 / 12)
    swapped = ACTUAL.copy()
    swapped[[1, 2]] = swapped[[2, 1]]  # now cell 2 holds the 3 events: still cell 1 first
    assert hit_rate(RISK, swapped, 0.2) == pytest.approx(4 / 12)
    # all tied: the first cells in order
    assert hit_rate(np.zeros(4), [0, 1, 2, 3], 0.5) == pytest.approx(1 / 6)  # cells 0, 1


def test_nan_risk_ranks_last() -> None:
    assert hit_rate([np.nan, 0.1, 0.0], [5, 1, 0], 1 / 3) == pytest.approx(1 / 6)
    assert hit_rate([np.nan, 0.1, 0.0], [5, 1, 0], 2 / 3) == pytest.approx(1 / 6)  # 1 and 2


# Five cells of unequal area (total 10). Ranking by risk: cells 1, 3, 0, 4, 2;
# cumulated areas 1, 2, 4, 7, 10. Events 10 in all.
U_RISK = np.array([0.5, 0.9, 0.1, 0.7, 0.3])
U_ACTUAL = np.array([2, 1, 5, 0, 2])
U_AREA = np.array([2.0, 1.0, 3.0, 1.0, 3.0])


def test_unequal_areas() -> None:
    # 20 %: budget 2 -> cells 1, 3 (area 2): 1 hit; PAI (1/10) / (2/10) = 0.5
    assert hit_rate(U_RISK, U_ACTUAL, 0.2, U_AREA) == pytest.approx(0.1)
    assert pai(U_RISK, U_ACTUAL, 0.2, U_AREA) == pytest.approx(0.5)
    # 40 %: budget 4 -> cells 1, 3, 0 (area 4): 3 hits; PAI 0.3 / 0.4
    assert hit_rate(U_RISK, U_ACTUAL, 0.4, U_AREA) == pytest.approx(0.3)
    assert pai(U_RISK, U_ACTUAL, 0.4, U_AREA) == pytest.approx(0.75)
    # 50 %: budget 5 -> cell 4 would bring the area to 7: the same 3 cells, area 4 (not 5)
    assert hit_rate(U_RISK, U_ACTUAL, 0.5, U_AREA) == pytest.approx(0.3)
    assert pai(U_RISK, U_ACTUAL, 0.5, U_AREA) == pytest.approx(0.75)
    # 5 %: budget 0.5 < area of the top cell -> at least that cell (area 1): PAI 0.1 / 0.1
    assert hit_rate(U_RISK, U_ACTUAL, 0.05, U_AREA) == pytest.approx(0.1)
    assert pai(U_RISK, U_ACTUAL, 0.05, U_AREA) == pytest.approx(1.0)
    # the same risk with equal areas flags floor(0.4 * 5) = 2 cells: 1 and 3
    assert hit_rate(U_RISK, U_ACTUAL, 0.4) == pytest.approx(0.1)


def test_pei_unequal_areas_is_bounded_by_the_densest_cells() -> None:
    # densities: cell 2 5/3, cells 0 and 1 1.0, cell 4 2/3, cell 3 0
    # flagged area 2 (20 %): best = 5/3 of cell 2 counted over area 2 -> 5 * 2/3 = 10/3
    assert pei(U_RISK, U_ACTUAL, 0.2, U_AREA) == pytest.approx(1 / (10 / 3))
    # flagged area 4 (40 %): all of cell 2 (area 3, 5) + half of cell 0 (2 * 1/2) = 6
    assert pei(U_RISK, U_ACTUAL, 0.4, U_AREA) == pytest.approx(3 / 6)
    # flagged area 1 (5 %): a third of cell 2 -> 5/3
    assert pei(U_RISK, U_ACTUAL, 0.05, U_AREA) == pytest.approx(1 / (5 / 3))
    # the perfect map by density reaches 1 whenever whole cells fill the area
    dens = U_ACTUAL / U_AREA
    assert pei(dens, U_ACTUAL, 0.3, U_AREA) == pytest.approx(1.0)  # cell 2 alone, area 3


def test_pei_never_exceeds_one() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 30))
        y = rng.poisson(1.0, n)
        if y.sum() == 0:
            continue
        area = rng.uniform(0.5, 2.0, n)
        risk = rng.random(n)
        for share in (0.05, 0.1, 0.3, 0.7):
            assert pei(risk, y, share, area) <= 1.0 + 1e-12
            assert pei(risk, y, share) <= 1.0 + 1e-12


def test_perfect_map_has_pei_one() -> None:
    assert pei(ACTUAL.astype(float), ACTUAL, 0.3) == 1.0  # top 3: 4 + 3 + 2 = 9 of 9


def test_zero_events_give_nan() -> None:
    zeros = np.zeros(10, dtype=np.int64)
    assert math.isnan(hit_rate(RISK, zeros, 0.1))
    assert math.isnan(pai(RISK, zeros, 0.1))
    assert math.isnan(pei(RISK, zeros, 0.1))
    shares, hits = coverage_curve(RISK, zeros, points=5)
    assert shares.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert np.isnan(hits).all()
    assert all(math.isnan(v) for v in score_table(RISK, zeros).values())


def test_poisson_deviance_by_hand() -> None:
    # cell 0: 2 (1 log(1/2) - (1 - 2)) = 2 - 2 log 2; cell 1 (zero count): 2 (0 + 0.5) = 1;
    # cell 2: perfect forecast, 0. Mean: (3 - 2 log 2) / 3
    d = poisson_deviance([2.0, 0.5, 1.0], [1, 0, 1])
    assert d == pytest.approx((3 - 2 * math.log(2)) / 3, abs=1e-15)
    assert poisson_deviance([1.0, 3.0], [1, 3]) == 0.0
    # mu floored at 1e-9: y = 0 costs 2e-9, y = 3 costs 2 (3 log(3e9) - 3 + 1e-9)
    assert poisson_deviance([0.0], [0]) == pytest.approx(2e-9, rel=1e-12)
    assert poisson_deviance([0.0], [3]) == pytest.approx(
        2 * (3 * math.log(3e9) - 3 + 1e-9), rel=1e-12
    )


def test_coverage_curve_matches_hit_rate() -> None:
    shares, hits = coverage_curve(RISK, ACTUAL, points=11)
    assert shares.tolist() == [k / 10 for k in range(11)]
    # cumulated events in the ranking 7, 1, 2, 9, 4, 8, 6, 0, 3, 5
    assert hits * 12 == pytest.approx([0, 4, 7, 7, 8, 10, 10, 10, 11, 11, 12])
    for s, h in zip(shares[1:], hits[1:], strict=True):
        assert h == pytest.approx(hit_rate(RISK, ACTUAL, float(s)), abs=1e-15)
    shares, hits = coverage_curve(U_RISK, U_ACTUAL, area=U_AREA, points=11)
    for s, h in zip(shares[1:], hits[1:], strict=True):
        assert h == pytest.approx(hit_rate(U_RISK, U_ACTUAL, float(s), U_AREA), abs=1e-15)
    assert np.all(np.diff(hits) >= 0) and hits[0] == 0.0 and hits[-1] == 1.0


def test_score_table() -> None:
    t = score_table(RISK, ACTUAL)
    assert list(t) == [f"{m}_{p}" for m in ("hit", "pai", "pei") for p in (1, 5, 10, 20)]
    assert AREA_SHARES == (0.01, 0.05, 0.10, 0.20)
    # 1 %, 5 % and 10 % of ten cells all flag one cell (cell 7, 4 events); 20 % flags two
    assert t["hit_1"] == t["hit_5"] == t["hit_10"] == pytest.approx(4 / 12)
    assert t["hit_20"] == pytest.approx(7 / 12)
    assert t["pai_1"] == t["pai_10"] == pytest.approx(10 / 3)  # over the flagged 10 %
    assert t["pai_20"] == pytest.approx(35 / 12)
    assert t["pei_1"] == t["pei_20"] == 1.0


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_bad_share(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        hit_rate(RISK, ACTUAL, share)


def test_bad_shapes() -> None:
    with pytest.raises(ValueError):
        hit_rate(RISK, ACTUAL[:-1], 0.1)
    with pytest.raises(ValueError):
        pai(RISK, ACTUAL, 0.1, area=np.ones(3))
    with pytest.raises(ValueError):
        poisson_deviance([1.0], [1, 2])
    with pytest.raises(ValueError):
        hit_rate(RISK, -ACTUAL, 0.1)
