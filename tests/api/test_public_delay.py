"""The public delay: what the public and partners see of incidents is at least 7 days old.

Events are planted in one resolution-8 cell where the served data set has none: ``OLD`` of them
at noon 20 days ago (before the last whole week the public may see, whatever the weekday) and
``RECENT`` at noon 2 days ago. Both are multiples of the public rounding base (5), so the
public's randomly rounded atoms keep them exactly (features/disclosure.py).
Restricted roles must count only the old ones in items, one feature, tiles, H3 rows and
exports, whatever period they ask for; staff roles count both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import h3
import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, text

from geotranquil.config import Settings
from tests.api.conftest import headers_for
from tests.api.planting import plant, remove
from tests.api.served import Served
from tests.api.test_tiles import tile_xy
from tests.integration.ingest_helpers import SAINT_CHARLES

OLD = 10
RECENT = 5
CATEGORY = "depot_sauvage"  # a public category
PREFIX = "public-delay-"
PLACE = SAINT_CHARLES
CELL_R8 = h3.latlng_to_cell(PLACE[1], PLACE[0], 8)
CELL_R7 = h3.latlng_to_cell(PLACE[1], PLACE[0], 7)
RESTRICTED = ("public", "partner")
STAFF = ("planner", "analyst", "admin")


@pytest.fixture
def planted(served: Served, loaded_engine: Engine) -> Iterator[datetime]:
    """The planted events (removed afterwards, so the served data set is intact); yields now."""
    now = datetime.now(UTC)
    old_at, recent_at = _noon(now, 20), _noon(now, 2)
    instants = [
        (old_at if i < OLD else recent_at) + timedelta(minutes=i) for i in range(OLD + RECENT)
    ]
    plant(loaded_engine, place=PLACE, category=CATEGORY, instants=instants, prefix=PREFIX)
    try:
        yield now
    finally:
        remove(loaded_engine, prefix=PREFIX)
        with loaded_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == served.total


def _noon(now: datetime, days_ago: int) -> datetime:
    """Noon (Paris time) ``days_ago`` days before ``now``: all planted events of a day fall in
    one local day, so in one public week."""
    day = now.astimezone(ZoneInfo("Europe/Paris")).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=ZoneInfo("Europe/Paris"))


def _latest(now: datetime) -> datetime:
    """The last planted event's instant."""
    return _noon(now, 2) + timedelta(minutes=OLD + RECENT - 1)


def _expected(role: str) -> int:
    return OLD if role in RESTRICTED else OLD + RECENT


def _props(http: httpx.Client, role: str, keys: dict[str, str], **params: Any) -> dict[str, Any]:
    r = http.get(
        "/collections/counts-r8/items",
        params={"hex_id": CELL_R8, **params},
        headers=headers_for(role, keys),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["numberMatched"] == 1
    props: dict[str, Any] = body["features"][0]["properties"]
    return props


@pytest.mark.parametrize("role", (*RESTRICTED, *STAFF))
def test_items_count_only_old_events_for_restricted_roles(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], role: str
) -> None:
    props = _props(http, role, api_keys)
    assert props["count"] == _expected(role)
    assert props[f"n_{CATEGORY}"] == _expected(role)
    one = http.get(f"/collections/counts-r8/items/{CELL_R8}", headers=headers_for(role, api_keys))
    assert one.status_code == 200, one.text
    assert one.json()["properties"]["count"] == _expected(role)


@pytest.mark.parametrize("role", (*RESTRICTED, "analyst"))
def test_the_delay_applies_within_the_period_asked(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], role: str
) -> None:
    now = planted
    recent = f"{(now - timedelta(days=3)).isoformat()}/.."
    both = f"{(now - timedelta(days=30)).isoformat()}/{(now + timedelta(days=1)).isoformat()}"
    old = f"../{(now - timedelta(days=5)).isoformat()}"
    assert _props(http, role, api_keys, datetime=both)["count"] == _expected(role)
    assert _props(http, role, api_keys, datetime=old)["count"] == OLD
    # the public asking for the last days gets nothing (zero, suppressed), staff the recent ones
    assert _props(http, role, api_keys, datetime=recent)["count"] == (
        None if role in RESTRICTED else RECENT
    )
    assert _props(http, role, api_keys, categories=CATEGORY)["count"] == _expected(role)


