"""What a vector tile holds, without decoding it: its number of features and its extent.

The audit trail records how many events a tile gave; tiles may come from the cache, so the
count is read from the encoded bytes (the Mapbox Vector Tile protobuf: a tile is repeated
``layers`` = field 3, a layer's ``features`` are its field 2).
"""

from __future__ import annotations

import math

_TILE_LAYERS = 3
_LAYER_FEATURES = 2


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, bytes | None]]:
    """The (field number, payload of length-delimited fields) of one protobuf message."""
    out: list[tuple[int, bytes | None]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
            out.append((number, None))
        elif wire == 1:
            pos += 8
            out.append((number, None))
        elif wire == 2:
            length, pos = _varint(data, pos)
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire == 5:
            pos += 4
            out.append((number, None))
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    return out


def count_features(tile: bytes) -> int:
    """The number of features in an encoded vector tile (every layer).

    Examples
    --------
    >>> import mapbox_vector_tile
    >>> data = mapbox_vector_tile.encode([{"name": "events", "features": [
    ...     {"geometry": "POINT(1 1)", "properties": {"n": 1}},
    ...     {"geometry": "POINT(2 2)", "properties": {"n": 2}}]}])
    >>> count_features(data), count_features(b"")
    (2, 0)
    """
    total = 0
    for number, layer in _fields(tile):
        if number == _TILE_LAYERS and layer is not None:
            total += sum(
                1 for n, payload in _fields(layer) if n == _LAYER_FEATURES and payload is not None
            )
    return total


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A WebMercatorQuad tile's west, south, east, north in degrees.

    Examples
    --------
    >>> [round(v, 4) for v in tile_bounds(1, 1, 0)]
    [0.0, 0.0, 180.0, 85.0511]
    """
    n = 2.0**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)
