"""Lark's chat events at /lark/<key>/events: the sandbox sends them when the bot is added,
removed or a group dissolved, and the dispatch form, pages and diagnostics follow."""

from __future__ import annotations

import json
import time

import requests
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from webapp.delivery import worker as outbox
from webapp.dispatch import war_rooms
from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import (
    ChatStatus,
    DispatchRule,
    IncidentEvent,
    LarkChat,
    LarkIntegration,
    Source,
    WarRoom,
)
from webapp.sandbox import crypto, seed
from webapp.sandbox.handle import LarkSandbox

LI = seed.LI_LEI.open_id
PAYMENTS = seed.PAYMENTS_CHAT


def _setup(owner: Persona, lark: LarkSandbox, live_server: str) -> tuple[LarkIntegration, str]:
    integration = factories.lark_integration(owner.account)
    url = f"{live_server}/lark/{integration.key}/events"
    lark.app().configure(event_request_url=url)
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    return integration, f"/admin/channels/{channel.id}/dispatch"


def _rule(integration: LarkIntegration, path: str, chat_id: str, name: str) -> DispatchRule:
    channel_id = int(path.split("/")[3])
    rule = DispatchRule(
        channel_id=channel_id,
        integration_id=integration.id,
        name="Everything",
        position=1,
        severities=[],
        label_match={},
        enabled=True,
        layers=[
            {
                "delay_minutes": 0,
                "assignees": False,
                "team_ids": [],
                "member_ids": [],
                "chat_ids": [chat_id],
                "chat_names": {chat_id: name},
            }
        ],
    )
    db.session.add(rule)
    db.session.commit()
    return rule


