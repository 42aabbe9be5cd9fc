"""The streets under the hexagons (issue 15 §8): the BAN's streets in the base map's tiles from
zoom 15, one line per street along its addresses with the street's name, and the glyphs the
maps write them with, drawn by our own server (nothing from the internet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import pandas as pd

from geotranquil.config import Settings
from geotranquil.geocode.ban import street_key, write_ban_csv
from geotranquil.services.addresses import load_ban
from tests.api.test_tiles import tile_xy
from tests.streets_helpers import longest_street, read_glyphs


def _basemap(http: httpx.Client, lon: float, lat: float, z: int) -> dict[str, Any]:
    x, y = tile_xy(lon, lat, z)
    answer = http.get(f"/tiles/basemap/{z}/{x}/{y}.mvt")  # no key: the BAN is public data
    assert answer.status_code == 200, answer.text[:200]
    decoded: dict[str, Any] = mapbox_vector_tile.decode(answer.content)
    return decoded


def test_streets_are_drawn_along_their_addresses_from_zoom_15(
    http: httpx.Client, ban: pd.DataFrame
) -> None:
    street = longest_street(ban)
    assert street.addresses >= 10
    tile = _basemap(http, street.lon, street.lat, 15)
    features = tile["streets"]["features"]
    mine = [f for f in features if f["properties"]["street_key"] == street.key]
    assert len(mine) == 1  # one line per street
    assert mine[0]["properties"]["name"] == street.name
    assert mine[0]["geometry"]["type"] in ("LineString", "MultiLineString")
    # every line carries its own street's name, once
    names = {street_key(i): n for i, n in zip(ban["id"], ban["nom_voie"], strict=True) if "_" in i}
    keys = [f["properties"]["street_key"] for f in features]
    assert len(keys) == len(set(keys))
    assert all(f["properties"]["name"] == names[f["properties"]["street_key"]] for f in features)
    # below zoom 15 the base map has its outlines only
    assert "streets" not in _basemap(http, street.lon, street.lat, 14)


def test_the_glyphs_are_served_from_a_local_font(http: httpx.Client) -> None:
    answer = http.get("/carte/glyphs/DejaVu Sans Book/0-255.pbf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-protobuf"
    name, span, glyphs = read_glyphs(answer.content)
    assert (name, span) == ("DejaVu Sans Book", "0-255")
    assert {ord(c) for c in "Rue de la République 13001 é à ç ô"} <= set(glyphs)
    assert 0 not in glyphs and 10 not in glyphs  # control characters are not drawn
    for code in (ord("e"), ord("é"), ord("R")):
        g = glyphs[code]
        assert g["width"] > 0 and g["height"] > 0 and g["advance"] > 0
        assert len(g["bitmap"]) == (g["width"] + 6) * (g["height"] + 6)  # a 3 px border
    # the accent is drawn: é is taller than e, from the same baseline
    e, e_acute = glyphs[ord("e")], glyphs[ord("é")]
    assert e_acute["height"] > e["height"] and e_acute["top"] > e["top"]
    assert glyphs[ord(" ")]["bitmap"] == b"" and glyphs[ord(" ")]["advance"] > 0
    # French punctuation (’ « ») comes from the general punctuation range
    _, _, punctuation = read_glyphs(http.get("/carte/glyphs/x/8192-8447.pbf").content)
    assert ord("’") in punctuation
    _, _, cjk = read_glyphs(http.get("/carte/glyphs/x/19968-20223.pbf").content)
    assert cjk == {}  # not drawn: MapLibre leaves those characters out
    for bad in ("1-256", "0-511", "abc-def", "65536-65791", "9" * 40 + "-1"):
        assert http.get(f"/carte/glyphs/x/{bad}.pbf").status_code == 404, bad


def test_a_new_ban_file_shows_at_once_in_cached_tiles(
    http: httpx.Client,
    ban: pd.DataFrame,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """The tile cache follows the BAN's loads (the data version follows events only)."""
    street = longest_street(ban)

    def names() -> set[str]:
        tile = _basemap(http, street.lon, street.lat, 15)
        return {
            f["properties"]["name"]
            for f in tile["streets"]["features"]
            if f["properties"]["street_key"] == street.key
        }

    assert names() == {street.name}
    assert names() == {street.name}  # now from the cache
    renamed = ban.copy()
    mine = renamed["id"].map(street_key) == street.key
    renamed.loc[mine, "nom_voie"] = "Rue de la Nouvelle Plaque"
    try:
        load_ban(settings, write_ban_csv(renamed, tmp_path / "renommee.csv"))
        assert names() == {"Rue de la Nouvelle Plaque"}
    finally:  # the module's BAN again, for the tests after this one
        load_ban(settings, write_ban_csv(ban, tmp_path / "ban.csv"), force=True)
    assert names() == {street.name}
