"""Lark's answers that mean something other than they look: a card locked by a press, a
group that lets only admins speak, a disabled app, a chat still being created, nobody
usable to add. Each is produced by the sandbox as Lark would answer it
(docs/lark/errors.md), and the product retries or tells the right fix."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_admin_setup import post
from tests.test_ask_oncall import _setup as ask_setup
from tests.test_dispatch import bind, rows
from tests.test_outbox import CHAT, SEND, later, wait_for
from tests.test_outbox import setup as setup  # the fixture
from webapp.delivery import worker as outbox
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.errors import LarkError
from webapp.models import Channel, Delivery, DeliveryStatus, LarkIntegration, Source
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

LI = seed.LI_LEI.open_id


def test_a_card_someone_is_pressing_is_updated_once_the_press_is_over(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel)  # the chat's card only
    outbox.run_once()
    [card] = lark.messages_to(CHAT)

    with lark.pressing(card.message_id):  # Lark: 230099 "card action is lock" meanwhile
        incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
        outbox.run_once()
        [row] = rows(incident, "update_card")
        assert (row.status, row.reason, row.last_error_code) == (
            DeliveryStatus.PENDING,
            "busy",
            230099,
        )
    later(60)

    db.session.refresh(row)
    assert row.status is DeliveryStatus.DELIVERED
    [card] = lark.messages_to(CHAT)
    assert card.updates == 1


def test_a_group_where_only_admins_speak_names_that_setting_as_the_fix(
    client: FlaskClient, setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    lark.sandbox.chats[CHAT].only_admins_speak = True  # the bot is no admin there
    incident = factories.incident(owner.account, ch=channel)

    outbox.run_once()

    [row] = rows(incident)
    assert (row.status, row.last_error_code, row.reason) == (
        DeliveryStatus.FAILED,
        230035,
        "group_restricted",
    )
    sign_in(client, owner)
    page = client.get(f"/admin/incidents/{incident.number}/delivery").get_data(as_text=True)
    assert "let all members speak, or make the bot a group admin" in page
    assert "lacks a permission (scope)" not in page


def test_the_bot_made_a_group_admin_may_speak_there(
    setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    chat = lark.sandbox.chats[CHAT]
    chat.only_admins_speak, chat.admin_bots = True, {seed.DEMO_APP_ID}
    incident = factories.incident(owner.account, ch=channel)

    outbox.run_once()

    assert {r.status for r in rows(incident)} == {DeliveryStatus.DELIVERED}


def test_a_disabled_app_is_told_to_be_enabled_not_its_secret_re_pasted(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    lark.app().configure(disabled=True)  # stopped in the tenant's admin console
    sign_in(client, owner)
    detail = f"/admin/integrations/{integration.id}"

    post(client, f"{detail}/test")

    page = client.get(detail).get_data(as_text=True)
    assert "10014" in page
    assert "enable it again in the Lark admin console" in page
    assert "Copy them again" not in page


def test_a_chat_still_being_created_is_asked_for_again_not_given_up(
    owner: Persona, lark: LarkSandbox, app: Flask
) -> None:
    """Lark's create-chat page: 232068 "the group is being created" answers a repeat of a
    create still running (here: our first call timed out while Lark kept building)."""
    factories.lark_integration(owner.account)
    owner.member.email = seed.LI_LEI.email
    db.session.commit()
    incident = factories.incident(owner.account, assignees=[owner.member])
    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    lark.sandbox.chat_build_seconds = 4.0
    timeout = app.config["LARK_HTTP_TIMEOUT"]
    app.config["LARK_HTTP_TIMEOUT"] = 1.0
    try:
        outbox.run_once()  # the create times out; Lark goes on building the chat
        app.config["LARK_HTTP_TIMEOUT"] = timeout
        later(5)  # the retry, while it still builds
        [row] = rows(incident, "war_room")
        assert (row.status, row.reason, row.last_error_code) == (
            DeliveryStatus.PENDING,
            "busy",
            232068,
        )
        wait_for(lambda: not lark.sandbox.chats_building)
        lark.sandbox.chat_build_seconds = 0.0
        later(60)
    finally:
        app.config["LARK_HTTP_TIMEOUT"] = timeout

    db.session.refresh(room)
    assert room.chat_id is not None
    assert LI in lark.sandbox.chats[room.chat_id].members
    assert [c for c in lark.sandbox.chats.values() if c.name == room.name] == [
        lark.sandbox.chats[room.chat_id]
    ]  # one chat, whatever the retries


def test_a_war_room_where_lark_can_add_nobody_is_made_and_names_them(
    owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    """add-members with succeed_type=1 and no usable id answers 232027 "no valid members":
    the chat exists, its people are named as left out, the room does not fail."""
    integration = factories.lark_integration(owner.account)
    owner.member.email = "nobody@example.com"  # the presser is not in Lark
    member.member.email = seed.HAN_MEIMEI.email
    db.session.commit()
    bind(integration, member.member, seed.HAN_MEIMEI.open_id)  # linked before they left
    lark.sandbox.users[seed.HAN_MEIMEI.open_id].resigned = True
    incident = factories.incident(owner.account, assignees=[member.member])
    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))

    outbox.run_once()

    db.session.refresh(room)
    [row] = rows(incident, "war_room")
    assert row.status is DeliveryStatus.DELIVERED
    assert room.chat_id is not None
    assert member.member.name in [m["name"] for m in room.missing]


def test_a_reply_lark_keeps_refusing_gives_up_inside_the_uuid_hour(
    owner: Persona, member: Persona, lark: LarkSandbox, live_server: str
) -> None:
    """Lark drops a repeated send uuid for one hour only: a retry after that could post a
    second answer, so a reply still failing after 55 minutes ends failed."""
    ask_setup(owner, member, lark, live_server)
    lark.fail(SEND, status=500)
    lark.say(CHAT, LI, "oncall")

    outbox.run_once()
    [reply] = db.session.query(Delivery).filter(Delivery.kind == "reply").all()
    assert reply.status is DeliveryStatus.PENDING
    later(56 * 60)

    db.session.refresh(reply)
    assert reply.status is DeliveryStatus.FAILED
    assert "gave up" in (reply.last_error or "")


def test_a_card_someone_recalled_is_no_longer_updated_and_says_why(
    client: FlaskClient, setup: tuple[LarkIntegration, Channel], owner: Persona, lark: LarkSandbox
) -> None:
    _, channel = setup
    incident = factories.incident(owner.account, ch=channel)
    outbox.run_once()
    [card] = lark.messages_to(CHAT)
    lark.recall(card.message_id)  # Lark: 230011 on any later update

    incidents.acknowledge(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()

    [row] = rows(incident, "update_card")
    assert (row.status, row.reason) == (DeliveryStatus.FAILED, "message_too_old")
    sign_in(client, owner)
    page = client.get(f"/admin/incidents/{incident.number}/delivery").get_data(as_text=True)
    assert "recalled or deleted" in page


@pytest.mark.parametrize(
    ("code", "msg", "reason", "permanent"),
    [
        (
            230018,
            "These operations are NOT allowed at current group settings.",
            "group_restricted",
            True,
        ),
        (230049, "The message is being sent.", "busy", False),
        (
            230099,
            "Failed to create card content, ext=ErrCode: 11310; ErrMsg: card action is lock",
            "busy",
            False,
        ),
        (
            230099,
            "Failed to create card content, ext=ErrCode: 11310; ErrMsg: element exceeds the limit",
            "card_invalid",
            True,
        ),
    ],
)
def test_codes_lark_s_pages_explain_are_classified_as_they_say(
    code: int, msg: str, reason: str, permanent: bool
) -> None:
    """The codes the sandbox produces only by fault injection, read from Lark's own words
    (docs/lark/errors.md)."""
    error = LarkError(code, msg, http_status=400)

    assert (error.reason, error.permanent) == (reason, permanent)
