"""The worker's `email` kind: the incident e-mail a person gets when Lark cannot reach them.

Who falls back to e-mail, and when, is dispatch's rule (webapp/dispatch/fallback.py), which
writes the `email` row; this module draws the message in the person's language and sends it
through the SMTP transport (webapp/mailer.py), with retries for 55 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp import mailer
from webapp.delivery.outcomes import end, fail, note_waiting
from webapp.dispatch import fallback
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.errors import fix
from webapp.models import (
    Delivery,
    DeliveryStatus,
    EventKind,
    FailureReason,
    Incident,
    LarkIntegration,
    Member,
)
from webapp.paging.ladder import LADDER_EMAIL

RETRY_WINDOW = timedelta(minutes=55)


# -- the message ---------------------------------------------------------------------------


def incident_link(incident: Incident, integration: LarkIntegration | None) -> str:
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    if integration is None:
        return f"{base}/"
    return f"{base}/lark/{integration.key}/incidents/{incident.number}"


def reason_words(reason: str) -> str:
    """Why Lark could not be used, in words, for the e-mail and the timeline."""
    if reason == LADDER_EMAIL:
        return _("your notification rules add an e-mail when an incident stays unacknowledged.")
    if reason == fallback.NOT_BOUND:
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
        mailer.send(message)
    except mailer.MailError as exc:
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
