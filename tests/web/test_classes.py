"""Class limits of the counts and rates layers come from the data, as the public API gives it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import headers_for
from tests.web.conftest import Visit
from tests.web.test_carte import PERIOD, ROME

CLASSES = 7


def quantile_breaks(values: list[float]) -> list[float]:
    """The page's rule: the positive values sorted, the values at ranks floor(k × N / 7),
    repeated ones dropped.

    Examples
    --------
    >>> quantile_breaks([0, 1, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144])
    [1, 2, 5, 13, 34, 89]
    """
    ranked = sorted(v for v in values if v is not None and v > 0)
    breaks: list[float] = []
    for k in range(CLASSES):
        b = ranked[k * len(ranked) // CLASSES]
        if not breaks or b > breaks[-1]:
            breaks.append(b)
    return breaks


def _api_values(
    http: httpx.Client, res: int, prop: str, params: dict[str, str], headers: dict[str, str]
) -> list[float]:
    values: list[float] = []
    offset = 0
    while True:
        page = http.get(
            f"/collections/counts-r{res}/items",
            params={**params, "limit": "5000", "offset": str(offset)},
            headers=headers,
        ).json()
        values += [f["properties"][prop] for f in page["features"]]
        if len(page["features"]) < 5000:
            return [v for v in values if v is not None and v > 0]
        offset += 5000


def _legend(visit: Visit) -> list[dict[str, Any]]:
    items = visit.page.locator("#legende li[data-de]")
    out = []
    for i in range(items.count()):
        item = items.nth(i)
        to = item.get_attribute("data-a") or ""
        out.append(
            {
                "from": float(item.get_attribute("data-de") or "nan"),
                "to": float(to) if to else None,
                "n": int(item.get_attribute("data-n") or -1),
            }
        )
    return out


def _check(visit: Visit, values: list[float]) -> None:
    breaks = quantile_breaks(values)
    assert len(breaks) >= 3  # the data has spread: several classes
    legend = _legend(visit)
    assert [c["from"] for c in legend] == breaks
    assert [c["to"] for c in legend] == [*breaks[1:], None]
    expected_n = [
        sum(1 for v in values if lo <= v and (hi is None or v < hi))
        for lo, hi in zip(breaks, [*breaks[1:], None], strict=True)
    ]
    assert [c["n"] for c in legend] == expected_n and sum(expected_n) == len(values)
    # the map paints with the same limits
    paint = visit.page.evaluate(
        "window.carte.map.getPaintProperty('donnees-remplissage', 'fill-color')"
    )
    assert paint[0] == "step" and paint[3::2] == breaks


def test_count_classes_match_the_api_data(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    planner = headers_for("planner", api_keys)
    visit.open(f"#couche=counts&resolution=9&{PERIOD}&{ROME}", key=api_keys["planner"])
    state = visit.page.evaluate("window.carte.state")
    period = {"datetime": f"{state['start']}/{state['end']}"}
    _check(visit, _api_values(http, 9, "count", period, planner))
    assert "Classes par quantiles" in visit.page.inner_text("#legende")

    # other categories, other data, other limits
    before = _legend(visit)
    visit.page.click("#aucune")
    visit.change(lambda: visit.page.check("input[name=categorie][value=vol]"))
    only_vol = _api_values(http, 9, "count", {**period, "categories": "vol"}, planner)
    _check(visit, only_vol)
    assert _legend(visit) != before
    assert visit.console_errors == []


def test_public_rate_classes_match_the_public_api_data(visit: Visit, http: httpx.Client) -> None:
    visit.open(f"#couche=rates&resolution=8&{PERIOD}&{ROME}")
    state = visit.page.evaluate("window.carte.state")
    values = _api_values(
        http, 8, "rate_per_1000", {"datetime": f"{state['start']}/{state['end']}"}, {}
    )
    _check(visit, values)
    assert visit.console_errors == []
