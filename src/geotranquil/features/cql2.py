"""CQL2 filters (OGC API - Features - Part 3) compiled to a PostGIS ``WHERE`` expression.

A filter arrives as CQL2 text or CQL2 JSON. ``pygeofilter`` parses it into its AST; this module
walks that AST and writes a SQL boolean expression in which every literal is a bound parameter
(``:cql0``, ``:cql1``...) and every property is replaced by the trusted SQL expression of the
catalogue's :class:`Queryable`. Nothing the client wrote is ever pasted into the SQL text.

Two adaptations of ``pygeofilter`` 0.4 are made before walking:

- the CQL2 text grammar shipped with ``pygeofilter`` is loaded and patched where it departs from
  the CQL2 1.0 standard: function-style temporal predicates (``T_AFTER(a, b)``), the
  ``T_STARTS``/``T_FINISHES``/``T_DISJOINT`` family, ``INTERVAL`` with dates and open ends
  (``'..'``), one-letter property names and ``''`` inside string literals;
- CQL2 JSON is normalised first (three-argument ``between``, ``{"bbox": [...]}`` literals,
  ``casei``/``accenti`` operators, the ``t_*`` names ``pygeofilter`` does not know).

``T_INTERSECTS`` and ``T_DISJOINT`` are parsed as ``NOT (T_BEFORE OR T_AFTER)`` and
``T_BEFORE OR T_AFTER``, their definitions in the standard (``pygeofilter`` confuses
``T_INTERSECTS`` with ``T_OVERLAPS``); the compiler recognises these shapes and writes the
comparisons of bounds directly.

Temporal semantics: properties are instants; an instant is a degenerate interval whose start and
end coincide, so the interval functions (``T_DURING``...) follow the W3C OWL-Time definitions with
closed intervals. A naive timestamp is taken as UTC. When a timestamp meets a date, the timestamp
is coarsened to its UTC calendar day (``occurred_at = DATE('2024-03-01')`` is true for the whole
UTC day); against a stored timestamp this is written as a half-open range, so indexes still apply.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import lark
import shapely
from pygeofilter import ast, values
from pygeofilter.cql2 import TEMPORAL_PREDICATES_MAP
from pygeofilter.parsers.cql2_json import parse as _parse_cql2_json
from pygeofilter.parsers.cql2_json.parser import walk_cql_json as _walk_cql_json
from pygeofilter.parsers.cql2_text import parser as _text_parser_module
from shapely.geometry import shape

from geotranquil.errors import InvalidGeometry, InvalidInput

__all__ = [
    "MAX_FILTER_CHARS",
    "MAX_FILTER_DEPTH",
    "SUPPORTED_CONFORMANCE",
    "Queryable",
    "check_filter_text",
    "compile_filter",
]

MAX_FILTER_CHARS = 20_000
"""Longest filter accepted, in characters (CQL2 text, or CQL2 JSON once serialised)."""

MAX_FILTER_DEPTH = 50
"""Deepest nesting of operators accepted (a chain of ``AND`` or ``OR`` counts as one level)."""

_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
_FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"

SUPPORTED_CONFORMANCE: tuple[str, ...] = (
    _FEATURES_3 + "filter",
    _FEATURES_3 + "features-filter",
    _FEATURES_3 + "queryables",
    _FEATURES_3 + "queryables-query-parameters",
    _CQL2 + "cql2-text",
    _CQL2 + "cql2-json",
    _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators",
    _CQL2 + "case-insensitive-comparison",
    _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-functions-plus",
    _CQL2 + "spatial-functions",
    _CQL2 + "temporal-functions",
    _CQL2 + "property-property",
)
"""OGC conformance classes this compiler implements (Part 3 and CQL2 1.0).

