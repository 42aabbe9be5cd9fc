"""Emerging hot spot analysis: geotranquil against the same work composed from the peers.

Data: the H3 resolution-10 cover of Marseille's commune (``../shared/data/marseille``; the
built-in coarse geography otherwise), grown ring by ring around its edge until it holds at
least ``--cells`` cells (default 30,000; the commune alone covers about 16,800 cells at
resolution 10, so the outer rings reach over the sea and the neighbouring communes), times
``--bins`` weekly bins (default 52) of synthetic Poisson counts: a low background rate that
varies by cell, plus planted clusters (2-rings of 19 cells) that are new, emerging over the last
weeks, persistent, intensifying, diminishing or historical.

Both sides do the same work on the same cube with the same parameters (spatial 1-ring plus
self, one previous bin, alpha 0.05, Benjamini-Hochberg FDR over all bins, Mann-Kendall on each
cell's z series at 0.05, the classification rules of :mod:`geotranquil.stats.emerging`):

* ours: :func:`geotranquil.stats.emerging.emerging_hot_spots` from the cube and the spatial
  CSR matrix (the space-time neighbourhood is implicit; timed end to end);
* peers: ``esda.G_Local(y, w, transform="B", star=True, permutations=0)`` once on the flattened
  cube with a libpysal ``Graph`` of the explicit space-time neighbourhood, two-sided normal
  p-values, ``scipy.stats.false_discovery_control``, ``pymannkendall.original_test`` per cell,
  then the same :func:`~geotranquil.stats.emerging.classify_patterns`. Building the libpysal
  graph is *not* timed (it is reported apart), which favours the peers.

The z-scores, significance matrices and pattern classes of both sides are asserted equal.
Each side keeps its best time over ``--repeat`` rounds (esda is warmed up first); both run in
this process with the same thread settings. The run ends with one line
``RESULT emerging_vs_peers ours_s=... peers_s=... ratio=<peers/ours> goal=5 PASS|FAIL``.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.emerging_vs_peers            # >= 30,000 cells x 52 bins
    .venv/bin/python -m benchmarks.emerging_vs_peers --smoke    # a few hundred cells
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h3
import numpy as np
import scipy.sparse as sp

from benchmarks._outcome import report
from geotranquil.config import shared_data_dir
from geotranquil.geography.reference import load_geography
from geotranquil.grid.h3ids import cover
from geotranquil.stats.emerging import PATTERNS, classify_patterns, emerging_hot_spots

NAME = "emerging_vs_peers"
GOAL_RATIO = 5.0
DATA_DIR = (shared_data_dir() or Path("../shared/data")) / "marseille"
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", Path(__file__).resolve().parent / "out"))
RESULT_JSON = OUT_DIR / f"{NAME}.json"
RESOLUTION = 10
DEFAULT_CELLS = 30_000
SMOKE_CELLS = 400
DEFAULT_BINS = 52
SEED = 20241128
ALPHA = 0.05
TIME_LAGS = 1


# --------------------------------------------------------------------------- data


def study_cells(target: int) -> np.ndarray:
    """Resolution-10 cells: the commune's cover, grown by rings to at least ``target`` cells."""
    geo = load_geography(DATA_DIR)
    base = cover(geo.commune, RESOLUTION)
    if target <= len(base):
        centre = h3.latlng_to_cell(43.2965, 5.3698, RESOLUTION)  # Vieux-Port
        k = 0
        while True:
            disk = np.array([h3.str_to_int(c) for c in h3.grid_disk(centre, k)], dtype=np.int64)
            if len(disk) >= target:
                return np.sort(disk)
            k += 1
    cells = set(base.tolist())
    edge = set(cells)
    while len(cells) < target:
        grown: set[int] = set()
        for c in edge:
            grown.update(h3.str_to_int(x) for x in h3.grid_disk(h3.int_to_str(c), 1))
        edge = grown - cells
        cells |= edge
    return np.array(sorted(cells), dtype=np.int64)


