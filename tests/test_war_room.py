"""War rooms: a Lark group chat per incident with its responders, asked for once."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import bind, events, rows
from webapp.delivery import worker as outbox
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import Delivery, DeliveryStatus, Member, Source, WarRoom
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox
from webapp.views.lark_context import SESSION_KEY


def _as(member: Member, email: str, phone: str) -> None:
    member.email, member.phone = email, phone
    db.session.commit()


def test_a_war_room_is_created_with_the_responders_and_the_card(
    owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    factories.lark_integration(owner.account)
    _as(owner.member, seed.LI_LEI.email, "+8600000000000")  # found by email
    _as(member.member, "nobody@example.com", seed.HAN_MEIMEI.mobile)  # found by mobile
    stranger = factories.persona("member", account=owner.account).member
    _as(stranger, "stranger@example.com", "+8611111111111")  # Lark does not know them
    incident = factories.incident(
        owner.account, title="db-01 is down", assignees=[member.member, stranger]
    )

    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    assert room.chat_id is None
    outbox.run_once()  # creates the chat, links it, queues the card
    outbox.run_once()  # posts the card

    db.session.refresh(room)
    chat = lark.sandbox.chats[room.chat_id]
    assert chat.name == f"[#{incident.number}] db-01 is down"
    assert set(chat.members) >= {seed.LI_LEI.open_id, seed.HAN_MEIMEI.open_id}
    assert [m["name"] for m in room.missing] == [stranger.name]
    card, note = lark.messages_to(room.chat_id)  # the incident card, then who is missing
    assert "db-01 is down" in card.title
    # In the presser's language, else the platform's (Feishu: Chinese).
    assert note.title == "未加入本作战室的成员" and stranger.name in note.content
    [created] = [e for e in events(incident, "war_room") if e.details["status"] == "created"]
    assert created.details["missing"] == [stranger.name]
    assert created.details["chat_id"] == room.chat_id


def test_asking_twice_returns_the_same_war_room(owner: Persona, lark: LarkSandbox) -> None:
    factories.lark_integration(owner.account)
    incident = factories.incident(owner.account, assignees=[owner.member])

    first = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    second = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()
    third = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))

    assert first.id == second.id == third.id
    assert len(rows(incident, "war_room")) == 1
    assert len(lark.calls("/open-apis/im/v1/chats", "POST")) == 1
    assert db.session.scalars(select(WarRoom)).one().chat_id


def test_a_failed_chat_creation_is_retried_and_creates_one_chat(
    owner: Persona, lark: LarkSandbox
) -> None:
    factories.lark_integration(owner.account)
    _as(owner.member, seed.LI_LEI.email, seed.LI_LEI.mobile)
    incident = factories.incident(owner.account)
    war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    lark.fail("/open-apis/im/v1/chats", status=502, times=1)

    outbox.run_once()
    [row] = rows(incident, "war_room")
    assert (row.status, row.reason) == (DeliveryStatus.PENDING, "server")
    outbox.run_once(now=row.next_attempt_at)

    db.session.refresh(row)
    assert row.status is DeliveryStatus.DELIVERED
    created = [c for c in lark.sandbox.chats.values() if c.name.startswith("[#")]
    assert len(created) == 1


def test_the_incident_page_button_asks_for_the_war_room(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    binding = bind(integration, owner.member, seed.LI_LEI.open_id)
    incident = factories.incident(owner.account, assignees=[owner.member])
    sign_in(client, owner)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}
    header = csrf_token(client, "/admin/channels")

    response = client.post(
        f"/lark/{integration.key}/incidents/{incident.number}/war-room",
        headers={"HX-Request": "true", "X-CSRFToken": header},
    )

    assert response.status_code == 200
    assert "being created in Lark" in response.get_data(as_text=True)
    assert "toast" in response.headers["HX-Trigger"]
    assert db.session.scalars(select(Delivery).where(Delivery.kind == "war_room")).one()


def test_a_war_room_with_a_resigned_responder_is_created_with_the_others_and_names_them(
    owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    _as(owner.member, seed.LI_LEI.email, "+8600000000000")
    _as(member.member, seed.HAN_MEIMEI.email, "+8600000000001")
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)  # linked before they left
    lark.sandbox.users[seed.HAN_MEIMEI.open_id].resigned = True  # left the company
    incident = factories.incident(owner.account, title="db-01 is down", assignees=[member.member])

    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()
    outbox.run_once()

    db.session.refresh(room)
    assert room.chat_id is not None
    chat = lark.sandbox.chats[room.chat_id]
    assert seed.LI_LEI.open_id in chat.members
    assert seed.HAN_MEIMEI.open_id not in chat.members
    assert [m["name"] for m in room.missing] == [member.member.name]
    assert "refused" in room.missing[0]["reason"]


def test_the_people_left_out_of_a_war_room_are_named_to_the_presser_the_room_and_the_admin(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    _as(owner.member, seed.LI_LEI.email, "+8600000000000")
    _as(member.member, seed.HAN_MEIMEI.email, "+8600000000001")
    binding = bind(integration, owner.member, seed.LI_LEI.open_id)
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)
    lark.sandbox.users[seed.HAN_MEIMEI.open_id].resigned = True
    incident = factories.incident(owner.account, title="db-01 is down", assignees=[member.member])
    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()  # the room, its card and the note about who is missing
    outbox.run_once()
    db.session.refresh(room)

    notes = [m for m in lark.messages_to(room.chat_id) if m.title == "未加入本作战室的成员"]
    assert len(notes) == 1 and member.member.name in notes[0].content
    [card] = [
        m for m in lark.messages_to(room.chat_id) if m.msg_type == "interactive" and m not in notes
    ]
    pressed = lark.click(card.message_id, seed.LI_LEI.open_id, button="作战室")
    assert pressed.ok and pressed.toast is not None
    assert member.member.name in pressed.toast["content"]
    sign_in(client, owner)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}
    again = client.post(
        f"/lark/{integration.key}/incidents/{incident.number}/war-room",
        headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client, "/admin/channels")},
    )
    toast = json.loads(again.headers["HX-Trigger"])["toast"]
    assert toast["kind"] == "warning"
    assert f"Lark did not add: {member.member.name}." in toast["message"]
    page = client.get(f"/lark/{integration.key}/incidents/{incident.number}")
    assert f"left out: {member.member.name}" in page.get_data(as_text=True)
    report = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "were made without some people" in report
    assert f"{room.name}: {member.member.name}" in report