Not claimed: accent-insensitive comparison (the database has no ``unaccent``), array functions,
custom functions and arithmetic. The four Part 3 classes also need the API to serve
``/queryables`` and the ``filter``, ``filter-lang`` and ``filter-crs`` parameters.
"""

_LANGS = ("cql2-text", "cql2-json")

# Queryable.type -> the kind used for type checks ("integer" and "number" compare freely).
_KINDS: dict[str, str] = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
    "geometry": "geometry",
}
_LABELS: dict[str, str] = {
    "string": "texte",
    "number": "nombre",
    "boolean": "booléen",
    "datetime": "horodatage",
    "date": "date",
    "geometry": "géométrie",
    "interval": "intervalle",
}
_CASTS: dict[str, str] = {
    "string": "text",
    "number": "numeric",
    "boolean": "boolean",
    "datetime": "timestamptz",
    "date": "date",
}
_TEMPORAL = frozenset({"datetime", "date"})

_COMPARISONS: dict[type[ast.Comparison], str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_SWAPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

_SPATIAL: dict[type[ast.SpatialComparisonPredicate], tuple[str, str]] = {
    ast.GeometryIntersects: ("S_INTERSECTS", "ST_Intersects"),
    ast.GeometryDisjoint: ("S_DISJOINT", "ST_Disjoint"),
    ast.GeometryContains: ("S_CONTAINS", "ST_Contains"),
    ast.GeometryWithin: ("S_WITHIN", "ST_Within"),
    ast.GeometryTouches: ("S_TOUCHES", "ST_Touches"),
    ast.GeometryCrosses: ("S_CROSSES", "ST_Crosses"),
    ast.GeometryOverlaps: ("S_OVERLAPS", "ST_Overlaps"),
    ast.GeometryEquals: ("S_EQUALS", "ST_Equals"),
}

# Temporal functions as conjunctions of comparisons between bounds, after OWL-Time:
# "s1"/"e1" start and end of the first operand, "s2"/"e2" of the second.
_Cond = tuple[str, str, str]
_TEMPORAL_RULES: dict[type[ast.TemporalPredicate], tuple[str, tuple[_Cond, ...]]] = {
    ast.TimeBefore: ("T_BEFORE", (("e1", "<", "s2"),)),
    ast.TimeAfter: ("T_AFTER", (("s1", ">", "e2"),)),
    ast.TimeMeets: ("T_MEETS", (("e1", "=", "s2"),)),
    ast.TimeMetBy: ("T_METBY", (("s1", "=", "e2"),)),
    ast.TimeOverlaps: ("T_OVERLAPS", (("s1", "<", "s2"), ("e1", ">", "s2"), ("e1", "<", "e2"))),
    ast.TimeOverlappedBy: (
        "T_OVERLAPPEDBY",
        (("s1", ">", "s2"), ("s1", "<", "e2"), ("e1", ">", "e2")),
    ),
    ast.TimeBegins: ("T_STARTS", (("s1", "=", "s2"), ("e1", "<", "e2"))),
    ast.TimeBegunBy: ("T_STARTEDBY", (("s1", "=", "s2"), ("e1", ">", "e2"))),
    ast.TimeDuring: ("T_DURING", (("s1", ">", "s2"), ("e1", "<", "e2"))),
    ast.TimeContains: ("T_CONTAINS", (("s1", "<", "s2"), ("e1", ">", "e2"))),
    ast.TimeEnds: ("T_FINISHES", (("s1", ">", "s2"), ("e1", "=", "e2"))),
    ast.TimeEndedBy: ("T_FINISHEDBY", (("s1", "<", "s2"), ("e1", "=", "e2"))),
    ast.TimeEquals: ("T_EQUALS", (("s1", "=", "s2"), ("e1", "=", "e2"))),
}

# T_DISJOINT and T_INTERSECTS reach the compiler as "T_BEFORE OR T_AFTER" and its negation.
_DISJOINT_RULES: tuple[_Cond, ...] = (("e1", "<", "s2"), ("s1", ">", "e2"))
_INTERSECTS_RULES: tuple[_Cond, ...] = (("e1", ">=", "s2"), ("s1", "<=", "e2"))

_ARRAY_NAMES: dict[type[ast.ArrayPredicate], str] = {
    ast.ArrayEquals: "A_EQUALS",
    ast.ArrayContains: "A_CONTAINS",
    ast.ArrayContainedBy: "A_CONTAINEDBY",
    ast.ArrayOverlaps: "A_OVERLAPS",
}

# CQL2 JSON operators accepted, lower-cased, with the spelling pygeofilter expects.
_JSON_OPS: dict[str, str] = {
    **{op: op for op in ("and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like")},
    **{op: op for op in ("between", "in")},
    "isnull": "isNull",
    **{f"s_{name}": f"s_{name}" for name in ("intersects", "disjoint", "contains", "within")},
    **{f"s_{name}": f"s_{name}" for name in ("touches", "crosses", "overlaps", "equals")},
    **{f"t_{name}": f"t_{name}" for name in ("after", "before", "meets", "metby", "overlaps")},
    **{f"t_{name}": f"t_{name}" for name in ("overlappedby", "during", "contains", "equals")},
    "t_starts": "t_begins",
    "t_startedby": "t_begunby",
    "t_finishes": "t_ends",
    "t_finishedby": "t_endedby",
}
_JSON_ARITY: dict[str, tuple[int, ...]] = {"not": (1,), "isnull": (1,), "between": (2, 3)}
# Operators of the standard that are recognised but not implemented (named in the error).
_UNSUPPORTED_WORDS = re.compile(
    r"\b(A_EQUALS|A_CONTAINS|A_CONTAINEDBY|A_OVERLAPS|ACCENTI|DIV|S_RELATE|DWITHIN|BEYOND)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EPSG = re.compile(r"EPSG:{1,2}(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Queryable:
    """A property a client may filter on, and the trusted SQL expression behind it."""

    name: str
    sql: str
    type: str


# --------------------------------------------------------------------------------------------
# Operands seen by the compiler


@dataclass(frozen=True)
class _Sql:
    """An operand already written as SQL: a property, or a function of one."""

    sql: str
    kind: str
    label: str


@dataclass(frozen=True)
class _Lit:
    """A literal value, bound as a parameter when it is written out."""

    value: Any
    kind: str


@dataclass(frozen=True)
class _Open:
    """An open end (``'..'``) of an interval."""

    start: bool


_Operand = _Sql | _Lit
_Bound = _Sql | _Lit | _Open


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(f"filtre CQL2 invalide : {message}")


def _unsupported(name: str) -> InvalidInput:
    return _invalid(f"opérateur « {name} » non pris en charge")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(operand: _Operand | _Open) -> str:
    if isinstance(operand, _Sql):
        return f"{operand.label} ({_LABELS[operand.kind]})"
    if isinstance(operand, _Open):
        return "une borne ouverte '..'"
    if operand.kind == "geometry":
        return "une géométrie"
    if operand.kind == "interval":
        return "un intervalle"
    return f"la valeur {_short(operand.value)} ({_LABELS[operand.kind]})"


def _group(kind: str) -> str:
    return "temporal" if kind in _TEMPORAL else kind


def _as_utc(value: datetime) -> datetime:
    """Timezone-aware in UTC; a naive timestamp is taken as UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _day_start(value: date) -> datetime:
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def _literal(value: Any) -> _Lit:
    """Classify a literal from the AST; refuse what CQL2 filters here cannot use."""
    if isinstance(value, bool):
        return _Lit(value, "boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _invalid(f"nombre invalide : {value!r}")
        return _Lit(value, "number")
    if isinstance(value, str):
        return _Lit(value, "string")
    if isinstance(value, datetime):
        return _Lit(_as_utc(value), "datetime")
    if isinstance(value, date):
        return _Lit(value, "date")
    if isinstance(value, values.Geometry | values.Envelope):
        return _Lit(dict(value.__geo_interface__), "geometry")
    if isinstance(value, values.Interval):
        return _Lit(value, "interval")
    if isinstance(value, timedelta):
        raise _invalid(
            "les durées ne sont pas prises en charge ; utilisez INTERVAL('début', 'fin')"
        )
    if isinstance(value, list | tuple):
        raise _invalid("les tableaux ne sont pas pris en charge")
    raise _invalid(f"valeur non prise en charge : {_short(value)}")


def _bbox_geojson(numbers: Sequence[Any]) -> dict[str, Any]:
    """The polygon of a CQL2 ``BBOX`` literal (4 numbers, or 6 with a vertical axis)."""
    if len(numbers) not in (4, 6) or not all(
        isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
    ):
        raise _invalid("BBOX attend 4 ou 6 nombres")
    if len(numbers) == 6:
        minx, miny, _, maxx, maxy, _ = numbers
    else:
        minx, miny, maxx, maxy = numbers
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


# --------------------------------------------------------------------------------------------
# Parsing


@lark.v_args(inline=True)
class _TextTransformer(_text_parser_module.CQLTransformer):
    """pygeofilter's CQL2 text transformer, completed for the rules patched in the grammar."""

    def binary_temporal_predicate(self, lhs: Any, op: Any, rhs: Any) -> ast.Node:
        return _temporal_node(str(op), lhs, rhs)

    def binary_temporal_predicate_func(self, op: Any, lhs: Any, rhs: Any) -> ast.Node:
        return _temporal_node(str(op), lhs, rhs)

    def interval(self, start: Any, end: Any) -> values.Interval:
        return values.Interval(None if start == ".." else start, None if end == ".." else end)

    def OPEN_BOUND(self, token: Any) -> str:  # noqa: N802 (lark names terminal callbacks)
        return ".."

    def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802
        return str(token)[1:-1].replace("''", "'")

    def wkt__geometry_with_srid(self, srid: Any, geometry: dict[str, Any]) -> dict[str, Any]:
        geometry["crs"] = {"type": "name", "properties": {"name": f"EPSG:{int(srid)}"}}
        return geometry

    def wkt__multipoint_2(self, *coordinates: Any) -> dict[str, Any]:
        return {"type": "MultiPoint", "coordinates": coordinates}


_TEMPORAL_ALIASES = {
    "t_starts": "t_begins",
    "t_startedby": "t_begunby",
    "t_finishes": "t_ends",
    "t_finishedby": "t_endedby",
}


def _temporal_node(op: str, lhs: Any, rhs: Any) -> ast.Node:
    """AST of a temporal function; T_DISJOINT and T_INTERSECTS by their definitions."""
    name = op.lower()
    if name == "t_disjoint":
        return ast.Or(ast.TimeBefore(lhs, rhs), ast.TimeAfter(lhs, rhs))
    if name == "t_intersects":
        return ast.Not(ast.Or(ast.TimeBefore(lhs, rhs), ast.TimeAfter(lhs, rhs)))
    return TEMPORAL_PREDICATES_MAP[_TEMPORAL_ALIASES.get(name, name)](lhs, rhs)


_TEMPORAL_WORDS = (
    "T_BEFORE",
    "T_AFTER",
    "T_MEETS",
    "T_METBY",
    "T_OVERLAPS",
    "T_OVERLAPPEDBY",
    "T_BEGINS",
    "T_BEGUNBY",
    "T_STARTS",
    "T_STARTEDBY",
    "T_DURING",
    "T_CONTAINS",
    "T_ENDS",
    "T_ENDEDBY",
    "T_FINISHES",
    "T_FINISHEDBY",
    "T_EQUALS",
    "T_DISJOINT",
    "T_INTERSECTS",
)

_GRAMMAR_PATCHES: tuple[tuple[str, str], ...] = (
    # Function-style temporal predicates (the standard's form) and the missing names.
    (
        r"\?temporal_predicate:.*?\"T_INTERSECTS\"i\n",
        '?temporal_predicate: _binary_temporal_predicate_func "(" expression "," expression ")"'
        " -> binary_temporal_predicate_func\n"
        "                   | expression _binary_temporal_predicate_func expression"
        " -> binary_temporal_predicate\n\n"
        "!_binary_temporal_predicate_func: "
        + " | ".join(f'"{word}"i' for word in _TEMPORAL_WORDS)
        + "\n",
    ),
    # INTERVAL with timestamps, dates or open ends.
    (
        r"\?interval: \"INTERVAL\".*?\n",
        'interval: "INTERVAL" "(" interval_bound "," interval_bound ")"\n'
        '?interval_bound: "\'" DATETIME "\'" | "\'" DATE "\'" | OPEN_BOUND\n'
        "OPEN_BOUND: \"'..'\"\n",
    ),
    # NOT before any parenthesised condition, not only a single predicate.
    (
        r"\| \"NOT\"i predicate .*?\n *\| \"NOT\"i \"\(\" predicate \"\)\" .*?\n",
        '| "NOT"i condition_1 -> not_\n',
    ),
    # One-letter property names.
    (r"attribute: /\[a-zA-Z\]\[a-zA-Z_:0-9\.\]\+/", r"attribute: /[a-zA-Z_][a-zA-Z_:0-9.]*/"),
    # '' stands for ' inside a string literal.
    (r"SINGLE_QUOTED: .*?\n", "SINGLE_QUOTED: /'(?:[^']|'')*'/\n"),
)


@lru_cache(maxsize=1)
def _text_parser() -> lark.Lark:
    """pygeofilter's CQL2 text grammar with the patches above (built once)."""
    folder = os.path.dirname(_text_parser_module.__file__)
    path = os.path.join(folder, "grammar.lark")
    with open(path, encoding="utf-8") as handle:
        grammar = handle.read()
    for pattern, replacement in _GRAMMAR_PATCHES:
        matches = list(re.finditer(pattern, grammar, flags=re.DOTALL))
        if len(matches) != 1:  # pragma: no cover - only with another pygeofilter release
            raise RuntimeError(f"pygeofilter's CQL2 grammar changed; patch not applied: {pattern}")
        grammar = grammar[: matches[0].start()] + replacement + grammar[matches[0].end() :]
    return lark.Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=False,
        transformer=_TextTransformer(),
        source_path=path,
        import_paths=[os.path.dirname(folder)],
    )


