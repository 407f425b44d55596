"""The sandbox refuses what Lark refuses (issue 30's list): each rule, a request Lark would
refuse, and the sandbox answering it as Lark does. Sources per rule: docs/lark/*.md."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from tests.sandbox_fixtures import LarkSandbox, Receiver
from tests.sandbox_helpers import API, bearer, card, code, send, token
from webapp.sandbox import seed

LI = seed.LI_LEI.open_id
TOKEN_URL = f"{API}/auth/v3/tenant_access_token/internal"


def _card_with(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {**card(), "body": {"elements": elements}}


def _div(text: str, **text_fields: Any) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": text, **text_fields}}


def test_text_elements_count_towards_the_200_elements(client: FlaskClient) -> None:
    tok = token(client)
    fits = _card_with([_div(f"line {n}") for n in range(100)])  # 100 divs + 100 texts
    over = _card_with([_div(f"line {n}") for n in range(101)])  # 202

    assert code(send(client, tok, LI, content=fits)) == 0
    refused = send(client, tok, LI, content=over)
    assert code(refused) == 230099
    assert "ErrCode: 11310" in refused.json["msg"]


def test_a_text_colour_outside_lark_s_enum_is_refused(client: FlaskClient) -> None:
    tok = token(client)
    for colour in ("grey", "red-500", "grey-650", "default"):
        assert code(send(client, tok, LI, content=_card_with([_div("x", text_color=colour)]))) == 0
    for colour in ("gray", "crimson", "red-550", "#ff0000"):
        refused = send(client, tok, LI, content=_card_with([_div("x", text_color=colour)]))
        assert code(refused) == 230099, colour


def test_a_toast_of_an_unknown_type_is_refused_by_the_client(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(card_request_url=lark_receiver.url, encrypt_key="")
    message_id = send(client, token(client), LI).json["data"]["message_id"]
    lark_receiver.answer = lambda received: (200, {"toast": {"type": "danger", "content": "x"}})

    result = lark.click(message_id, LI, button="Acknowledge")

    assert (result.ok, result.error_code) == (False, 200672)


def test_a_2_0_card_in_an_old_channel_answer_is_refused(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(card_request_url=lark_receiver.url, callbacks={"card.action.trigger_v1"})
    message_id = send(client, token(client), LI).json["data"]["message_id"]
    lark_receiver.answer = lambda received: (200, {**card("Done"), "toast": {"content": "ok"}})

    result = lark.click(message_id, LI, button="Acknowledge")

    assert (result.ok, result.error_code) == (False, 200673)
    lark_receiver.answer = lambda received: (200, {"toast": {"content": "ok"}})
    assert lark.click(message_id, LI, button="Acknowledge").ok


def test_a_card_being_pressed_cannot_be_patched_until_the_press_is_over(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    message_id = send(client, tok, LI).json["data"]["message_id"]
    patch = {"content": json.dumps(card("Acknowledged"))}
    url = f"{API}/im/v1/messages/{message_id}"

    with lark.pressing(message_id):
        locked = client.patch(url, json=patch, headers=bearer(tok))
    after = client.patch(url, json=patch, headers=bearer(tok))

    assert code(locked) == 230099 and "card action is lock" in locked.json["msg"]
    assert code(after) == 0


def test_add_members_succeed_type_1_with_nobody_usable_and_2_with_anyone_unusable_fail(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    lark.app().configure(visibility=[LI, seed.HAN_MEIMEI.open_id])
    chat_id = client.post(
        f"{API}/im/v1/chats?user_id_type=open_id", json={"name": "War room"}, headers=bearer(tok)
    ).json["data"]["chat_id"]
    members = f"{API}/im/v1/chats/{chat_id}/members?member_id_type=open_id"
    outside = {"id_list": [seed.OUT_OF_RANGE_USER.open_id]}
    mixed = {"id_list": [seed.HAN_MEIMEI.open_id, seed.OUT_OF_RANGE_USER.open_id]}

    assert code(client.post(members + "&succeed_type=1", json=outside, headers=bearer(tok))) == (
        232027
    )
    assert code(client.post(members + "&succeed_type=2", json=mixed, headers=bearer(tok))) == (
        99992351
    )
    assert lark.sandbox.chats[chat_id].members == []


def test_a_bot_that_is_no_admin_may_not_post_where_only_admins_speak(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    chat = lark.sandbox.chats[seed.ONCALL_CHAT.chat_id]
    chat.only_admins_speak = True

    refused = send(client, tok, chat.chat_id, id_type="chat_id")
    chat.admin_bots.add(seed.DEMO_APP_ID)

    assert code(refused) == 230035
    assert code(send(client, tok, chat.chat_id, id_type="chat_id")) == 0


def test_a_disabled_app_gets_10014_for_its_token(client: FlaskClient, lark: LarkSandbox) -> None:
    lark.app().configure(disabled=True)

    answer = client.post(
        TOKEN_URL, json={"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET}
    )

    assert answer.json["code"] == 10014


def test_contact_user_needs_a_contact_scope_not_the_field_scope(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    url = f"{API}/contact/v3/users/{seed.HAN_MEIMEI.open_id}?user_id_type=open_id"
    assert code(client.get(url, headers=bearer(token(client)))) == 0
    lark.app().configure(scopes={"contact:user.base:readonly", "im:message"})

    refused = client.get(url, headers=bearer(token(client)))

    assert code(refused) == 99991672
    assert "contact:contact.base:readonly" in refused.json["msg"]


def test_an_event_not_answered_200_is_pushed_again_on_lark_s_schedule_with_the_same_bytes(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    """The event guide: retried after 15 s, 5 min, 1 h and 6 h, at most 4 times."""
    lark_receiver.answer = lambda received: (500, {})
    lark.app().configure(event_request_url=lark_receiver.url, events={"im.chat.disbanded_v1"})
    [first] = lark.disband(seed.ONCALL_CHAT.chat_id, by=LI)
    pushed = [first]

    for interval in (15, 300, 3600, 21600, 21600):
        assert lark.retry_events() == []  # not yet
        lark.advance(interval)
        pushed += lark.retry_events()

    assert [p.tries for p in pushed] == [1, 2, 3, 4, 5]
    assert {p.body for p in pushed} == {first.body}
    assert all(p.headers == first.headers for p in pushed)
    assert len(lark_receiver.requests) == 5


def test_a_recalled_or_deleted_message_cannot_be_updated(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    patch = {"content": json.dumps(card("Acknowledged"))}
    recalled = send(client, tok, LI).json["data"]["message_id"]
    deleted = send(client, tok, LI).json["data"]["message_id"]

    lark.recall(recalled)
    lark.recall(deleted, deleted=True)

    url = f"{API}/im/v1/messages/"
    assert code(client.patch(url + recalled, json=patch, headers=bearer(tok))) == 230011
    assert code(client.patch(url + deleted, json=patch, headers=bearer(tok))) == 230110


def test_the_tenant_s_dlp_audit_refuses_a_message(client: FlaskClient, lark: LarkSandbox) -> None:
    lark.sandbox.tenants[seed.TENANT_KEY].dlp_words = {"13800000000"}

    refused = send(client, token(client), LI, content=card("call 13800000000"))

    assert code(refused) == 230028
