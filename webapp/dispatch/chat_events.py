"""What Lark's chat events change: the bot's chats, the policies' targets, dissolved war rooms.

Events (webapp/views/events.py) call `bot_added`, `bot_removed` and `chat_disbanded`; the
dispatch form and page read `overrides` and `gone`. The caller commits. Whoever reads Lark's
chat list calls `reconcile`, so a missed "bot added" event does not leave a chat marked, and
a chat dissolved without an event (members kept the history) is marked all the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.client import Chat
from webapp.models import (
    ChatStatus,
    EventKind,
    Incident,
    LarkChat,
    LarkIntegration,
    WarRoom,
    utcnow,
)


def _row(integration: LarkIntegration, chat_id: str) -> LarkChat:
    row = db.session.scalars(
        select(LarkChat).where(
            LarkChat.integration_id == integration.id, LarkChat.chat_id == chat_id
        )
    ).first()
    if row is None:
        row = LarkChat(integration_id=integration.id, chat_id=chat_id)
        db.session.add(row)
    return row


def _mark(integration: LarkIntegration, chat_id: str, name: str, status: ChatStatus) -> LarkChat:
    row = _row(integration, chat_id)
    row.name = name or row.name or chat_id
    row.status = status
    row.changed_at = utcnow()
    return row


def bot_added(integration: LarkIntegration, chat_id: str, name: str) -> None:
    """im.chat.member.bot.added_v1: the chat can be chosen in a policy at once."""
    _mark(integration, chat_id, name, ChatStatus.MEMBER)


def bot_removed(integration: LarkIntegration, chat_id: str, name: str) -> None:
    """im.chat.member.bot.deleted_v1: policies sending there are marked."""
    _mark(integration, chat_id, name, ChatStatus.REMOVED)


def chat_disbanded(integration: LarkIntegration, chat_id: str, name: str) -> None:
    """im.chat.disbanded_v1: policies sending there are marked; a war room there is closed."""
    _mark(integration, chat_id, name, ChatStatus.DISBANDED)
    _close_war_rooms(integration, chat_id)


def _close_war_rooms(integration: LarkIntegration, chat_id: str) -> None:
    rooms = db.session.scalars(
        select(WarRoom).where(
            WarRoom.integration_id == integration.id,
            WarRoom.chat_id == chat_id,
            WarRoom.closed_at.is_(None),
        )
    )
    for room in rooms:
        room.closed_at = utcnow()
        incident = db.session.get(Incident, room.incident_id)
        if incident is not None:
            incidents.record(
                incident,
                Actor.system(),
                EventKind.WAR_ROOM,
                {"name": room.name, "chat_id": chat_id, "status": "closed"},
            )


def reconcile(integration: LarkIntegration, listed: list[Chat], read_at: datetime) -> int:
    """Lark's own chat list is the truth as of `read_at`. A live chat it lists that an older
    event marked removed or dissolved has the bot again (the bot was added back and that
    event never arrived: the event URL was down, or not set yet). A chat it lists as
    dissolved is marked so, and its war room closed: a chat dissolved with "keep the
    history" sends no im.chat.disbanded_v1 (Lark's disbanded-event page), the list is the
    only word of it. Returns how many rows it marked and commits them; an event after
    `read_at` stands."""
    by_id = {c.chat_id: c for c in listed}
    rows = {
        row.chat_id: row
        for row in db.session.scalars(
            select(LarkChat).where(
                LarkChat.integration_id == integration.id,
                LarkChat.chat_id.in_(sorted(by_id)),
            )
        )
    }
    marked = 0
    for chat in listed:
        row = rows.get(chat.chat_id)
        if row is not None and row.changed_at >= read_at:
            continue  # an event newer than the list
        if chat.dissolved and (row is None or row.status is not ChatStatus.DISBANDED):
            chat_disbanded(integration, chat.chat_id, chat.name)
            marked += 1
        elif not chat.dissolved and row is not None and row.status is not ChatStatus.MEMBER:
            row.status, row.changed_at = ChatStatus.MEMBER, read_at
            marked += 1
    if marked:
        db.session.commit()
    return marked


def overrides(integration_id: int, since: datetime) -> dict[str, LarkChat]:
    """Chats an event changed at or after `since` (when Lark's chat list was read)."""
    rows = db.session.scalars(
        select(LarkChat).where(
            LarkChat.integration_id == integration_id, LarkChat.changed_at >= since
        )
    )
    return {row.chat_id: row for row in rows}


def gone(integration_ids: list[int]) -> dict[str, LarkChat]:
    """chat_id -> the event that took the bot out of it (removed, or the chat dissolved)."""
    if not integration_ids:
        return {}
    rows = db.session.scalars(
        select(LarkChat).where(
            LarkChat.integration_id.in_(integration_ids),
            LarkChat.status != ChatStatus.MEMBER,
        )
    )
    return {row.chat_id: row for row in rows}
