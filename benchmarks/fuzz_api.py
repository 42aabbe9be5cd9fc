"""Fuzzing the whole API from its OpenAPI document (schemathesis), as public, planner and analyst.

    .venv/bin/python -m benchmarks.fuzz_api            # 60 examples per operation and mode
    .venv/bin/python -m benchmarks.fuzz_api 200        # more
    .venv/bin/python -m benchmarks.fuzz_api --smoke    # 3 per operation and mode

Our server (``uvicorn``, a subprocess) on its own database (``GEOTRANQUIL_BENCH_DATABASE_URL``,
default ``geotranquil_bench_fuzz`` on the test server, rebuilt each run: areas, the H3 grid at
resolutions 7 and 8, a few hundred events, keys). schemathesis reads ``/api`` and generates
requests for every operation, valid ones (``positive``) and invalid ones (``negative``); one
case in two names a real collection or layer, so that the generated parameters reach the
queries. Each request is sent once per role, and the answer checked: no 5xx
(``server_errors``), and its status, media type, headers and body as the document declares
(``schema_violations``). A request whose URL exceeds what the HTTP server reads (16 KiB,
h11's limit: long Unicode filters) is cut by the server before the application sees it; those
are counted apart (``URL over 16 KiB``), not as server errors. The run ends with

    RESULT fuzz cases=N server_errors=0 schema_violations=0 PASS

(PASS needs both at zero). The failures are printed (operation, role, status, request) and
written with the counts to ``var/benchmarks/fuzz_api.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

NAME = "fuzz_api"
OUT_DIR = Path(os.environ.get("GEOTRANQUIL_BENCH_OUT", "var/benchmarks"))
DEFAULT_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/geotranquil_bench_fuzz"
ROLES = ("public", "planner", "analyst")
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: uvicorn's HTTP/1.1 parser (h11) refuses a request head above 16 KiB by closing the
#: connection (nginx in front: 8 KiB by default); such cases are counted apart
HTTP_HEAD_LIMIT = 16 * 1024
#: path parameters that name a collection or a tile layer
COLLECTION_PARAMETERS = ("collection_id", "layer")
COLLECTIONS = (
    "events",
    "counts-r7",
    "counts-r8",
    "grid-r8",
    "commune",
    "arrondissements",
    "quartiers",
    "zones",
    "hotspots",
)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Failure:
    """One answer that broke a rule."""

    kind: str  # server_error | schema_violation
    operation: str
    role: str
    status: int
    request: str
    detail: str


@dataclass
class FuzzReport:
    """What a run did and found."""

    cases: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    operations: int = 0
    too_long_for_http: int = 0
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)

    @property
    def server_errors(self) -> int:
        return sum(f.kind == "server_error" for f in self.failures)

    @property
    def schema_violations(self) -> int:
        return sum(f.kind == "schema_violation" for f in self.failures)

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "cases": self.cases,
            "requests": self.requests,
            "too_long_for_http": self.too_long_for_http,
            "server_errors": self.server_errors,
            "schema_violations": self.schema_violations,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "by_operation": {
                op: {str(k): v for k, v in sorted(c.items())}
                for op, c in sorted(self.by_operation.items())
            },
            "failures": [f.__dict__ for f in self.failures[:200]],
        }


def _headers(role: str, keys: Mapping[str, str]) -> dict[str, str]:
    return {} if role == "public" else {"X-API-Key": keys[role]}


def _url_bytes(case: Any, base_url: str) -> int:
    """Length of the request line the case sends (path and encoded query)."""
    from urllib.parse import quote, urlencode

    path = case.formatted_path if hasattr(case, "formatted_path") else case.path
    query = urlencode(case.query or {}, doseq=True)
    return len(base_url) + len(quote(str(path), safe="/")) + len(query) + 16


def _describe(response: Any) -> str:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body[:300].decode("utf-8", "replace")
    said = f"{request.method} {str(request.url)[:500]}"
    return said + (f" body={str(body)[:300]}" if body else "")


@dataclass
class _Target:
    """Where and as whom the cases are sent, and where the findings go."""

    base_url: str
    keys: Mapping[str, str]
    roles: Sequence[str]
    collections: Sequence[str]
    chooser: random.Random
    timeout_s: float
    report: FuzzReport


def _exercise(target: _Target, label: str, case: Any, real: bool) -> None:
    """Send one case as every role and check each answer (findings recorded, never raised)."""
    report = target.report
    if real:
        for name in COLLECTION_PARAMETERS:
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = target.chooser.choice(target.collections)
    report.cases += 1
    for role in target.roles:
        try:
            response = case.call(
                base_url=target.base_url,
                headers=_headers(role, target.keys),
                timeout=target.timeout_s,
            )
        except Exception as exc:  # the server dropped the connection or hung
            if _url_bytes(case, target.base_url) > HTTP_HEAD_LIMIT:
                report.too_long_for_http += 1  # refused by the HTTP layer (h11), by design
                continue
            report.failures.append(
                Failure("server_error", label, role, 0, repr(case)[:500], repr(exc)[:500])
            )
            continue
        report.requests += 1
        report.statuses[response.status_code] += 1
        report.by_operation.setdefault(label, Counter())[response.status_code] += 1
        if response.status_code >= 500 and response.status_code != 503:
            report.failures.append(
                Failure(
                    "server_error",
                    label,
                    role,
                    response.status_code,
                    _describe(response),
                    response.text[:500],
                )
            )
            continue
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
            report.failures.append(
                Failure(
                    "schema_violation",
                    label,
                    role,
                    response.status_code,
                    _describe(response),
                    str(exc)[:800],
                )
            )


def _fuzz_operation(
    target: _Target, label: str, strategy: Any, examples: int, random_seed: int
) -> None:
    @seed(random_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, real=st.booleans())
    def fuzz(case: Any, real: bool) -> None:
        _exercise(target, label, case, real)

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters)
        fuzz()


def run_fuzz(
    base_url: str,
    keys: Mapping[str, str],
    *,
    examples: int,
    roles: Sequence[str] = ROLES,
    collections: Sequence[str] = COLLECTIONS,
    modes: Sequence[GenerationMode] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    random_seed: int = 14,
    timeout_s: float = 120.0,
) -> FuzzReport:
    """Fuzz every operation of ``base_url``'s ``/api``: ``examples`` cases per operation and
    generation mode, each sent once per role; the checks' failures are collected, not raised."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api")
    report = FuzzReport()
    target = _Target(
        base_url, keys, roles, collections, random.Random(random_seed), timeout_s, report
    )
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        label = f"{operation.method.upper()} {operation.path}"
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            _fuzz_operation(target, label, strategy, examples, random_seed)
    return report


