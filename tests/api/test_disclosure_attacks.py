"""The public's figures cannot be undone by subtraction: the attacks run, and recover nothing.

Each attack is one a curious member of the public could run without a key (the attacks of
issue 14 and a few more): a cell's total minus its visible categories, a coarse hexagon minus
its children, bisecting a time window down to the second, differencing category subsets,
averaging repeated or overlapping requests, and reading the same figure through every output
(items, one feature, H3 rows, exports, tiles). Planted: a single public event, alone in its
resolution-8 cell, 30 days before now; the attacks must not find out when it happened, nor that
it is one event.

What protects (features/disclosure.py): every public figure is a sum of atoms (hexagon x
category x local week) randomly rounded to a multiple of 5 with a keyed draw, over whole weeks.
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

from tests.api.planting import plant, remove
from tests.api.served import Served
from tests.api.test_tiles import tile_xy
from tests.integration.ingest_helpers import SAINT_CHARLES

PARIS = ZoneInfo("Europe/Paris")
PLACE = SAINT_CHARLES
CELL_R8 = h3.latlng_to_cell(PLACE[1], PLACE[0], 8)
CELL_R7 = h3.latlng_to_cell(PLACE[1], PLACE[0], 7)
CATEGORY = "tag_graffiti"  # public
BASE = 5
PRIVATE = ("vol", "rixe_violence", "trafic_stupefiants")


@pytest.fixture
def lone_event(served: Served, loaded_engine: Engine) -> Iterator[datetime]:
    """One public event alone in its r8 cell, at 10:17:23 Paris time 30 days ago."""
    day = datetime.now(UTC).astimezone(PARIS).date() - timedelta(days=30)
    at = datetime.combine(day, time(10, 17, 23), tzinfo=PARIS)
    plant(loaded_engine, place=PLACE, category=CATEGORY, instants=[at], prefix="lone-event-")
    try:
        yield at
    finally:
        remove(loaded_engine, prefix="lone-event-")


def _cells(http: httpx.Client, resolution: int, **params: Any) -> dict[str, dict[str, Any]]:
    """Every hexagon of a public counts layer, by id (no key: what anybody gets)."""
    r = http.get(f"/collections/counts-r{resolution}/items", params={"limit": 10000, **params})
    assert r.status_code == 200, r.text
    return {f["properties"]["hex_id"]: f["properties"] for f in r.json()["features"]}


def _public_categories(http: httpx.Client) -> list[str]:
    return [c["code"] for c in http.get("/categories").json()["categories"]]


def _value(v: int | None) -> int:
    return 0 if v is None else v


WINDOWS = (None, "2025-01-06T00:00:00Z/2025-03-03T00:00:00Z", "2025-02-12T13:31:07Z/..")


@pytest.mark.parametrize("window", WINDOWS)
def test_category_complement_reveals_nothing(
    http: httpx.Client, served: Served, window: str | None
) -> None:
    """A total is exactly the sum of the public categories as published: total minus the
    visible categories is zero, never a hidden figure."""
    params = {} if window is None else {"datetime": window}
    public = _public_categories(http)
    for resolution in (7, 8):
        cells = _cells(http, resolution, **params)
        nonzero = 0
        for props in cells.values():
            parts = [_value(props[f"n_{c}"]) for c in public]
            assert _value(props["count"]) == sum(parts), props
            assert all(p % BASE == 0 for p in parts), props
            assert all(props.get(f"n_{c}") is None for c in PRIVATE)
            nonzero += props["count"] is not None
        assert nonzero > 0  # the layer is not empty: the check bit on real figures


@pytest.mark.parametrize("window", WINDOWS)
def test_parent_minus_children_reveals_nothing(
    http: httpx.Client, served: Served, window: str | None
) -> None:
    params = {} if window is None else {"datetime": window}
    r7, r8 = _cells(http, 7, **params), _cells(http, 8, **params)
    checked = 0
    for parent, props in r7.items():
        children = [
            h3.int_to_str(c) if isinstance(c, int) else c for c in h3.cell_to_children(parent, 8)
        ]
        below = sum(_value(r8[c]["count"]) for c in children if c in r8)
        assert _value(props["count"]) == below, parent
        checked += props["count"] is not None
    assert checked > 0


def test_category_subsets_add_up(http: httpx.Client, served: Served) -> None:
    """count(A) + count(B) == count(A, B): differencing subsets isolates nothing new."""
    a, b = "depot_sauvage", "tag_graffiti"
    only_a = _cells(http, 8, categories=a)
    only_b = _cells(http, 8, categories=b)
    both = _cells(http, 8, categories=f"{a},{b}")
    assert any(v["count"] for v in both.values())
    for cell, props in both.items():
        assert _value(props["count"]) == _value(only_a[cell]["count"]) + _value(
            only_b[cell]["count"]
        )


def test_time_bisection_finds_neither_the_instant_nor_the_week(
    http: httpx.Client, lone_event: datetime
) -> None:
    """Windows narrowed around the lone event, down to the second, all answer like the whole
    weeks they fall in: the window that holds the event and the one just after it answer the
    same, so the attacker learns nothing of when it happened."""
    at = lone_event.astimezone(UTC)

    def count(start: datetime, end: datetime) -> int | None:
        window = (
            f"{start.isoformat().replace('+00:00', 'Z')}/{end.isoformat().replace('+00:00', 'Z')}"
        )
        r = http.get("/collections/counts-r8/items", params={"hex_id": CELL_R8, "datetime": window})
        assert r.status_code == 200, r.text
        value: int | None = r.json()["features"][0]["properties"]["count"]
        return value

    # bisection: 36 halvings from a 60-day window around the event
    lo, hi = at - timedelta(days=30), at + timedelta(days=30)
    seen = set()
    for _ in range(36):
        mid = lo + (hi - lo) / 2
        left, right = count(lo, mid), count(mid, hi)
        seen.update((left, right))
        if at < mid:
            hi = mid
        else:
            lo = mid
    # the final window is about a tenth of a millisecond wide, around the event: it answers
    # like any window inside the same week (nothing: a window within one week is empty)
    assert count(at - timedelta(seconds=1), at + timedelta(seconds=1)) is None
    assert count(at + timedelta(seconds=1), at + timedelta(seconds=2)) is None
    # every answer was 0 (suppressed) or the rounded atom: never the exact 1
    assert seen <= {None, BASE}
    assert 1 not in seen


def test_the_lone_event_is_never_published_as_one(http: httpx.Client, lone_event: datetime) -> None:
    """Whatever output and however often it is asked: one value, 0 or 5, never 1."""
    values = set()
    for _ in range(5):
        r = http.get("/collections/counts-r8/items", params={"hex_id": CELL_R8})
        values.add(r.json()["features"][0]["properties"]["count"])
        values.add(
            http.get(f"/collections/counts-r8/items/{CELL_R8}").json()["properties"]["count"]
        )
    rows = http.get("/collections/counts-r8/h3", params={"f": "json"}).json()
    values.add({row["hex_id"]: row for row in rows}[CELL_R8]["count"])
    export = http.get("/collections/counts-r8/export", params={"f": "csv", "geometry": "none"})
    by_cell = {row["hex_id"]: row for row in csv.DictReader(io.StringIO(export.text))}
    values.add(int(by_cell[CELL_R8]["count"]) if by_cell[CELL_R8]["count"] else None)
    z = 13
    x, y = tile_xy(*PLACE, z)
    tile = mapbox_vector_tile.decode(http.get(f"/tiles/counts-r8/{z}/{x}/{y}.mvt").content)
    props = {f["properties"]["hex_id"]: f["properties"] for f in tile["counts-r8"]["features"]}
    values.add(props[CELL_R8].get("count"))
    assert len(values) == 1, values  # one answer everywhere: nothing to average
    assert values <= {None, BASE}


def test_overlapping_windows_differ_by_whole_rounded_weeks(
    http: httpx.Client, lone_event: datetime
) -> None:
    """Averaging over many overlapping windows: every answer is a multiple of 5 and each
    window's answer is fixed, so their differences are sums of rounded atoms, never 1."""
    at = lone_event.astimezone(UTC)
    answers = []
    for days in range(1, 40, 3):
        for shift in (0, 1, 2):
            start = at - timedelta(days=days, hours=shift * 7)
            window = f"{start.isoformat().replace('+00:00', 'Z')}/.."
            r = http.get(
                "/collections/counts-r8/items", params={"hex_id": CELL_R8, "datetime": window}
            )
            answers.append(_value(r.json()["features"][0]["properties"]["count"]))
    assert {a % BASE for a in answers} == {0}
    assert len(set(answers)) == 1  # the event's week is always wholly in or out: the same atom


