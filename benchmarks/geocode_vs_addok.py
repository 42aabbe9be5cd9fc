"""Geocoding benchmark: our BAN geocoder against addok on the same BAN file and queries, same run.

Peer: addok (the geocoder of the Base Adresse Nationale) with its French plugins, addok-fr and
addok-france, in its own environment ``.venv-addok`` (created if missing, see
:mod:`benchmarks._addok`), configured as addok's tutorial and the BAN's own instance configure
it for France, on Redis at 127.0.0.1:6379 in two dedicated databases
(``GEOTRANQUIL_BENCH_ADDOK_REDIS_DB``, default 7, and the next one; never other data).

Data: the synthetic BAN of Marseille for ``--seed``: the street network of
:func:`geotranquil.synth.streets.street_network` on the official geography
(``../shared/data/marseille``; the built-in one otherwise) and its named places, as
:func:`geotranquil.synth.ban.ban_frame` rows, written once in the official BAN CSV format
(:func:`geotranquil.geocode.ban.write_ban_csv`). The same file is

- loaded into the throw-away database ``geotranquil_bench_geocode`` (dropped and created
  again on each run; ``GEOTRANQUIL_BENCH_GEOCODE_DATABASE_URL``) by
  :func:`geotranquil.services.addresses.load_ban`, for ours;
- converted to addok's JSON lines (one document per street with its ``housenumbers``, one per
  named place, one per commune code) and indexed by ``addok reset --force``, ``addok batch``
  and ``addok ngrams``, for addok.

Queries: :func:`geotranquil.synth.address_queries.address_queries`, ``--queries-per-kind`` of
each kind (clean and degraded spellings, with their true point), the same list in the same
order for both sides.

Batch mode, warm, same treatment on both sides: each side geocodes the whole list once
untimed (ours builds its in-memory index from the database then; addok loads its
configuration and fills its caches), then once more, timed; throughput is the list length
over the wall time of that second pass. Ours is :func:`geotranquil.services.geocoding.
geocode_batch` in this process; addok is ``addok.core.search(q, limit=1,
autocomplete=False)`` for every query in one process of its environment (the call behind
addok-csv's CSV endpoint, without HTTP). Indexing is not timed (it is reported).

Accuracy, for each side and each kind (:func:`geotranquil.geocode.evaluation.evaluate`): the
share placed within 50 m of the truth, the share placed wrongly with high confidence (farther
than 50 m, or placed at all for an unknown street, with a score at least the placing
threshold ``GEOTRANQUIL_GEOCODE_MIN_SCORE``, 0.7 by default: one threshold everywhere; both
geocoders score in
[0, 1]; addok's score is its own final ``score``), the share left unplaced. The per-query
answers of both sides are written to ``<out>/geocode_vs_addok/queries.csv``. RESULT lines:

- ``geocode_accuracy_<kind>``, one per kind: PASS when ours places at least as many within
  50 m as addok (``ours_within >= addok_within``) and no more wrongly with high confidence
  (``ours_wrong_high <= addok_wrong_high``, issue 17);
- ``geocode_reliability_<side>``: the reliability curve, of the answers scored 0.9-1.0,
  0.8-0.9, 0.7-0.8, 0.5-0.7, the share within 50 m (``n`` answers in the bin);
- ``geocode_throughput``: addresses per second, ``ratio = ours / addok``, PASS when >= 2;
- ``geocode_goals``: ours alone against the absolute goals: within 50 m >= 0.995 on the clean
  kind, >= 0.96 on the degraded kinds pooled (``DEGRADED_KINDS`` and
  ``PHRASING_DEGRADED_KINDS`` of :mod:`geotranquil.geocode.query_kinds`: the house-number
  addresses written in one degraded way), and wrongly placed with high confidence < 0.005 on
  every kind.

Query sets (``--queries``): ``phrasing`` (default), written apart from the parser by
:mod:`geotranquil.synth.address_phrasing` on the synthetic BAN plus the traps of
:mod:`geotranquil.synth.street_traps`; ``classic``, :mod:`geotranquil.synth.address_queries`
on the plain synthetic BAN.

addok has no search for street crossings (``intersection`` queries) and places an unknown
street on its nearest lookalike with some score: both are scored like any other kind.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.geocode_vs_addok                  # 200 queries per kind
    .venv/bin/python -m benchmarks.geocode_vs_addok --smoke          # 20 queries per kind

Environment: ``GEOTRANQUIL_BENCH_GEOCODE_DATABASE_URL`` (default: the local server of
``GEOTRANQUIL_DATABASE_URL``, database ``geotranquil_bench_geocode``),
``GEOTRANQUIL_BENCH_ADDOK_REDIS_DB`` (default 7), ``GEOTRANQUIL_BENCH_OUT`` (output folder:
JSON summary, per-query CSV, BAN files, addok configuration).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import make_url

from benchmarks import _addok
from geotranquil.config import Settings
from geotranquil.db import admin
from geotranquil.db.engine import make_engine
from geotranquil.geocode.result import GeocodeResult

NAME = "geocode_vs_addok"
SEED = 20241101
DEFAULT_PER_KIND = 200
SMOKE_PER_KIND = 20
THROUGHPUT_GOAL = 2.0
CLEAN_GOAL = 0.995
DEGRADED_GOAL = 0.96
WRONG_HIGH_GOAL = 0.005
CLEAN_KIND = "clean"
DB_NAME = "geotranquil_bench_geocode"
OURS, ADDOK = "ours", "addok"

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", BENCH_DIR / "out"))
RESULT_JSON = OUT_DIR / f"{NAME}.json"
WORK_DIR = OUT_DIR / NAME


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_database_url() -> str:
    url = os.environ.get("GEOTRANQUIL_BENCH_GEOCODE_DATABASE_URL")
    if url:
        return url
    base = make_url(Settings().database_url)
    return base.set(database=DB_NAME).render_as_string(hide_password=False)


# --------------------------------------------------------------------------------------------
# data


def build_ban(settings: Settings, seed: int, traps: bool = True) -> tuple[pd.DataFrame, Any]:
    """The synthetic BAN rows of Marseille for ``seed`` and the street network they come from.

    With ``traps``, the real-world traps of :mod:`geotranquil.synth.street_traps` (split
    streets, homonyms once folded, near-homonyms, names ending in a country...) are added.
    """
    from geotranquil.geography.reference import load_geography
    from geotranquil.synth.ban import PLACES, ban_frame
    from geotranquil.synth.street_traps import trap_ban
    from geotranquil.synth.streets import street_network

    geography = load_geography(settings.reference_dir)
    network = street_network(geography, seed)
    ban = ban_frame(network, PLACES)
    if traps:
        ban = pd.concat([ban, trap_ban(geography, seed)], ignore_index=True)
    return ban, network


def build_queries(
    ban: pd.DataFrame, network: Any, seed: int, per_kind: int, kind_set: str = "phrasing"
) -> pd.DataFrame:
    """``phrasing``: the set written apart from the parser (issue 17); ``classic``: the old one."""
    if kind_set == "classic":
        from geotranquil.synth.address_queries import address_queries

        queries = address_queries(ban, network, n_per_kind=per_kind, seed=seed)
    else:
        from geotranquil.synth.address_phrasing import phrased_queries
        from geotranquil.synth.street_traps import ABSENT_PLACES

        queries = phrased_queries(ban, ABSENT_PLACES, n_per_kind=per_kind, seed=seed)
    return queries.reset_index(drop=True)


def prepare_ours(csv_path: Path, database_url: str) -> tuple[Settings, float]:
    """A fresh bench database with the BAN loaded; seconds spent."""
    from geotranquil.services.addresses import load_ban
    from geotranquil.services.database import upgrade_database

    started = time.perf_counter()
    admin.drop_database(database_url)
    settings = Settings(database_url=database_url)
    upgrade_database(settings)
    load_ban(settings, csv_path)
    return settings, time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# the two sides


def run_ours(settings: Settings, queries: list[str]) -> dict[str, Any]:
    """Our batch geocoder: one untimed pass (builds the index), then one timed pass."""
    from geotranquil.services.geocoding import geocode_batch

    engine = make_engine(settings)
    try:
        started = time.perf_counter()
        geocode_batch(engine, settings, queries)
        first = time.perf_counter() - started
        started = time.perf_counter()
        results = geocode_batch(engine, settings, queries)
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    return {"results": results, "elapsed_s": elapsed, "first_pass_s": first}


def run_addok(config: Path, queries: list[str]) -> dict[str, Any]:
    """addok's batch mode (one process: an untimed pass, then a timed pass)."""
    started = time.perf_counter()
    run = _addok.geocode(config, queries, WORK_DIR)
    wall = time.perf_counter() - started
    return {
        "results": [_addok.to_result(a) for a in run.answers],
        "elapsed_s": run.elapsed_s,
        "process_wall_s": wall,
    }


