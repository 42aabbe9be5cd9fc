"""The weekly bulletin (issue 16 §5): which week, build its PDF, store it (one per week, a
rebuild replaces it), serve it, e-mail it when SMTP is configured."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from geotranquil.bulletin.document import render_html, render_pdf
from geotranquil.bulletin.weeks import IsoWeek, last_complete_week, parse_week
from geotranquil.config import Settings
from geotranquil.db import bulletins as db
from geotranquil.errors import NotFound
from geotranquil.services.bulletin_content import Progress, _silent, content
from geotranquil.services.mail import send_email

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredBulletin:
    """A bulletin as stored (``pdf`` empty in listings)."""

    week: str
    week_start: date
    built_at: datetime
    sha256: str
    size: int
    emailed_at: datetime | None = None
    pdf: bytes = b""


def resolve_week(settings: Settings, week: str | None, *, now: datetime | None = None) -> IsoWeek:
    """The week asked (``AAAA-Snn``), or the last complete one; InvalidInput when malformed,
    NotFound when it has not ended yet (local time)."""
    now = now or datetime.now(UTC)
    if week is None:
        return last_complete_week(now, settings.timezone)
    wanted = parse_week(week)
    if not wanted.is_over(now, settings.timezone):
        zone = ZoneInfo(settings.timezone)
        end = wanted.bounds(settings.timezone)[1].astimezone(zone)
        raise NotFound(
            f"pas de bulletin pour la semaine {wanted.label} : elle n'est pas terminée "
            f"(elle finit le {end:%d/%m/%Y} à {end:%H:%M})"
        )
    return wanted


def build(
    engine: Engine,
    settings: Settings,
    week: IsoWeek,
    *,
    progress: Progress = _silent,
    now: datetime | None = None,
) -> StoredBulletin:
    """Build the PDF of ``week`` and store it in one transaction, replacing any earlier one."""
    now = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bulletin-") as tmp:
        shown = content(
            engine,
            settings,
            week,
            Path(tmp),
            now=now.astimezone(ZoneInfo(settings.timezone)),
            progress=progress,
        )
        progress("mise en page du PDF")
        pdf = render_pdf(render_html(shown))
    sha = hashlib.sha256(pdf).hexdigest()
    progress("enregistrement")
    with engine.begin() as conn:
        built = db.save_bulletin(
            conn=conn, week=week.label, week_start=week.monday, pdf=pdf, sha256=sha
        )
    return StoredBulletin(week.label, week.monday, built, sha, len(pdf), None, pdf)


def stored(engine: Engine, week: IsoWeek) -> StoredBulletin | None:
    """The stored bulletin of ``week`` with its PDF, or None."""
    with engine.connect() as conn:
        row = db.get_bulletin(conn=conn, week=week.label)
    return None if row is None else StoredBulletin(**row)


def get_or_build(engine: Engine, settings: Settings, week: IsoWeek) -> StoredBulletin:
    """The stored bulletin of ``week``, built first when there is none."""
    return stored(engine, week) or build(engine, settings, week)


def listing(engine: Engine) -> list[StoredBulletin]:
    """Every stored bulletin, newest week first (without the PDFs)."""
    with engine.connect() as conn:
        return [StoredBulletin(**row) for row in db.list_bulletins(conn=conn)]


def file_name(week: str) -> str:
    """The PDF's file name: ``bulletin-2026-S49.pdf``."""
    return f"bulletin-{week}.pdf"


def email(engine: Engine, settings: Settings, bulletin: StoredBulletin) -> bool:
    """Send the bulletin to ``bulletin_recipients`` through ``smtp_host``; False
    (nothing sent) when either is not set. Recorded as e-mailed once sent."""
    recipients = [a.strip() for a in settings.bulletin_recipients.split(",") if a.strip()]
    if not settings.smtp_host or not recipients:
        return False
    message = EmailMessage()
    message["Subject"] = f"Bulletin hebdomadaire de la tranquillité publique — {bulletin.week}"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message.set_content(
        f"Bonjour,\n\nVeuillez trouver ci-joint le bulletin de la semaine {bulletin.week}.\n\n"
        "Observatoire de la tranquillité publique\n"
    )
    message.add_attachment(
        bulletin.pdf, maintype="application", subtype="pdf", filename=file_name(bulletin.week)
    )
    send_email(message, settings)
    with engine.begin() as conn:
        db.mark_emailed(conn=conn, week=bulletin.week, sha256=bulletin.sha256)
    log.info("bulletin %s e-mailed to %d recipients", bulletin.week, len(recipients))
    return True
