"""Our forecaster: Poisson gradient boosting on spatio-temporal features of the count cube.

Why this model
--------------
The baselines each encode one idea about where crime happens next: recent counts persist
(naive), long-run hot spots persist (kernel density), risk spreads from recent events to their
neighbours for a few weeks (prospective hot-spotting, self-exciting point processes). Which idea
dominates, and at which spatial and temporal scale, changes from one city, offence and grid to
the next, and the ideas interact (a cell with a long history *and* a fresh neighbouring event is
riskier than the sum of the two suggests). Gradient-boosted trees learn that combination from
the data itself instead of fixing it by hand: each training row is one (cell, period) with
features computed **only from earlier periods**, its target is the count that followed, and the
loss is the Poisson deviance, the right loss for small counts (the model predicts an expected
count, on a log link, so its output is directly an expected-events map). Trees need no scaling,
handle the heavy zero mass of sparse grids, and are fast: scikit-learn's histogram gradient
boosting fits tens of thousands of cells times a year of periods in seconds.

What the features capture
-------------------------
* **repeat victimisation** and persistence: the cell's own counts over the last 1, 2, 4, 8, 13,
  26 and 52 periods, its long-run mean, and the periods since its last event;
* **near repeats** and spatial spill-over: the summed counts of its first and second H3 rings
  over the last 1, 4, 13 and 52 periods, and of rings 3 and 4 over 52 periods (a coarse,
  kernel-density-like context that tells a quiet cell in a busy district from a quiet one in a
  quiet district);
* **trends**: the cell's mean over the last 4 periods minus its mean over the 13 before;
* **seasonality**: the period's position in the year (sine and cosine of the day of year) and
  the cell's counts around the same period one year earlier;
* **exposure**: residents per cell when the data carry a population.

The model is trained on the last ``train_periods`` periods of the training window whose target
is fully observed (skipping the first year of history, which only feeds the features, when the
window is long enough), and predicts from the features at the forecast origin. Everything is
seeded. :class:`EnsembleForecaster` averages the expected counts of several fitted methods
(typically this model and the best baseline).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import h3
import numpy as np
import scipy.sparse as sp

from geotranquil.forecast.base import FloatArray, ForecastData, Forecaster, IntArray

__all__ = [
    "BoostedForecaster",
    "EnsembleForecaster",
    "feature_matrix",
    "feature_names",
    "ring_matrices",
]

#: windows (periods) of the cell's own counts
OWN_WINDOWS = (1, 2, 4, 8, 13, 26, 52)
#: windows (periods) of the first and second ring sums
RING_WINDOWS = (1, 4, 13, 52)
#: cap on "periods since the last event" (also the value for a cell with none yet)
SINCE_CAP = 104.0


def _distance_rings(xy: FloatArray, rings: Sequence[Sequence[int]]) -> list[sp.csr_matrix]:
    """Rings of a non-H3 grid by centroid distance: ring ``k`` = ``((k - 1/2) s, (k + 1/2) s]``."""
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    nearest, _ = tree.query(xy, k=2)
    spacing = float(np.median(nearest[:, 1])) if len(xy) > 1 else 1.0
    far = max(max(g) for g in rings)
    pairs = tree.query_pairs((far + 0.5) * spacing, output_type="ndarray")
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    ring = np.rint(np.hypot(*(xy[i] - xy[j]).T) / spacing).astype(np.int64)
    out = []
    for group in rings:
        keep = np.isin(ring, list(group))
        ones = np.ones(int(keep.sum()))
        out.append(sp.csr_matrix((ones, (i[keep], j[keep])), shape=(len(xy), len(xy))))
    return out


def ring_matrices(
    cells: IntArray,
    rings: Sequence[Sequence[int]] = ((1,), (2,), (3, 4)),
    xy: FloatArray | None = None,
) -> list[sp.csr_matrix]:
    """Sparse ``(n, n)`` 0/1 matrices: ``M[i, j] = 1`` when cell ``j`` is in a ring of cell ``i``.

    Each entry of ``rings`` is a group of ring distances summed together; cells outside the
    study area are ignored. Rings come from ``h3.grid_ring``; for a grid whose ids are not H3
    cells (simulations), pass the centroids ``xy`` (n, 2) and rings are taken by distance in
    multiples of the centroid spacing.

    Examples
    --------
    >>> c = h3.latlng_to_cell(43.2965, 5.3698, 9)
    >>> cells = np.sort(np.array([h3.str_to_int(x) for x in h3.grid_disk(c, 2)]))
    >>> r1, r2 = ring_matrices(cells, ((1,), (2,)))
    >>> centre = int(np.searchsorted(cells, h3.str_to_int(c)))
    >>> int(r1[centre].sum()), int(r2[centre].sum()), r1.shape
    (6, 12, (19, 19))
    """
    cells = np.asarray(cells, dtype=np.int64)
    if xy is not None and not all(h3.is_valid_cell(int(c)) for c in cells[:100].tolist()):
        return _distance_rings(np.asarray(xy, dtype=np.float64), rings)
    order = np.argsort(cells)
    sorted_cells = cells[order]
    out = []
    for group in rings:
        rows: list[int] = []
        cols: list[int] = []
        for i, cell in enumerate(cells.tolist()):
            s = h3.int_to_str(cell)
            nb = np.array(
                [h3.str_to_int(x) for k in group for x in h3.grid_ring(s, k)], dtype=np.int64
            )
            pos = np.minimum(np.searchsorted(sorted_cells, nb), cells.size - 1)
            hit = sorted_cells[pos] == nb
            js = order[pos[hit]]
            rows.extend([i] * len(js))
            cols.extend(js.tolist())
        data = np.ones(len(rows), dtype=np.float64)
        out.append(sp.csr_matrix((data, (rows, cols)), shape=(cells.size, cells.size)))
    return out


def feature_names(with_population: bool = False) -> list[str]:
    """Names of the columns of :func:`feature_matrix`, in order.

    Examples
    --------
    >>> feature_names()[:3], len(feature_names()), feature_names(True)[-1]
    (['own_1', 'own_2', 'own_4'], 22, 'population')
    """
    names = [f"own_{w}" for w in OWN_WINDOWS]
    names += [f"ring1_{w}" for w in RING_WINDOWS] + [f"ring2_{w}" for w in RING_WINDOWS]
    names += ["ring34_52", "trend", "since_last", "doy_sin", "doy_cos", "year_ago", "mean"]
    return names + (["population"] if with_population else [])


def _window(cum: np.ndarray, at: IntArray, w: int) -> np.ndarray:
    """Sum over periods ``[p - w, p)`` for each ``p`` in ``at`` (``cum`` has a leading 0)."""
    return cum[:, at] - cum[:, np.maximum(at - w, 0)]


def feature_matrix(
    data: ForecastData, at: Sequence[int], rings: list[sp.csr_matrix] | None = None
) -> tuple[FloatArray, list[str]]:
    """Features of every (cell, period ``p``) for ``p`` in ``at``, from periods ``< p`` only.

    Rows are period-major: the ``n`` cells of ``at[0]``, then those of ``at[1]``... ``p`` may
    be ``data.n_periods`` (the forecast origin just after the data).

    Parameters
    ----------
    data : ForecastData
    at : sequence of int
        Periods (0 .. ``data.n_periods``) whose features are wanted.
    rings : list of sparse matrices, optional
        :func:`ring_matrices` of ``data.cells`` (computed when omitted).

    Returns
    -------
    feats : (n * len(at), F) float64
    names : list of str
        :func:`feature_names`.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> c = h3.latlng_to_cell(43.2965, 5.3698, 9)
    >>> cells = np.sort(np.array([h3.str_to_int(x) for x in h3.grid_disk(c, 1)]))
    >>> counts = np.zeros((7, 6), dtype=np.int64); counts[0] = [1, 0, 2, 0, 0, 3]
    >>> d = ForecastData(cells, np.zeros(7), np.zeros(7), counts,
    ...                  [date(2025, 1, 6) + timedelta(7 * k) for k in range(6)], 7, None)
    >>> feats, names = feature_matrix(d, [5])
    >>> [float(feats[0, names.index(k)]) for k in ("own_4", "own_1", "since_last", "mean")]
    [2.0, 0.0, 3.0, 0.6]
    """
    at_arr = np.asarray(list(at), dtype=np.int64)
    counts = np.asarray(data.counts, dtype=np.float64)
    n, t_total = counts.shape
    if at_arr.size and (at_arr.min() < 0 or at_arr.max() > t_total):
        raise ValueError(f"periods must lie in 0..{t_total}")
    if rings is None:
        rings = ring_matrices(data.cells, xy=np.column_stack([data.x, data.y]))
    zero = np.zeros((n, 1))
    cum = np.hstack([zero, np.cumsum(counts, axis=1)])
    ring_cums = [np.hstack([zero, np.cumsum(r @ counts, axis=1)]) for r in rings]

    cols: list[np.ndarray] = [_window(cum, at_arr, w) for w in OWN_WINDOWS]
    for rc in ring_cums[:2]:
        cols += [_window(rc, at_arr, w) for w in RING_WINDOWS]
    cols.append(_window(ring_cums[2], at_arr, 52))
    recent = _window(cum, at_arr, 4) / 4.0
    before = (cum[:, np.maximum(at_arr - 4, 0)] - cum[:, np.maximum(at_arr - 17, 0)]) / 13.0
    cols.append(recent - before)

    # periods since the last event before p (SINCE_CAP when none)
    last = np.full(n, -np.inf)
    since_all = np.empty((n, t_total + 1))
    for p in range(t_total + 1):
        since_all[:, p] = np.minimum(p - last, SINCE_CAP)
        if p < t_total:
            last = np.where(counts[:, p] > 0, p, last)
    cols.append(since_all[:, at_arr])

    starts = [
        data.periods[p]
        if p < len(data.periods)
        else data.periods[-1] + (p - len(data.periods) + 1) * _days(data.period_days)
        for p in at_arr.tolist()
    ]
    doy = np.array([s.timetuple().tm_yday for s in starts], dtype=np.float64)
    angle = 2 * np.pi * doy / 365.25
    cols.append(np.broadcast_to(np.sin(angle), (n, at_arr.size)))
    cols.append(np.broadcast_to(np.cos(angle), (n, at_arr.size)))

    lag = max(1, round(365.25 / data.period_days))
    hi = at_arr - lag + 2  # periods p - lag - 1 .. p - lag + 1 (all < p)
    lo = at_arr - lag - 1
    ok = lo >= 0
    year_ago = np.full((n, at_arr.size), -1.0)  # -1: no year of history yet
    if ok.any():
        hi_c = np.minimum(hi[ok], at_arr[ok])
        year_ago[:, ok] = cum[:, hi_c] - cum[:, lo[ok]]
    cols.append(year_ago)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(at_arr > 0, cum[:, at_arr] / np.maximum(at_arr, 1), np.nan)
    cols.append(mean)
    with_pop = data.population is not None
    if data.population is not None:
        pop = np.asarray(data.population, dtype=np.float64)
        cols.append(np.broadcast_to(pop[:, None], (n, at_arr.size)))
    # (n, len(at)) columns -> period-major rows
    feats = np.stack([np.asarray(c, dtype=np.float64).T.reshape(-1) for c in cols], axis=1)
    return feats, feature_names(with_pop)


def _days(period_days: int) -> Any:
    from datetime import timedelta

    return timedelta(days=period_days)


@dataclass
class BoostedForecaster:
    """Poisson gradient boosting on spatio-temporal features (see the module docstring).

    Parameters
    ----------
    train_periods : int
        Training periods (the most recent ones whose target is observed).
    warmup : int
        Periods of history skipped before the first training row when the window allows
        (they feed the features of the later rows).
    horizon : int
        Periods summed in the training target; ``predict(h)`` rescales by ``h / horizon``.
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`sklearn.ensemble.HistGradientBoostingRegressor`.
    seed : int
        ``random_state`` of the model (its validation split for early stopping).

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> c = h3.latlng_to_cell(43.2965, 5.3698, 9)
    >>> cells = np.sort(np.array([h3.str_to_int(x) for x in h3.grid_disk(c, 3)]))
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(0.05, (37, 60)); counts[5] += rng.poisson(2.0, 60)
    >>> d = ForecastData(cells, np.zeros(37), np.zeros(37), counts,
    ...                  [date(2024, 1, 1) + timedelta(7 * k) for k in range(60)], 7, None)
    >>> risk = BoostedForecaster(max_iter=50).fit(d).predict()
    >>> risk.shape, int(np.argmax(risk))
    ((37,), 5)
    """

    train_periods: int = 52
    warmup: int = 52
    horizon: int = 1
    learning_rate: float = 0.05
    max_iter: int = 300
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    seed: int = 0
    name: str = field(default="gbm", kw_only=True)
    model_: Any = field(default=None, init=False, repr=False)
    features_: FloatArray | None = field(default=None, init=False, repr=False)
    feature_names_: list[str] = field(default_factory=list, init=False, repr=False)
    train_rows_: int = field(default=0, init=False, repr=False)

    def _training_periods(self, t_total: int) -> list[int]:
        last = t_total - self.horizon  # last p whose target [p, p + h) is observed
        if last < 1:
            return []
        warm = min(self.warmup, max(1, last // 2))
        first = max(warm, last - self.train_periods + 1, 1)
        return list(range(first, last + 1))

    def fit(self, data: ForecastData) -> Self:
        """Train on the last ``train_periods`` (cell, period) rows of ``data``."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        rings = ring_matrices(data.cells, xy=np.column_stack([data.x, data.y]))
        train_at = self._training_periods(data.n_periods)
        at = [*train_at, data.n_periods]
        feats, names = feature_matrix(data, at, rings)
        n = data.n_cells
        x_train, x_origin = feats[: n * len(train_at)], feats[n * len(train_at) :]
        self.features_ = x_origin
        self.feature_names_ = names
        self.train_rows_ = x_train.shape[0]
        if not train_at:
            self.model_ = None
            return self
        cum = np.hstack([np.zeros((n, 1)), np.cumsum(data.counts, axis=1)])
        p = np.asarray(train_at, dtype=np.int64)
        y = (cum[:, p + self.horizon] - cum[:, p]).T.reshape(-1)
        if y.sum() == 0:
            self.model_ = None
            return self
        model = HistGradientBoostingRegressor(
            loss="poisson",
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=max(5, min(self.min_samples_leaf, x_train.shape[0] // 200)),
            l2_regularization=self.l2_regularization,
            early_stopping=x_train.shape[0] >= 10_000,
            validation_fraction=0.15,
            n_iter_no_change=20,
            random_state=self.seed,
        )
        self.model_ = model.fit(x_train, y)
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Expected events per cell in the next ``horizon`` periods."""
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        if self.features_ is None:
            raise RuntimeError("BoostedForecaster is not fitted: call fit(data) first")
        if self.model_ is None:  # no history with events: the long-run mean (0 when none)
            mean = self.features_[:, self.feature_names_.index("mean")]
            return np.nan_to_num(mean) * horizon
        pred = np.asarray(self.model_.predict(self.features_), dtype=np.float64)
        # trees give many cells the same value: break ties by the smoothed past (1e-6 relative)
        f, names = self.features_, self.feature_names_
        prior = (
            f[:, names.index("own_52")]
            + f[:, names.index("ring1_52")] / 6
            + f[:, names.index("ring2_52")] / 12
        )
        prior = prior / max(float(prior.max()), 1.0)
        return (pred * (1.0 + 1e-6 * prior)) * (horizon / self.horizon)


@dataclass
class EnsembleForecaster:
    """Weighted mean of the expected counts of several forecasters.

    Examples
    --------
    >>> class Const:
    ...     def __init__(self, v): self.v, self.name = v, f"c{v}"
    ...     def fit(self, data): return self
    ...     def predict(self, horizon=1): return np.full(2, self.v * horizon)
    >>> EnsembleForecaster([Const(1.0), Const(3.0)], [3, 1]).fit(None).predict().tolist()
    [1.5, 1.5]
    """

    members: Sequence[Forecaster]
    weights: Sequence[float] | None = None
    name: str = field(default="ensemble", kw_only=True)
    fitted_: list[Forecaster] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        if self.weights is not None:
            if len(self.weights) != len(self.members):
                raise ValueError("one weight per member")
            if any(w < 0 for w in self.weights) or not math.fsum(self.weights) > 0:
                raise ValueError("weights must be >= 0 with a positive sum")

    def fit(self, data: ForecastData) -> Self:
        """Fit a copy of every member on ``data``."""
        self.fitted_ = [copy.deepcopy(m).fit(data) for m in self.members]
        return self

    def predict(self, horizon: int = 1) -> FloatArray:
        """Weighted mean of the members' expected counts."""
        if not self.fitted_:
            raise RuntimeError("EnsembleForecaster is not fitted: call fit(data) first")
        w = np.ones(len(self.fitted_)) if self.weights is None else np.asarray(self.weights)
        w = w / w.sum()
        preds = np.stack([np.asarray(m.predict(horizon), dtype=np.float64) for m in self.fitted_])
        return np.asarray(w @ preds, dtype=np.float64)