def test_counts_r7_add_the_old_events_only_for_the_public(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], loaded_engine: Engine
) -> None:
    with loaded_engine.connect() as conn:
        served_all = conn.execute(
            text(
                "SELECT count(*) FROM events "
                "WHERE h3_r7 = :c AND external_id NOT LIKE 'public-delay-%'"
            ),
            {"c": h3.str_to_int(CELL_R7)},
        ).scalar_one()
    r = http.get(
        f"/collections/counts-r7/items/{CELL_R7}", headers=headers_for("analyst", api_keys)
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["count"] == served_all + OLD + RECENT
    # the public's r7 hexagon is the sum of its r8 children as the public sees them, and it
    # includes the old planted events but not the recent ones
    children = {
        h3.int_to_str(c) if isinstance(c, int) else c for c in h3.cell_to_children(CELL_R7, 8)
    }
    public_r8 = http.get("/collections/counts-r8/h3", params={"f": "json"}).json()
    below = sum(row["count"] or 0 for row in public_r8 if row["hex_id"] in children)
    public_r7 = http.get(f"/collections/counts-r7/items/{CELL_R7}").json()["properties"]["count"]
    assert public_r7 == below
    assert public_r7 >= OLD


@pytest.mark.parametrize("role", ("public", "partner", "analyst"))
def test_tiles_count_only_old_events_for_restricted_roles(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], role: str
) -> None:
    z = 13
    x, y = tile_xy(*PLACE, z)
    for url in (
        f"/tiles/counts-r8/{z}/{x}/{y}.mvt",
        f"/collections/counts-r8/tiles/WebMercatorQuad/{z}/{y}/{x}",
    ):
        r = http.get(url, headers=headers_for(role, api_keys))
        assert r.status_code == 200, (r.status_code, r.text[:300])
        tile = mapbox_vector_tile.decode(r.content)
        features = tile["counts-r8"]["features"]
        by_cell = {f["properties"]["hex_id"]: f["properties"] for f in features}
        assert by_cell[CELL_R8]["count"] == _expected(role), url
        assert by_cell[CELL_R8][f"n_{CATEGORY}"] == _expected(role), url


@pytest.mark.parametrize("role", ("public", "partner", "analyst"))
def test_h3_rows_and_exports_count_only_old_events_for_restricted_roles(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], role: str
) -> None:
    headers = headers_for(role, api_keys)
    rows = http.get("/collections/counts-r8/h3", params={"f": "json"}, headers=headers)
    assert rows.status_code == 200, rows.text
    assert {row["hex_id"]: row for row in rows.json()}[CELL_R8]["count"] == _expected(role)
    rows_csv = http.get("/collections/counts-r8/h3", params={"f": "csv"}, headers=headers)
    assert rows_csv.status_code == 200, rows_csv.text
    by_cell = {row["hex_id"]: row for row in csv.DictReader(io.StringIO(rows_csv.text))}
    assert int(by_cell[CELL_R8]["count"]) == _expected(role)
    export = http.get(
        "/collections/counts-r8/export", params={"f": "csv", "geometry": "none"}, headers=headers
    )
    assert export.status_code == 200, export.text
    by_cell = {row["hex_id"]: row for row in csv.DictReader(io.StringIO(export.text))}
    assert int(by_cell[CELL_R8]["count"]) == _expected(role)
    geojson = http.get("/collections/counts-r8/export", params={"f": "geojson"}, headers=headers)
    assert geojson.status_code == 200, geojson.text
    features = {f["properties"]["hex_id"]: f for f in geojson.json()["features"]}
    assert features[CELL_R8]["properties"]["count"] == _expected(role)
    page = http.get(
        "/collections/counts-r8/items",
        params={"hex_id": CELL_R8, "f": "csv"},
        headers=headers,
    )
    assert page.status_code == 200, page.text
    assert int(next(csv.DictReader(io.StringIO(page.text)))["count"]) == _expected(role)