def test_saving_the_event_url_in_the_console_passes_url_verification(
    owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration = factories.lark_integration(owner.account)

    passed, words = lark.app().verify_event_url(f"{live_server}/lark/{integration.key}/events")

    assert passed, words
    db.session.refresh(integration)
    assert integration.events_verified_at is not None


def test_adding_the_bot_to_a_group_shows_the_chat_in_the_form_without_a_refresh(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    sign_in(client, owner)
    form = client.get(f"{path}/new").get_data(as_text=True)  # Lark's list is read and kept
    assert PAYMENTS.name not in form

    sent = lark.add_bot(PAYMENTS.chat_id, by=LI)

    assert sent is not None and sent.status == 200, sent
    poll = client.get(
        f"{path}/chats",
        query_string={"integration_id": integration.id, "layer": 0, "layer0-chat": "x"},
    )
    assert poll.status_code == 200
    assert PAYMENTS.name in poll.get_data(as_text=True)
    assert PAYMENTS.name in client.get(f"{path}/new").get_data(as_text=True)
    # The poll sends the list's fingerprint back: unchanged, nothing to swap.
    version = poll.get_data(as_text=True).split("v=")[1].split('"')[0].split("&")[0]
    again = client.get(
        f"{path}/chats",
        query_string={"integration_id": integration.id, "layer": 0, "v": version},
    )
    assert again.status_code == 204


def test_ticks_made_in_the_form_survive_its_polling(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    sign_in(client, owner)
    client.get(f"{path}/new")
    lark.add_bot(PAYMENTS.chat_id, by=LI)

    poll = client.get(
        f"{path}/chats",
        query_string={
            "integration_id": integration.id,
            "layer": 1,
            "layer1-chat": seed.ONCALL_CHAT.chat_id,
        },
    ).get_data(as_text=True)

    assert f'value="{seed.ONCALL_CHAT.chat_id}" checked' in poll
    assert f'value="{PAYMENTS.chat_id}" >' in poll


def test_removing_the_bot_marks_the_policy_target_on_the_page_and_in_diagnostics(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    chat = seed.ONCALL_CHAT
    rule = _rule(integration, path, chat.chat_id, chat.name)
    sign_in(client, owner)

    sent = lark.remove_bot(chat.chat_id, by=LI)

    assert sent is not None and sent.status == 200
    page = client.get(path).get_data(as_text=True)
    assert "The bot was removed from" in page and chat.name in page
    assert "the bot was removed: nothing is sent there" in page
    assert (
        chat.name
        not in client.get(f"{path}/new")
        .get_data(as_text=True)
        .split("Group chats the bot of")[1]
        .split("</fieldset>")[0]
    )
    edit = client.get(f"{path}/{rule.id}").get_data(as_text=True)
    assert f'{chat.name} <span class="muted">(the bot was removed from it)</span>' in edit
    report = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "can no longer receive cards" in report
    assert f"{chat.name} (rule Everything): the bot was removed" in report


def _removed(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> tuple[str, seed.SeedChat]:
    """A policy sending to the on-call chat, the owner signed in, and the bot removed from
    that chat (Lark sent the event)."""
    integration, path = _setup(owner, lark, live_server)
    chat = seed.ONCALL_CHAT
    _rule(integration, path, chat.chat_id, chat.name)
    sign_in(client, owner)
    lark.remove_bot(chat.chat_id, by=LI)
    return path, chat


def test_adding_the_bot_back_clears_the_mark(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    path, chat = _removed(client, owner, lark, live_server)

    lark.add_bot(chat.chat_id, by=LI)

    assert "The bot was removed from" not in client.get(path).get_data(as_text=True)


def test_a_dissolved_war_room_is_marked_closed_once_even_when_lark_sends_it_twice(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, _ = _setup(owner, lark, live_server)
    owner.member.email = seed.LI_LEI.email
    db.session.commit()
    incident = factories.incident(owner.account, title="db-01 is down", assignees=[owner.member])
    room = war_rooms.open_war_room(incident, Actor(owner.member, Source.WEB))
    outbox.run_once()
    db.session.refresh(room)
    assert room.chat_id
    lark.sandbox.chats[room.chat_id].owner_id = LI  # the bot made it; Li Lei owns it now

    [sent] = lark.disband(room.chat_id, by=LI)
    again = lark.redeliver(sent)

    assert sent.status == 200 and again.status == 200
    assert again.event_id == sent.event_id
    db.session.expire_all()
    assert db.session.get(WarRoom, room.id).closed_at is not None  # type: ignore[union-attr]
    closed = db.session.scalars(
        select(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id, IncidentEvent.kind == "war_room"
        )
    ).all()
    assert [e.details["status"] for e in closed].count("closed") == 1
    assert integration.id


def _post(url: str, payload: dict[str, object], key: str, *, forge: bool = False) -> int:
    body = json.dumps({"encrypt": crypto.encrypt(key, json.dumps(payload))}).encode()
    stamp, nonce = str(int(time.time())), "12345"
    signature = crypto.sha256_signature(stamp, nonce, key, body)
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": stamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": "0" * 64 if forge else signature,
    }
    return requests.post(url, data=body, headers=headers, timeout=5).status_code


def _event(token: str) -> dict[str, object]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": "ev-1",
            "token": token,
            "event_type": "im.chat.member.bot.added_v1",
            "create_time": "1",
            "tenant_key": seed.TENANT_KEY,
            "app_id": seed.DEMO_APP_ID,
        },
        "event": {"chat_id": PAYMENTS.chat_id, "name": PAYMENTS.name},
    }


def test_a_forged_signature_or_a_wrong_token_is_refused_and_changes_nothing(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, _ = _setup(owner, lark, live_server)
    url = f"{live_server}/lark/{integration.key}/events"

    forged = _post(url, _event(seed.DEMO_VERIFICATION_TOKEN), seed.DEMO_ENCRYPT_KEY, forge=True)
    wrong_token = _post(url, _event("not the token"), seed.DEMO_ENCRYPT_KEY)
    wrong_key = _post(url, _event(seed.DEMO_VERIFICATION_TOKEN), "another key")
    good = _post(url, _event(seed.DEMO_VERIFICATION_TOKEN), seed.DEMO_ENCRYPT_KEY)

    assert (forged, wrong_token, wrong_key, good) == (401, 401, 401, 200)
    [row] = db.session.scalars(select(LarkChat)).all()  # the good one only
    assert (row.chat_id, row.status) == (PAYMENTS.chat_id, ChatStatus.MEMBER)


def test_the_integration_page_shows_the_event_url_with_the_events_to_subscribe(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    sign_in(client, owner)

    page = client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)

    assert f"/lark/{integration.key}/events" in page
    assert 'data-copy="#url-events"' in page
    assert "Event request URL (事件请求地址)" in page
    for event in (
        "im.chat.member.bot.added_v1",
        "im.chat.member.bot.deleted_v1",
        "im.chat.disbanded_v1",
        "im.message.receive_v1",
    ):
        assert event in page


def test_the_owner_dissolves_a_group_from_the_sandbox_client_and_the_policy_is_marked(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    chat = seed.ONCALL_CHAT
    _rule(integration, path, chat.chat_id, chat.name)
    session = lark.client_session(LI)  # Li Lei owns the group

    answer = session.post(f"{lark.base_url}/chats/{chat.chat_id}/dissolve", timeout=10)

    assert answer.status_code == 200
    assert lark.sandbox.chats[chat.chat_id].status == "dissolved"
    [sent] = lark.events_sent("im.chat.disbanded_v1")
    assert sent.status == 200
    sign_in(client, owner)
    page = client.get(path).get_data(as_text=True)
    assert "was dissolved on" in page and "dissolved: nothing is sent there" in page


def test_a_member_who_does_not_own_the_group_cannot_dissolve_it(
    lark: LarkSandbox, live_server: str
) -> None:
    session = lark.client_session(seed.HAN_MEIMEI.open_id)

    answer = session.post(f"{lark.base_url}/chats/{seed.ONCALL_CHAT.chat_id}/dissolve", timeout=10)

    assert answer.status_code == 403
    assert lark.sandbox.chats[seed.ONCALL_CHAT.chat_id].status == "normal"


def test_a_missed_bot_added_event_is_corrected_by_lark_s_chat_list(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    """The bot was removed (the event arrived), then added back while our event URL was
    down: Lark's chat list, read later, shows it in the chat, and the marks go."""
    from webapp.diagnostics import report as diagnostics

    path, chat = _removed(client, owner, lark, live_server)
    assert "can no longer receive cards" in client.get("/admin/diagnostics").get_data(as_text=True)

    lark.set_bot_in_chat(chat.chat_id, present=True)  # added back; no event reaches us
    diagnostics.clear_cache()  # the diagnostics read Lark's chat list at most once a minute

    report = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "can no longer receive cards" not in report
    assert "The bot is in all 1 chat(s) the dispatch policies use." in report
    assert "The bot was removed from" not in client.get(path).get_data(as_text=True)
    db.session.expire_all()
    row = db.session.scalars(select(LarkChat).where(LarkChat.chat_id == chat.chat_id)).one()
    assert row.status is ChatStatus.MEMBER


def test_a_removal_after_lark_s_chat_list_was_read_stands(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    integration, path = _setup(owner, lark, live_server)
    chat = seed.ONCALL_CHAT
    _rule(integration, path, chat.chat_id, chat.name)
    sign_in(client, owner)
    ok = client.get("/admin/diagnostics").get_data(as_text=True)  # reads the list: bot in
    assert "The bot is in all 1 chat(s) the dispatch policies use." in ok

    lark.remove_bot(chat.chat_id, by=LI)  # after that read

    report = client.get("/admin/diagnostics").get_data(as_text=True)  # the list is cached
    assert f"{chat.name} (rule Everything): the bot was removed" in report


def test_refreshing_the_chat_list_corrects_a_missed_bot_added_event(
    client: FlaskClient, owner: Persona, lark: LarkSandbox, live_server: str
) -> None:
    path, chat = _removed(client, owner, lark, live_server)
    assert "The bot was removed from" in client.get(path).get_data(as_text=True)
    lark.set_bot_in_chat(chat.chat_id, present=True)  # no event reaches us

    token = csrf_token(client, path)
    answer = client.post(f"{path}/refresh-chats", data={"csrf_token": token})  # the form's button

    assert answer.status_code == 303
    assert "The bot was removed from" not in client.get(path).get_data(as_text=True)
