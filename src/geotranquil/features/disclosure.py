"""Disclosure control: what the public and partners may learn from the counts.

The public's figures must not be undone by subtraction: a cell's total minus its categories,
a coarse hexagon minus its children, or one time window minus another. Suppressing small
numbers one table at a time does not hold against these; the platform instead publishes only
sums of protected *atoms*, so every figure the public can obtain is a sum of the same fixed,
already protected numbers and no combination of requests says more than the atoms do.

- An **atom** is the number of events of one public category, in one hexagon of the finest
  public resolution (``public_max_resolution``), in one local calendar week (Monday to Monday,
  ``timezone``).
- Each atom is **randomly rounded to a multiple of the base** (5 by default): ``n = 5q + r``
  becomes ``5(q + 1)`` with probability ``r / 5`` and ``5q`` otherwise, so it is unbiased and
  never off by 5 or more; multiples of 5 (zero included) are kept as they are. The draw is a
  keyed hash of the atom (a secret kept in the database, never served), so asking again gives
  the same answer: there is nothing to average away.
- Every public figure (a hexagon of the public resolution or a coarser one, one category or
  several, any window) is the sum of the rounded atoms it covers. So a total equals the sum of
  its categories, a parent equals the sum of its children, and two windows differ by whole
  rounded weeks.
- Windows are whole weeks: a public ``datetime`` is widened to the week its start falls in and
  cut at the start of the week its end falls in, and never reaches past the last whole week
  before :func:`geotranquil.services.features.public_until`.

Staff (planners, agents, analysts, admins) see exact counts; this module concerns the public
and partners only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HASH_SPACE = 1 << 32
"""The keyed hash of an atom is read as an integer below this (32 bits)."""


def week_start(instant: datetime, timezone: str) -> datetime:
    """The start (Monday 00:00, local time) of the week ``instant`` falls in.

    Examples
    --------
    >>> from datetime import UTC
    >>> week_start(datetime(2025, 3, 12, 15, 0, tzinfo=UTC), "Europe/Paris").isoformat()
    '2025-03-10T00:00:00+01:00'
    >>> week_start(datetime(2025, 3, 9, 23, 30, tzinfo=UTC), "Europe/Paris").isoformat()
    '2025-03-10T00:00:00+01:00'
    """
    zone = ZoneInfo(timezone)
    day = instant.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, time(0), tzinfo=zone)


def public_window(
    start: datetime | None, end: datetime | None, until: datetime, timezone: str
) -> tuple[datetime | None, datetime]:
    """The whole weeks a restricted caller's window covers: ``[start, end)`` as counted.

    ``start`` goes back to the start of its week; ``end`` (or ``until`` when there is none, or
    when it is later) goes back to the start of its week. The result may be empty
    (``start >= end``), in which case nothing is counted.

    Examples
    --------
    >>> from datetime import UTC
    >>> until = datetime(2025, 3, 4, tzinfo=UTC)  # a Tuesday
    >>> s, e = public_window(datetime(2025, 2, 5, 13, 7, 9, tzinfo=UTC), None, until, "UTC")
    >>> s.date().isoformat(), e.date().isoformat()
    ('2025-02-03', '2025-03-03')
    >>> s, e = public_window(None, datetime(2025, 2, 19, 10, tzinfo=UTC), until, "UTC")
    >>> s, e.date().isoformat()
    (None, '2025-02-17')
    """
    last = week_start(until, timezone)
    stop = last if end is None else min(week_start(end, timezone), last)
    return (None if start is None else week_start(start, timezone)), stop


def round_atom(count: int, draw: int, base: int = 5) -> int:
    """The published value of an atom of ``count`` events, given its 32-bit keyed ``draw``.

    Rounded up to the next multiple of ``base`` when ``draw / 2**32 < remainder / base``:
    the reference implementation of the SQL the counts collections run.

    Examples
    --------
    >>> round_atom(10, 123), round_atom(0, 0)
    (10, 0)
    >>> round_atom(3, 0), round_atom(3, HASH_SPACE - 1)
    (5, 0)
    >>> round_atom(7, int(0.39 * HASH_SPACE)), round_atom(7, int(0.41 * HASH_SPACE))
    (10, 5)
    """
    if count < 0 or not 0 <= draw < HASH_SPACE or base < 1:
        raise ValueError("count >= 0, 0 <= draw < 2**32 and base >= 1 expected")
    low, remainder = divmod(count, base)
    up = draw * base < remainder * HASH_SPACE
    return (low + (1 if up else 0)) * base


def atom_label(h3: int, category: str, week: date) -> str:
    """The text an atom's draw is the keyed hash of (after the secret and a colon).

    Examples
    --------
    >>> atom_label(613196571542716415, "vol", date(2025, 3, 10))
    '613196571542716415:vol:2025-03-10'
    """
    return f"{h3}:{category}:{week.isoformat()}"