def ring_matrix(cells: np.ndarray) -> sp.csr_matrix:
    """Binary 1-ring neighbour matrix (without self) of the cells, among themselves."""
    index = {int(c): i for i, c in enumerate(cells.tolist())}
    rows: list[int] = []
    cols: list[int] = []
    for c, i in index.items():
        for nb in h3.grid_disk(h3.int_to_str(c), 1):
            j = index.get(h3.str_to_int(nb))
            if j is not None and j != i:
                rows.append(i)
                cols.append(j)
    n = len(cells)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def synthetic_cube(
    cells: np.ndarray, ring: sp.csr_matrix, n_bins: int, seed: int
) -> tuple[np.ndarray, dict[str, int]]:
    """Weekly Poisson counts with planted clusters; returns the cube and clusters per kind."""
    rng = np.random.default_rng(seed)
    n = len(cells)
    base = rng.gamma(shape=2.0, scale=0.25, size=n)  # mean 0.5 events a week
    lam = np.repeat(base[:, None], n_bins, axis=1)
    t = np.arange(n_bins, dtype=float)
    kinds = {
        "new": lambda: np.where(t == n_bins - 1, 4.0, 0.0),
        "emerging": lambda: np.where(t >= n_bins - 4, 3.0, 0.0),
        "persistent": lambda: np.full(n_bins, 2.5),
        "intensifying": lambda: 1.0 + 4.0 * t / (n_bins - 1),
        "diminishing": lambda: 5.0 - 4.0 * t / (n_bins - 1),
        "historical": lambda: np.where(t < n_bins - 3, 2.5, 0.0),
    }
    per_kind = max(1, n // 3000)
    two_ring = ring @ ring + ring + sp.identity(n, format="csr")
    centres = rng.choice(n, size=per_kind * len(kinds), replace=False)
    planted: dict[str, int] = {}
    for k, (kind, extra) in enumerate(kinds.items()):
        for centre in centres[k * per_kind : (k + 1) * per_kind]:
            members = two_ring[int(centre)].indices
            lam[members] += extra()[None, :]
        planted[kind] = per_kind
    return rng.poisson(lam).astype(np.float64), planted


# --------------------------------------------------------------------------- the two sides


def space_time_graph(ring: sp.csr_matrix, n_bins: int, time_lags: int) -> Any:
    """libpysal Graph of the flattened cube (index ``cell * n_bins + bin``), self excluded."""
    from libpysal.graph import Graph

    n = ring.shape[0]
    spatial = (ring + sp.identity(n, format="csr")).tocoo()
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for lag in range(time_lags + 1):
        t = np.arange(lag, n_bins)
        rows.append((spatial.row[:, None] * n_bins + t[None, :]).ravel())
        cols.append((spatial.col[:, None] * n_bins + (t - lag)[None, :]).ravel())
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    keep = r != c
    size = n * n_bins
    m = sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], c[keep])), shape=(size, size))
    return Graph.from_sparse(m)


@dataclass
class PeerOutput:
    z: np.ndarray
    significant: np.ndarray
    codes: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)


def run_peers(cube: np.ndarray, graph: Any) -> PeerOutput:
    """esda G_Local on the flattened cube, BH, pymannkendall per cell, same classification."""
    import esda
    import pymannkendall as pmk
    from scipy.stats import false_discovery_control, norm

    n_cells, n_bins = cube.shape
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(cube.ravel(), graph, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=np.float64).reshape(n_cells, n_bins)
    t1 = time.perf_counter()
    p = 2.0 * norm.sf(np.abs(z))
    sig = false_discovery_control(p.ravel(), method="bh").reshape(p.shape) <= ALPHA
    significant = (np.sign(z) * sig).astype(np.int8)
    t2 = time.perf_counter()
    trend_p = np.empty(n_cells)
    trend_z = np.empty(n_cells)
    for i in range(n_cells):
        res = pmk.original_test(z[i], alpha=ALPHA)
        trend_p[i] = res.p
        trend_z[i] = res.z
    t3 = time.perf_counter()
    codes = classify_patterns(significant, trend_p, trend_z, ALPHA)
    t4 = time.perf_counter()
    return PeerOutput(
        z=z,
        significant=significant,
        codes=codes,
        seconds={
            "esda_g_local": t1 - t0,
            "fdr": t2 - t1,
            "pymannkendall": t3 - t2,
            "classify": t4 - t3,
            "total": t4 - t0,
        },
    )


