"""The SMTP transport: hand one e-mail to the mail server, or say where e-mail would go.

Settings: SMTP_URL (`smtp://user:pass@host:port`, `smtps://` for TLS) and MAIL_FROM; unset
means no e-mail (the diagnostics page says so). Standard library only: smtplib and email.
Who gets an e-mail and what it says belong to the callers (dispatch's fallback, the sign-in
lock, password resets, shift reminders); this module only sends.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from flask import current_app

from webapp.config import SmtpSettings, parse_smtp_url

SMTP_TIMEOUT = 10.0  # seconds; a row's work stays far under the worker's lease


class MailError(Exception):
    """The mail server refused the message or could not be reached."""


def settings() -> SmtpSettings | None:
    raw = current_app.config.get("SMTP_URL")
    return parse_smtp_url(str(raw)) if raw else None


def describe() -> str | None:
    """Where e-mail goes, for the diagnostics page (no password); None when unset."""
    smtp = settings()
    if smtp is None:
        return None
    scheme = "smtps" if smtp.tls else "smtp"
    return f"{scheme}://{smtp.host}:{smtp.port} from {current_app.config.get('MAIL_FROM')}"


def send(message: EmailMessage) -> None:
    """Hand one message to the SMTP server; MailError when that fails."""
    smtp = settings()
    if smtp is None:
        raise MailError("SMTP_URL is not set")
    message["From"] = str(current_app.config["MAIL_FROM"])
    try:
        server: smtplib.SMTP
        if smtp.tls:
            context = ssl.create_default_context()
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
        with server:
            if smtp.user:
                server.login(smtp.user, smtp.password or "")
            server.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
