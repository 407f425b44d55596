"""The work of each outbox row kind, between "this row is ours" and "record the outcome".

send_card, update_card, notice and reply call Lark once each (after the free-quota rule and our
rate limits); escalate tells the next layer (webapp/dispatch/policy.py); war_room builds the chat
(webapp/incidents/war_rooms.py). A LarkError escapes to the worker, which records it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from webapp.cards import render as cards
from webapp.delivery import lark_limits
from webapp.delivery.outcomes import (
    end,
    note_waiting,
    stats,
    target_details,
)
from webapp.dispatch import policy as dispatch
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.identity import timezones
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark import applink, usage
from webapp.lark.client import LarkClient
from webapp.models import (
    CardMessage,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    DispatchRule,
    EventKind,
    FailureReason,
    Incident,
    LarkIntegration,
    Platform,
    utcnow,
)
from webapp.outbox import NOTIFY_PURPOSE

NOTICE_AFTER = timedelta(minutes=1)  # late by more than this: tell the channel's chats once
NOTICE_EVERY = timedelta(minutes=30)  # at most one such notice per chat per half hour


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
    sent = _client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
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
    if _waits_for_quota(row, integration, now):
        return None
    card = render(incident, integration, row)
    if _waits_for_limit(row, incident, integration, now, lark_limits.patiently(take_budget)):
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
    _client(integration).update_card(message_id, card)
    row.attempts += 1
    card_message.rendered_version = max(card_message.rendered_version, version)
    end(row, DeliveryStatus.DELIVERED, None, now)


def _notice(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    if not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    receive_id = row.receive_id
    budget = lambda: lark_limits.allow_send(integration.app_id, receive_id)  # noqa: E731
    if _waits_for_quota(row, integration, now) or _waits_for_limit(
        row, None, integration, now, lark_limits.patiently(budget)
    ):
        return
    card = notice_card(locale_for(integration, None))
    sent = _client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
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
    if _waits_for_quota(row, integration, now) or _waits_for_limit(
        row, None, integration, now, lark_limits.allow_send(integration.app_id, row.receive_id)
    ):
        return
    sent = _client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
    row.attempts += 1
    row.message_id = sent.message_id
    end(row, DeliveryStatus.DELIVERED, None, now)


def _reply(row: Delivery, integration: LarkIntegration, now: datetime) -> None:
    """The bot's answer to a message in a chat (webapp/schedules/ask.py wrote its words)."""
    if not row.receive_id or not row.receive_id_type:
        end(row, DeliveryStatus.CANCELLED, "invalid_request", now)
        return
    if _waits_for_quota(row, integration, now) or _waits_for_limit(
        row, None, integration, now, lark_limits.allow_send(integration.app_id, row.receive_id)
    ):
        return
    payload = row.payload or {}
    card = reply_card(str(payload.get("title", "")), [str(x) for x in payload.get("lines") or []])
    sent = _client(integration).send_card(row.receive_id_type, row.receive_id, card, row.uuid)
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

    if _waits_for_quota(row, integration, now):
        return
    wait = lark_limits.allow_call(integration.app_id, "chats")
    if _waits_for_limit(row, None, integration, now, wait):
        return
    war_rooms.build(row, integration, _client(integration), now)
    row.attempts += 1
    end(row, DeliveryStatus.DELIVERED, None, now)


Handler = Callable[[Delivery, LarkIntegration, datetime], None]
HANDLERS: dict[str, Handler] = {
    DeliveryKind.SEND_CARD: _send_card,
    DeliveryKind.UPDATE_CARD: _update_card,
    DeliveryKind.NOTICE: _notice,
    DeliveryKind.DIGEST: _digest,
    DeliveryKind.REPLY: _reply,
    DeliveryKind.ESCALATE: _escalate,
    DeliveryKind.WAR_ROOM: _war_room,
}


def _client(integration: LarkIntegration) -> LarkClient:
    return _Counting(LarkClient.for_integration(integration))  # type: ignore[return-value]