# --------------------------------------------------------------------------------------------
# The stand-alone run: its own database and server


def prepare(database_url: str) -> dict[str, str]:
    """A fresh database: schema, areas, grid (r7, r8), events of the test mapping, keys."""
    from benchmarks import _servers
    from geotranquil.db.keys import create_key
    from geotranquil.services.geography import build_cells

    engine = _servers.fresh_database(database_url)
    try:
        build_cells(engine, [7, 8])
        _add_events(engine)
        keys = {}
        with engine.begin() as conn:
            for role in ("planner", "analyst"):
                keys[role], _ = create_key(conn=conn, name=f"fuzz {role}", role=role)
    finally:
        engine.dispose()
    return keys


def _add_events(engine: Any) -> None:
    """400 events of every category around the city centre, with their H3 cells."""
    from datetime import UTC, datetime, timedelta

    import h3
    from sqlalchemy import text

    from geotranquil.db.event_keys import add_missing_keys
    from geotranquil.db.partitions import ensure_event_partitions

    with engine.begin() as conn:
        codes = conn.execute(text("SELECT code FROM categories ORDER BY code")).scalars().all()
        source = conn.execute(
            text(
                "INSERT INTO sources (slug, name, kind, owner) "
                "VALUES ('fuzz', 'Fuzz', 'file', 'benchmarks') RETURNING id"
            )
        ).scalar_one()
        rows = []
        first = datetime(2025, 1, 6, 9, tzinfo=UTC)
        for i in range(400):
            lon, lat = 5.37 + (i % 17) * 0.002, 43.29 + (i % 13) * 0.002
            cells = {r: int(h3.latlng_to_cell(lat, lon, r), 16) for r in (7, 8, 9, 10, 12)}
            rows.append(
                {
                    "source": source,
                    "id": f"f{i}",
                    "category": codes[i % len(codes)],
                    "at": first + timedelta(hours=7 * i),
                    "lon": lon,
                    "lat": lat,
                    **{f"r{r}": c for r, c in cells.items()},
                }
            )
        ensure_event_partitions(conn=conn, first=rows[0]["at"], last=rows[-1]["at"])
        conn.execute(
            text(
                "INSERT INTO events (source_id, external_id, category, occurred_at, geom, "
                "h3_fine, h3_r7, h3_r8, h3_r9, h3_r10, location_precision) VALUES (:source, "
                ":id, :category, :at, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :r12, :r7, "
                ":r8, :r9, :r10, 'exact')"
            ),
            rows,
        )
        add_missing_keys(conn=conn)
        conn.execute(text("ANALYZE events"))


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks import _servers

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("examples", nargs="?", type=int, default=60)
    parser.add_argument("--smoke", action="store_true", help="3 examples per operation and mode")
    args = parser.parse_args(argv)
    examples = 3 if args.smoke else args.examples
    database_url = os.environ.get("GEOTRANQUIL_BENCH_DATABASE_URL", DEFAULT_URL)
    _log(f"preparing {database_url.rsplit('/', 1)[-1]}")
    keys = prepare(database_url)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    server = _servers.ours_server(
        "fuzz",
        database_url,
        OUT_DIR,
        extra_env={
            "GEOTRANQUIL_OPEN311_RATE_CLIENT_PER_MINUTE": "100000",
            "GEOTRANQUIL_OPEN311_RATE_CLIENT_BURST": "10000",
        },
    )
    server.start()
    started = time.monotonic()
    try:
        _log(f"fuzzing {server.base_url}/api, {examples} examples per operation and mode")
        report = run_fuzz(server.base_url, keys, examples=examples)
    finally:
        server.stop()
    seconds = time.monotonic() - started
    summary = {**report.summary(), "examples": examples, "seconds": round(seconds, 1)}
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"{'operations':<20}{report.operations:>10}")
    print(f"{'cases':<20}{report.cases:>10}")
    print(f"{'requests':<20}{report.requests:>10}")
    print(f"{'URL over 16 KiB':<20}{report.too_long_for_http:>10}")
    print(f"{'seconds':<20}{seconds:>10.1f}")
    for status, count in sorted(report.statuses.items()):
        print(f"{'status ' + str(status):<20}{count:>10}")
    for failure in report.failures[:30]:
        print(f"{failure.kind} {failure.operation} as {failure.role}: {failure.status}")
        print(f"    {failure.request}")
        print(f"    {failure.detail[:300]}")
    ok = report.server_errors == 0 and report.schema_violations == 0 and report.cases > 0
    print(
        f"RESULT fuzz cases={report.cases} server_errors={report.server_errors} "
        f"schema_violations={report.schema_violations} {'PASS' if ok else 'FAIL'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
