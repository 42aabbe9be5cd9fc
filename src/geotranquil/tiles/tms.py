"""The WebMercatorQuad tile matrix set (OGC TMS 2.0) and TileJSON 3.0 documents."""

from __future__ import annotations

from typing import Any

from geotranquil.errors import InvalidInput, NotFound

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MAX_ZOOM = 22
_ORIGIN = 20037508.3427892
_SCALE0 = 559082264.028717
_CELL0 = 156543.033928041


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile outside WebMercatorQuad (zoom 0 to 22, columns and rows within 2^z).

    Examples
    --------
    >>> check_tile(12, 2100, 1490)
    >>> check_tile(2, 4, 0)
    Traceback (most recent call last):
    ...
    geotranquil.errors.NotFound: tuile 2/4/0 hors de la grille WebMercatorQuad (0 ≤ x, y < 4)
    """
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidInput(f"niveau de zoom {z} hors limites (0 à {MAX_ZOOM})")
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        raise NotFound(f"tuile {z}/{x}/{y} hors de la grille WebMercatorQuad (0 ≤ x, y < {side})")


def tile_matrix_set() -> dict[str, Any]:
    """The WebMercatorQuad definition, as OGC TMS 2.0 JSON."""
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["X", "Y"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": [
            {
                "id": str(z),
                "scaleDenominator": _SCALE0 / (1 << z),
                "cellSize": _CELL0 / (1 << z),
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_ORIGIN, _ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 1 << z,
                "matrixHeight": 1 << z,
            }
            for z in range(MAX_ZOOM + 1)
        ],
    }


def tilejson(
    *,
    name: str,
    description: str,
    tiles_url: str,
    layers: list[dict[str, Any]],
    bounds: tuple[float, float, float, float] | None,
    minzoom: int = 0,
    maxzoom: int = MAX_ZOOM,
) -> dict[str, Any]:
    """A TileJSON 3.0.0 document for one tile source.

    Examples
    --------
    >>> doc = tilejson(name="n", description="d", tiles_url="http://h/t/{z}/{x}/{y}.mvt",
    ...                layers=[{"id": "n", "fields": {}}], bounds=(5.2, 43.2, 5.5, 43.4))
    >>> doc["tilejson"], doc["center"]
    ('3.0.0', [5.35, 43.3, 11])
    """
    box = bounds or (-180.0, -85.0511, 180.0, 85.0511)
    return {
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "version": "1.0.0",
        "attribution": "geotranquil — Ville de Marseille",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [round(v, 6) for v in box],
        "center": [round((box[0] + box[2]) / 2, 6), round((box[1] + box[3]) / 2, 6), 11],
        "vector_layers": layers,
    }
