"""The map says how fresh the shown layer is: "Données à jour au … — analyse du … (données du …
au …)", with the times of ``GET /freshness`` in the platform's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx

from tests.web.conftest import Visit

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
PARIS = ZoneInfo("Europe/Paris")


def _day(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _instant(iso: str) -> str:
    t = datetime.fromisoformat(iso).astimezone(PARIS)
    return f"{_day(t.date())} à {t:%H} h {t:%M}"


def _line(visit: Visit) -> str:
    visit.page.wait_for_function("document.getElementById('fraicheur').textContent.length > 0")
    return visit.page.inner_text("#fraicheur")


def test_the_map_says_when_the_data_and_the_analysis_are_from(
    visit: Visit, http: httpx.Client, api_keys: dict[str, str]
) -> None:
    fresh = http.get("/freshness").json()
    run = fresh["layers"]["hotspots"]["run"]
    assert run is not None  # the served data have a hot-spot run
    window = run["data_window"]
    expected = (
        f"Données à jour au {_instant(fresh['data_as_of'])} — analyse du "
        f"{_instant(run['computed_at'])} (données du {_day(date.fromisoformat(window['start']))} "
        f"au {_day(date.fromisoformat(window['end']))})"
    )
    # the public's counts: the time of the data only
    visit.open("#couche=counts")
    assert _line(visit) == f"Données à jour au {_instant(fresh['data_as_of'])}."

    # an analyst's hot spots: the time of the data and of the default run, its data window
    visit.open("#couche=hotspots", key=api_keys["analyst"])
    visit.page.reload()
    visit.wait_idle()
    line = _line(visit)
    assert line.startswith(expected), line
    assert visit.console_errors == []