# --------------------------------------------------------------------------------------------
# accuracy


#: rows of the evaluation table that pool several kinds
POOLED_ROWS = ("degraded", "all")


def kinds_of(table: pd.DataFrame) -> list[str]:
    return [str(k) for k in table.index if str(k) not in POOLED_ROWS]


def result_lines(out: dict[str, Any]) -> list[str]:
    ours, peer = out["tables"][OURS], out["tables"][ADDOK]
    lines = []
    for kind in kinds_of(ours):
        ow, aw = float(ours.at[kind, "within"]), float(peer.at[kind, "within"])
        oh, ah = float(ours.at[kind, "wrong_high"]), float(peer.at[kind, "wrong_high"])
        ok = ow >= aw and oh <= ah
        lines.append(
            f"RESULT geocode_accuracy_{kind} ours_within={ow:.4f} addok_within={aw:.4f} "
            f"ours_wrong_high={oh:.4f} addok_wrong_high={ah:.4f} {'PASS' if ok else 'FAIL'}"
        )
    for side in (OURS, ADDOK):
        curve = out["reliability"][side]
        cells = " ".join(
            f"within_{b.replace('-', '_').replace('.', '')}={float(curve.at[b, 'within']):.4f}"
            f"/n={int(curve.at[b, 'n'])}"
            for b in curve.index
        )
        lines.append(f"RESULT geocode_reliability_{side} {cells}")
    ours_rate, peer_rate = out["throughput"][OURS], out["throughput"][ADDOK]
    ratio = ours_rate / peer_rate if peer_rate > 0 else 0.0
    lines.append(
        f"RESULT geocode_throughput ours_per_s={ours_rate:.1f} addok_per_s={peer_rate:.1f} "
        f"ratio={ratio:.3f} goal={THROUGHPUT_GOAL:g} "
        f"{'PASS' if ratio >= THROUGHPUT_GOAL else 'FAIL'}"
    )
    clean = float(ours.at[CLEAN_KIND, "within"])
    degraded = float(ours.at["degraded", "within"])
    wrong = float(ours.loc[kinds_of(ours), "wrong_high"].max())
    ok = clean >= CLEAN_GOAL and degraded >= DEGRADED_GOAL and wrong < WRONG_HIGH_GOAL
    lines.append(
        f"RESULT geocode_goals clean_within={clean:.4f} degraded_within={degraded:.4f} "
        f"wrong_high_max_kind={wrong:.4f} {'PASS' if ok else 'FAIL'}"
    )
    return lines


