"""The outbox's `buzz` kind: one step of a person's ladder (webapp/paging/ladder.py).

A step runs only while the incident is still unacknowledged (a snooze makes it wait for the
snooze's end) and outside the person's quiet hours for that severity. It buzzes the card the
person was told with, through Lark's urgent_app / urgent_sms / urgent_phone, or sends the
e-mail. Every outcome is one timeline line and one state in "Who was told"; a refusal keeps
Lark's reason and its fix, and a used-up SMS / phone quota falls back to an in-app buzz and
an e-mail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import outbox
from webapp.delivery import lark_limits
from webapp.delivery.gates import client, waits_for_limit
from webapp.delivery.kinds import locale_for, reply_card
from webapp.delivery.outcomes import end
from webapp.dispatch import fallback
from webapp.extensions import db
from webapp.identity import timezones
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.errors import LarkError
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    FailureReason,
    Incident,
    LarkIntegration,
    Status,
)
from webapp.paging import budget
from webapp.paging.ladder import BUZZ_PURPOSE, LADDER_EMAIL
from webapp.paging.quiet import in_quiet_hours
from webapp.paging.rules import APP, EMAIL, PAID, PHONE, ladder_for

CARD_WAIT = timedelta(seconds=2)  # the card to buzz is still on its way: look again soon
QUIET_HOURS = "quiet_hours"


def buzz(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    payload = row.payload or {}
    if payload.get("test"):
        _test(row, integration, now)
        return
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None or incident.status is not Status.TRIGGERED:
        end(row, DeliveryStatus.CANCELLED, "acknowledged", now)
        return
    if incident.is_snoozed(now) and incident.snoozed_until is not None:
        row.next_attempt_at = incident.snoozed_until
        row.last_error = "snoozed; the ladder resumes when the snooze ends"
        return
    if _quiet_now(row, integration, now):
        _refused(row, incident, QUIET_HOURS, None, now)
        return
    if payload.get("via") == EMAIL:
        _email(row, incident, now)
        return
    own = _card_of(row, str(payload.get("card_uuid") or ""))
    groups = [_card_of(row, str(u)) for u in payload.get("chat_card_uuids") or []]
    # The person's own card first; the layer's group cards when that one never arrived.
    waiting = [own] if own is None or own.status is not DeliveryStatus.FAILED else []
    if own is None or own.status is not DeliveryStatus.DELIVERED:
        waiting += groups
    if any(c is not None and c.status is DeliveryStatus.PENDING for c in waiting):
        row.next_attempt_at = now + CARD_WAIT
        row.last_error = "waiting for the card it buzzes to be sent"
        return
    usable = [c for c in waiting if c is not None and c.status is DeliveryStatus.DELIVERED]
    if not usable:
        _refused(row, incident, FailureReason.NO_CARD, None, now)
        return
    _ring(row, incident, integration, usable, now)


def _quiet_now(row: Delivery, integration: LarkIntegration, now: datetime) -> bool:
    window = (row.payload or {}).get("quiet")
    if not window or row.member is None:
        return False
    ladder = ladder_for(row.member, str((row.payload or {}).get("severity")))
    return in_quiet_hours(ladder, now, timezones.zone_for(row.member, integration))


def _card_of(row: Delivery, card_uuid: str) -> Delivery | None:
    return db.session.scalars(select(Delivery).where(Delivery.uuid == card_uuid)).first()


# A group card Lark will not buzz for this person: named on the timeline, then their own card.
GROUP_REFUSALS = frozenset(
    {FailureReason.NOT_IN_CHAT, FailureReason.BUZZ_NOT_ALLOWED, FailureReason.BOT_NOT_IN_CHAT}
)


def _ring(
    row: Delivery,
    incident: Incident,
    integration: LarkIntegration,
    cards: list[Delivery],
    now: datetime,
) -> None:
    """Buzz the person on the first of `cards` Lark accepts: their own card, or the layer's
    group cards (in that chat) when their own never arrived. A group that refuses is named
    on the timeline before the next card is tried."""
    via = _via(row, incident)
    budget_left = lark_limits.patiently(
        lambda: lark_limits.allow_call(integration.app_id, f"urgent_{via}")
    )
    if waits_for_limit(row, None, integration, now, budget_left):
        return
    for card in cards:
        try:
            reason = _refusal(integration, str(card.message_id), via, row.receive_id or "")
        except LarkError as exc:
            if not exc.permanent:
                raise  # rate limit, server, network: the worker retries with backoff
            if card is cards[-1] or exc.reason not in GROUP_REFUSALS:
                _lark_refused(row, incident, exc, now)
                return
            reason = exc.reason
        row.attempts += 1
        if reason is None:
            _rang(row, incident, integration, str(card.message_id), via, now)
            return
        if card is cards[-1]:
            _refused(row, incident, reason, None, now)
            return
        details = {**_line(row), "reason": reason, "chat": (card.payload or {}).get("target")}
        incidents.record(incident, Actor.system(), EventKind.BUZZ_FAILED, details)


def _refusal(integration: LarkIntegration, message_id: str, via: str, open_id: str) -> str | None:
    """None when Lark buzzed the person on this message; `not_in_chat` when it named them
    invalid there. Other refusals raise LarkError."""
    invalid = client(integration).buzz(message_id, via, [open_id])
    return FailureReason.NOT_IN_CHAT if invalid else None


def _via(row: Delivery, incident: Incident) -> str:
    """The step's buzz, unless an admin keeps phone buzzes for Critical incidents."""
    via = str((row.payload or {}).get("via"))
    if via == PHONE and not budget.phone_allowed(incident.account_id, incident.severity.value):
        row.payload = {**(row.payload or {}), "instead_of": PHONE}
        return APP
    return via


