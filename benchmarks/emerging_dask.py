"""Emerging hot spots on a Dask cluster: one worker against two, and the single process.

Data: the H3 resolution-9 disk around Marseille's centre with at least ``--cells`` cells
(default 300,000; a disk of radius ``r`` holds ``3r(r+1)+1`` cells) times ``--weeks`` weekly
bins (default 520, ten years) of synthetic Poisson counts generated here, apart from the code
under test: a background rate that varies by cell, plus planted 2-rings of 19 cells that are
persistent hot spots or appear in the last three weeks.

Three runs of the same analysis (1-ring plus self, one previous bin, alpha 0.05, FDR over all
bins, Mann-Kendall per cell) on the same cube:

* ``single``: :func:`geotranquil.stats.emerging.emerging_hot_spots` in this process, no Dask;
* ``one_worker``: :func:`geotranquil.distributed.hotspots.emerging_on_cluster` on a real
  cluster (``dask scheduler`` and one ``dask worker --nthreads 1`` started here), cells split
  by their resolution-``--parent-resolution`` parent (default 6: 343 cells per task);
* ``two_workers``: the same after a second ``dask worker --nthreads 1`` joined.

The cluster is warmed up (imports, one small run) before it is timed; a timed run includes
everything after the cube is in memory: slicing and sending the partitions, the tasks, the
merge, the FDR over the whole cube and the classification in this process. The z-scores of
the three runs are asserted equal to 1e-12 and their significance and patterns identical.
Peak memory: this process's Python/numpy allocations per run (``tracemalloc``) and each
worker's peak resident size. The run ends with one line

``RESULT emerging_dask cells=... weeks=... single_s=... one_worker_s=... two_workers_s=...
ratio=<one/two> goal=1.6 PASS|FAIL``.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.emerging_dask                 # 300,000 cells x 520 weeks
    .venv/bin/python -m benchmarks.emerging_dask --cells 30000   # a reduced size
    .venv/bin/python -m benchmarks.emerging_dask --small         # a smoke test (seconds)

Memory: a 300,000 x 520 float64 cube is 1.25 GB; the single-process run holds several arrays
of that size at once (window sums, z, p, the Mann-Kendall differences), the driver of the
cluster runs holds the cube, the merged z and the FDR's arrays.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h3.api.basic_int as h3i
import numpy as np

from benchmarks._outcome import report
from geotranquil.distributed.hotspots import emerging_on_cluster
from geotranquil.distributed.partition import plan_partitions
from geotranquil.stats.emerging import EmergingResult, emerging_hot_spots
from geotranquil.stats.weights import SpatialWeights

NAME = "emerging_dask"
GOAL_RATIO = 1.6
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", Path(__file__).resolve().parent / "out"))
RESULT_JSON = OUT_DIR / f"{NAME}.json"
SRC = Path(__file__).resolve().parents[1] / "src"
CENTRE = (43.2951, 5.3745)
RESOLUTION = 9
DEFAULT_CELLS = 300_000
DEFAULT_WEEKS = 520
SMALL_CELLS, SMALL_WEEKS = 2_000, 60
SEED = 18


# --- the data (generated here, apart from the code under test) -------------------------------


def study_cells(n_cells: int) -> np.ndarray:
    """The smallest H3 disk around Marseille's centre with at least ``n_cells`` cells."""
    radius = 0
    while 3 * radius * (radius + 1) + 1 < n_cells:
        radius += 1
    centre = h3i.latlng_to_cell(*CENTRE, RESOLUTION)
    return np.array(sorted(h3i.grid_disk(centre, radius)), dtype=np.int64)