# --------------------------------------------------------------------------------------------
# run and output


def run(args: argparse.Namespace) -> dict[str, Any]:
    from geotranquil.geocode.ban import write_ban_csv
    from geotranquil.geocode.evaluation import evaluate, format_table, reliability

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    addok_bin = _addok.ensure_addok_venv()
    _log(f"addok: {addok_bin}")

    _log(f"building the synthetic BAN of Marseille (seed {args.seed})")
    ban, network = build_ban(settings, args.seed, traps=args.queries == "phrasing")
    csv_path = WORK_DIR / "ban.csv"
    write_ban_csv(ban, csv_path)
    jsonl = WORK_DIR / "ban_addok.jsonl"
    documents = _addok.ban_csv_to_addok(csv_path, jsonl)
    _log(f"BAN: {len(ban):,} rows; addok documents {documents}")

    database_url = bench_database_url()
    bench_settings, load_s = prepare_ours(csv_path, database_url)
    _log(f"ours: BAN loaded into {make_url(database_url).database} in {load_s:.1f} s")
    config = _addok.write_config(WORK_DIR / "addok_config.py", db=_addok.REDIS_DB)
    index_s = _addok.index(config, jsonl, db=_addok.REDIS_DB, rebuild=args.rebuild)

    queries = build_queries(ban, network, args.seed, args.queries_per_kind, args.queries)
    texts = [str(q) for q in queries["query"]]
    _log(f"{len(texts):,} queries, {queries['kind'].nunique()} kinds")

    sides = {OURS: run_ours(bench_settings, texts), ADDOK: run_addok(config, texts)}
    for side, got in sides.items():
        _log(f"{side}: {len(texts) / got['elapsed_s']:.1f} addresses/s (timed pass)")

    threshold = bench_settings.geocode_min_score
    tables = {
        side: evaluate(queries, got["results"], high_confidence=threshold)
        for side, got in sides.items()
    }
    curves = {side: reliability(queries, got["results"]) for side, got in sides.items()}
    write_per_query(queries, sides, WORK_DIR / "queries.csv")
    return {
        "seed": args.seed,
        "per_kind": args.queries_per_kind,
        "queries": len(texts),
        "ban_rows": len(ban),
        "addok_documents": documents,
        "addok_versions": _addok.plugin_versions(),
        "redis_dbs": [_addok.REDIS_DB, _addok.REDIS_DB + 1],
        "ours_load_s": load_s,
        "addok_index_s": index_s,
        "high_confidence": threshold,
        "formatted": {side: format_table(t) for side, t in tables.items()},
        "tables": tables,
        "reliability": curves,
        "query_set": args.queries,
        "throughput": {
            side: len(texts) / got["elapsed_s"] if got["elapsed_s"] > 0 else 0.0
            for side, got in sides.items()
        },
        "elapsed_s": {side: got["elapsed_s"] for side, got in sides.items()},
        "ours_first_pass_s": sides[OURS]["first_pass_s"],
        "addok_process_wall_s": sides[ADDOK]["process_wall_s"],
    }


