"""The retention purge: clear what the policy says is past retention, in one transaction.

:func:`purge` is what the CLI (``geotranquil retention purger``) calls and what a job worker
calls later: it takes the engine, the settings and a day, returns exact counts per rule and per
table, and is idempotent (a second run on the same day clears nothing). Everything happens in
one transaction: a crash leaves the database as it was before the purge. With ``simulate``
nothing is changed and the counts say what a purge would clear.

Ages are counted in whole local days (``settings.timezone``): on day D, a rule of N days
clears what is dated before the start of local day D − N (N months: the same day N months
earlier), i.e. data are kept N full days after their day.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from geotranquil.config import Settings
from geotranquil.db import retention as db
from geotranquil.db.open311 import named_photo_files
from geotranquil.retention_policy import KINDS, RetentionPolicy, Rule, load_policy
from geotranquil.services import audit
from geotranquil.services.audit import Actor
from geotranquil.services.open311 import RESIDENTS_SOURCE
from geotranquil.services.photo_store import PhotoStore
from geotranquil.taxonomy import load_taxonomy


def current_policy(settings: Settings) -> RetentionPolicy:
    """The policy in force (``GEOTRANQUIL_RETENTION_FILE`` or the packaged default), checked."""
    return load_policy(settings.retention_file, personal_sources=(RESIDENTS_SOURCE,))


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule cleared (or would clear): rows per table."""

    rule: Rule
    first_day_kept: date | None  # None: kept without limit, nothing cleared
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class PurgeReport:
    """A purge (or its simulation) on ``day``: the policy's origin and each rule's outcome."""

    day: date
    simulated: bool
    origin: str
    outcomes: tuple[RuleOutcome, ...]

    @property
    def total(self) -> int:
        return sum(o.total for o in self.outcomes)

    def count(self, data: str, target: str) -> int:
        """Rows of ``target`` cleared by the rules of kind ``data``."""
        return sum(o.counts.get(target, 0) for o in self.outcomes if o.rule.data == data)


def local_midnight(day: date, timezone: str) -> datetime:
    """The instant local day ``day`` starts, in UTC.

    Examples
    --------
    >>> local_midnight(date(2026, 7, 1), "Europe/Paris")
    datetime.datetime(2026, 6, 30, 22, 0, tzinfo=datetime.timezone.utc)
    """
    return datetime.combine(day, time(), ZoneInfo(timezone)).astimezone(UTC)


def today(settings: Settings) -> date:
    """Today's local date."""
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _scope(
    policy: RetentionPolicy, rule: Rule, sources: list[str], categories: list[str]
) -> list[tuple[str, str]]:
    """The source × category pairs governed by ``rule`` (more precise rules take theirs)."""
    return [(s, c) for s in sources for c in categories if policy.rule_for(rule.data, s, c) is rule]


class _Events(TypedDict):
    """The scope the clearing functions of events take: source × category pairs."""

    conn: Connection
    sources: list[str]
    categories: list[str]
    before: datetime
    apply: bool


class _Reports(TypedDict):
    """The scope the clearing functions of residents' reports take: their service codes."""

    conn: Connection
    codes: list[str]
    before: datetime
    apply: bool


def _apply_rule(
    conn: Connection,
    rule: Rule,
    pairs: list[tuple[str, str]],
    before: datetime,
    now: datetime,
    apply: bool,
    files: list[str],
) -> dict[str, int]:
    srcs, cats = [p[0] for p in pairs], [p[1] for p in pairs]
    codes = [c for s, c in pairs if s == RESIDENTS_SOURCE]
    events = _Events(conn=conn, sources=srcs, categories=cats, before=before, apply=apply)
    reports = _Reports(conn=conn, codes=codes, before=before, apply=apply)
    counts: dict[str, int] = {}
    if rule.data == "free_text":
        keys = None if rule.attributes == ("*",) else list(rule.attributes)
        counts["events"] = db.event_attributes(**events, keys=keys)
        counts["service_requests"] = db.report_texts(**reports)
        counts["service_request_history"] = db.history_notes(**reports)
    elif rule.data == "address":
        counts["events"] = db.event_addresses(**events)
        counts["event_geocoding"] = db.geocoding_addresses(**events)
        counts["service_requests"] = db.report_addresses(**reports)
    elif rule.data == "contact":
        counts["service_request_contacts"] = db.report_contacts(**reports, now=now)
    elif rule.data == "photo":
        if apply:  # their files go once the rows' deletion is committed
            files += db.photo_files_due(conn=conn, codes=codes, before=before, now=now)
            files += db.abandoned_photo_files(conn=conn, now=now)
        counts["service_request_media"] = db.report_photos(**reports, now=now) + (
            db.abandoned_photos(conn=conn, now=now, apply=apply)
        )
        counts["service_requests"] = db.report_media_urls(**reports)
    elif rule.data == "rejected_raw":
        counts["ingest_rejections"] = db.rejected_rows(
            conn=conn, sources=sorted(set(srcs)), before=before, apply=apply
        )
    else:  # pragma: no cover - the policy admits only KINDS
        raise AssertionError(rule.data)
    return counts