def synthetic_cube(cells: np.ndarray, weeks: int, seed: int) -> tuple[np.ndarray, dict[str, int]]:
    """Poisson counts: a background rate per cell and planted persistent and new 2-rings."""
    rng = np.random.default_rng(seed)
    n = len(cells)
    rate = rng.gamma(2.0, 0.4, size=n)
    cube = np.empty((n, weeks), dtype=np.float64)
    step = max(1, 4_000_000 // max(weeks, 1))
    for lo in range(0, n, step):  # by blocks of rows: bounded temporaries
        hi = min(n, lo + step)
        cube[lo:hi] = rng.poisson(rate[lo:hi, None], size=(hi - lo, weeks))
    index = {int(c): i for i, c in enumerate(cells)}
    n_clusters = max(2, n // 5_000)
    centres = rng.choice(n, size=n_clusters, replace=False)
    planted = {"persistent": 0, "new": 0}
    for j, c in enumerate(centres.tolist()):
        ring = [index[d] for d in h3i.grid_disk(int(cells[c]), 2) if d in index]
        if j % 2 == 0:
            cube[ring] += rng.poisson(3.0, size=(len(ring), weeks))
            planted["persistent"] += 1
        else:
            cube[ring, -3:] += 8.0
            planted["new"] += 1
    return cube, planted


# --- a real cluster --------------------------------------------------------------------------


@contextmanager
def local_processes(
    tmp: Path, env: dict[str, str] | None = None
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """``start(name, *args)`` runs ``python -m dask *args`` in ``tmp`` (its output in
    ``tmp / f"{name}.log"``, ``env`` by default this environment with this checkout's
    ``src`` first on ``PYTHONPATH``); at the end the workers are stopped, then the scheduler
    (the first process started): SIGTERM, then SIGKILL after 30 s."""
    run_env = env if env is not None else dict(os.environ) | {"PYTHONPATH": str(SRC)}
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (tmp / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            env=run_env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    try:
        yield start
    finally:
        _stop(procs[1:])
        _stop(procs[:1])


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_scheduler(
    start: Callable[..., subprocess.Popen[bytes]], tmp: Path, timeout: float = 120.0
) -> str:
    """Start ``dask scheduler`` on a free port of 127.0.0.1 and return its address, read from
    its scheduler file once it is written whole."""
    path = tmp / "scheduler.json"
    start(
        "scheduler",
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(path),
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return str(json.loads(path.read_text())["address"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise RuntimeError("the Dask scheduler did not start")


def worker_args(address: str, name: str, directory: Path, *extra: str) -> list[str]:
    """The arguments of ``dask worker``: one process of one thread, named, no dashboard."""
    return [
        "worker",
        address,
        "--nthreads",
        "1",
        "--nworkers",
        "1",
        "--no-dashboard",
        *extra,
        "--name",
        name,
        "--local-directory",
        str(directory),
    ]


def _bench_worker(address: str, i: int, tmp: Path) -> list[str]:
    return worker_args(address, f"bench-{i}", tmp / f"worker-{i}", "--memory-limit", "0")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- the runs --------------------------------------------------------------------------------


@dataclass
class Outcome:
    cells: int
    weeks: int
    parent_resolution: int
    partitions: int
    single_s: float
    one_worker_s: float
    two_workers_s: float
    ratio: float
    goal: float
    max_abs_z_diff: float
    same_significance: bool
    same_patterns: bool
    driver_peak_mb: dict[str, float]
    worker_peak_rss_mb: dict[str, float]
    planted: dict[str, int]
    found: dict[str, int]
    task_compute_s: dict[str, float]
    load_average: list[float]

    @property
    def passed(self) -> bool:
        return self.same_significance and self.same_patterns and self.ratio >= self.goal

    def result_line(self) -> str:
        return (
            f"RESULT {NAME} cells={self.cells} weeks={self.weeks} single_s={self.single_s:.2f} "
            f"one_worker_s={self.one_worker_s:.2f} two_workers_s={self.two_workers_s:.2f} "
            f"ratio={self.ratio:.2f} goal={self.goal:g} {'PASS' if self.passed else 'FAIL'}"
        )


def _timed(func: Callable[[], EmergingResult]) -> tuple[EmergingResult, float, float]:
    """``func()``, its seconds and the peak of this process's allocations (MB) meanwhile."""
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - t0
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    return result, seconds, peak


def _compute_seconds(stream: list[dict[str, Any]]) -> float:
    """Seconds the workers spent computing tasks (not waiting, not transferring)."""
    return float(
        sum(
            e["stop"] - e["start"]
            for task in stream
            for e in task["startstops"]
            if e["action"] == "compute"
        )
    )


def _same(a: EmergingResult, b: EmergingResult) -> tuple[float, bool, bool]:
    diff = float(np.abs(a.z - b.z).max())
    same_sig = bool(np.array_equal(a.significant, b.significant))
    same_pat = bool(np.array_equal(a.pattern_code, b.pattern_code))
    assert diff <= 1e-12, f"z-scores differ by {diff}"
    assert same_sig, "significance differs"
    assert same_pat, "patterns differ"
    return diff, same_sig, same_pat


def run(n_cells: int, weeks: int, parent_resolution: int, seed: int) -> Outcome:
    from distributed import Client, get_task_stream

    cells = study_cells(n_cells)
    w = SpatialWeights.from_h3(cells, k=1)
    cube, planted = synthetic_cube(cells, weeks, seed)
    partitions = len(plan_partitions(cells, w.sparse, parent_resolution))
    print(
        f"{len(cells):,} cells x {weeks} weeks ({cube.nbytes / 2**30:.2f} GiB), "
        f"{partitions} partitions at resolution {parent_resolution}",
        flush=True,
    )
    tracemalloc.start()
    peaks: dict[str, float] = {}
    load = [os.getloadavg()[0]]
    single, single_s, peaks["single"] = _timed(lambda: emerging_hot_spots(cube, w))
    print(f"single process: {single_s:.2f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp_name:
        tmp = Path(tmp_name)
        with local_processes(tmp) as start:
            address = start_scheduler(start, tmp)
            start("worker-0", *_bench_worker(address, 0, tmp))
            with Client(address, timeout=60, set_as_default=False) as client:
                client.wait_for_workers(1, timeout=180)

                def warm() -> None:
                    client.run(lambda: __import__("geotranquil.distributed.hotspots"))
                    small = cells[:400]
                    ws = SpatialWeights.from_h3(small, k=1)
                    emerging_on_cluster(client, cube[:400, :20], ws, small, parent_resolution)

                warm()

                def on_cluster() -> EmergingResult:
                    with get_task_stream(client=client) as stream:
                        result = emerging_on_cluster(client, cube, w, cells, parent_resolution)
                    task_s.append(_compute_seconds(stream.data))
                    return result

                task_s: list[float] = []
                load.append(os.getloadavg()[0])
                one, one_s, peaks["one_worker"] = _timed(on_cluster)
                print(f"one worker: {one_s:.2f} s", flush=True)
                _same(single, one)
                del one
                start("worker-1", *_bench_worker(address, 1, tmp))
                client.wait_for_workers(2, timeout=180)
                warm()
                load.append(os.getloadavg()[0])
                two, two_s, peaks["two_workers"] = _timed(on_cluster)
                load.append(os.getloadavg()[0])
                print(f"two workers: {two_s:.2f} s", flush=True)
                diff, same_sig, same_pat = _same(single, two)
                del two
                workers = client.run(
                    lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
                )
    tracemalloc.stop()
    peaks["process_rss"] = _peak_rss_mb()
    patterns = single.pattern
    found = {
        "persistent_or_intensifying_hot": int(
            np.isin(patterns, ["persistent_hot", "intensifying_hot"]).sum()
        ),
        "new_or_consecutive_hot": int(np.isin(patterns, ["new_hot", "consecutive_hot"]).sum()),
    }
    return Outcome(
        cells=len(cells),
        weeks=weeks,
        parent_resolution=parent_resolution,
        partitions=partitions,
        single_s=single_s,
        one_worker_s=one_s,
        two_workers_s=two_s,
        ratio=one_s / two_s,
        goal=GOAL_RATIO,
        max_abs_z_diff=diff,
        same_significance=same_sig,
        same_patterns=same_pat,
        driver_peak_mb={k: round(v, 1) for k, v in peaks.items()},
        worker_peak_rss_mb={str(k): round(float(v), 1) for k, v in workers.items()},
        planted=planted,
        found=found,
        task_compute_s={"one_worker": round(task_s[0], 2), "two_workers": round(task_s[1], 2)},
        load_average=[round(v, 2) for v in load],
    )


def print_table(o: Outcome) -> None:
    print(
        f"\nEmerging hot spots: {o.cells:,} cells x {o.weeks} weeks, "
        f"{o.partitions} partitions (H3 parents at resolution {o.parent_resolution})"
    )
    print(f"{'run':<34}{'seconds':>10}{'driver peak MB':>16}")
    for label, key, s in (
        ("single process (no Dask)", "single", o.single_s),
        ("Dask, 1 worker x 1 thread", "one_worker", o.one_worker_s),
        ("Dask, 2 workers x 1 thread", "two_workers", o.two_workers_s),
    ):
        print(f"{label:<34}{s:>10.2f}{o.driver_peak_mb[key]:>16.1f}")
    print(f"peak resident size of this process: {o.driver_peak_mb['process_rss']:.0f} MB")
    print(f"workers' peak resident size (MB): {o.worker_peak_rss_mb}")
    print(
        f"max |z dask - z single| = {o.max_abs_z_diff:.1e}; same significance: "
        f"{o.same_significance}; same patterns: {o.same_patterns}"
    )
    print(f"planted 2-rings: {o.planted}; cells found: {o.found}")
    print(
        f"tasks' compute seconds summed over the workers: {o.task_compute_s} (equal sums: the "
        f"second worker had a core of its own); 1-min load average before and between the runs "
        f"on {os.cpu_count()} cores: {o.load_average}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", "--smoke", action="store_true", help="a smoke test")
    parser.add_argument("--cells", type=int, default=None)
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--parent-resolution", type=int, default=6)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    n_cells = args.cells or (SMALL_CELLS if args.small else DEFAULT_CELLS)
    weeks = args.weeks or (SMALL_WEEKS if args.small else DEFAULT_WEEKS)
    outcome = run(n_cells, weeks, args.parent_resolution, args.seed)
    return report(outcome, RESULT_JSON, print_table)


if __name__ == "__main__":
    raise SystemExit(main())
