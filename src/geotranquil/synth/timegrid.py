"""Hourly time grid of a period in Europe/Paris local time, temporal profiles and time formatting.

Every instant is an integer number of seconds since the Unix epoch (UTC). Local wall-clock
fields are derived with the IANA rules of Europe/Paris, so daylight-saving changes are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

PARIS: Final = "Europe/Paris"
HOURS_PER_YEAR: Final = 365.25 * 24

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# --- hour-of-day shapes (local hour 0..23), relative weights -----------------------------------
# fmt: off
HOURLY: Final[dict[str, tuple[float, ...]]] = {
    "night": (8, 6, 4, 2.5, 1, .5, .3, .3, .3, .4, .5, .6, .7, .7, .7, .8, 1, 1.3, 2, 3,
              4.5, 6, 8, 9),
    "day": (.2, .1, .1, .1, .1, .2, .5, 1, 2, 3, 3.5, 3.5, 3, 3, 3.2, 3.4, 3.3, 3, 2.5, 1.8,
            1.2, .8, .5, .3),
    "evening": (2, 1.2, .6, .3, .2, .1, .1, .2, .3, .4, .5, .7, .9, 1, 1.2, 1.5, 2, 2.6, 3.2,
                3.8, 4, 3.8, 3.2, 2.6),
    "commute": (.3, .2, .1, .1, .1, .3, 1, 2.5, 3.5, 3, 2.5, 2.5, 2.8, 2.5, 2.3, 2.5, 3, 3.5,
                3.5, 2.5, 1.5, 1, .6, .4),
    "afternoon": (1, .6, .3, .2, .1, .1, .1, .2, .4, .7, 1.2, 1.8, 2.3, 2.6, 2.8, 3, 3.2, 3.4,
                  3.5, 3.3, 3, 2.6, 2, 1.5),
    "dark": (3, 2, 1, .5, .5, .6, .8, 1, 1, .8, .6, .5, .5, .5, .5, .6, .8, 1.2, 2, 3, 3.5,
             3.5, 3.2, 3),
    "flat": (.5, .4, .3, .3, .3, .4, .6, .9, 1.2, 1.4, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.4,
             1.3, 1.2, 1.1, 1, .8, .6),
}
# fmt: on


def _weekend_night(dow: IntArray, hour: IntArray) -> FloatArray:
    fri_sat_night = ((dow == 4) & (hour >= 18)) | ((dow == 5) & (hour < 5))
    sat_sun_night = ((dow == 5) & (hour >= 18)) | ((dow == 6) & (hour < 5))
    return np.where(fri_sat_night | sat_sun_night, 3.0, 1.0)


def _workdays(dow: IntArray, hour: IntArray) -> FloatArray:
    return np.select([dow < 5, dow == 5], [1.2, 0.6], 0.4)


def _weekend(dow: IntArray, hour: IntArray) -> FloatArray:
    return np.select([dow >= 5, dow == 2], [1.6, 1.2], 1.0)


# --- day-of-week modifiers (Monday = 0) ---------------------------------------------------------
WEEKLY: Final[dict[str, Callable[[IntArray, IntArray], FloatArray]]] = {
    "none": lambda dow, hour: np.ones(dow.shape),
    "weekend_night": _weekend_night,
    "workdays": _workdays,
    "weekend": _weekend,
}


def _cos_season(peak_doy: float, amplitude: float) -> Callable[[IntArray, IntArray], FloatArray]:
    def season(doy: IntArray, month: IntArray) -> FloatArray:
        return 1.0 + amplitude * np.cos(2 * np.pi * (doy - peak_doy) / 365.25)

    return season


def _night_length(doy: IntArray, month: IntArray) -> FloatArray:
    # Night length at 43.3° N: about 15.1 h at the winter solstice, 8.9 h at the summer one.
    return (12.0 + 3.15 * np.cos(2 * np.pi * (doy + 10) / 365.25)) / 12.0


def _beach(doy: IntArray, month: IntArray) -> FloatArray:
    return np.where((month >= 6) & (month <= 8), 1.0, 0.12)


# --- seasonal modifiers (day of year, month) ---------------------------------------------------
SEASONAL: Final[dict[str, Callable[[IntArray, IntArray], FloatArray]]] = {
    "flat": lambda doy, month: np.ones(doy.shape),
    "summer_mild": _cos_season(196, 0.25),
    "summer": _cos_season(196, 0.7),
    "beach": _beach,
    "winter_nights": _night_length,
    "winter_mild": _cos_season(15, 0.2),
}


@dataclass(frozen=True)
class TimeProfile:
    """A temporal profile: hour-of-day shape x day-of-week modifier x seasonal modifier."""

    hours: str = "flat"
    week: str = "none"
    season: str = "flat"


def _week_vector(profile: TimeProfile) -> FloatArray:
    dow = np.repeat(np.arange(7), 24)
    hour = np.tile(np.arange(24), 7)
    shape = np.asarray(HOURLY[profile.hours], dtype=float)[hour]
    vec = shape * WEEKLY[profile.week](dow, hour)
    return np.asarray(vec / vec.mean(), dtype=float)


def _season_mean(name: str) -> float:
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    doy = days.day_of_year.to_numpy().astype(np.int64)
    month = days.month.to_numpy().astype(np.int64)
    return float(np.mean(SEASONAL[name](doy, month)))


def add_months(start: date, months: int) -> date:
    """The date ``months`` calendar months after ``start`` (day clamped to the month's end).

    Examples
    --------
    >>> add_months(date(2024, 11, 1), 24)
    datetime.date(2026, 11, 1)
    >>> add_months(date(2025, 1, 31), 1)
    datetime.date(2025, 2, 28)
    """
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return date(year, month, min(start.day, last))


def local_midnight(day: date) -> int:
    """Epoch seconds of 00:00 Europe/Paris on ``day``."""
    return int(pd.Timestamp(day.isoformat()).tz_localize(PARIS).value // 1_000_000_000)


class TimeGrid:
    """The hours of ``[start, end)`` in local time, with per-hour weights of any profile."""

    def __init__(self, start: date, end: date) -> None:
        if end <= start:
            raise ValueError("the period is empty")
        self.start = start
        self.end = end
        self.t0 = local_midnight(start)
        self.t1 = local_midnight(end)
        self.hour_starts: IntArray = np.arange(self.t0, self.t1, 3600, dtype=np.int64)
        local = pd.DatetimeIndex(pd.to_datetime(self.hour_starts, unit="s", utc=True)).tz_convert(
            PARIS
        )
        self.hour = local.hour.to_numpy().astype(np.int64)
        self.dow = local.day_of_week.to_numpy().astype(np.int64)
        self.doy = local.day_of_year.to_numpy().astype(np.int64)
        self.month = local.month.to_numpy().astype(np.int64)
        local_days = local.tz_localize(None).normalize()
        self.day_index = (
            ((local_days - pd.Timestamp(start.isoformat())).days).to_numpy().astype(np.int64)
        )
        self._cache: dict[TimeProfile, FloatArray] = {}

    @property
    def n_days(self) -> int:
        """Number of local days in the period."""
        return (self.end - self.start).days

    def day_of(self, day: date) -> int:
        """Index of a local date (0 = start)."""
        return (day - self.start).days

    def weights(self, profile: TimeProfile) -> FloatArray:
        """Per-hour weight of a profile; its mean over a typical year is 1."""
        if profile not in self._cache:
            week = _week_vector(profile)[self.dow * 24 + self.hour]
            season = SEASONAL[profile.season](self.doy, self.month) / _season_mean(profile.season)
            self._cache[profile] = np.asarray(week * season, dtype=float)
        return self._cache[profile]

    def expected(
        self, profile: TimeProfile, annual: float, window: tuple[int, int] | None
    ) -> float:
        """Expected number of events of a process of ``annual`` events a year over the window."""
        w = self.weights(profile)
        if window is not None:
            w = w[(self.day_index >= window[0]) & (self.day_index < window[1])]
        return float(annual / HOURS_PER_YEAR * w.sum())

    def sample(
        self,
        profile: TimeProfile,
        n: int,
        rng: np.random.Generator,
        window: tuple[int, int] | None = None,
    ) -> IntArray:
        """Draw ``n`` instants (epoch seconds) with density proportional to the profile."""
        w = self.weights(profile)
        if window is not None:
            w = np.where((self.day_index >= window[0]) & (self.day_index < window[1]), w, 0.0)
        cw = np.cumsum(w)
        if n == 0 or cw[-1] <= 0:
            return np.zeros(0, dtype=np.int64)
        b = np.searchsorted(cw, rng.random(n) * cw[-1], side="right")
        b = np.minimum(b, len(cw) - 1)
        return self.hour_starts[b] + rng.integers(0, 3600, n)


def local_fields(t_utc: IntArray) -> tuple[NDArray[np.str_], IntArray]:
    """Local Europe/Paris ``YYYY-MM-DDTHH:MM:SS`` strings and UTC offsets (seconds) of instants.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([1743296399, 1743296400])  # 2025-03-30 00:59:59Z and 01:00:00Z
    >>> text, offset = local_fields(t)
    >>> text.tolist(), offset.tolist()
    (['2025-03-30T01:59:59', '2025-03-30T03:00:00'], [3600, 7200])
    """
    t = np.asarray(t_utc, dtype=np.int64)
    local = pd.DatetimeIndex(pd.to_datetime(t, unit="s", utc=True)).tz_convert(PARIS)
    naive = local.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    offset = naive - t
    return np.datetime_as_string(naive.astype("datetime64[s]"), unit="s"), offset


def utc_strings(t_utc: IntArray) -> NDArray[np.str_]:
    """``YYYY-MM-DDTHH:MM:SSZ`` strings of instants.

    Examples
    --------
    >>> import numpy as np
    >>> utc_strings(np.array([1743296400])).tolist()
    ['2025-03-30T01:00:00Z']
    """
    t = np.asarray(t_utc, dtype=np.int64).astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(t, unit="s"), "Z")


def offset_strings(offset: IntArray) -> NDArray[np.str_]:
    """``+HH:MM`` strings of UTC offsets in seconds."""
    off = np.asarray(offset, dtype=np.int64)
    sign = np.where(off < 0, "-", "+")
    mins = np.abs(off) // 60
    hh = np.char.zfill((mins // 60).astype(str), 2)
    mm = np.char.zfill((mins % 60).astype(str), 2)
    return np.char.add(np.char.add(np.char.add(sign, hh), ":"), mm)
