"""Coordinate reference systems offered to clients (OGC API - Features Part 2).

Storage is EPSG:4326 (lon, lat). Clients may ask for CRS84 (lon, lat, the default), EPSG:4326
with its official (lat, lon) axis order, Lambert-93 (EPSG:2154, the French projection) or Web
Mercator (EPSG:3857).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from geotranquil.errors import InvalidInput


@dataclass(frozen=True)
class Crs:
    """A supported CRS: its URI, its SRID in PostGIS and whether its axis order is (lat, lon)."""

    uri: str
    srid: int
    lat_lon: bool
    digits: int

    @property
    def header(self) -> str:
        """The ``Content-Crs`` header value."""
        return f"<{self.uri}>"


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, 7)
EPSG4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7)
LAMBERT93 = Crs("http://www.opengis.net/def/crs/EPSG/0/2154", 2154, False, 2)
WEB_MERCATOR = Crs("http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, 2)
SUPPORTED = (CRS84, EPSG4326, LAMBERT93, WEB_MERCATOR)

_EPSG = re.compile(r"^\[?(?:EPSG:|urn:ogc:def:crs:EPSG::)?(\d+)\]?$", re.IGNORECASE)


def parse_crs(value: str | None, *, parameter: str = "crs") -> Crs:
    """The supported CRS a client names, by URI, ``EPSG:n``, ``[EPSG:n]`` or bare code.

    Examples
    --------
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/2154").srid
    2154
    >>> parse_crs("EPSG:4326").lat_lon, parse_crs(None).lat_lon
    (True, False)
    """
    if value is None or value.strip() == "":
        return CRS84
    wanted = value.strip().strip("<>")
    for crs in SUPPORTED:
        if wanted == crs.uri or wanted.replace("https://", "http://") == crs.uri:
            return crs
    if wanted.upper() in ("CRS84", "OGC:CRS84", "[OGC:CRS84]"):
        return CRS84
    match = _EPSG.match(wanted)
    if match:
        code = int(match.group(1))
        for crs in (EPSG4326, LAMBERT93, WEB_MERCATOR):
            if crs.srid == code:
                return crs
    supported = ", ".join(c.uri for c in SUPPORTED)
    raise InvalidInput(
        f"paramètre {parameter} : système « {value} » non pris en charge ; {supported}"
    )
