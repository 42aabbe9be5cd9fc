"""CQL2 filters compiled by ``features.cql2`` and run on PostGIS: exact sets of ids.

Ten rows around Marseille in a TEMP table (rolled back); every filter is written in CQL2 text
and in CQL2 JSON and both must select exactly the expected ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pyproj import Transformer
from sqlalchemy import Connection, Engine, text

from geotranquil.features.cql2 import Queryable, compile_filter

ROWS = [
    # id, category, n, score, flag, occurred_at, lon, lat
    (1, "vol", 1, 0.5, True, "2024-01-05T10:00:00Z", 5.37, 43.30),
    (2, "Vol", 2, 1.5, False, "2024-01-15T23:30:00Z", 5.38, 43.29),
    (3, "bruit", 3, 2.5, True, "2024-02-01T00:00:00Z", 5.40, 43.25),
    (4, "tapage", 4, 3.5, None, "2024-02-10T12:00:00Z", 5.45, 43.33),
    (5, "dépôt sauvage", 5, 4.5, False, "2024-03-01T08:00:00Z", 5.32, 43.22),
    (6, "vol à l'arraché", 6, None, True, "2024-03-15T18:00:00Z", 5.48, 43.21),
    (7, None, 7, 6.5, False, None, 5.35, 43.34),
    (8, "graffiti", 8, 8.0, True, "2023-12-31T23:59:59Z", 5.42, 43.28),
    (9, "vol", 9, 9.0, False, "2024-01-01T00:00:00Z", None, None),
    (10, "bruit", 10, 10.0, True, "2024-04-01T00:00:00Z", 5.39, 43.31),
]
ALL = set(range(1, 11))

Q = {
    name: Queryable(name, f"t.{column}", kind)
    for name, column, kind in [
        ("category", "category", "string"),
        ("n", "n", "integer"),
        ("score", "score", "number"),
        ("flag", "flag", "boolean"),
        ("occurred_at", "occurred_at", "datetime"),
        ("geometry", "geom", "geometry"),
    ]
}

# A box around the Vieux-Port holding rows 1, 2 and 10, in lon/lat.
BOX = (5.36, 43.27, 5.41, 43.32)
RING = [(BOX[0], BOX[1]), (BOX[2], BOX[1]), (BOX[2], BOX[3]), (BOX[0], BOX[3]), (BOX[0], BOX[1])]


def wkt_polygon(ring: list[tuple[float, float]]) -> str:
    return "POLYGON((" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + "))"


def geojson_polygon(ring: list[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(point) for point in ring]]}


def p(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Any) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


def ts(value: str) -> dict[str, str]:
    return {"timestamp": value}


def interval(start: str, end: str) -> dict[str, list[str]]:
    return {"interval": [start, end]}


BBOX_JSON = {"bbox": list(BOX)}
BBOX_TEXT = "BBOX({}, {}, {}, {})".format(*BOX)

CASES: list[tuple[str, dict[str, Any], set[int]]] = [
    # basic comparisons
    ("category = 'vol'", op("=", p("category"), "vol"), {1, 9}),
    ("category <> 'vol'", op("<>", p("category"), "vol"), {2, 3, 4, 5, 6, 8, 10}),
    ("category = 'vol à l''arraché'", op("=", p("category"), "vol à l'arraché"), {6}),
    (
        "n > 3 AND n <= 6",
        op("and", op(">", p("n"), 3), op("<=", p("n"), 6)),
        {4, 5, 6},
    ),
    ("flag = true", op("=", p("flag"), True), {1, 3, 6, 8, 10}),
    ("NOT (flag = true)", op("not", op("=", p("flag"), True)), {2, 5, 7, 9}),
    ("score >= n", op(">=", p("score"), p("n")), {8, 9, 10}),
    ("category IS NULL", op("isNull", p("category")), {7}),
    ("score IS NULL", op("isNull", p("score")), {6}),
    ("flag IS NOT NULL", op("not", op("isNull", p("flag"))), ALL - {4}),
    # advanced comparisons
    ("category LIKE 'vol%'", op("like", p("category"), "vol%"), {1, 6, 9}),
    ("category NOT LIKE '_ol'", op("not", op("like", p("category"), "_ol")), ALL - {1, 2, 7, 9}),
    ("n BETWEEN 2 AND 4", op("between", p("n"), 2, 4), {2, 3, 4}),
    ("n NOT BETWEEN 2 AND 9", op("not", op("between", p("n"), 2, 9)), {1, 10}),
    ("category IN ('bruit', 'tapage')", op("in", p("category"), ["bruit", "tapage"]), {3, 4, 10}),
    (
        "category NOT IN ('vol', 'Vol')",
        op("not", op("in", p("category"), ["vol", "Vol"])),
        {3, 4, 5, 6, 8, 10},
    ),
    # case-insensitive comparison
    (
        "CASEI(category) = CASEI('VOL')",
        op("=", op("casei", p("category")), op("casei", "VOL")),
        {1, 2, 9},
    ),
    (
        "CASEI(category) LIKE CASEI('VOL%')",
        op("like", op("casei", p("category")), op("casei", "VOL%")),
        {1, 2, 6, 9},
    ),
    # instants compared with timestamps and dates
    (
        "occurred_at >= TIMESTAMP('2024-02-01T00:00:00Z')",
        op(">=", p("occurred_at"), ts("2024-02-01T00:00:00Z")),
        {3, 4, 5, 6, 10},
    ),
    (
        "occurred_at < TIMESTAMP('2024-01-01T01:00:00+01:00')",
        op("<", p("occurred_at"), ts("2024-01-01T01:00:00+01:00")),
        {8},
    ),
    (
        "occurred_at = TIMESTAMP('2024-01-05T10:00:00')",
        op("=", p("occurred_at"), ts("2024-01-05T10:00:00")),
        {1},
    ),
    ("occurred_at < DATE('2024-01-01')", op("<", p("occurred_at"), {"date": "2024-01-01"}), {8}),
    ("occurred_at = DATE('2024-01-01')", op("=", p("occurred_at"), {"date": "2024-01-01"}), {9}),
    # temporal functions
    (
        "T_INTERSECTS(occurred_at, INTERVAL('2024-01-01', '2024-01-31'))",
        op("t_intersects", p("occurred_at"), interval("2024-01-01", "2024-01-31")),
        {1, 2, 9},
    ),
    (
        "T_DURING(occurred_at, INTERVAL('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'))",
        op("t_during", p("occurred_at"), interval("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")),
        {1, 2},
    ),
    (
        "T_AFTER(occurred_at, TIMESTAMP('2024-03-01T08:00:00Z'))",
        op("t_after", p("occurred_at"), ts("2024-03-01T08:00:00Z")),
        {6, 10},
    ),
    (
        "T_BEFORE(occurred_at, TIMESTAMP('2024-01-01T00:00:00Z'))",
        op("t_before", p("occurred_at"), ts("2024-01-01T00:00:00Z")),
        {8},
    ),
    (
        "T_DISJOINT(occurred_at, INTERVAL('2024-01-01T00:00:00Z', '2024-03-01T08:00:00Z'))",
        op(
            "t_disjoint",
            p("occurred_at"),
            interval("2024-01-01T00:00:00Z", "2024-03-01T08:00:00Z"),
        ),
        {6, 8, 10},
    ),
    (
        "T_INTERSECTS(occurred_at, INTERVAL('2024-03-01', '..'))",
        op("t_intersects", p("occurred_at"), interval("2024-03-01", "..")),
        {5, 6, 10},
    ),
    (
        "NOT T_INTERSECTS(occurred_at, INTERVAL('..', '2024-01-31'))",
        op("not", op("t_intersects", p("occurred_at"), interval("..", "2024-01-31"))),
        {3, 4, 5, 6, 10},
    ),
    (
        "T_EQUALS(occurred_at, TIMESTAMP('2024-02-01T00:00:00Z'))",
        op("t_equals", p("occurred_at"), ts("2024-02-01T00:00:00Z")),
        {3},
    ),
    (
        "T_MEETS(occurred_at, INTERVAL('2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z'))",
        op("t_meets", p("occurred_at"), interval("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")),
        {3},
    ),
    (
        "T_METBY(occurred_at, INTERVAL('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'))",
        op("t_metby", p("occurred_at"), interval("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")),
        {3},
    ),
    (
        "T_STARTS(occurred_at, INTERVAL('2024-01-01T00:00:00Z', '..'))",
        op("t_starts", p("occurred_at"), interval("2024-01-01T00:00:00Z", "..")),
        {9},
    ),
    (
        "T_FINISHES(occurred_at, INTERVAL('..', '2024-04-01T00:00:00Z'))",
        op("t_finishes", p("occurred_at"), interval("..", "2024-04-01T00:00:00Z")),
        {10},
    ),
    (
        "T_OVERLAPS(occurred_at, INTERVAL('2024-01-01', '2024-12-31'))",
        op("t_overlaps", p("occurred_at"), interval("2024-01-01", "2024-12-31")),
        set(),
    ),
    (
        "T_CONTAINS(occurred_at, INTERVAL('2024-01-01', '2024-12-31'))",
        op("t_contains", p("occurred_at"), interval("2024-01-01", "2024-12-31")),
        set(),
    ),
    # spatial functions
    (
        f"S_INTERSECTS(geometry, {wkt_polygon(RING)})",
        op("s_intersects", p("geometry"), geojson_polygon(RING)),
        {1, 2, 10},
    ),
    (f"S_WITHIN(geometry, {BBOX_TEXT})", op("s_within", p("geometry"), BBOX_JSON), {1, 2, 10}),
    (
        f"S_DISJOINT(geometry, {BBOX_TEXT})",
        op("s_disjoint", p("geometry"), BBOX_JSON),
        {3, 4, 5, 6, 7, 8},
    ),
    (
        "S_EQUALS(geometry, POINT(5.37 43.3))",
        op("s_equals", p("geometry"), {"type": "Point", "coordinates": [5.37, 43.3]}),
        {1},
    ),
    (
        "S_CONTAINS(geometry, POINT(5.37 43.3))",
        op("s_contains", p("geometry"), {"type": "Point", "coordinates": [5.37, 43.3]}),
        {1},
    ),
    (
        "S_TOUCHES(geometry, LINESTRING(5.37 43.3, 5.5 43.5))",
        op(
            "s_touches",
            p("geometry"),
            {"type": "LineString", "coordinates": [[5.37, 43.3], [5.5, 43.5]]},
        ),
        {1},
    ),
    (
        f"S_OVERLAPS(geometry, {BBOX_TEXT})",
        op("s_overlaps", p("geometry"), BBOX_JSON),
        set(),
    ),
    (  # literal-literal: true for every row
        f"S_CROSSES(LINESTRING(5.30 43.30, 5.45 43.30), {BBOX_TEXT})",
        op(
            "s_crosses",
            {"type": "LineString", "coordinates": [[5.30, 43.30], [5.45, 43.30]]},
            BBOX_JSON,
        ),
        ALL,
    ),
    # combined
    (
        f"(category = 'vol' OR flag = true) AND S_INTERSECTS(geometry, {BBOX_TEXT})",
        op(
            "and",
            op("or", op("=", p("category"), "vol"), op("=", p("flag"), True)),
            op("s_intersects", p("geometry"), BBOX_JSON),
        ),
        {1, 10},
    ),
    # an injection attempt is only a string that matches nothing
    ("category = 'x'') OR 1=1 --'", op("=", p("category"), "x') OR 1=1 --"), set()),
]


@pytest.fixture(scope="module")
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(
            text(
                "CREATE TEMP TABLE t (id int PRIMARY KEY, category text, n int, "
                "score double precision, flag boolean, occurred_at timestamptz, "
                "geom geometry(Point, 4326))"
            )
        )
        for row in ROWS:
            ident, category, n, score, flag, occurred_at, lon, lat = row
            connection.execute(
                text(
                    "INSERT INTO t VALUES (:id, :category, :n, :score, :flag, "
                    "CAST(:occurred_at AS timestamptz), "
                    "CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL "
                    "ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END)"
                ),
                {
                    "id": ident,
                    "category": category,
                    "n": n,
                    "score": score,
                    "flag": flag,
                    "occurred_at": occurred_at,
                    "lon": lon,
                    "lat": lat,
                },
            )
        yield connection
        transaction.rollback()


def ids(conn: Connection, sql: str, params: dict[str, Any]) -> set[int]:
    return set(conn.execute(text(f"SELECT id FROM t WHERE ({sql})"), params).scalars())


@pytest.mark.parametrize(
    ("cql_text", "cql_json", "expected"),
    CASES,
    ids=[case[0][:60] for case in CASES],
)
def test_filter_selects_exact_ids(
    conn: Connection, cql_text: str, cql_json: dict[str, Any], expected: set[int]
) -> None:
    sql, params = compile_filter(cql_text, "cql2-text", Q)
    assert ids(conn, sql, params) == expected
    sql_json, params_json = compile_filter(cql_json, "cql2-json", Q)
    assert ids(conn, sql_json, params_json) == expected


def test_lambert93_literal_selects_the_same_rows(conn: Connection) -> None:
    to_l93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    ring_l93 = [to_l93.transform(x, y) for x, y in RING]
    sql, params = compile_filter(
        f"S_INTERSECTS(geometry, {wkt_polygon(ring_l93)})", "cql2-text", Q, filter_srid=2154
    )
    assert "2154" in sql
    assert ids(conn, sql, params) == {1, 2, 10}
    sql, params = compile_filter(
        op("s_intersects", p("geometry"), geojson_polygon(ring_l93)),
        "cql2-json",
        Q,
        filter_srid=2154,
    )
    assert ids(conn, sql, params) == {1, 2, 10}
    # Lambert-93 box: corners transformed, rows 1, 2, 10 are far from the edges
    xs = [x for x, _ in ring_l93]
    ys = [y for _, y in ring_l93]
    box = f"BBOX({min(xs)}, {min(ys)}, {max(xs)}, {max(ys)})"
    sql, params = compile_filter(f"S_WITHIN(geometry, {box})", "cql2-text", Q, filter_srid=2154)
    assert ids(conn, sql, params) == {1, 2, 10}


def test_lat_lon_axis_order_swaps_literals(conn: Connection) -> None:
    swapped = [(y, x) for x, y in RING]
    sql, params = compile_filter(
        f"S_INTERSECTS(geometry, {wkt_polygon(swapped)})", "cql2-text", Q, lat_lon=True
    )
    assert ids(conn, sql, params) == {1, 2, 10}
    sql, params = compile_filter(
        op("s_intersects", p("geometry"), geojson_polygon(swapped)), "cql2-json", Q, lat_lon=True
    )
    assert ids(conn, sql, params) == {1, 2, 10}
    latlon_box = f"BBOX({BOX[1]}, {BOX[0]}, {BOX[3]}, {BOX[2]})"
    sql, params = compile_filter(f"S_WITHIN(geometry, {latlon_box})", "cql2-text", Q, lat_lon=True)
    assert ids(conn, sql, params) == {1, 2, 10}
    # without the swap, the same literal lies far away (lat as lon): nothing
    sql, params = compile_filter(f"S_INTERSECTS(geometry, {wkt_polygon(swapped)})", "cql2-text", Q)
    assert ids(conn, sql, params) == set()


def test_literal_literal_comparisons_run(conn: Connection) -> None:
    sql, params = compile_filter("1 = 1 AND 'a' <> 'b'", "cql2-text", Q)
    assert ids(conn, sql, params) == ALL
    sql, params = compile_filter(
        "T_INTERSECTS(INTERVAL('2024-01-01', '2024-01-03'), INTERVAL('2024-01-02', '..'))",
        "cql2-text",
        Q,
    )
    assert ids(conn, sql, params) == ALL