def _row(result: GeocodeResult | None) -> dict[str, Any]:
    if result is None:
        return {"lon": None, "lat": None, "score": None, "precision": None, "label": None}
    return {
        "lon": result.lon,
        "lat": result.lat,
        "score": round(result.score, 4),
        "precision": result.precision,
        "label": result.label,
    }


def write_per_query(queries: pd.DataFrame, sides: dict[str, Any], path: Path) -> None:
    frame = queries.copy()
    for side, got in sides.items():
        answers = pd.DataFrame([_row(r) for r in got["results"]]).add_prefix(f"{side}_")
        frame = pd.concat([frame, answers], axis=1)
    frame.to_csv(path, index=False)


def print_tables(out: dict[str, Any]) -> None:
    print()
    print(
        f"synthetic BAN of Marseille, seed {out['seed']}: {out['ban_rows']:,} rows; addok "
        f"documents {out['addok_documents']}; {out['queries']:,} queries "
        f"({out['per_kind']} per kind); addok {out['addok_versions']} on Redis db "
        f"{out['redis_dbs'][0]}/{out['redis_dbs'][1]}"
    )
    for side in (OURS, ADDOK):
        print()
        print(f"{side}:")
        print(out["formatted"][side])
    ours, peer = out["tables"][OURS], out["tables"][ADDOK]
    print()
    head = f"{'kind':<22}{'n':>5}  {'within 50 m':>19}  {'wrong, high conf.':>19}  {'unplaced':>19}"
    print(head)
    print(f"{'':<27}" + "  ".join([f"{'ours':>9} {'addok':>9}"] * 3))
    print("-" * len(head))
    for kind in ours.index:
        cells = "  ".join(
            f"{float(ours.at[kind, c]):>9.3f} {float(peer.at[kind, c]):>9.3f}"
            for c in ("within", "wrong_high", "unplaced")
        )
        print(f"{kind:<22}{int(ours.at[kind, 'n']):>5}  {cells}")
    print()
    print(
        f"batch, warm (second pass timed, one process each): ours "
        f"{out['throughput'][OURS]:.1f} addresses/s ({out['elapsed_s'][OURS]:.3f} s), addok "
        f"{out['throughput'][ADDOK]:.1f} addresses/s ({out['elapsed_s'][ADDOK]:.3f} s)"
    )
    print(
        f"not timed: ours first pass (builds the index) {out['ours_first_pass_s']:.2f} s, BAN "
        f"load into PostgreSQL {out['ours_load_s']:.1f} s; addok indexing "
        f"{out['addok_index_s']:.1f} s (0 = kept from an earlier run on the same file)"
    )
    print(
        f"rules: a kind PASSes when ours_within >= addok_within and ours_wrong_high <= "
        f"addok_wrong_high (high confidence: score >= {out['high_confidence']:g}); goals: "
        f"clean within >= {CLEAN_GOAL}, degraded within >= {DEGRADED_GOAL}, wrong with high "
        f"confidence < {WRONG_HIGH_GOAL} on every kind"
    )
    print()


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return json.loads(value.reset_index().to_json(orient="records"))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{NAME}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--queries-per-kind",
        type=int,
        default=None,
        help=f"queries of each kind (default {DEFAULT_PER_KIND}; {SMOKE_PER_KIND} with --smoke)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--queries",
        choices=("phrasing", "classic"),
        default="phrasing",
        help="query set: written apart from the parser, on a BAN with traps (default), or the "
        "classic set of synth/address_queries.py on the plain synthetic BAN",
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"small run: {SMOKE_PER_KIND} queries per kind"
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="index addok again even if the file is the same"
    )
    args = parser.parse_args(argv)
    if args.queries_per_kind is None:
        args.queries_per_kind = SMOKE_PER_KIND if args.smoke else DEFAULT_PER_KIND
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = run(args)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in out.items() if k != "formatted"}
    RESULT_JSON.write_text(json.dumps(_jsonable(summary), indent=2, default=str) + "\n", "utf-8")
    print_tables(out)
    for line in result_lines(out):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