def _rang(
    row: Delivery,
    incident: Incident,
    integration: LarkIntegration,
    message_id: str,
    via: str,
    now: datetime,
) -> None:
    row.message_id = message_id
    end(row, DeliveryStatus.DELIVERED, None, now)
    budget.count(integration.id, via, now)
    incidents.record(incident, Actor.system(), EventKind.BUZZED, {**_line(row), "via": via})


def _line(row: Delivery) -> dict[str, Any]:
    payload = row.payload or {}
    keys = ("target", "step", "rule", "instead_of")
    details: dict[str, Any] = {key: payload[key] for key in keys if key in payload}
    details["via"] = payload.get("via")
    if row.member_id:
        details["member_id"] = row.member_id
    return details


def _lark_refused(row: Delivery, incident: Incident, exc: LarkError, now: datetime) -> None:
    row.attempts += 1
    row.last_error_code = exc.code
    row.last_error = str(exc)[:500]
    _refused(row, incident, exc.reason, exc.code, now)
    if exc.reason == FailureReason.BUZZ_QUOTA and (row.payload or {}).get("via") in PAID:
        _quota_fallback(row, incident, now)


def _refused(
    row: Delivery, incident: Incident, reason: str, code: int | None, now: datetime
) -> None:
    """Not buzzed, with the reason: the row ends failed (or held back) and the timeline says so."""
    status = DeliveryStatus.CANCELLED if reason == QUIET_HOURS else DeliveryStatus.FAILED
    row.status = status
    row.reason = reason
    row.payload = {**(row.payload or {}), "failed_at": now.isoformat()}
    details = {**_line(row), "reason": reason}
    if code is not None:
        details["code"] = code
    incidents.record(incident, Actor.system(), EventKind.BUZZ_FAILED, details)


def _quota_fallback(row: Delivery, incident: Incident, now: datetime) -> None:
    """SMS / phone quota used up: an in-app buzz on the same card now, and the e-mail."""
    if row.integration_id is None:
        return  # a buzz row always names its integration
    payload = {**(row.payload or {}), "via": APP, "instead_of": (row.payload or {}).get("via")}
    payload.pop("failed_at", None)
    outbox.enqueue(
        DeliveryKind.BUZZ,
        row.integration_id,
        f"buzzfb-{row.id}",
        incident_id=row.incident_id,
        receive_id_type=row.receive_id_type,
        receive_id=row.receive_id,
        member_id=row.member_id,
        layer=row.layer,
        now=now,
        payload=payload,
    )
    if row.member is not None:
        fallback.email(incident, row.member, FailureReason.BUZZ_QUOTA, row.integration_id, now)


def _email(row: Delivery, incident: Incident, now: datetime) -> None:
    if (
        row.member is None
        or row.integration_id is None
        or not fallback.email(incident, row.member, LADDER_EMAIL, row.integration_id, now)
    ):
        end(row, DeliveryStatus.CANCELLED, "email_not_sent", now)
        return
    end(row, DeliveryStatus.DELIVERED, None, now)


# -- "send me a test buzz" -------------------------------------------------------------------


def _test(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """A small card to the person, then an in-app buzz on it: the rules page's button, and
    the setup checklist's evidence that the urgent scope works."""
    payload = row.payload or {}
    lark = client(integration)
    if not payload.get("message_id"):
        card = test_buzz_card(locale_for(integration, row))
        sent = lark.send_card("open_id", row.receive_id or "", card, row.uuid)
        row.payload = {**payload, "message_id": sent.message_id}
    message_id = str((row.payload or {}).get("message_id"))
    try:
        invalid = lark.buzz(message_id, APP, [row.receive_id or ""])
    except LarkError as exc:
        if not exc.permanent:
            raise
        row.last_error_code, row.last_error = exc.code, str(exc)[:500]
        row.status, row.reason = DeliveryStatus.FAILED, exc.reason
        return
    if invalid:
        row.status, row.reason = DeliveryStatus.FAILED, FailureReason.NOT_IN_CHAT
        return
    row.message_id = message_id
    end(row, DeliveryStatus.DELIVERED, None, now)
    budget.count(integration.id, APP, now)


def test_buzz_card(locale: str) -> dict[str, Any]:
    with force_locale(locale):
        title = _("Test buzz from On-call")
        text = _(
            'This card was buzzed because you pressed "Send me a test buzz". When an '
            "incident needs you, its card rings like this one."
        )
    return reply_card(title, [text])


Handler = Callable[[Delivery, LarkIntegration, datetime], None]
HANDLERS: dict[str, Handler] = {DeliveryKind.BUZZ: buzz}

__all__ = ["BUZZ_PURPOSE", "HANDLERS", "buzz"]