def test_web_map_config_hides_the_latest_days_from_the_public(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], settings: Settings
) -> None:
    from geotranquil.features.disclosure import week_start
    from geotranquil.services.features import public_until

    zone = ZoneInfo(settings.timezone)
    until = public_until(settings)
    public = http.get("/carte/config.json").json()["time_range"]
    # the public's last day: the Sunday before the week of the public delay's start
    cutoff = week_start(until, settings.timezone)
    assert public[1] == (cutoff.date() - timedelta(days=1)).isoformat()
    assert datetime.fromisoformat(public[0]).weekday() == 0  # whole weeks from a Monday
    latest = _latest(planted)
    staff = http.get("/carte/config.json", headers=headers_for("analyst", api_keys)).json()
    assert staff["time_range"][1] == latest.astimezone(zone).date().isoformat()
    assert staff["time_range"][0] == public[0]


def test_collection_extents_hide_the_latest_days_from_the_public(
    http: httpx.Client, planted: datetime, api_keys: dict[str, str], settings: Settings
) -> None:
    from geotranquil.services.features import public_until

    until = public_until(settings)
    latest = _latest(planted)

    def end(role: str, path: str) -> datetime:
        body = http.get(path, headers=headers_for(role, api_keys)).json()
        if "collections" in body:
            body = next(c for c in body["collections"] if c["id"] == "counts-r8")
        return datetime.fromisoformat(body["extent"]["temporal"]["interval"][0][1])

    for path in ("/collections", "/collections/counts-r8"):
        assert end("public", path) < until
        assert end("partner", path) < until
        assert abs(end("analyst", path) - latest) < timedelta(seconds=1)


def test_public_until_is_the_start_of_a_local_day(settings: Settings) -> None:
    from geotranquil.roles import Role
    from geotranquil.services.features import context_of, public_until

    zone = ZoneInfo(settings.timezone)
    now = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)  # already 11 March in Paris
    until = public_until(settings, now=now)
    local = until.astimezone(zone)
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    assert local.date() == now.astimezone(zone).date() - timedelta(days=settings.public_delay_days)
    assert public_until(settings, now=now + timedelta(hours=20)) == until  # the same all day
    assert public_until(settings, now=now - timedelta(hours=1)) < until  # not the day before
    for role in (Role.PUBLIC, Role.PARTNER):
        assert context_of(role, settings, now=now).public_until == until
    for role in (Role.PLANNER, Role.AGENT, Role.ANALYST, Role.ADMIN):
        assert context_of(role, settings, now=now).public_until is None
    with pytest.raises(ValueError, match="public_delay_days"):
        Settings(public_delay_days=6)  # the rule is at least 7 days


def test_a_cached_public_tile_does_not_outlive_its_day(
    planted: datetime, loaded_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geotranquil.db.version import data_version
    from geotranquil.features.catalogue import load_catalogue
    from geotranquil.roles import Role
    from geotranquil.services import tiles as tiles_service
    from geotranquil.services.features import context_of
    from geotranquil.services.tilecache import TileCache

    z = 13
    x, y = tile_xy(*PLACE, z)
    with loaded_engine.connect() as conn:
        catalogue = load_catalogue(conn=conn)
        version = data_version(conn=conn)
    cache = TileCache(16)

    def count() -> tuple[int, str]:
        tile = tiles_service.get_tile(
            engine=loaded_engine,
            cache=cache,
            version=version,
            catalogue=catalogue,
            layer_id="counts-r8",
            z=z,
            x=x,
            y=y,
            query={},
            role=Role.PUBLIC,
            settings=settings,
        )
        decoded = mapbox_vector_tile.decode(tile.data)["counts-r8"]["features"]
        return {f["properties"]["hex_id"]: f for f in decoded}[CELL_R8]["properties"][
            "count"
        ], tile.etag

    today, etag_today = count()
    assert today == OLD
    assert count() == (OLD, etag_today)
    assert cache.hits == 1
    # two weeks later the recent events are old enough: the cached tile of today must not serve
    later = planted + timedelta(days=14)
    monkeypatch.setattr(
        tiles_service,
        "context_of",
        lambda role, settings: context_of(role, settings, now=later),
    )
    then, etag_then = count()
    assert then == OLD + RECENT
    assert etag_then != etag_today
    assert cache.hits == 1