class _Counting:
    """Counts each Lark call the worker makes (the benchmark's calls per delivered message)."""

    def __init__(self, client: LarkClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            stats.add(calls=1)
            return method(*args, **kwargs)

        return counted


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
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CardMessage).values(
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


# -- the free edition's monthly quota -------------------------------------------------------


def _waits_for_quota(row: Delivery, integration: LarkIntegration, now: datetime) -> bool:
    """At 100 % only incident notifications go out; the rest waits for the 1st of next month."""
    notification = (
        row.kind == DeliveryKind.SEND_CARD and (row.payload or {}).get("purpose") == NOTIFY_PURPOSE
    )
    if notification or not lark_limits.quota_used_up(integration, now):
        return False
    reset = lark_limits.quota_resets_at(now)
    row.next_attempt_at = reset
    row.reason = FailureReason.QUOTA
    row.last_error = (
        "the free edition's monthly API quota is used up; only incident notifications are "
        f"sent until it resets on {reset.astimezone(usage.QUOTA_TZ):%Y-%m-%d} (00:00 Beijing time)"
    )
    stats.add(deferred=1)
    return True


# -- rate limits and the "running late" notice ---------------------------------------------


def _waits_for_limit(
    row: Delivery,
    incident: Incident | None,
    integration: LarkIntegration,
    now: datetime,
    wait: float,
) -> bool:
    if wait <= 0:
        return False
    row.next_attempt_at = now + timedelta(seconds=wait)
    stats.add(deferred=1)
    row.reason = row.reason or FailureReason.RATE_LIMITED
    note_waiting(row, now)
    if incident is not None:
        maybe_notice(row, incident, now)
    return True


def maybe_notice(row: Delivery, incident: Incident, now: datetime) -> None:
    """Delivery running more than a minute late: one notice per chat of the channel."""
    if (
        row.kind not in (DeliveryKind.SEND_CARD, DeliveryKind.UPDATE_CARD)
        or incident.channel_id is None
    ):
        return
    if row.next_attempt_at - row.created_at <= NOTICE_AFTER:
        return
    bucket = int(now.timestamp() // NOTICE_EVERY.total_seconds())
    for chat_id in channel_chats(incident.channel_id, row.integration_id):
        digest = hashlib.sha256(chat_id.encode()).hexdigest()[:20]
        _insert_once(
            {
                "integration_id": row.integration_id,
                "kind": DeliveryKind.NOTICE,
                "receive_id_type": "chat_id",
                "receive_id": chat_id,
                "uuid": f"notice-{row.integration_id}-{digest}-{bucket}"[:50],
                "status": DeliveryStatus.PENDING.value,
                "next_attempt_at": now,
                "created_at": now,
                "attempts": 0,
                "layer": 0,
                "payload": {"target": chat_id, "channel_id": incident.channel_id},
            }
        )


def channel_chats(channel_id: int, integration_id: int) -> list[str]:
    rules = db.session.scalars(
        select(DispatchRule).where(
            DispatchRule.channel_id == channel_id, DispatchRule.integration_id == integration_id
        )
    )
    chats: dict[str, None] = {}
    for rule in rules:
        for layer in rule.layers or []:
            chats.update(dict.fromkeys(str(c) for c in layer.get("chat_ids") or []))
    return list(chats)


def _insert_once(values: dict[str, Any]) -> None:
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Delivery).values(**values).on_conflict_do_nothing(index_elements=["uuid"])
    db.session.execute(stmt)


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


def notice_card(locale: str) -> dict[str, Any]:
    with force_locale(locale):
        title = _("Incident notifications are running late")
        text = _(
            "Lark's rate limits are delaying incident cards by more than a minute. "
            "Nothing is lost: they arrive in order as soon as Lark allows."
        )
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "yellow"},
        "body": {"elements": [{"tag": "markdown", "content": text}]},
    }
