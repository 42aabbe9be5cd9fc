"""MapLibre glyph ranges (signed distance fields in protocol buffers) drawn from a local font.

MapLibre draws map text from pre-rendered glyphs fetched 256 code points at a time
(``{fontstack}/{start}-{end}.pbf``). Ours are drawn here from a TrueType font on the machine
(DejaVu Sans by default), so street names show with no font server and no internet.

The format is Mapbox's ``glyphs.proto``: a ``glyphs`` message holding one ``fontstack`` (name,
range, glyphs), each glyph an id, a 24 px signed distance field with a 3 px border, its
size, its offsets from the pen position and its advance.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

#: the size MapLibre expects glyphs at, and the border around each bitmap
SIZE = 24
BORDER = 3
#: the distance field's spread (pixels) and where the glyph's edge sits (0.75 of 255 inside)
RADIUS = 8.0
CUTOFF = 0.25
TOP_ADJUSTMENT = 27
#: ranges drawn: Latin, Latin-1, Latin Extended A and B, general punctuation (’ « » …)
DRAWN_RANGES = frozenset({0, 256, 512, 768, 8192})
#: characters never drawn: controls, unassigned, surrogates, private use, separators
_SKIPPED = {"Cc", "Cn", "Cs", "Co", "Zl", "Zp"}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _uint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _sint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint((value << 1) ^ (value >> 63))  # zigzag


def _bytes(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def distance_field(alpha: np.ndarray) -> np.ndarray:
    """The signed distance field of a glyph's coverage (0-255), as MapLibre reads it: 255
    deep inside, about 191 on the edge, falling to 0 at :data:`RADIUS` pixels outside.

    Examples
    --------
    >>> square = np.zeros((9, 9), dtype=np.uint8)
    >>> square[3:6, 3:6] = 255
    >>> sdf = distance_field(square)
    >>> int(sdf[4, 4]) > 191 > int(sdf[4, 1]) > int(sdf[4, 0])
    True
    """
    inside = alpha >= 128
    if not inside.any():
        return np.zeros(alpha.shape, dtype=np.uint8)
    outside_distance = distance_transform_edt(~inside)
    inside_distance = distance_transform_edt(inside)
    signed = np.asarray(outside_distance - inside_distance, dtype=float)
    value = 255.0 - 255.0 * (signed / RADIUS + CUTOFF)
    return np.clip(np.round(value), 0, 255).astype(np.uint8)


def _glyph(font: ImageFont.FreeTypeFont, code: int) -> bytes | None:
    char = chr(code)
    if unicodedata.category(char) in _SKIPPED:
        return None
    advance = round(font.getlength(char))
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    width, height = max(right - left, 0), max(bottom - top, 0)
    fields = _uint(1, code)
    if width and height:
        canvas = Image.new("L", (width + 2 * BORDER, height + 2 * BORDER), 0)
        ImageDraw.Draw(canvas).text((BORDER - left, BORDER - top), char, font=font, fill=255)
        fields += _bytes(2, distance_field(np.asarray(canvas)).tobytes())
    # top: the glyph's height above the baseline, less MapLibre's baseline adjustment (the
    # value its own locally drawn glyphs use to line up with server glyphs)
    bearing_y = font.getmetrics()[0] - top
    return (
        fields
        + _uint(3, width)
        + _uint(4, height)
        + _sint(5, left)
        + _sint(6, bearing_y - TOP_ADJUSTMENT)
        + _uint(7, advance)
    )


@lru_cache(maxsize=32)
def glyph_range(font_path: Path, fontstack: str, start: int) -> bytes:
    """The glyphs of code points ``start`` to ``start + 255`` as one ``.pbf`` range.

    Ranges outside :data:`DRAWN_RANGES` are empty (MapLibre then leaves those characters
    out); any ``fontstack`` name is answered with the one font.

    Examples
    --------
    >>> from geotranquil.config import Settings
    >>> pbf = glyph_range(Settings().web_glyph_font, "Noto Sans Regular", 0)
    >>> pbf[:1], len(pbf) > 10_000
    (b'\\n', True)
    >>> len(glyph_range(Settings().web_glyph_font, "Noto Sans Regular", 19968)) < 40
    True
    """
    if start % 256:
        raise ValueError(f"a glyph range starts at a multiple of 256, not {start}")
    end = start + 255
    stack = _bytes(1, fontstack.encode()) + _bytes(2, f"{start}-{end}".encode())
    if start in DRAWN_RANGES:
        font = ImageFont.truetype(str(font_path), SIZE)
        for code in range(start, end + 1):
            glyph = _glyph(font, code)
            if glyph is not None:
                stack += _bytes(3, glyph)
    return _bytes(1, stack)
