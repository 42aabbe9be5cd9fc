"""What a geocoder answers for one address (a leaf of the geocoding package)."""

from __future__ import annotations

from dataclasses import dataclass

#: how precisely a result places the address, finest first
PRECISIONS = ("housenumber", "street", "locality", "area")


@dataclass(frozen=True)
class GeocodeResult:
    """A placed address: position (EPSG:4326), the matched address, a score in [0, 1].

    ``precision`` is one of :data:`PRECISIONS`; ``interpolated`` says that the house number
    is not in the BAN and was placed between its neighbours on the same street;
    ``intersection`` that the query named two streets and the point is where they meet.
    """

    lon: float
    lat: float
    score: float
    precision: str
    label: str
    interpolated: bool = False
    intersection: bool = False
    ban_id: str | None = None
    postcode: str | None = None
    citycode: str | None = None