def test_staff_still_see_exact_counts(
    http: httpx.Client, lone_event: datetime, api_keys: dict[str, str]
) -> None:
    r = http.get(
        "/collections/counts-r8/items",
        params={"hex_id": CELL_R8},
        headers={"X-API-Key": api_keys["planner"]},
    )
    assert r.json()["features"][0]["properties"]["count"] == 1


def test_rounded_figures_stay_close_to_the_truth(
    http: httpx.Client, served: Served, loaded_engine: Engine
) -> None:
    """Each public cell is off by less than 5 per atom it sums, and the city-wide total of
    the public categories is close to the truth (rounding is unbiased)."""
    public = _public_categories(http)
    cells = _cells(http, 8)
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT lower(to_hex(h3_r8)), count(*), count(DISTINCT (category, "
                "date_trunc('week', occurred_at AT TIME ZONE 'Europe/Paris'))) "
                "FROM events WHERE category = ANY(:cats) GROUP BY 1"
            ),
            {"cats": public},
        ).all()
    true_total = published_total = 0
    for hex_id, true, atoms in rows:
        published = _value(cells[hex_id]["count"])
        assert abs(published - true) < BASE * atoms, (hex_id, true, published, atoms)
        true_total += true
        published_total += published
    assert true_total > 100
    assert abs(published_total - true_total) <= 0.25 * true_total


def test_temporal_extents_date_no_single_event(
    http: httpx.Client, lone_event: datetime, api_keys: dict[str, str]
) -> None:
    """The first and last instants of the data would date single events to the microsecond:
    the public's extents are whole local weeks (Monday 00:00 to Sunday 23:59:59.999999)."""
    for headers in ({}, {"X-API-Key": api_keys["partner"]}):
        body = http.get("/collections/counts-r8", headers=headers).json()
        start, end = (
            datetime.fromisoformat(v).astimezone(PARIS)
            for v in body["extent"]["temporal"]["interval"][0]
        )
        assert (start.weekday(), start.time()) == (0, time(0))
        assert (end.weekday(), end.time()) == (6, time(23, 59, 59, 999999))
    staff = http.get("/collections/counts-r8", headers={"X-API-Key": api_keys["analyst"]}).json()
    staff_start = datetime.fromisoformat(staff["extent"]["temporal"]["interval"][0][0])
    assert staff_start.astimezone(PARIS).time() != time(0)  # staff see the real first instant