def warm_up_esda() -> None:
    """First esda / libpysal calls pay imports and caches: pay them outside the timings."""
    import esda
    from libpysal.graph import Graph

    m = sp.csr_matrix(sp.diags([1.0, 1.0], [-1, 1], shape=(50, 50)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda.G_Local(
            np.arange(50.0), Graph.from_sparse(m), transform="B", star=True, permutations=0
        )


# --------------------------------------------------------------------------- run


@dataclass
class Outcome:
    cells: int
    bins: int
    observations: int
    space_time_links: int
    repeat: int
    threads: dict[str, str]
    ours_s: float
    peers_s: float
    peers_steps_s: dict[str, float]
    graph_build_s: float
    ratio: float
    goal: float
    max_abs_z_diff: float
    same_significance: bool
    same_classes: bool
    planted: dict[str, int]
    patterns: dict[str, int]

    @property
    def passed(self) -> bool:
        return self.same_classes and self.same_significance and self.ratio >= self.goal

    def result_line(self) -> str:
        return (
            f"RESULT {NAME} ours_s={self.ours_s:.3f} peers_s={self.peers_s:.3f} "
            f"ratio={self.ratio:.1f} goal={self.goal:g} {'PASS' if self.passed else 'FAIL'}"
        )


def run(n_cells: int, n_bins: int, repeat: int, seed: int) -> Outcome:
    cells = study_cells(n_cells)
    ring = ring_matrix(cells)
    cube, planted = synthetic_cube(cells, ring, n_bins, seed)
    warm_up_esda()
    emerging_hot_spots(cube[:50, :5], ring[:50, :50])  # warm our side's imports the same way

    t0 = time.perf_counter()
    graph = space_time_graph(ring, n_bins, TIME_LAGS)
    graph_build_s = time.perf_counter() - t0

    ours_times: list[float] = []
    peer_runs: list[PeerOutput] = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = emerging_hot_spots(cube, ring, time_lags=TIME_LAGS, alpha=ALPHA, fdr=True)
        ours_times.append(time.perf_counter() - t0)
        peer_runs.append(run_peers(cube, graph))
    assert result is not None
    best_peer = min(peer_runs, key=lambda r: r.seconds["total"])
    peer = peer_runs[0]
    max_diff = float(np.abs(result.z - peer.z).max())
    same_sig = bool((result.significant == peer.significant).all())
    same_classes = bool((result.pattern_code == peer.codes).all())
    assert max_diff < 1e-9, f"z-scores differ by {max_diff}"
    assert same_sig, "significance matrices differ"
    assert same_classes, "pattern classes differ"
    ours_s = min(ours_times)
    peers_s = best_peer.seconds["total"]
    threads = {
        k: os.environ.get(k, "unset")
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    threads["cpu_count"] = str(os.cpu_count())
    return Outcome(
        cells=len(cells),
        bins=n_bins,
        observations=cube.size,
        space_time_links=int(graph.n_edges) if hasattr(graph, "n_edges") else -1,
        repeat=repeat,
        threads=threads,
        ours_s=ours_s,
        peers_s=peers_s,
        peers_steps_s=best_peer.seconds,
        graph_build_s=graph_build_s,
        ratio=peers_s / ours_s,
        goal=GOAL_RATIO,
        max_abs_z_diff=max_diff,
        same_significance=same_sig,
        same_classes=same_classes,
        planted=planted,
        patterns=result.counts(),
    )


def print_table(o: Outcome) -> None:
    print(f"\nEmerging hot spots: {o.cells:,} cells x {o.bins} bins = {o.observations:,} bins")
    print(f"space-time links (peers' graph): {o.space_time_links:,}; threads: {o.threads}")
    print(f"{'step':<34}{'seconds':>10}")
    print(f"{'ours: emerging_hot_spots (best)':<34}{o.ours_s:>10.3f}")
    for step, s in o.peers_steps_s.items():
        print(f"{'peers: ' + step:<34}{s:>10.3f}")
    print(f"{'peers: libpysal Graph (untimed)':<34}{o.graph_build_s:>10.3f}")
    print(
        f"max |z ours - z esda| = {o.max_abs_z_diff:.2e}; same significance: "
        f"{o.same_significance}; same classes: {o.same_classes}"
    )
    print(f"planted clusters (19 cells each): {o.planted}")
    print(f"{'pattern':<20}{'cells':>8}")
    for name in PATTERNS:
        print(f"{name:<20}{o.patterns[name]:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="a few hundred cells")
    parser.add_argument("--cells", type=int, default=None)
    parser.add_argument("--bins", type=int, default=DEFAULT_BINS)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    n_cells = args.cells or (SMOKE_CELLS if args.smoke else DEFAULT_CELLS)
    outcome = run(n_cells, args.bins, args.repeat, args.seed)
    return report(outcome, RESULT_JSON, print_table)


if __name__ == "__main__":
    raise SystemExit(main())
