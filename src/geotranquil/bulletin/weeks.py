"""ISO weeks as the bulletin names them (``AAAA-Snn``: 2026-S49), local to the study area."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from geotranquil.errors import InvalidInput

#: the years a week may be asked for
FIRST_YEAR, LAST_YEAR = 1970, 2999
_PATTERN = re.compile(r"^\s*(\d{4})-?[SsWw](\d{1,2})\s*$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday) of a year.

    Examples
    --------
    >>> w = IsoWeek(2026, 49)
    >>> w.label, w.monday, w.sunday
    ('2026-S49', datetime.date(2026, 11, 30), datetime.date(2026, 12, 6))
    >>> w.shifted(-4).label, IsoWeek(2026, 1).shifted(-1).label
    ('2026-S45', '2025-S52')
    """

    year: int
    week: int

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        """The ISO week ``day`` falls in."""
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def label(self) -> str:
        return f"{self.year}-S{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` weeks later (earlier when negative)."""
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def previous(self, n: int) -> list[IsoWeek]:
        """The ``n`` weeks before this one, oldest first."""
        return [self.shifted(-k) for k in range(n, 0, -1)]

    def last_year(self) -> IsoWeek:
        """The same week number a year earlier (week 52 when that year has no week 53).

        Examples
        --------
        >>> IsoWeek(2026, 53).last_year().label, IsoWeek(2026, 10).last_year().label
        ('2025-S52', '2025-S10')
        """
        weeks = date(self.year - 1, 12, 28).isocalendar()[1]
        return IsoWeek(self.year - 1, min(self.week, weeks))

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """Local midnight of its Monday and of the next Monday, in ``timezone`` (aware)."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.monday, datetime.min.time(), zone)
        end = datetime.combine(self.monday + timedelta(days=7), datetime.min.time(), zone)
        return start, end

    def is_over(self, now: datetime, timezone: str) -> bool:
        """Whether the week has ended at ``now`` (aware) in ``timezone``."""
        return now >= self.bounds(timezone)[1]

    def french_span(self) -> str:
        """« du 30/11/2026 au 06/12/2026 »."""
        return f"du {self.monday:%d/%m/%Y} au {self.sunday:%d/%m/%Y}"


def parse_week(text: str) -> IsoWeek:
    """Read ``AAAA-Snn`` (``2026-S49``; ``2026-W49`` is accepted too).

    Examples
    --------
    >>> parse_week("2026-S09"), parse_week("2026-w9").label
    (IsoWeek(year=2026, week=9), '2026-S09')
    >>> parse_week("2026-S54")
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: semaine « 2026-S54 » invalide : l'année 2026 a 53 semaines
    >>> parse_week("0000-S01")
    Traceback (most recent call last):
    ...
    geotranquil.errors.InvalidInput: semaine « 0000-S01 » invalide : année hors de 1970–2999
    """
    match = _PATTERN.match(text or "")
    if match is None:
        raise InvalidInput(
            f"semaine « {text} » invalide : écrivez l'année et le numéro de semaine ISO, "
            "par exemple 2026-S49"
        )
    year, week = int(match[1]), int(match[2])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(f"semaine « {text} » invalide : année hors de {FIRST_YEAR}–{LAST_YEAR}")
    weeks = date(year, 12, 28).isocalendar()[1]
    if not 1 <= week <= weeks:
        raise InvalidInput(f"semaine « {text} » invalide : l'année {year} a {weeks} semaines")
    return IsoWeek(year, week)


def last_complete_week(now: datetime, timezone: str) -> IsoWeek:
    """The latest week (Monday to Sunday, local time) that has ended at ``now``.

    Examples
    --------
    >>> from datetime import UTC
    >>> last_complete_week(datetime(2026, 12, 7, 6, 0, tzinfo=UTC), "Europe/Paris").label
    '2026-S49'
    >>> last_complete_week(datetime(2026, 12, 6, 22, 59, tzinfo=UTC), "Europe/Paris").label
    '2026-S48'
    """
    local = now.astimezone(ZoneInfo(timezone)).date()
    return IsoWeek.of(local).shifted(-1)
