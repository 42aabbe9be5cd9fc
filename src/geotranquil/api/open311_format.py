"""Open311 GeoReport v2 bodies in their two formats (``.json`` and ``.xml``), errors included.

The XML follows the specification's examples: a plural root (``services``,
``service_requests``, ``errors``...) holding one element per item, one child element per field,
an empty element for a missing value, ``true``/``false`` for booleans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import JSONResponse, Response

FORMATS = ("json", "xml")
XML_MEDIA_TYPE = "text/xml; charset=utf-8"
PREFIX = "/open311/"


def format_of_path(path: str) -> str:
    """``xml`` when a path ends with ``.xml``, else ``json`` (the format of an error body)."""
    return "xml" if path.lower().endswith(".xml") else "json"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, name: str, value: Any, item_names: Mapping[str, str]) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _append(child, k, v, item_names)
    elif isinstance(value, list | tuple):
        for item in value:
            _append(child, item_names.get(name, "item"), item, item_names)
    else:
        child.text = _text(value)


def to_xml(root: str, item: str, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """An XML document: ``root`` with one ``item`` per mapping (or the fields of one mapping)."""
    item_names = {"attributes": "attribute", "values": "value"}
    element = ET.Element(root)
    if isinstance(items, Mapping):
        for k, v in items.items():
            _append(element, k, v, item_names)
    else:
        for entry in items:
            _append(element, item, entry, item_names)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def respond(
    fmt: str,
    root: str,
    item: str,
    body: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The body in ``fmt``: JSON as is, XML under ``root``/``item``."""
    if fmt == "xml":
        return Response(
            to_xml(root, item, body),
            status_code=status_code,
            media_type=XML_MEDIA_TYPE,
            headers=dict(headers or {}),
        )
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def error_response(
    path: str, status_code: int, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The specification's error list (one error), in the format the path asks for."""
    errors = [{"code": status_code, "description": description}]
    fmt = format_of_path(path)
    if fmt == "xml":
        return Response(
            to_xml("errors", "error", errors),
            status_code=status_code,
            media_type=XML_MEDIA_TYPE,
            headers=dict(headers or {}),
        )
    return JSONResponse(errors, status_code=status_code, headers=dict(headers or {}))
