"""The work of each outbox row kind, between "this row is ours" and "record the outcome".

send_card, update_card, notice and reply call Lark once each (after the free-quota rule and our
rate limits, gates.py); escalate tells the next layer (webapp/dispatch/policy.py); war_room
builds the chat (webapp/dispatch/war_rooms.py). A LarkError escapes to the worker, which
records it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import force_locale

from webapp.cards import render as cards
from webapp.delivery import gates, lark_limits, notice_words
from webapp.delivery.outcomes import (
    end,
    target_details,
)
from webapp.dispatch import policy as dispatch
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.identity import timezones
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark import applink
from webapp.models import (
    CardMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    Incident,
    LarkIntegration,
    Platform,
    dialect_insert,
    utcnow,
)
from webapp.outbox import NOTIFY_PURPOSE

# -- kinds -------------------------------------------------------------------------------


def _send_card(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if incident is None or not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "incident_gone", now)
        return
    receive_id = row.receive_id
    version = incident.version
    card = _card_when_allowed(
        row,
        incident,
        integration,
        now,
        lambda: lark_limits.allow_send(integration.app_id, receive_id),
    )
    if card is None:
        return
    sent = gates.client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    _remember_card(row, incident, integration, sent.message_id, sent.chat_id, version)
    end(row, DeliveryStatus.DELIVERED, None, now)
    if (row.payload or {}).get("purpose") == NOTIFY_PURPOSE:
        incidents.record(
            incident,
            Actor.system(),
            EventKind.NOTIFIED,
            {**target_details(row), "layer": row.layer},
        )


def _card_when_allowed(
    row: Delivery,
    incident: Incident,
    integration: LarkIntegration,
    now: datetime,
    take_budget: Callable[[], float],
) -> dict[str, Any] | None:
    """The card to send now, or None when the row must wait (monthly quota or a rate limit;
    the row is rescheduled). The budget is taken last, right before the call, so Lark sees
    calls spaced as we count them."""
    if gates.waits_for_quota(row, integration, now):
        return None
    card = render(incident, integration, row)
    if gates.waits_for_limit(row, incident, integration, now, lark_limits.patiently(take_budget)):
        return None
    return card


def _update_card(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    card_message = db.session.get(CardMessage, row.card_message_id) if row.card_message_id else None
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    if card_message is None or incident is None:
        end(row, DeliveryStatus.CANCELLED, "card_gone", now)
        return
    if card_message.rendered_version >= incident.version:
        # An earlier row already drew this version: no call needed.
        end(row, DeliveryStatus.DELIVERED, "up_to_date", now)
        return
    message_id = card_message.message_id
    version = incident.version
    card = _card_when_allowed(
        row,
        incident,
        integration,
        now,
        lambda: lark_limits.allow_update(integration.app_id, message_id),
    )
    if card is None:
        return
    gates.client(integration).update_card(message_id, card)
    row.attempts += 1
    card_message.rendered_version = max(card_message.rendered_version, version)
    end(row, DeliveryStatus.DELIVERED, None, now)


def _notice(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    if not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    receive_id = row.receive_id
    budget = lambda: lark_limits.allow_send(integration.app_id, receive_id)  # noqa: E731
    if gates.waits_for_quota(row, integration, now) or gates.waits_for_limit(
        row, None, integration, now, lark_limits.patiently(budget)
    ):
        return
    card = gates.notice_card(locale_for(integration, None))
    sent = gates.client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    end(row, DeliveryStatus.DELIVERED, None, now)


def _digest(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """A card drawn when the row was written (webapp/insights/digest.py): not about an
    incident, so it waits for the monthly quota like any other non-incident message."""
    card = (row.payload or {}).get("card")
    if not row.receive_id or not row.receive_id_type or not isinstance(card, dict):
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    if gates.waits_for_quota(row, integration, now) or gates.waits_for_limit(
        row, None, integration, now, lark_limits.allow_send(integration.app_id, row.receive_id)
    ):
        return
    sent = gates.client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    end(row, DeliveryStatus.DELIVERED, None, now)


def _reply(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """The bot's answer to a message in a chat (webapp/schedules/ask.py wrote its words)."""
    payload = row.payload or {}
    title, lines = str(payload.get("title", "")), [str(x) for x in payload.get("lines") or []]
    _send_words(row, integration, now, lambda: (title, lines))


