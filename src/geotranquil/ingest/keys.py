"""The keys a source mapping may hold, table by table; any other key is an error.

docs/sources.md documents every one of them (``tests/unit/test_sources_doc.py`` checks it).
"""

from __future__ import annotations

import difflib
from typing import Any

from geotranquil.errors import MappingError

#: Every key a mapping may hold, by table ("" is the top level). ``category.values`` is free
#: (native value -> canonical code). docs/sources.md documents each one (a test checks it).
KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "slug",
        "name",
        "kind",
        "owner",
        "format",
        "id",
        "time",
        "reported_time",
        "category",
        "location",
        "attributes",
    ),
    "format": ("type", "encoding", "delimiter", "records"),
    "id": ("field",),
    "time": ("field", "fields", "format", "timezone"),
    "reported_time": ("field", "fields", "format"),
    "category": ("field", "values"),
    "location": ("x", "y", "crs", "geometry", "camera", "cameras", "address"),
    "location.cameras": ("file", "id", "x", "y", "crs", "delimiter"),
    "location.address": ("number", "suffix", "street", "postcode", "city"),
    "attributes": ("fields",),
}
#: The keys whose value is a table.
TABLES = tuple(t for t in KEYS if t)


def _table_name(where: str) -> str:
    return "la racine du fichier" if not where else f"[{where}]"


def check_keys(data: dict[str, Any], where: str = "") -> None:
    """Refuse any key the mapping format does not know, naming the valid ones.

    Examples
    --------
    >>> try:
    ...     check_keys({"format": {"type": "csv", "delimeter": ";"}})
    ... except MappingError as exc:
    ...     print(exc)
    mapping : clé inconnue « delimeter » dans [format] : clés valides : delimiter, encoding, \
records, type (vouliez-vous dire « delimiter » ?)
    """
    valid = KEYS[where]
    for key, value in data.items():
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
            hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
            raise MappingError(
                f"mapping : clé inconnue « {key} » dans {_table_name(where)} : "
                f"clés valides : {', '.join(sorted(valid))}{hint}"
            )
        sub = f"{where}.{key}" if where else key
        if sub in KEYS:
            if not isinstance(value, dict):
                raise MappingError(f"mapping : [{sub}] doit être une table (un en-tête [{sub}])")
            check_keys(value, sub)
        elif sub == "category.values" and not isinstance(value, dict):
            raise MappingError("mapping : [category.values] doit être une table valeur = code")
