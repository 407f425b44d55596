"""What a channel's chats hear besides incident cards: an alert storm (an incident crossed
one of the channel's thresholds) and a flapping alert (its pages muted for a while).

One `alert_notice` outbox row per chat the channel's dispatch rules post to, written in the
transaction of the timeline line; the worker draws the words in the chat's language.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp import outbox
from webapp.extensions import db
from webapp.models import (
    DeliveryKind,
    DispatchRule,
    EventKind,
    Incident,
    IncidentEvent,
)

NOTICE_EVENTS = frozenset({EventKind.STORM, EventKind.FLAPPING})


def channel_chats(channel_id: int, integration_id: int | None = None) -> list[tuple[int, str]]:
    """(integration, chat) pairs of every layer of the channel's rules, each once."""
    stmt = select(DispatchRule).where(DispatchRule.channel_id == channel_id)
    if integration_id is not None:
        stmt = stmt.where(DispatchRule.integration_id == integration_id)
    chats: dict[tuple[int, str], None] = {}
    for rule in db.session.scalars(stmt.order_by(DispatchRule.position, DispatchRule.id)):
        for layer in rule.layers or []:
            chats.update(
                dict.fromkeys((rule.integration_id, str(c)) for c in layer.get("chat_ids") or [])
            )
    return list(chats)


def alert_notice(incident: Incident, event: IncidentEvent) -> None:
    """One notice per chat of the incident's channel about a storm or a flapping alert."""
    if incident.channel_id is None:
        return
    details = event.details or {}
    payload: dict[str, Any] = {
        "what": event.kind,
        "number": incident.number,
        "title": incident.title,
        "alerts": details.get("alerts", incident.alert_count),
        "threshold": details.get("threshold"),
        "alert": details.get("alert"),
        "until": details.get("until"),
    }
    for integration_id, chat_id in channel_chats(incident.channel_id):
        outbox.enqueue(
            DeliveryKind.ALERT_NOTICE,
            integration_id,
            incident_id=incident.id,
            receive_id_type="chat_id",
            receive_id=chat_id,
            payload={**payload, "target": chat_id},
        )