def purge(
    engine: Engine,
    settings: Settings,
    *,
    day: date | None = None,
    simulate: bool = False,
    kinds: Collection[str] | None = None,
    actor: Actor | None = None,
) -> PurgeReport:
    """Clear (or, with ``simulate``, count) what is past retention on ``day`` (default today).

    Parameters
    ----------
    engine, settings
        The database and the settings (policy file, time zone).
    day
        The local day the purge is run for; the same day gives the same result.
    simulate
        Count only; nothing is changed.
    kinds
        Only the rules of these kinds of data (e.g. ``("contact", "photo")``); all by default.
    actor
        Who runs it, for the audit trail (the operator running this process by default); a
        real purge leaves one ``retention_purge`` row in the same transaction.

    Returns
    -------
    PurgeReport
        Exact rows cleared per rule and per table.
    """
    policy = current_policy(settings)
    day = day or today(settings)
    now = local_midnight(day, settings.timezone)
    wanted = set(KINDS) if kinds is None else set(kinds)
    rules = sorted(
        (r for r in policy.rules if r.data in wanted),
        key=lambda r: (list(KINDS).index(r.data), r.number),
    )
    outcomes: list[RuleOutcome] = []
    files: list[str] = []  # photo files whose rows this purge deletes
    with engine.begin() as conn:
        db.lock(conn=conn)
        sources = sorted(set(db.source_slugs(conn=conn)) | {RESIDENTS_SOURCE})
        categories = db.category_codes(conn=conn)
        for rule in rules:
            first = rule.first_day_kept(day)
            if first is None:
                outcomes.append(RuleOutcome(rule, None, {}))
                continue
            pairs = _scope(policy, rule, sources, categories)
            before = local_midnight(first, settings.timezone)
            counts = _apply_rule(conn, rule, pairs, before, now, apply=not simulate, files=files)
            outcomes.append(RuleOutcome(rule, first, counts))
        report = PurgeReport(day, simulate, policy.origin, tuple(outcomes))
        if not simulate:
            audit.record(
                conn,
                caller=actor or audit.operator(),
                action="retention_purge",
                filters={
                    "day": day.isoformat(),
                    "policy": policy.origin,
                    "kinds": ",".join(sorted(wanted)),
                },
                rows=report.total,
            )
    if not simulate and ("photo" in wanted):
        store = PhotoStore.of(settings)
        store.remove(files)  # committed: the rows are gone, their files follow
        store.sweep(lambda names: named_files(engine, names), older_than_s=ORPHAN_FILE_AGE_S)
    return report


#: a photo file no row names is an orphan once this old (its row's transaction is long over)
ORPHAN_FILE_AGE_S = 3600.0


def named_files(engine: Engine, names: list[str]) -> set[str]:
    """Which of these photo files a row names."""
    with engine.connect() as conn:
        return named_photo_files(conn=conn, names=names)


def resident_retention_days(settings: Settings, at: datetime | None = None) -> int:
    """The longest time, in days, a resident's contact or photo is kept (what the residents'
    app announces: "deleted after N days at the latest")."""
    policy = current_policy(settings)
    at = at or datetime.now(UTC)
    longest = 0
    for code in (c.code for c in load_taxonomy()):
        for data in ("contact", "photo"):
            rule = policy.rule_for(data, RESIDENTS_SOURCE, code)
            until = None if rule is None else rule.expires(at)
            if until is not None:
                longest = max(longest, (until - at).days)
    return longest