def _alert_notice(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """A storm or flapping notice to a chat, in the chat's language (webapp/dispatch/notices.py)."""

    def words() -> tuple[str, list[str]]:
        with force_locale(locale_for(integration, None)):
            zone = timezones.zone_for(row.member, integration)
            return notice_words.words(row.payload or {}, zone)

    _send_words(row, integration, now, words)


def _send_words(
    row: Delivery,
    integration: LarkIntegration,
    now: datetime,
    words: Callable[[], tuple[str, list[str]]],
) -> None:
    """A card of a title and plain lines to the row's chat, when quota and limits allow."""
    if not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    if gates.waits_for_quota(row, integration, now) or gates.waits_for_limit(
        row, None, integration, now, lark_limits.allow_send(integration.app_id, row.receive_id)
    ):
        return
    card = reply_card(*words())
    sent = gates.client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    end(row, DeliveryStatus.DELIVERED, None, now)


def reply_card(title: str, lines: list[str]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
        # plain_text, never markdown: the lines carry people's and channels' names.
        "body": {
            "elements": [
                {"tag": "div", "text": {"tag": "plain_text", "content": line}} for line in lines
            ]
        },
    }


def _escalate(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    dispatch.escalate(row, now)


def _war_room(row: Delivery, integration: LarkIntegration, now: datetime) -> None:

    if gates.waits_for_quota(row, integration, now):
        return
    wait = lark_limits.allow_call(integration.app_id, "chats")
    if gates.waits_for_limit(row, None, integration, now, wait):
        return
    war_rooms.build(row, integration, gates.client(integration), now)
    row.attempts += 1
    end(row, DeliveryStatus.DELIVERED, None, now)


Handler = Callable[[Delivery, LarkIntegration, datetime], None]
HANDLERS: dict[str, Handler] = {
    DeliveryKind.SEND_CARD: _send_card,
    DeliveryKind.UPDATE_CARD: _update_card,
    DeliveryKind.NOTICE: _notice,
    DeliveryKind.DIGEST: _digest,
    DeliveryKind.MAINTENANCE: _digest,  # also a card drawn when the row was written
    DeliveryKind.ALERT_NOTICE: _alert_notice,
    DeliveryKind.REPLY: _reply,
    DeliveryKind.ESCALATE: _escalate,
    DeliveryKind.WAR_ROOM: _war_room,
}


def _remember_card(
    row: Delivery,
    incident: Incident,
    integration: LarkIntegration,
    message_id: str,
    chat_id: str | None,
    version: int,
) -> None:
    """The card we sent, so later changes update it in place.

    One statement: a send retried after a crash gets the same message back from Lark (same
    uuid), and then the row already exists and is left as it is.
    """
    stmt = dialect_insert(CardMessage).values(
        integration_id=integration.id,
        incident_id=incident.id,
        message_id=message_id,
        chat_id=chat_id,
        receive_id_type=row.receive_id_type or "open_id",
        receive_id=row.receive_id or "",
        rendered_version=version,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=["integration_id", "message_id"]))


# -- rendering ---------------------------------------------------------------------------


def locale_for(integration: LarkIntegration, row: Delivery | None) -> str:
    """A person's chosen language; otherwise Chinese on Feishu and English on Lark."""
    if row is not None and row.member is not None and row.member.locale:
        return row.member.locale
    return "zh" if integration.platform is Platform.FEISHU else "en"


def render(incident: Incident, integration: LarkIntegration, row: Delivery) -> dict[str, Any]:
    """The card from the incident's state now, not from when the row was written."""
    web_url = applink.incident_url(integration, incident.number)
    zone = timezones.zone_for(row.member, integration)  # no member: the integration's
    late = (row.payload or {}).get("unacknowledged_for")  # a layer told by escalation
    locale = locale_for(integration, row)
    return cards.incident_card(
        incident, locale=locale, web_url=web_url, zone=zone, unacknowledged_for=late
    )
