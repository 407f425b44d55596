"""E-mail when Lark cannot deliver: the mailer and who falls back to it.

A person Lark cannot reach for an incident (not linked, the quota used up, outside the app's
availability, Lark failing for more than two minutes on a critical incident) gets one e-mail
per incident: an `email` outbox row, written once (its uuid is the incident and the person),
sent by the worker with the same retries and shown in "Who was told" like any delivery.

Settings: SMTP_URL (`smtp://user:pass@host:port`, `smtps://` for TLS) and MAIL_FROM; unset
means no e-mail (the diagnostics page says so). Standard library only: smtplib and email.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from webapp.config import SmtpSettings, parse_smtp_url
from webapp.delivery.outcomes import end, fail, note_waiting
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.errors import fix
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    FailureReason,
    Incident,
    LarkIntegration,
    Member,
    Severity,
)

SMTP_TIMEOUT = 10.0  # seconds; a row's work stays far under the worker's lease
# Lark failing this long for a critical incident: the person gets the e-mail too.
CRITICAL_FALLBACK_AFTER = timedelta(minutes=2)
RETRY_WINDOW = timedelta(minutes=55)
# The reasons a person falls back to e-mail for (any severity).
FALLBACK_REASONS = frozenset(
    {FailureReason.NOT_LINKED, FailureReason.QUOTA}
)  # Lark's answers; NOT_BOUND is ours


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


# -- the message ---------------------------------------------------------------------------


def incident_link(incident: Incident, integration: LarkIntegration | None) -> str:
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    if integration is None:
        return f"{base}/"
    return f"{base}/lark/{integration.key}/incidents/{incident.number}"


NOT_BOUND = "not_bound"  # the member never linked their Lark user (no binding at all)
LADDER = "ladder"  # an e-mail step of the person's notification rules (webapp/paging/)


def reason_words(reason: str) -> str:
    """Why Lark could not be used, in words, for the e-mail and the timeline."""
    if reason == LADDER:
        return _("your notification rules add an e-mail when an incident stays unacknowledged.")
    if reason == NOT_BOUND:
        return _(
            "You have not linked your Lark account to the On-call app yet: open the app once "
            "from the Lark workbench and sign in."
        )
    return fix(reason)


def compose(
    incident: Incident, to: str, name: str, reason: str, link: str, locale: str
) -> EmailMessage:
    with force_locale(locale):
        severity = _(incident.severity.value)
        subject = _(
            "[%(severity)s] Incident #%(number)s: %(title)s",
            severity=severity,
            number=incident.number,
            title=incident.title,
        )
        lines = [
            _("Hello %(name)s,", name=name),
            "",
            _(
                "Incident #%(number)s needs you: %(title)s",
                number=incident.number,
                title=incident.title,
            ),
            _("Severity: %(severity)s", severity=severity),
            _("Open it in the web app: %(link)s", link=link),
            "",
            _(
                "You get this e-mail because Lark could not be used: %(why)s",
                why=reason_words(reason),
            ),
        ]
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="oncall.local")
    message.set_content("\n".join(lines))
    return message


# -- falling back ----------------------------------------------------------------------------


def fall_back(
    incident: Incident, member: Member, reason: str, integration_id: int, now: datetime
) -> bool:
    """One e-mail row for this incident and person (True when this call wrote it)."""
    if settings() is None or not member.email:
        return False
    values: dict[str, Any] = {
        "integration_id": integration_id,
        "incident_id": incident.id,
        "kind": DeliveryKind.EMAIL,
        "receive_id_type": "email",
        "receive_id": member.email,
        "member_id": member.id,
        "uuid": f"email-{incident.id}-{member.id}",
        "status": DeliveryStatus.PENDING.value,
        "next_attempt_at": now,
        "created_at": now,
        "attempts": 0,
        "layer": 0,
        "payload": {"target": member.email, "purpose": "notify", "why": reason},
    }
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=["uuid"])
    written = db.session.execute(stmt.returning(Delivery.id)).scalar_one_or_none()
    if written is None:  # written before: one e-mail per incident and person
        return False
    incidents.record(
        incident,
        Actor.system(),
        EventKind.NOTIFICATION_FELL_BACK,
        {"target": member.email, "member_id": member.id, "reason": reason, "to": "email"},
    )
    return True


def lark_failing_long(incident: Incident, first_attempt: datetime, now: datetime) -> bool:
    """Lark has failed a critical incident's card for more than two minutes."""
    critical = incident.severity is Severity.CRITICAL
    return critical and now - first_attempt > CRITICAL_FALLBACK_AFTER


def nobody_reached(incident: Incident, integration_id: int, reason: str, now: datetime) -> None:
    """Every Lark target of the incident failed: the channel's members and the account's
    admins get the e-mail (an incident nobody hears of must not happen)."""
    rows = db.session.scalars(
        select(Delivery).where(
            Delivery.incident_id == incident.id, Delivery.kind == DeliveryKind.SEND_CARD
        )
    )
    if any(r.status is not DeliveryStatus.FAILED for r in rows if _notifies(r)):
        return
    people: dict[int, Member] = {}
    if incident.channel is not None:
        people.update((m.id, m) for m in incident.channel.members)
    people.update((m.id, m) for m in incident.account.members if m.is_admin)
    for member in people.values():
        fall_back(incident, member, reason, integration_id, now)


def _notifies(row: Delivery) -> bool:
    return (row.payload or {}).get("purpose") == "notify"


# -- the worker's `email` kind -----------------------------------------------------------------


def deliver(row: Delivery, integration: LarkIntegration | None, now: datetime) -> None:
    """Send an `email` row: delivered, retried with backoff (reason smtp), or failed."""
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None or not row.receive_id:
        end(row, DeliveryStatus.CANCELLED, "incident_gone", now)
        return
    member = db.session.get(Member, row.member_id) if row.member_id else None
    name = member.name if member is not None else row.receive_id
    locale = (member.locale if member is not None else None) or "en"
    why = str((row.payload or {}).get("why") or "not_linked")
    message = compose(
        incident, row.receive_id, name, why, incident_link(incident, integration), locale
    )
    row.attempts += 1
    try:
        send(message)
    except MailError as exc:
        row.last_error = str(exc)[:500]
        if now - row.created_at > RETRY_WINDOW:
            fail(row, "smtp", None, f"gave up after {row.attempts} attempts: {exc}", now)
            return
        row.reason = FailureReason.SMTP
        row.next_attempt_at = now + timedelta(seconds=min(60.0, 2.0**row.attempts))
        note_waiting(row, now)
        return
    row.message_id = str(message.get("Message-ID") or "")[:64] or None
    end(row, DeliveryStatus.DELIVERED, None, now)
    incidents.record(incident, Actor.system(), EventKind.EMAILED, {"target": row.receive_id})