def _parse_error(exc: Exception, text: str | None = None) -> InvalidInput:
    """A short French message for a parser exception."""
    if isinstance(exc, lark.exceptions.VisitError):
        return _parse_error(exc.orig_exc, text)
    if text is not None:
        unquoted = _QUOTED.sub("''", text)
        word = _UNSUPPORTED_WORDS.search(unquoted)
        if word:
            return _unsupported(word.group(1).upper())
    if isinstance(exc, lark.exceptions.UnexpectedEOF):
        detail = "fin de l'expression inattendue"
    elif isinstance(exc, lark.exceptions.UnexpectedCharacters):
        detail = f"caractère inattendu {exc.char!r} en colonne {exc.column}"
    elif isinstance(exc, lark.exceptions.UnexpectedToken):
        if exc.token.type == "$END":
            detail = "fin de l'expression inattendue"
        else:
            detail = f"élément inattendu {_short(str(exc.token), 40)} en colonne {exc.column}"
    elif isinstance(exc, RecursionError):
        detail = "expression trop imbriquée"
    else:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return InvalidInput(f"filtre CQL2 illisible : {detail}")


def _json_depth(node: Any) -> int:
    """Nesting depth of a JSON document, measured without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > 4 * MAX_FILTER_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _normalize_json(node: Any) -> Any:
    """Rewrite CQL2 JSON 1.0 into the forms pygeofilter 0.4 parses, refusing unknown operators."""
    if isinstance(node, list):
        return [_normalize_json(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "op" in node:
        op = node["op"]
        if not isinstance(op, str):
            raise InvalidInput("filtre CQL2 illisible : « op » doit être une chaîne")
        args = _normalize_json(node.get("args", []))
        name = op.lower()
        if name in ("casei", "accenti"):
            arg = args[0] if isinstance(args, list) and len(args) == 1 else args
            function = "lower" if name == "casei" else "accenti"
            return {"function": {"name": function, "arguments": [arg]}}
        if name in ("t_intersects", "t_disjoint"):
            either = {
                "op": "or",
                "args": [{"op": f"t_{w}", "args": args} for w in ("before", "after")],
            }
            return {"op": "not", "args": [either]} if name == "t_intersects" else either
        if name not in _JSON_OPS:
            raise _unsupported(op)
        arity = _JSON_ARITY.get(name, (2,))
        count = len(args) if isinstance(args, list) else 1
        if name in ("and", "or") and isinstance(args, list) and count >= 1:
            pass
        elif count not in arity:
            expected = " ou ".join(str(n) for n in arity)
            raise _invalid(f"l'opérateur « {op} » attend {expected} argument(s), pas {count}")
        if name == "between" and isinstance(args, list) and len(args) == 3:
            args = [args[0], [args[1], args[2]]]
        return {"op": _JSON_OPS[name], "args": args}
    if "type" in node and "coordinates" in node:
        return node
    if "bbox" in node:
        bbox = node["bbox"]
        numbers = list(bbox) if isinstance(bbox, list) else [bbox]
        return {"function": {"name": "bbox", "arguments": numbers}}
    for key, function_name in (("casei", "lower"), ("accenti", "accenti")):
        if key in node:
            argument = _normalize_json(node[key])
            return {"function": {"name": function_name, "arguments": [argument]}}
    if "function" in node and isinstance(node["function"], dict):
        spec = dict(node["function"])
        arguments = spec.pop("args", spec.get("arguments", []))
        spec["arguments"] = _normalize_json(arguments)
        return {"function": spec}
    if "filter" in node:
        return _normalize_json(node["filter"])
    return node


def _parse(expression: str | Mapping[str, Any], lang: str) -> Any:
    """The pygeofilter AST of a filter; every failure becomes :class:`InvalidInput`."""
    if lang not in _LANGS:
        raise InvalidInput(
            f"langage de filtre « {lang} » non pris en charge ; valeurs possibles : "
            + ", ".join(_LANGS)
        )
    if lang == "cql2-text":
        if not isinstance(expression, str):
            raise InvalidInput("filtre CQL2 illisible : un filtre cql2-text doit être du texte")
        check_filter_text(expression, lang)
        if not expression.strip():
            raise InvalidInput("filtre CQL2 illisible : filtre vide")
        try:
            return _text_parser().parse(expression)
        except Exception as exc:
            raise _parse_error(exc, expression) from None
    document: Any
    if isinstance(expression, str):
        check_filter_text(expression, lang)
        try:
            document = json.loads(expression)
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"filtre CQL2 illisible : JSON invalide ({exc})") from None
    else:
        document = expression
    if _json_depth(document) > 2 * MAX_FILTER_DEPTH + 10:
        raise _invalid(f"expression trop imbriquée (au plus {MAX_FILTER_DEPTH} niveaux)")
    if not isinstance(expression, str):
        try:
            _check_size(len(json.dumps(document, default=str)))
        except (TypeError, ValueError):
            raise InvalidInput("filtre CQL2 illisible : JSON invalide") from None
    normalized = _normalize_json(document)
    try:
        return _parse_cql2_json(normalized)
    except Exception as exc:
        raise _parse_error(exc) from None


def _check_size(length: int) -> None:
    if length > MAX_FILTER_CHARS:
        raise _invalid(f"filtre trop long ({length} caractères ; au plus {MAX_FILTER_CHARS})")


def _bracket_depth(text: str, brackets: str, quote: str) -> int:
    """Deepest nesting of ``brackets`` (opening characters, then closing ones) outside quoted
    strings, measured in one pass without recursion (before any parser recurses).

    Examples
    --------
    >>> _bracket_depth('{"a": [1, "[[["]}', "{[}]", '"')
    2
    >>> _bracket_depth("((a = ')))'))", "()", "'")
    2
    """
    half = len(brackets) // 2
    opening, closing = brackets[:half], brackets[half:]
    depth = deepest = 0
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quoted = False
        elif char == quote:
            quoted = True
        elif char in opening:
            depth += 1
            deepest = max(deepest, depth)
        elif char in closing:
            depth -= 1
    return deepest


def check_filter_text(text: str, lang: str) -> None:
    """Refuse a filter too long or too deeply bracketed before it is parsed (``InvalidInput``).

    Examples
    --------
    >>> check_filter_text("(" * 500 + "a = 1" + ")" * 500, "cql2-text")
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: filtre CQL2 invalide : expression trop imbriquée ...
    """
    _check_size(len(text))
    if lang == "cql2-json":
        depth = _bracket_depth(text, "{[}]", '"')
    else:
        depth = _bracket_depth(text, "()", "'")
    if depth > 2 * MAX_FILTER_DEPTH + 10:
        raise _invalid(f"expression trop imbriquée (au plus {MAX_FILTER_DEPTH} niveaux)")


# --------------------------------------------------------------------------------------------
# Compiling


def _and(parts: Sequence[str]) -> str:
    kept: list[str] = []
    for part in parts:
        if part == "FALSE":
            return "FALSE"
        if part != "TRUE" and part not in kept:
            kept.append(part)
    if not kept:
        return "TRUE"
    return kept[0] if len(kept) == 1 else "(" + " AND ".join(kept) + ")"


def _or(parts: Sequence[str]) -> str:
    kept: list[str] = []
    for part in parts:
        if part == "TRUE":
            return "TRUE"
        if part != "FALSE" and part not in kept:
            kept.append(part)
    if not kept:
        return "FALSE"
    return kept[0] if len(kept) == 1 else "(" + " OR ".join(kept) + ")"


def _disjoint_pair(node: Any) -> tuple[Any, Any] | None:
    """The operands of ``T_BEFORE(a, b) OR T_AFTER(a, b)``, i.e. ``T_DISJOINT(a, b)``."""
    if not (
        type(node) is ast.Or
        and type(node.lhs) is ast.TimeBefore
        and type(node.rhs) is ast.TimeAfter
    ):
        return None
    try:
        same = bool(node.lhs.lhs == node.rhs.lhs and node.lhs.rhs == node.rhs.rhs)
    except Exception:
        return None
    return (node.lhs.lhs, node.lhs.rhs) if same else None


def _flatten(node: ast.Node, cls: type[ast.Combination]) -> list[Any]:
    """The operands of a chain of ``AND`` (or ``OR``), left to right, without recursion."""
    out: list[Any] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if type(item) is cls and (item is node or _disjoint_pair(item) is None):
            stack.append(item.rhs)
            stack.append(item.lhs)
        else:
            out.append(item)
    return out


class _Compiler:
    """Walks a pygeofilter AST and writes SQL with bound parameters."""

    def __init__(
        self,
        queryables: Mapping[str, Queryable],
        *,
        filter_srid: int,
        lat_lon: bool,
        prefix: str,
    ) -> None:
        self.queryables = queryables
        self.filter_srid = filter_srid
        self.lat_lon = lat_lon
        self.prefix = prefix
        self.params: dict[str, Any] = {}
        self._names: dict[tuple[str, Any], str] = {}

    # -- parameters ---------------------------------------------------------------------------

    def bind(self, value: Any) -> str:
        """A bind placeholder for the value (one parameter per distinct value)."""
        key = (type(value).__name__, value)
        name = self._names.get(key)
        if name is None:
            name = f"{self.prefix}{len(self.params)}"
            self.params[name] = value
            self._names[key] = name
        return f":{name}"

    def sql(self, operand: _Operand, *, cast: bool = False) -> str:
        if isinstance(operand, _Sql):
            return operand.sql
        if operand.kind == "geometry":
            return self.geometry(operand.value)
        if operand.kind not in _CASTS:
            raise _invalid(f"{_describe(operand)} n'est pas utilisable ici")
        placeholder = self.bind(operand.value)
        return f"CAST({placeholder} AS {_CASTS[operand.kind]})" if cast else placeholder

    def geometry(self, geojson: Mapping[str, Any]) -> str:
        """SQL of a geometry literal: WKT bound as a parameter, transformed to EPSG:4326."""
        srid = self.filter_srid
        swap = self.lat_lon
        crs = geojson.get("crs")
        if isinstance(crs, Mapping):
            match = _EPSG.search(str(crs.get("properties", {}).get("name", "")))
            if match is None:
                raise _invalid("système de coordonnées de la géométrie non reconnu")
            srid, swap = int(match.group(1)), False
        try:
            geom = shape({k: v for k, v in geojson.items() if k != "crs"})
            if swap:
                geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
            wkt = shapely.to_wkt(geom, rounding_precision=-1)
        except Exception as exc:
            raise InvalidGeometry(f"filtre CQL2 invalide : géométrie illisible ({exc})") from None
        srid = _valid_srid(srid)
        placeholder = self.bind(wkt)
        literal = f"ST_GeomFromText({placeholder}, {srid})"
        return literal if srid == 4326 else f"ST_Transform({literal}, 4326)"

    # -- operands -----------------------------------------------------------------------------

    def operand(self, node: Any, depth: int) -> _Operand:
        if depth > MAX_FILTER_DEPTH:
            raise _invalid(f"expression trop imbriquée (au plus {MAX_FILTER_DEPTH} niveaux)")
        if isinstance(node, ast.Attribute):
            return self.property(str(node.name))
        if isinstance(node, ast.Function):
            return self.function(node, depth)
        if isinstance(node, ast.Arithmetic):
            raise _unsupported(node.op.value)
        if isinstance(node, ast.Node):
            raise _invalid("une condition ne peut pas servir de valeur")
        return _literal(node)

    def property(self, name: str) -> _Sql:
        queryable = self.queryables.get(name)
        if queryable is None:
            known = ", ".join(sorted(self.queryables)) or "aucune"
            raise _invalid(f"propriété « {name} » inconnue ; propriétés disponibles : {known}")
        kind = _KINDS.get(queryable.type)
        if kind is None:
            raise ValueError(f"queryable {name!r} has an unknown type {queryable.type!r}")
        return _Sql(queryable.sql, kind, f"la propriété « {name} »")

    def function(self, node: ast.Function, depth: int) -> _Operand:
        name = str(node.name).lower()
        arguments = list(node.arguments)
        if name == "bbox":
            return _Lit(_bbox_geojson(arguments), "geometry")
        if name == "accenti":
            raise _invalid(
                "opérateur « ACCENTI » non pris en charge (comparaison sans accents "
                "indisponible) ; CASEI est disponible"
            )
        if name not in ("lower", "casei"):
            raise _invalid(f"fonction « {node.name} » non prise en charge")
        if len(arguments) != 1:
            raise _invalid("CASEI attend un seul argument")
        inner = self.operand(arguments[0], depth + 1)
        if inner.kind != "string":
            raise _invalid(f"CASEI s'applique à du texte, pas à {_describe(inner)}")
        label = inner.label if isinstance(inner, _Sql) else _describe(inner)
        return _Sql(f"lower({self.sql(inner, cast=True)})", "string", f"CASEI de {label}")

    # -- predicates ---------------------------------------------------------------------------

    def predicate(self, node: Any, depth: int) -> str:
        if depth > MAX_FILTER_DEPTH:
            raise _invalid(f"expression trop imbriquée (au plus {MAX_FILTER_DEPTH} niveaux)")
        pair = _disjoint_pair(node)
        if pair is not None:
            return self.temporal_rules(
                "T_DISJOINT", _DISJOINT_RULES, *pair, depth, conjunction=False
            )
        handler = self._handler(node)
        if handler is not None:
            return handler(node, depth)
        if isinstance(node, ast.Node) and not isinstance(node, ast.Attribute | ast.Function):
            raise _unsupported(_node_name(node))
        value = self.operand(node, depth)
        if value.kind != "boolean":
            raise _invalid(f"{_describe(value)} n'est pas une condition")
        return self.sql(value, cast=True)

    def _handler(self, node: Any) -> Callable[[Any, int], str] | None:
        handlers: tuple[tuple[type, Callable[[Any, int], str]], ...] = (
            (ast.And, self.combination),
            (ast.Or, self.combination),
            (ast.Not, self.negation),
            (ast.Comparison, self.comparison),
            (ast.Like, self.like),
            (ast.Between, self.between),
            (ast.In, self.in_list),
            (ast.IsNull, self.is_null),
            (ast.Include, lambda n, _d: "FALSE" if n.not_ else "TRUE"),
            (ast.SpatialComparisonPredicate, self.spatial),
            (ast.BBox, self.bbox_predicate),
        )
        for cls, handler in handlers:
            if isinstance(node, cls):
                return handler
        if type(node) in _TEMPORAL_RULES:
            return self.temporal
        return None

    def combination(self, node: ast.Combination, depth: int) -> str:
        cls = type(node)
        parts = [self.predicate(item, depth + 1) for item in _flatten(node, cls)]
        return _and(parts) if cls is ast.And else _or(parts)

    def negation(self, node: ast.Not, depth: int) -> str:
        sub = node.sub_node
        if isinstance(sub, ast.In | ast.Like | ast.Between | ast.IsNull) and not sub.not_:
            # the JSON "not(in(...))" and the text "NOT IN" give the same SQL
            return self.predicate(dataclasses.replace(sub, not_=True), depth + 1)
        pair = _disjoint_pair(sub)
        if pair is not None:
            return self.temporal_rules(
                "T_INTERSECTS", _INTERSECTS_RULES, *pair, depth, conjunction=True
            )
        inner = self.predicate(node.sub_node, depth + 1)
        return {"TRUE": "FALSE", "FALSE": "TRUE"}.get(inner, f"NOT ({inner})")

    def comparison(self, node: ast.Comparison, depth: int) -> str:
        op = _COMPARISONS[type(node)]
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        return self.compare(op, lhs, rhs)

    def compare(self, op: str, lhs: _Operand, rhs: _Operand) -> str:
        for operand in (lhs, rhs):
            if operand.kind == "geometry":
                raise _invalid(
                    f"l'opérateur « {op} » ne s'applique pas à {_describe(operand)} ; "
                    "utilisez S_EQUALS, S_INTERSECTS..."
                )
            if operand.kind == "interval":
                raise _invalid(
                    f"l'opérateur « {op} » ne s'applique pas à un intervalle ; "
                    "utilisez T_DURING, T_INTERSECTS..."
                )
        _check_compatible(op, lhs, rhs)
        if lhs.kind in _TEMPORAL:
            return self.temporal_compare(op, lhs, rhs)
        cast = isinstance(lhs, _Lit) and isinstance(rhs, _Lit)
        return f"{self.sql(lhs, cast=cast)} {op} {self.sql(rhs, cast=cast)}"

    def temporal_compare(self, op: str, lhs: _Operand, rhs: _Operand) -> str:
        """Compare two instants; a timestamp meeting a date is coarsened to its UTC day."""
        if isinstance(lhs, _Lit) and isinstance(rhs, _Sql):
            lhs, rhs, op = rhs, lhs, _SWAPPED[op]
        if isinstance(lhs, _Lit) and isinstance(rhs, _Lit):
            if lhs.kind != rhs.kind:
                lhs, rhs = _coarsen(lhs), _coarsen(rhs)
            return f"{self.sql(lhs, cast=True)} {op} {self.sql(rhs, cast=True)}"
        assert isinstance(lhs, _Sql)
        if isinstance(rhs, _Lit):
            if lhs.kind == "date" and rhs.kind == "datetime":
                rhs = _coarsen(rhs)
            if lhs.kind == "datetime" and rhs.kind == "date":
                return self.day_range(op, lhs.sql, rhs.value)
            return f"{lhs.sql} {op} {self.sql(rhs)}"
        if lhs.kind != rhs.kind:
            lhs, rhs = _coarsen_sql(lhs), _coarsen_sql(rhs)
        return f"{lhs.sql} {op} {rhs.sql}"

    def day_range(self, op: str, column: str, day: date) -> str:
        """``date(column) op day`` for a timestamp column, written as an index-friendly range."""
        start = _day_start(day)
        end = start + timedelta(days=1)
        if op == "=":
            return f"({column} >= {self.bind(start)} AND {column} < {self.bind(end)})"
        if op == "<>":
            return f"({column} < {self.bind(start)} OR {column} >= {self.bind(end)})"
        bound, sql_op = {
            "<": (start, "<"),
            "<=": (end, "<"),
            ">": (end, ">="),
            ">=": (start, ">="),
        }[op]
        return f"{column} {sql_op} {self.bind(bound)}"

    def like(self, node: ast.Like, depth: int) -> str:
        lhs = self.operand(node.lhs, depth + 1)
        pattern_node = node.pattern
        if isinstance(pattern_node, dict):  # CQL2 JSON: pygeofilter leaves it unparsed
            try:
                pattern_node = _walk_cql_json(pattern_node)
            except Exception as exc:
                raise _parse_error(exc) from None
        pattern = self.operand(pattern_node, depth + 1)
        for operand in (lhs, pattern):
            if operand.kind != "string":
                raise _invalid(f"LIKE s'applique à du texte, pas à {_describe(operand)}")
        cast = isinstance(lhs, _Lit) and isinstance(pattern, _Lit)
        keyword = ("NOT " if node.not_ else "") + ("ILIKE" if node.nocase else "LIKE")
        return f"{self.sql(lhs, cast=cast)} {keyword} {self.sql(pattern, cast=cast)}"

    def between(self, node: ast.Between, depth: int) -> str:
        lhs = self.operand(node.lhs, depth + 1)
        low = self.operand(node.low, depth + 1)
        high = self.operand(node.high, depth + 1)
        for operand in (lhs, low, high):
            if operand.kind not in ("number", "string", "datetime", "date"):
                raise _invalid(f"BETWEEN ne s'applique pas à {_describe(operand)}")
        _check_compatible("BETWEEN", lhs, low)
        _check_compatible("BETWEEN", lhs, high)
        if lhs.kind in _TEMPORAL:
            sql = _and([self.compare(">=", lhs, low), self.compare("<=", lhs, high)])
        else:
            cast = all(isinstance(o, _Lit) for o in (lhs, low, high))
            sql = (
                f"{self.sql(lhs, cast=cast)} BETWEEN "
                f"{self.sql(low, cast=cast)} AND {self.sql(high, cast=cast)}"
            )
        return f"NOT ({sql})" if node.not_ else sql

    def in_list(self, node: ast.In, depth: int) -> str:
        lhs = self.operand(node.lhs, depth + 1)
        items_node = node.sub_nodes
        if not isinstance(items_node, list):
            raise _invalid("IN attend une liste de valeurs")
        items = [self.operand(item, depth + 1) for item in items_node]
        if lhs.kind in ("geometry", "interval"):
            raise _invalid(f"IN ne s'applique pas à {_describe(lhs)}")
        for item in items:
            _check_compatible("IN", lhs, item)
        if not items:
            return _static(bool(node.not_), lhs)
        if lhs.kind in _TEMPORAL:
            sql = _or([self.compare("=", lhs, item) for item in items])
            return f"NOT ({sql})" if node.not_ else sql
        cast = isinstance(lhs, _Lit) and all(isinstance(item, _Lit) for item in items)
        listed = ", ".join(self.sql(item, cast=cast) for item in items)
        keyword = "NOT IN" if node.not_ else "IN"
        return f"{self.sql(lhs, cast=cast)} {keyword} ({listed})"

    def is_null(self, node: ast.IsNull, depth: int) -> str:
        operand = self.operand(node.lhs, depth + 1)
        if operand.kind == "interval":
            raise _invalid("IS NULL ne s'applique pas à un intervalle")
        return f"{self.sql(operand, cast=True)} IS {'NOT ' if node.not_ else ''}NULL"

    def spatial(self, node: ast.SpatialComparisonPredicate, depth: int) -> str:
        name, function = _SPATIAL[type(node)]
        lhs = self.operand(node.lhs, depth + 1)
        rhs = self.operand(node.rhs, depth + 1)
        for operand in (lhs, rhs):
            if operand.kind != "geometry":
                raise _invalid(f"{name} s'applique à des géométries, pas à {_describe(operand)}")
        return f"{function}({self.sql(lhs)}, {self.sql(rhs)})"

    def bbox_predicate(self, node: ast.BBox, depth: int) -> str:
        if node.crs is not None:
            raise _invalid("BBOX avec système de coordonnées : utilisez le paramètre filter-crs")
        lhs = self.operand(node.lhs, depth + 1)
        if lhs.kind != "geometry":
            raise _invalid(f"BBOX s'applique à des géométries, pas à {_describe(lhs)}")
        box = _bbox_geojson([node.minx, node.miny, node.maxx, node.maxy])
        return f"ST_Intersects({self.sql(lhs)}, {self.geometry(box)})"

    def temporal(self, node: ast.TemporalPredicate, depth: int) -> str:
        name, rules = _TEMPORAL_RULES[type(node)]
        return self.temporal_rules(name, rules, node.lhs, node.rhs, depth, conjunction=True)

    def temporal_rules(
        self,
        name: str,
        rules: Sequence[_Cond],
        lhs: Any,
        rhs: Any,
        depth: int,
        *,
        conjunction: bool,
    ) -> str:
        """A temporal function as comparisons of bounds, joined by AND (or OR)."""
        first = self.temporal_bounds(name, lhs, depth + 1)
        second = self.temporal_bounds(name, rhs, depth + 1)
        bounds = {"s1": first[0], "e1": first[1], "s2": second[0], "e2": second[1]}
        prop = next((b for b in (*first, *second) if isinstance(b, _Sql)), None)
        parts: list[str] = []
        for a, op, b in rules:
            part = self.bound_compare(bounds[a], op, bounds[b])
            if isinstance(part, str):
                parts.append(part)
            elif part is not conjunction:  # FALSE in an AND, TRUE in an OR: decides alone
                return _static(part, prop)
        if not parts:
            return _static(conjunction, prop)
        return _and(parts) if conjunction else _or(parts)

    def temporal_bounds(self, name: str, node: Any, depth: int) -> tuple[_Bound, _Bound]:
        operand = self.operand(node, depth)
        if operand.kind in _TEMPORAL:
            return operand, operand
        if isinstance(operand, _Lit) and operand.kind == "interval":
            interval: values.Interval = operand.value
            ends: list[_Bound] = []
            for value, start in ((interval.start, True), (interval.end, False)):
                if value is None:
                    ends.append(_Open(start))
                    continue
                bound = _literal(value)
                if bound.kind not in _TEMPORAL:
                    raise _invalid(f"borne d'intervalle invalide : {_describe(bound)}")
                ends.append(bound)
            return ends[0], ends[1]
        raise _invalid(
            f"{name} s'applique à des instants ou des intervalles, pas à {_describe(operand)}"
        )

    def bound_compare(self, lhs: _Bound, op: str, rhs: _Bound) -> str | bool:
        """One comparison of interval bounds; an open end (-inf or +inf) gives a known outcome."""
        if not isinstance(lhs, _Open) and not isinstance(rhs, _Open):
            return self.compare(op, lhs, rhs)
        rank_l = 0 if not isinstance(lhs, _Open) else (-1 if lhs.start else 1)
        rank_r = 0 if not isinstance(rhs, _Open) else (-1 if rhs.start else 1)
        return {
            "=": rank_l == rank_r,
            "<>": rank_l != rank_r,
            "<": rank_l < rank_r,
            "<=": rank_l <= rank_r,
            ">": rank_l > rank_r,
            ">=": rank_l >= rank_r,
        }[op]


def _static(outcome: bool, operand: _Bound | None) -> str:
    """A known outcome, kept NULL when the property involved is NULL (three-valued logic)."""
    if isinstance(operand, _Sql):
        if outcome:
            return f"({operand.sql} IS NOT NULL OR NULL)"
        return f"({operand.sql} IS NULL AND NULL)"
    return "TRUE" if outcome else "FALSE"


def _coarsen(operand: _Lit) -> _Lit:
    if operand.kind == "datetime":
        return _Lit(_as_utc(operand.value).date(), "date")
    return operand


def _coarsen_sql(operand: _Sql) -> _Sql:
    if operand.kind == "datetime":
        return _Sql(f"CAST(timezone('UTC', {operand.sql}) AS date)", "date", operand.label)
    return operand


def _check_compatible(op: str, lhs: _Operand, rhs: _Operand) -> None:
    if _group(lhs.kind) != _group(rhs.kind):
        raise _invalid(
            f"types incompatibles pour « {op} » : {_describe(lhs)} et {_describe(rhs)}"
            + (
                " ; écrivez TIMESTAMP('...') ou DATE('...')"
                if {_group(lhs.kind), _group(rhs.kind)} == {"temporal", "string"}
                else ""
            )
        )


def _node_name(node: ast.Node) -> str:
    if isinstance(node, ast.ArrayPredicate):
        return _ARRAY_NAMES.get(type(node), type(node).__name__)
    if isinstance(node, ast.Relate):
        return "S_RELATE"
    if isinstance(node, ast.SpatialDistancePredicate):
        return node.op.name
    if isinstance(node, ast.TemporalPredicate):
        return f"T_{node.op.name}"
    if isinstance(node, ast.Exists):
        return "EXISTS"
    return type(node).__name__


def _valid_srid(srid: Any) -> int:
    if isinstance(srid, bool) or not isinstance(srid, int) or not 0 < srid < 1_000_000:
        raise InvalidInput(f"système de coordonnées du filtre invalide : {_short(srid)}")
    return srid


def compile_filter(
    expression: str | Mapping[str, Any],
    lang: str,
    queryables: Mapping[str, Queryable],
    *,
    filter_srid: int = 4326,
    lat_lon: bool = False,
    prefix: str = "cql",
) -> tuple[str, dict[str, Any]]:
    """Compile a CQL2 filter into a SQL boolean expression with bound parameters.

    Parameters
    ----------
    expression
        The filter: CQL2 text, or CQL2 JSON as a string or an already parsed mapping.
    lang
        ``"cql2-text"`` or ``"cql2-json"``.
    queryables
        The properties a client may use, by name; only their trusted ``sql`` reaches the SQL.
    filter_srid
        EPSG code of the geometry literals (``filter-crs``); stored geometries are EPSG:4326.
    lat_lon
        True when the filter CRS has latitude first (EPSG:4326 as the EPSG registry defines
        it): the coordinates of geometry literals are swapped.
    prefix
        Prefix of the bind names: ``:cql0``, ``:cql1``... (``sqlalchemy.text`` style).

    Returns
    -------
    tuple[str, dict[str, Any]]
        ``(sql, params)``, to be used as ``WHERE (sql)`` with the parameters.

    Raises
    ------
    InvalidInput
        The filter cannot be read, names an unknown property, mixes incompatible types, uses
        an operator that is not supported, or is too long or too deeply nested.

    Examples
    --------
    >>> q = {
    ...     "category": Queryable("category", "e.category", "string"),
    ...     "n": Queryable("n", "e.n", "integer"),
    ... }
    >>> sql, params = compile_filter("category = 'vol' AND n > 2", "cql2-text", q)
    >>> sql
    '(e.category = :cql0 AND e.n > :cql1)'
    >>> params
    {'cql0': 'vol', 'cql1': 2}
    >>> compile_filter({"op": "=", "args": [{"property": "category"}, "vol"]}, "cql2-json", q)
    ('e.category = :cql0', {'cql0': 'vol'})
    """
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"invalid bind-name prefix: {prefix!r}")
    srid = _valid_srid(filter_srid)
    tree = _parse(expression, lang)
    compiler = _Compiler(queryables, filter_srid=srid, lat_lon=lat_lon, prefix=prefix)
    sql = compiler.predicate(tree, 1)
    return sql, compiler.params
