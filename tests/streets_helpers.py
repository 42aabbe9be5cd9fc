"""The streets of the synthetic BAN as the base map draws them, and a reader of glyph files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from geotranquil.geocode.ban import street_key

PLACE_NUMERO = 99999


@dataclass(frozen=True)
class Street:
    key: str
    name: str
    lon: float  # an address in the middle of the street
    lat: float
    addresses: int


def longest_street(ban: pd.DataFrame) -> Street:
    """The BAN street with the most house numbers, at its middle address."""
    numbers = ban[ban["numero"] < PLACE_NUMERO].assign(key=lambda f: f["id"].map(street_key))
    key = str(numbers["key"].value_counts().idxmax())
    rows = numbers[numbers["key"] == key].sort_values("numero")
    middle = rows.iloc[len(rows) // 2]
    return Street(
        key, str(middle["nom_voie"]), float(middle["lon"]), float(middle["lat"]), len(rows)
    )


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def read_message(data: bytes) -> list[tuple[int, Any]]:
    """The (field, value) pairs of a protocol-buffer message: varints as int, the rest bytes."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            out.append((field, value))
        elif wire == 2:
            size, i = _varint(data, i)
            out.append((field, data[i : i + size]))
            i += size
        else:
            raise ValueError(f"wire type {wire} is not used by glyph files")
    return out


def read_glyphs(data: bytes) -> tuple[str, str, dict[int, dict[str, Any]]]:
    """A glyph range file: the font stack's name, its range and its glyphs by code point
    (``left`` and ``top`` zigzag-decoded)."""
    ((field, stack),) = read_message(data)
    assert field == 1
    name = rng = ""
    glyphs: dict[int, dict[str, Any]] = {}
    for f, value in read_message(stack):
        if f == 1:
            name = value.decode()
        elif f == 2:
            rng = value.decode()
        elif f == 3:
            fields = dict(read_message(value))
            glyph = {
                "bitmap": fields.get(2, b""),
                "width": fields[3],
                "height": fields[4],
                "left": (fields[5] >> 1) ^ -(fields[5] & 1),
                "top": (fields[6] >> 1) ^ -(fields[6] & 1),
                "advance": fields[7],
            }
            glyphs[fields[1]] = glyph
    return name, rng, glyphs
