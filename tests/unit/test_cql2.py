"""CQL2 → SQL compiler: exact SQL for simple filters, errors, text/JSON equivalence, injection."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import shapely

from geotranquil.errors import InvalidInput
from geotranquil.features.cql2 import (
    SUPPORTED_CONFORMANCE,
    Queryable,
    compile_filter,
)

Q: dict[str, Queryable] = {
    name: Queryable(name, f"t.{name}", kind)
    for name, kind in [
        ("category", "string"),
        ("n", "integer"),
        ("score", "number"),
        ("flag", "boolean"),
        ("occurred_at", "datetime"),
        ("day", "date"),
        ("geom", "geometry"),
    ]
}
CAT = {"property": "category"}
N = {"property": "n"}
OCC = {"property": "occurred_at"}
GEOM = {"property": "geom"}


def text(expression: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    return compile_filter(expression, "cql2-text", Q, **kwargs)


def cjson(expression: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    return compile_filter(expression, "cql2-json", Q, **kwargs)


@pytest.mark.parametrize(
    ("expression", "sql", "params"),
    [
        ("category = 'vol'", "t.category = :cql0", {"cql0": "vol"}),
        ("n <> 3", "t.n <> :cql0", {"cql0": 3}),
        ("score >= 1.5", "t.score >= :cql0", {"cql0": 1.5}),
        ("flag = true", "t.flag = :cql0", {"cql0": True}),
        (
            "category = 'a' AND (n < 2 OR n > 5)",
            "(t.category = :cql0 AND (t.n < :cql1 OR t.n > :cql2))",
            {"cql0": "a", "cql1": 2, "cql2": 5},
        ),
        ("NOT n = 1", "NOT (t.n = :cql0)", {"cql0": 1}),
        ("category LIKE 'v%'", "t.category LIKE :cql0", {"cql0": "v%"}),
        ("category NOT LIKE 'v_l'", "t.category NOT LIKE :cql0", {"cql0": "v_l"}),
        ("n BETWEEN 1 AND 3", "t.n BETWEEN :cql0 AND :cql1", {"cql0": 1, "cql1": 3}),
        ("n IN (1, 2, 1)", "t.n IN (:cql0, :cql1, :cql0)", {"cql0": 1, "cql1": 2}),
        ("n NOT IN (4)", "t.n NOT IN (:cql0)", {"cql0": 4}),
        ("category IS NULL", "t.category IS NULL", {}),
        ("geom IS NOT NULL", "t.geom IS NOT NULL", {}),
        ("n = score", "t.n = t.score", {}),
        (
            "CASEI(category) = CASEI('Vol')",
            "lower(t.category) = lower(CAST(:cql0 AS text))",
            {"cql0": "Vol"},
        ),
        ("category = 'it''s'", "t.category = :cql0", {"cql0": "it's"}),
        ("\"category\" = 'x'", "t.category = :cql0", {"cql0": "x"}),
        ("INCLUDE", "TRUE", {}),
    ],
)
def test_simple_filters_give_exact_sql(expression: str, sql: str, params: dict[str, Any]) -> None:
    assert text(expression) == (sql, params)


def test_prefix_names_the_parameters() -> None:
    assert text("n = 1 AND category = 'a'", prefix="f") == (
        "(t.n = :f0 AND t.category = :f1)",
        {"f0": 1, "f1": "a"},
    )


def test_spatial_literal_is_bound_as_wkt_and_transformed_from_the_filter_crs() -> None:
    sql, params = text("S_INTERSECTS(geom, POINT(5.37 43.29))")
    assert sql == "ST_Intersects(t.geom, ST_GeomFromText(:cql0, 4326))"
    assert params == {"cql0": "POINT (5.37 43.29)"}
    sql, params = text("S_WITHIN(geom, POINT(893000 6247000))", filter_srid=2154)
    assert sql == "ST_Within(t.geom, ST_Transform(ST_GeomFromText(:cql0, 2154), 4326))"
    assert params == {"cql0": "POINT (893000 6247000)"}


def test_lat_lon_swaps_literal_coordinates() -> None:
    assert text("S_INTERSECTS(geom, POINT(43.29 5.37))", lat_lon=True)[1] == {
        "cql0": "POINT (5.37 43.29)"
    }
    box = text("S_INTERSECTS(geom, BBOX(43.2, 5.3, 43.3, 5.4))", lat_lon=True)[1]["cql0"]
    same = text("S_INTERSECTS(geom, BBOX(5.3, 43.2, 5.4, 43.3))")[1]["cql0"]
    assert shapely.from_wkt(box).equals(shapely.from_wkt(same))


def test_bbox_and_envelope_literals() -> None:
    sql, params = text("S_INTERSECTS(geom, BBOX(5.3, 43.2, 5.4, 43.3))")
    assert sql == "ST_Intersects(t.geom, ST_GeomFromText(:cql0, 4326))"
    assert params["cql0"] == "POLYGON ((5.3 43.2, 5.4 43.2, 5.4 43.3, 5.3 43.3, 5.3 43.2))"
    six = text("S_INTERSECTS(geom, BBOX(5.3, 43.2, 0, 5.4, 43.3, 10))")
    assert six == (sql, params)
    envelope = text("S_INTERSECTS(geom, ENVELOPE(5.3 5.4 43.2 43.3))")[1]["cql0"]
    assert envelope.startswith("POLYGON ((5.3 43.2")


@pytest.mark.parametrize(
    ("function", "sql"),
    [
        ("S_INTERSECTS", "ST_Intersects"),
        ("S_DISJOINT", "ST_Disjoint"),
        ("S_CONTAINS", "ST_Contains"),
        ("S_WITHIN", "ST_Within"),
        ("S_TOUCHES", "ST_Touches"),
        ("S_CROSSES", "ST_Crosses"),
        ("S_OVERLAPS", "ST_Overlaps"),
        ("S_EQUALS", "ST_Equals"),
    ],
)
def test_every_spatial_function(function: str, sql: str) -> None:
    got, _ = text(f"{function}(geom, LINESTRING(5.3 43.2, 5.4 43.3))")
    assert got == f"{sql}(t.geom, ST_GeomFromText(:cql0, 4326))"


def test_timestamps_are_bound_timezone_aware_in_utc() -> None:
    sql, params = text("occurred_at > TIMESTAMP('2024-03-01T10:00:00')")
    assert sql == "t.occurred_at > :cql0"
    assert params["cql0"] == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert params["cql0"].tzinfo is not None
    _, params = text("occurred_at > TIMESTAMP('2024-03-01T12:00:00+02:00')")
    assert params["cql0"] == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_date_against_a_timestamp_is_the_whole_utc_day() -> None:
    sql, params = text("occurred_at = DATE('2024-03-01')")
    assert sql == "(t.occurred_at >= :cql0 AND t.occurred_at < :cql1)"
    assert params == {
        "cql0": datetime(2024, 3, 1, tzinfo=UTC),
        "cql1": datetime(2024, 3, 2, tzinfo=UTC),
    }
    assert text("occurred_at <= DATE('2024-03-01')") == (
        "t.occurred_at < :cql0",
        {"cql0": datetime(2024, 3, 2, tzinfo=UTC)},
    )


def test_temporal_functions_on_an_instant() -> None:
    start = "TIMESTAMP('2024-01-01T00:00:00Z')"
    interval = "INTERVAL('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z')"
    assert text(f"T_AFTER(occurred_at, {start})")[0] == "t.occurred_at > :cql0"
    assert text(f"T_BEFORE(occurred_at, {start})")[0] == "t.occurred_at < :cql0"
    assert text(f"T_INTERSECTS(occurred_at, {interval})")[0] == (
        "(t.occurred_at >= :cql0 AND t.occurred_at <= :cql1)"
    )
    assert text(f"T_DURING(occurred_at, {interval})")[0] == (
        "(t.occurred_at > :cql0 AND t.occurred_at < :cql1)"
    )
    assert text(f"T_DISJOINT(occurred_at, {interval})")[0] == (
        "(t.occurred_at < :cql0 OR t.occurred_at > :cql1)"
    )
    # open ends
    assert text("T_INTERSECTS(occurred_at, INTERVAL('2024-01-01T00:00:00Z', '..'))")[0] == (
        "t.occurred_at >= :cql0"
    )
    assert text("T_AFTER(occurred_at, INTERVAL('..', '..'))")[0] == (
        "(t.occurred_at IS NULL AND NULL)"
    )
    # the infix form pygeofilter also reads
    assert text(f"occurred_at T_AFTER {start}") == text(f"T_AFTER(occurred_at, {start})")


@pytest.mark.parametrize(
    "function",
    [
        "T_AFTER",
        "T_BEFORE",
        "T_CONTAINS",
        "T_DISJOINT",
        "T_DURING",
        "T_EQUALS",
        "T_FINISHEDBY",
        "T_FINISHES",
        "T_INTERSECTS",
        "T_MEETS",
        "T_METBY",
        "T_OVERLAPPEDBY",
        "T_OVERLAPS",
        "T_STARTEDBY",
        "T_STARTS",
    ],
)
def test_every_temporal_function_compiles_in_text_and_json(function: str) -> None:
    bounds = ["2024-01-01", "2024-01-31"]
    sql, params = text(f"{function}(occurred_at, INTERVAL('{bounds[0]}', '{bounds[1]}'))")
    assert (sql, params) == cjson({"op": function.lower(), "args": [OCC, {"interval": bounds}]})
    assert all(isinstance(v, datetime) and v.tzinfo is not None for v in params.values())


EQUIVALENT: list[tuple[str, Any]] = [
    ("n BETWEEN 1 AND 3", {"op": "between", "args": [N, 1, 3]}),
    ("n NOT IN (1, 2)", {"op": "not", "args": [{"op": "in", "args": [N, [1, 2]]}]}),
    ("category IS NOT NULL", {"op": "not", "args": [{"op": "isNull", "args": [CAT]}]}),
    ("category LIKE 'v%'", {"op": "like", "args": [CAT, "v%"]}),
    (
        "CASEI(category) LIKE CASEI('v%')",
        {"op": "like", "args": [{"op": "casei", "args": [CAT]}, {"op": "casei", "args": ["v%"]}]},
    ),
    (
        "S_INTERSECTS(geom, BBOX(5.3, 43.2, 5.4, 43.3))",
        {"op": "s_intersects", "args": [GEOM, {"bbox": [5.3, 43.2, 5.4, 43.3]}]},
    ),
    (
        "S_WITHIN(geom, POLYGON((5 43, 6 43, 6 44, 5 44, 5 43)))",
        {
            "op": "s_within",
            "args": [
                GEOM,
                {"type": "Polygon", "coordinates": [[[5, 43], [6, 43], [6, 44], [5, 44], [5, 43]]]},
            ],
        },
    ),
    (
        "T_INTERSECTS(occurred_at, INTERVAL('2024-01-01', '..'))",
        {"op": "t_intersects", "args": [OCC, {"interval": ["2024-01-01", ".."]}]},
    ),
    (
        "occurred_at > TIMESTAMP('2024-01-01T00:00:00')",
        {"op": ">", "args": [OCC, {"timestamp": "2024-01-01T00:00:00"}]},
    ),
    ("occurred_at = DATE('2024-01-01')", {"op": "=", "args": [OCC, {"date": "2024-01-01"}]}),
    (
        "NOT (flag = true AND n < 3) OR category = 'x'",
        {
            "op": "or",
            "args": [
                {
                    "op": "not",
                    "args": [
                        {
                            "op": "and",
                            "args": [
                                {"op": "=", "args": [{"property": "flag"}, True]},
                                {"op": "<", "args": [N, 3]},
                            ],
                        }
                    ],
                },
                {"op": "=", "args": [CAT, "x"]},
            ],
        },
    ),
]


@pytest.mark.parametrize(("cql_text", "cql_json"), EQUIVALENT)
def test_text_and_json_give_the_same_sql_and_params(cql_text: str, cql_json: Any) -> None:
    expected = text(cql_text)
    assert cjson(cql_json) == expected
    assert cjson(json.dumps(cql_json)) == expected
    assert cjson({"filter": cql_json, "filter-lang": "cql2-json"}) == expected


INJECTIONS = [
    "category = 'x'') OR 1=1 --'",
    "category = 'x''; DROP TABLE events; --'",
    "category LIKE '%'' OR ''1''=''1'",
    "category IN ('a'') OR TRUE --', 'b')",
]


@pytest.mark.parametrize("expression", INJECTIONS)
def test_literals_never_reach_the_sql_text(expression: str) -> None:
    sql, params = text(expression)
    for value in params.values():
        assert str(value) not in sql
    for word in ("DROP", "OR 1", "TRUE", "--", "'"):
        assert word not in sql
    assert any("'" in str(v) for v in params.values())


def test_json_values_never_reach_the_sql_text() -> None:
    sql, params = cjson({"op": "=", "args": [CAT, "x') OR 1=1 --"]})
    assert sql == "t.category = :cql0"
    assert params == {"cql0": "x') OR 1=1 --"}


def test_unknown_property_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as error:
        text("foo = 1")
    assert str(error.value) == (
        "filtre CQL2 invalide : propriété « foo » inconnue ; propriétés disponibles : "
        "category, day, flag, geom, n, occurred_at, score"
    )
    with pytest.raises(InvalidInput, match="« bar » inconnue"):
        cjson({"op": "=", "args": [{"property": "bar"}, 1]})
    with pytest.raises(InvalidInput, match=re.escape("« t.category » inconnue")):
        text("\"t.category\" = 'x'")  # the SQL of a queryable is not a name


@pytest.mark.parametrize(
    "expression",
    [
        "category = 1",
        "n = 'x'",
        "flag = 1",
        "n LIKE 'a%'",
        "occurred_at = '2024-01-01'",
        "S_INTERSECTS(category, POINT(1 2))",
        "geom = 'x'",
        "T_AFTER(category, TIMESTAMP('2024-01-01T00:00:00Z'))",
        "n BETWEEN 'a' AND 'b'",
        "n IN (1, 'a')",
        "category = n",
        "CASEI(n) = 'a'",
    ],
)
def test_type_mismatch_is_an_error(expression: str) -> None:
    with pytest.raises(InvalidInput, match="filtre CQL2 invalide"):
        text(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "category = ",
        "(n = 1",
        "n = 1 AND",
        "category = 'x",
        "n == 1",
        "S_INTERSECTS(geom, POINT(1))",
        "occurred_at = TIMESTAMP('2024-13-45T00:00:00Z')",
        "   ",
    ],
)
def test_bad_syntax_is_invalid_input(expression: str) -> None:
    with pytest.raises(InvalidInput, match="filtre CQL2 illisible"):
        text(expression)


@pytest.mark.parametrize(
    "document",
    [
        '{"op": ',
        '{"op": "=", "args": [{"property": "n"}]}',
        '{"op": "=", "args": [{"property": "n"}, 1, 2]}',
        '{"foo": 1}',
        "[1, 2]",
        '{"op": 3, "args": []}',
    ],
)
def test_bad_json_is_invalid_input(document: str) -> None:
    with pytest.raises(InvalidInput):
        cjson(document)


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        ("n + 1 = 2", "+"),
        ("n * 2 > 3", "*"),
        ("A_CONTAINS(tags, ('a', 'b'))", "A_CONTAINS"),
        ("ACCENTI(category) = ACCENTI('é')", "ACCENTI"),
        ("foo(n) = 1", "foo"),
    ],
)
def test_unsupported_operator_is_named(expression: str, name: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(f"« {name} »")):
        text(expression)


@pytest.mark.parametrize(
    ("document", "name"),
    [
        ({"op": "a_overlaps", "args": [CAT, ["a"]]}, "a_overlaps"),
        ({"op": "+", "args": [N, 1]}, "+"),
        ({"op": "div", "args": [N, 1]}, "div"),
        ({"op": "accenti", "args": [CAT]}, "ACCENTI"),
        ({"op": "buffer", "args": [GEOM, 1]}, "buffer"),
    ],
)
def test_unsupported_json_operator_is_named(document: Any, name: str) -> None:
    with pytest.raises(InvalidInput, match="non pris"):
        cjson(document)
    with pytest.raises(InvalidInput) as error:
        cjson(document)
    assert f"« {name} »" in str(error.value)


def test_size_and_depth_limits() -> None:
    long = " OR ".join(f"n = {i}" for i in range(3000))
    assert len(long) > 20_000
    with pytest.raises(InvalidInput, match="trop long"):
        text(long)
    many = " AND ".join(f"n <> {i}" for i in range(400))  # long flat chains are fine
    assert len(text(many)[1]) == 400
    deep = "NOT " * 60 + "n = 1"
    with pytest.raises(InvalidInput, match="trop imbriquée"):
        text(deep)
    assert text("NOT " * 40 + "n = 1")[0].count("NOT") == 40
    nested: Any = {"op": "=", "args": [N, 1]}
    for _ in range(60):
        nested = {"op": "not", "args": [nested]}
    with pytest.raises(InvalidInput, match="trop imbriquée"):
        cjson(nested)
    very_deep: Any = 1
    for _ in range(5000):
        very_deep = [very_deep]
    with pytest.raises(InvalidInput):
        cjson({"op": "in", "args": [N, very_deep]})
    with pytest.raises(InvalidInput):
        cjson("[" * 10_000 + "]" * 10_000)


def test_wrong_language_and_srid() -> None:
    with pytest.raises(InvalidInput, match="cql2-text, cql2-json"):
        compile_filter("n = 1", "cql-text", Q)
    with pytest.raises(InvalidInput):
        compile_filter({"op": "=", "args": [N, 1]}, "cql2-text", Q)
    with pytest.raises(InvalidInput):
        text("n = 1", filter_srid=0)


def test_conformance_uris() -> None:
    assert "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2" in SUPPORTED_CONFORMANCE
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in (
        SUPPORTED_CONFORMANCE
    )
    assert all(uri.startswith("http://www.opengis.net/spec/") for uri in SUPPORTED_CONFORMANCE)
    assert not any("accent" in uri or "array" in uri for uri in SUPPORTED_CONFORMANCE)
    assert len(set(SUPPORTED_CONFORMANCE)) == len(SUPPORTED_CONFORMANCE)
