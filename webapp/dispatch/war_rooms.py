"""War rooms (作战室): a Lark group chat for one incident, with its responders in it.

`open_war_room` runs in the request (web page or card button): it only writes the WarRoom
row and one outbox row of kind `war_room`, so the answer is instant. The worker then calls
`build`: find the responders in Lark by email or mobile, create the chat named
`[#number] title` (the row's uuid makes Lark create it once), link it on the incident and
post the incident card there. People Lark cannot find are listed on the WarRoom row and in
the timeline, never skipped silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp import outbox
from webapp.dispatch import policy as dispatch
from webapp.dispatch.matching import live_binding_of
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor, IncidentError
from webapp.lark.client import LarkClient
from webapp.models import (
    Delivery,
    DeliveryKind,
    EventKind,
    Incident,
    LarkIntegration,
    Member,
    WarRoom,
)

# Lark: create chat takes at most 50 users, add members 50 per call, batch_get_id 50 emails
# and 50 mobiles per call (docs/lark/open-api.md#chats and #contact-lookup).
CHUNK = 50


class NoIntegration(IncidentError):
    code = "no_integration"


def room_of(incident: Incident) -> WarRoom | None:
    return db.session.scalars(select(WarRoom).where(WarRoom.incident_id == incident.id)).first()


def open_war_room(incident: Incident, actor: Actor) -> WarRoom:
    """Ask for the incident's war room; asking again returns the same one."""
    if actor.member is not None and not incidents.may_view(actor.member, incident):
        raise incidents.NotAllowed(_("You do not have access to this incident."), incident)
    existing = room_of(incident)
    if existing is not None:
        return existing
    incidents.check_may_act(incident, actor)
    integration = db.session.scalars(
        select(LarkIntegration)
        .where(
            LarkIntegration.account_id == incident.account_id,
            LarkIntegration.enabled.is_(True),
        )
        .order_by(LarkIntegration.id)
    ).first()
    if integration is None:
        raise NoIntegration(_("Connect a Lark integration before opening a war room."), incident)
    name = f"[#{incident.number}] {incident.title}"[:120]
    room = WarRoom(incident_id=incident.id, integration_id=integration.id, name=name, missing=[])
    db.session.add(room)
    outbox.enqueue(
        DeliveryKind.WAR_ROOM,
        integration.id,
        f"war-room-{integration.id}-{incident.id}",
        incident_id=incident.id,
        member_id=actor.member.id if actor.member else None,
        payload={"target": name},
    )
    incidents.record(incident, actor, EventKind.WAR_ROOM, {"name": name, "status": "requested"})
    try:
        db.session.commit()
    except IntegrityError:  # someone asked at the same moment: theirs is the one
        db.session.rollback()
        raced = room_of(incident)
        if raced is None:
            raise
        return raced
    return room


def build(row: Delivery, integration: LarkIntegration, client: LarkClient, now: datetime) -> None:
    """The worker's part: lookups, chat creation, linking and the card. The caller commits.

    Lark calls come first and the database is written only after them, so a failed call
    leaves nothing half-done and the row is simply retried.
    """
    incident = db.session.get(Incident, row.incident_id) if row.incident_id else None
    room = room_of(incident) if incident else None
    if incident is None or room is None:
        return
    people = responders(incident, row.member)
    open_ids, missing = find_in_lark(client, integration, people)
    ids = list(open_ids.values())
    # Create the chat with the bot alone, then add people with succeed_type=1: create-chat
    # fails whole on one resigned or unavailable person (232022 / 232043), and so does
    # add-members by default; with 1 Lark adds the others and lists the ids it refused.
    chat_id = room.chat_id or client.create_chat(room.name, [], uuid=row.uuid)
    for start in range(0, len(ids), CHUNK):
        result = client.add_chat_members(chat_id, ids[start : start + CHUNK])
        refused = set(result.invalid) | set(result.not_existed)
        missing += [
            _missing(m, _("Lark refused to add them to the chat"))
            for m in people
            if open_ids.get(m.id) in refused
        ]
    room.chat_id = chat_id
    room.missing = missing
    row.receive_id_type, row.receive_id = "chat_id", chat_id
    incidents.record(
        incident,
        Actor.system(),
        EventKind.WAR_ROOM,
        {
            "name": room.name,
            "chat_id": chat_id,
            "status": "created",
            "invited": len(ids),
            "missing": [entry["name"] for entry in missing],
        },
    )
    card_row = dispatch.send_row(incident, integration, "chat_id", chat_id, room.name, 0, None)
    card_row.payload = {"target": room.name, "purpose": "war_room"}
    if missing:
        _tell_the_room(row, integration, room, chat_id)


def _tell_the_room(
    row: Delivery, integration: LarkIntegration, room: WarRoom, chat_id: str
) -> None:
    """A message in the room naming who is not in it and why, so those in it can add them."""
    locale = row.member.locale if row.member and row.member.locale else None
    with force_locale(locale or ("zh" if integration.platform.value == "feishu" else "en")):
        title = _("Not in this war room")
        lines = [f"{m['name']} — {m['reason']}" for m in room.missing]
        lines.append(_("Add them from the chat's settings if they should be here."))
    outbox.enqueue(
        DeliveryKind.REPLY,
        integration.id,
        f"war-room-missing-{room.id}",
        incident_id=room.incident_id,
        receive_id_type="chat_id",
        receive_id=chat_id,
        member_id=row.member_id,
        payload={"target": room.name, "title": title, "lines": lines},
    )


def status_words(room: WarRoom | None) -> str:
    """What the presser is told about the room: on its way, open (and who Lark left out)."""
    if room is None or not room.chat_id:
        return _("The war room is being created in Lark; you will be added.")
    if room.closed_at is not None:
        return _("The war room %(name)s was dissolved in Lark.", name=room.name)
    text = _("The war room %(name)s is open in Lark.", name=room.name)
    if room.missing:
        names = ", ".join(str(m.get("name", "")) for m in room.missing)
        text += " " + _("Lark did not add: %(names)s.", names=names)
    return text


def responders(incident: Incident, asked_by: Member | None) -> list[Member]:
    """Who goes in the room: whoever asked, the assignees and the responders, each once."""
    people: dict[int, Member] = {}
    for member in [*([asked_by] if asked_by else []), *incident.assignees, *incident.responders]:
        people.setdefault(member.id, member)
    return list(people.values())


def find_in_lark(
    client: LarkClient, integration: LarkIntegration, people: list[Member]
) -> tuple[dict[int, str], list[dict[str, Any]]]:
    """member id -> open_id, by email then mobile (then a live binding); and who is missing."""
    found: dict[str, str | None] = {}
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        found.update(
            client.batch_get_id(
                emails=[m.email for m in chunk], mobiles=[m.phone for m in chunk if m.phone]
            )
        )
    open_ids: dict[int, str] = {}
    missing: list[dict[str, Any]] = []
    for member in people:
        binding = live_binding_of(integration, member)
        open_id = (
            found.get(member.email)
            or (found.get(member.phone) if member.phone else None)
            or (binding.open_id if binding else None)
        )
        if open_id:
            open_ids[member.id] = open_id
        else:
            missing.append(_missing(member, _("not found in Lark by email or mobile")))
    return open_ids, missing


def _missing(member: Member, why: str) -> dict[str, Any]:
    return {"member_id": member.id, "name": member.name, "reason": why}


def open_from_card(incident: Incident, actor: Actor) -> Incident:
    """The card button's verb (an action code mapped in webapp/cards/actions.py): asks for the
    war room and answers with the incident, whose card then says the room is on its way."""
    open_war_room(incident, actor)
    return incident
