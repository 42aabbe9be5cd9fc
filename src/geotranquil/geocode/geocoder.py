"""The geocoder interface and its registry (like the ingest sources: a name, a small protocol).

A geocoder is built from the BAN rows of the database and answers batches of free-text
addresses, and gives its best few candidates for an analyst when unsure. ``ban`` is the one
shipped; another engine (a national API, addok) registers here under its own name with the
same three members.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pandas as pd

from geotranquil.errors import InvalidInput
from geotranquil.geocode.matching import BanIndex
from geotranquil.geocode.result import GeocodeResult


class Geocoder(Protocol):
    """Places addresses: ``geocode`` one, ``geocode_many`` a batch (same order, None if not),
    ``candidates`` the best few placements of one, best first."""

    def geocode(self, text: str) -> GeocodeResult | None: ...

    def geocode_many(self, texts: Sequence[str]) -> list[GeocodeResult | None]: ...

    def candidates(self, text: str, limit: int = 3) -> list[GeocodeResult]: ...


#: geocoder name -> how to build it from BAN rows (``ban_addresses`` columns)
GEOCODERS: dict[str, Callable[[pd.DataFrame], Geocoder]] = {"ban": BanIndex.from_frame}


def build_geocoder(name: str, ban: pd.DataFrame) -> Geocoder:
    """The geocoder registered as ``name``, built on ``ban``.

    Examples
    --------
    >>> build_geocoder("nope", pd.DataFrame())
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: géocodeur « nope » inconnu ; disponibles : ban
    """
    if name not in GEOCODERS:
        raise InvalidInput(f"géocodeur « {name} » inconnu ; disponibles : {', '.join(GEOCODERS)}")
    return GEOCODERS[name](ban)
