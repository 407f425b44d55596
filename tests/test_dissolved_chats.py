"""A group dissolved with "keep the history for members": Lark sends no im.chat.disbanded_v1
and keeps listing the chat with chat_status "dissolved_save". The chat list is then the only
word of it, and the product must read it: the chat is never paged again and shows as gone
(docs/lark/chats.md)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_chat_events import _rule, _setup
from webapp.delivery import worker as outbox
from webapp.diagnostics import report as diagnostics
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.lark.client import LarkClient
from webapp.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    FailureReason,
    IncidentEvent,
    LarkChat,
    Source,
    WarRoom,
)
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

LI = seed.LI_LEI.open_id
CHAT = seed.ONCALL_CHAT


def test_lark_sends_no_event_and_keeps_listing_a_chat_dissolved_with_its_history(
    owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, _ = _setup(owner, lark, live_server)

    sent = lark.disband(CHAT.chat_id, by=LI, keep_history=True)

    assert sent == [] and lark.events_sent("im.chat.disbanded_v1") == []
    listed = LarkClient.for_integration(integration).list_all_chats()
    [chat] = [c for c in listed if c.chat_id == CHAT.chat_id]
    assert chat.dissolved


def test_a_chat_dissolved_with_its_history_shows_as_gone_and_is_never_paged(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    rule = _rule(integration, path, CHAT.chat_id, CHAT.name)
    sign_in(client, owner)
    client.get("/admin/diagnostics")  # Lark's list read once while the chat was alive
    diagnostics.clear_cache()

    lark.disband(CHAT.chat_id, by=LI, keep_history=True)  # no event reaches us

    report = client.get("/admin/diagnostics").get_data(as_text=True)
    assert f"{CHAT.name} (rule Everything): dissolved" in report
    form = client.get(f"{path}/new").get_data(as_text=True)
    assert CHAT.name not in form.split("Group chats the bot of")[1].split("</fieldset>")[0]
    assert "was dissolved on" in client.get(path).get_data(as_text=True)

    channel = db.session.get(Channel, rule.channel_id)
    incident = factories.incident(owner.account, title="db-01 is down", ch=channel)
    outbox.run_once()

    assert not [m for m in lark.sandbox.messages.values() if m.chat_id == CHAT.chat_id]
    [row] = db.session.scalars(select(Delivery).where(Delivery.incident_id == incident.id)).all()
    assert (row.receive_id, row.status, row.reason) == (
        CHAT.chat_id,
        DeliveryStatus.FAILED,
        FailureReason.CHAT_GONE,
    )
    said = db.session.scalars(
        select(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "notification_failed"
        )
    ).one()
    assert said.details["target"] == CHAT.name


def test_reading_the_chat_list_closes_a_war_room_dissolved_with_its_history(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    owner.member.email = seed.LI_LEI.email
    db.session.commit()
    incident = factories.incident(owner.account, title="db-01 is down", assignees=[owner.member])
    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()
    db.session.refresh(room)
    lark.sandbox.chats[room.chat_id].owner_id = LI

    lark.disband(room.chat_id, by=LI, keep_history=True)
    sign_in(client, owner)
    client.get(f"{path}/new")  # the dispatch form reads Lark's chat list

    db.session.expire_all()
    assert db.session.get(WarRoom, room.id).closed_at is not None  # type: ignore[union-attr]
    row = db.session.scalars(select(LarkChat).where(LarkChat.chat_id == room.chat_id)).one()
    assert row.status.value == "disbanded"
    page = client.get(f"/admin/incidents/{incident.number}/delivery").get_data(as_text=True)
    assert "was dissolved in Lark: the war room is closed" in page
    assert integration.id
