"""The outbox kinds of on-call schedules: cover requests, shift reminders, handoff posts.

Each is drawn when it is sent (from the state then, not when the row was written) and goes
through the same gates as any other message: the free edition's monthly quota (these are
not incident notifications, so they wait for the reset once it is used up), then Lark's
rate limits for the receiver or the message. A send Lark keeps refusing fails 55 minutes
after its first failure (inside Lark's one-hour uuid de-duplication, so no copy is posted
twice), a reminder not sent before its shift starts is dropped, and a reminder addressed to an
e-mail address (someone not linked to Lark) goes through the mailer instead.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

import click

from webapp import mailer
from webapp.delivery import lark_limits
from webapp.delivery.gates import client, waits_for_limit, waits_for_quota
from webapp.delivery.kinds import locale_for
from webapp.delivery.outcomes import end, fail
from webapp.extensions import db
from webapp.models import (
    CoverRequest,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    LarkIntegration,
    utcnow,
)
from webapp.schedules import cover, reminders
from webapp.schedules.cards import cover_card
from webapp.schedules.outbox import page_url

# Lark drops a repeated send `uuid` for one hour only (worker.RETRY_WINDOW gives incident
# sends the same bound): a send still failing 55 minutes after its first failure ends failed.
GIVE_UP_AFTER = timedelta(minutes=55)


def _cover(row: Delivery, integration: LarkIntegration) -> dict[str, Any] | None:
    request_id = int((row.payload or {}).get("cover_request_id") or 0)
    request = db.session.get(CoverRequest, request_id)
    if request is None:
        return None
    locale = locale_for(integration, row)
    return cover_card(request, locale=locale, page_url=page_url(request.schedule))


def _withdrawn(row: Delivery) -> bool:
    request = db.session.get(CoverRequest, int((row.payload or {}).get("cover_request_id") or 0))
    return request is not None and request.withdrawn_at is not None


def _send(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """Send the card the row's kind draws, once (the row's uuid), to its receiver."""
    if not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    if row.kind == DeliveryKind.SHIFT_REMINDER and reminders.too_late(row, now):
        end(row, DeliveryStatus.CANCELLED, reminders.TOO_LATE, now)
        return
    if row.receive_id_type == "email":
        _mail(row, now)
        return
    if row.kind == DeliveryKind.COVER_CARD and _withdrawn(row):
        end(row, DeliveryStatus.CANCELLED, "withdrawn", now)  # nobody needs to read it now
        return
    if _gives_up(row, now):
        return
    if waits_for_quota(row, integration, now):
        return
    card = (
        _cover(row, integration)
        if row.kind == DeliveryKind.COVER_CARD
        else reminders.card_for(row, locale_for(integration, row), now)
    )
    if card is None:
        end(row, DeliveryStatus.CANCELLED, "gone", now)
        return
    wait = lark_limits.allow_send(integration.app_id, row.receive_id)
    if waits_for_limit(row, None, integration, now, wait):
        return
    sent = client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    end(row, DeliveryStatus.DELIVERED, None, now)
    if row.kind == DeliveryKind.COVER_CARD:
        _redraw_if_settled_meanwhile(row, integration, card)


def _mail(row: Delivery, now: datetime) -> None:
    """A shift reminder to someone not linked to Lark, through the mailer; retried (reason
    smtp) until it is sent or its shift starts."""
    message = reminders.mail_for(row, now)
    if message is None:
        end(row, DeliveryStatus.CANCELLED, "gone", now)
        return
    row.attempts += 1
    try:
        mailer.send(message)
    except mailer.MailError as exc:
        row.reason = FailureReason.SMTP
        row.last_error = str(exc)[:500]
        row.next_attempt_at = now + timedelta(seconds=min(60.0, 2.0**row.attempts))
        return
    row.message_id = str(message.get("Message-ID") or "")[:64] or None
    end(row, DeliveryStatus.DELIVERED, None, now)


def _gives_up(row: Delivery, now: datetime) -> bool:
    """Retried past GIVE_UP_AFTER since its first failed attempt: the row fails instead of
    calling Lark again, which could post a second copy once the uuid is forgotten."""
    first = (row.payload or {}).get("first_attempt_at")
    if not first or now - datetime.fromisoformat(first) <= GIVE_UP_AFTER:
        return False
    why = f"gave up after {row.attempts} attempts: {row.last_error or row.reason}"
    fail(row, row.reason or FailureReason.SERVER, row.last_error_code, why, now)
    row.payload = {**(row.payload or {}), "gave_up": True}
    return True


def _redraw_if_settled_meanwhile(
    row: Delivery, integration: LarkIntegration, card: dict[str, Any]
) -> None:
    """Someone took (or the asker withdrew) the request between drawing this copy and Lark
    storing it: that change queued redraws only of copies sent by then, so this one is
    queued here."""
    request = db.session.get(CoverRequest, int((row.payload or {}).get("cover_request_id") or 0))
    if request is None:
        return
    db.session.refresh(request)
    settled = request.covered_by_id is not None or request.withdrawn_at is not None
    if settled and _cover(row, integration) != card:
        cover.redraw_copies(request, exclude=None)


def _update(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    card = _cover(row, integration)
    if card is None or not row.message_id:
        end(row, DeliveryStatus.CANCELLED, "card_gone", now)
        return
    if waits_for_quota(row, integration, now):
        return
    wait = lark_limits.allow_update(integration.app_id, row.message_id)
    if waits_for_limit(row, None, integration, now, wait):
        return
    client(integration).update_card(row.message_id, card)
    row.attempts += 1
    end(row, DeliveryStatus.DELIVERED, None, now)


log = logging.getLogger(__name__)

# How often a worker process looks for shift reminders and handoff posts that fell due.
REMIND_EVERY = timedelta(minutes=1)
_looked: dict[str, datetime] = {}
_lock = threading.Lock()


def queue_reminders(now: datetime, force: bool = False) -> None:
    """Once a minute per process (or now, when forced): queue the reminders due. Several
    workers doing this at once is harmless: each reminder's row is inserted once."""
    with _lock:
        last = _looked.get("when")
        if not force and last is not None and now - last < REMIND_EVERY:
            return
        _looked["when"] = now
    try:
        reminders.queue_due(now)
    except Exception:  # a bug here must never hold back the incident cards behind it
        db.session.rollback()
        log.exception("queueing shift reminders failed; trying again in a minute")


@click.command("remind")
def remind_command() -> None:
    """Queue the shift reminders and handoff posts due now (the worker sends them); for cron
    when no `flask lark worker` runs, or after one was down."""
    queued = reminders.queue_due(utcnow())
    click.echo(f"looked at {queued} reminder(s) and handoff post(s) due now")


HANDLERS = {
    DeliveryKind.COVER_CARD.value: _send,
    DeliveryKind.SHIFT_REMINDER.value: _send,
    DeliveryKind.HANDOFF_POST.value: _send,
    DeliveryKind.COVER_UPDATE.value: _update,
}
