"""Sending e-mail through the SMTP server of the settings (alerts, the weekly bulletin)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from geotranquil.config import Settings


def send_email(msg: EmailMessage, settings: Settings) -> None:
    """Hand the message to the SMTP server of the settings (STARTTLS and login when set)."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (GEOTRANQUIL_SMTP_HOST)")
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)
