"""One verified Lark event (schema 2.0), acted on once: the events URL's one service verb.

Lark re-sends an event it thinks was not received (its event guide: retried for a while
when the answer is not a 200 within 3 s), so `header.event_id` is remembered in the same
transaction as the change: a redelivery finds it and does nothing, a failed change takes
the memory with it and the redelivery tries again.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from sqlalchemy import update

from webapp.cardkit import answer as card_answer
from webapp.dispatch import chat_events
from webapp.extensions import db
from webapp.models import CallbackReceipt, LarkIntegration, dialect_insert, utcnow
from webapp.schedules import ask

log = logging.getLogger(__name__)


class EventType(enum.StrEnum):
    BOT_ADDED = "im.chat.member.bot.added_v1"
    BOT_DELETED = "im.chat.member.bot.deleted_v1"
    CHAT_DISBANDED = "im.chat.disbanded_v1"
    MESSAGE = "im.message.receive_v1"


SUBSCRIBED = tuple(EventType)


class Outcome(enum.StrEnum):
    DONE = "done"
    REPEAT = "repeat"  # the same event_id again
    IGNORED = "ignored"  # an event we did not subscribe to


def verified(integration: LarkIntegration) -> None:
    """Lark's console verified the event request URL: the setup checklist shows it."""
    _evidence(integration, events_verified_at=utcnow())
    db.session.commit()


def receive(integration: LarkIntegration, header: dict[str, Any], event: dict[str, Any]) -> Outcome:
    """Act on one event once; commits."""
    event_type, event_id = str(header.get("event_type") or ""), str(header.get("event_id") or "")
    if event_type not in SUBSCRIBED:
        return Outcome.IGNORED
    if event_id and not _first_time(integration, event_id, event_type):
        db.session.rollback()
        return Outcome.REPEAT
    _act(integration, EventType(event_type), event)
    _evidence(integration, last_event_at=utcnow())
    # The chat lists held by the web workers are not dropped: they read the row written
    # here over their list (rules.bot_chats), which spares a Lark call per event.
    db.session.commit()
    return Outcome.DONE


def _act(integration: LarkIntegration, event_type: EventType, event: dict[str, Any]) -> None:
    if event_type is EventType.MESSAGE:
        ask.answer(integration, event)
        return
    chat_id = str(event.get("chat_id") or "")
    if not chat_id:
        return
    name = str(event.get("name") or "")
    {
        EventType.BOT_ADDED: chat_events.bot_added,
        EventType.BOT_DELETED: chat_events.bot_removed,
        EventType.CHAT_DISBANDED: chat_events.chat_disbanded,
    }[event_type](integration, chat_id, name)


def _first_time(integration: LarkIntegration, event_id: str, event_type: str) -> bool:
    stmt = (
        dialect_insert(CallbackReceipt)
        .values(
            integration_id=integration.id,
            dedupe_key=f"ev:{event_id}"[:128],
            action="event",
            outcome=card_answer.Outcome.OK,
            answer={"event_type": event_type},
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["integration_id", "dedupe_key"])
        .returning(CallbackReceipt.id)
    )
    return db.session.execute(stmt).scalar_one_or_none() is not None


def _evidence(integration: LarkIntegration, **values: Any) -> None:
    db.session.execute(
        update(LarkIntegration).where(LarkIntegration.id == integration.id).values(**values)
    )
