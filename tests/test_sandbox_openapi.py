"""The sandbox's Open API answers with Lark's paths, shapes and error codes."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from tests.sandbox_fixtures import LarkSandbox, Receiver
from tests.sandbox_helpers import API, bearer, card, code, send, token
from webapp.sandbox import seed

TOKEN_URL = f"{API}/auth/v3/tenant_access_token/internal"


def test_it_issues_a_tenant_token_at_the_top_level_with_its_expiry(client: FlaskClient) -> None:
    answer = client.post(
        TOKEN_URL, json={"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET}
    )
    assert answer.status_code == 200
    assert answer.json["code"] == 0 and answer.json["expire"] == 7200
    assert answer.json["tenant_access_token"].startswith("t-")
    assert "data" not in answer.json


def test_it_gives_the_same_token_until_less_than_30_minutes_remain(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    first = token(client)
    lark.advance(80 * 60)
    again = client.post(
        TOKEN_URL, json={"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET}
    ).json
    assert again["tenant_access_token"] == first and 2300 < again["expire"] <= 2400
    lark.advance(20 * 60)
    fresh = client.post(
        TOKEN_URL, json={"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET}
    ).json
    assert fresh["tenant_access_token"] != first and fresh["expire"] == 7200
    assert (
        code(send(client, first, seed.LI_LEI.open_id)) == 0
    )  # the old one lives on until it expires


def test_it_refuses_a_wrong_app_secret_or_an_unknown_app(client: FlaskClient) -> None:
    wrong = client.post(TOKEN_URL, json={"app_id": seed.DEMO_APP_ID, "app_secret": "nope"})
    assert wrong.status_code == 400 and wrong.json["code"] == 10015
    unknown = client.post(TOKEN_URL, json={"app_id": "cli_nobody", "app_secret": "x"})
    assert unknown.json["code"] == 10003


def test_it_issues_an_app_access_token_too(client: FlaskClient) -> None:
    answer = client.post(
        f"{API}/auth/v3/app_access_token/internal",
        json={"app_id": seed.DEMO_APP_ID, "app_secret": seed.DEMO_APP_SECRET},
    ).json
    assert answer["app_access_token"].startswith("a-") and answer["tenant_access_token"].startswith(
        "t-"
    )


def test_it_wants_a_token_and_refuses_a_bad_or_expired_one(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    assert code(client.get(f"{API}/im/v1/chats")) == 99991661
    assert code(client.get(f"{API}/im/v1/chats", headers=bearer("t-forged.abc"))) == 99991663
    tok = token(client)
    lark.advance(7201)
    assert code(client.get(f"{API}/im/v1/chats", headers=bearer(tok))) == 99991663


def test_it_sends_a_card_to_a_person_by_open_id_or_email(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    answer = send(client, tok, seed.LI_LEI.open_id)
    data = answer.json["data"]
    assert data["message_id"].startswith("om_") and data["chat_id"].startswith("oc_")
    assert data["sender"] == {
        "id": seed.DEMO_APP_ID,
        "id_type": "app_id",
        "sender_type": "app",
        "tenant_key": seed.TENANT_KEY,
    }
    send(client, tok, seed.LI_LEI.email, id_type="email")
    received = lark.messages_to(seed.LI_LEI.open_id)
    assert [m.title for m in received] == ["P1 db-01 is down"] * 2
    assert received[0].buttons == ["Acknowledge"]


def test_a_repeated_uuid_sends_once_within_the_hour(client: FlaskClient, lark: LarkSandbox) -> None:
    tok = token(client)
    first = send(client, tok, seed.LI_LEI.open_id, uuid="incident-42-li")
    again = send(client, tok, seed.LI_LEI.open_id, uuid="incident-42-li")
    assert again.json["data"]["message_id"] == first.json["data"]["message_id"]
    lark.advance(3601)
    later = send(client, tok, seed.LI_LEI.open_id, uuid="incident-42-li")
    assert later.json["data"]["message_id"] != first.json["data"]["message_id"]
    assert len(lark.messages_to(seed.LI_LEI.open_id)) == 2
    assert code(send(client, tok, seed.LI_LEI.open_id, uuid="u" * 51)) == 230001


def test_it_cannot_reach_people_outside_the_visibility_range(client: FlaskClient) -> None:
    tok = token(client)
    outside = send(client, tok, seed.OUT_OF_RANGE_USER.open_id)
    assert outside.status_code == 400 and code(outside) == 230013
    assert code(send(client, tok, seed.OTHER_TENANT_USER.open_id)) == 230013
    assert code(send(client, tok, "ou_nobody")) == 230034


def test_it_sends_to_chats_the_bot_is_in_only(client: FlaskClient, lark: LarkSandbox) -> None:
    tok = token(client)
    assert code(send(client, tok, seed.ONCALL_CHAT.chat_id, id_type="chat_id")) == 0
    assert code(send(client, tok, seed.PAYMENTS_CHAT.chat_id, id_type="chat_id")) == 230002
    assert code(send(client, tok, "oc_nowhere", id_type="chat_id")) == 230001
    lark.dissolve_chat(seed.ONCALL_CHAT.chat_id)
    assert code(send(client, tok, seed.ONCALL_CHAT.chat_id, id_type="chat_id")) == 232009


def test_it_refuses_broken_or_oversized_cards(client: FlaskClient) -> None:
    tok = token(client)
    body = {"receive_id": seed.LI_LEI.open_id, "msg_type": "interactive", "content": "{not json"}
    broken = client.post(
        f"{API}/im/v1/messages?receive_id_type=open_id", json=body, headers=bearer(tok)
    )
    assert code(broken) == 230099 and "200621" in broken.json["msg"]
    huge = card()
    huge["body"]["elements"][0]["content"] = "x" * 31_000
    assert code(send(client, tok, seed.LI_LEI.open_id, content=huge)) == 230025
    assert code(client.post(f"{API}/im/v1/messages", json=body, headers=bearer(tok))) == 230001


def test_it_updates_a_shared_card_in_place(client: FlaskClient, lark: LarkSandbox) -> None:
    tok = token(client)
    message_id = send(client, tok, seed.LI_LEI.open_id).json["data"]["message_id"]
    patch = client.patch(
        f"{API}/im/v1/messages/{message_id}",
        json={"content": json.dumps(card("Acknowledged"))},
        headers=bearer(tok),
    )
    assert patch.status_code == 200 and code(patch) == 0
    assert lark.message(message_id).title == "Acknowledged"


def test_it_refuses_to_update_a_card_that_is_not_shared(client: FlaskClient) -> None:
    tok = token(client)
    old = {
        "config": {},
        "header": {"title": {"tag": "plain_text", "content": "v1"}},
        "elements": [],
    }
    message_id = send(client, tok, seed.LI_LEI.open_id, content=old).json["data"]["message_id"]
    patch = client.patch(
        f"{API}/im/v1/messages/{message_id}",
        json={"content": json.dumps(card())},
        headers=bearer(tok),
    )
    assert code(patch) == 230001 and "update_multi" in patch.json["msg"]


def test_it_refuses_updates_after_14_days_or_by_another_app(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    message_id = send(client, tok, seed.LI_LEI.open_id).json["data"]["message_id"]
    other = lark.create_app("Other")
    other_tok = token(client, other.app_id, other.app.app_secret)
    content = {"content": json.dumps(card())}
    assert (
        code(
            client.patch(
                f"{API}/im/v1/messages/{message_id}", json=content, headers=bearer(other_tok)
            )
        )
        == 230027
    )
    lark.advance(14 * 86400 + 1)
    tok = token(client)
    assert (
        code(client.patch(f"{API}/im/v1/messages/{message_id}", json=content, headers=bearer(tok)))
        == 230031
    )


def test_one_message_takes_five_updates_a_second(client: FlaskClient) -> None:
    tok = token(client)
    message_id = send(client, tok, seed.LI_LEI.open_id).json["data"]["message_id"]
    content = {"content": json.dumps(card())}
    codes = [
        code(client.patch(f"{API}/im/v1/messages/{message_id}", json=content, headers=bearer(tok)))
        for _ in range(6)
    ]
    assert codes[:5] == [0] * 5 and codes[5] == 230020


def test_a_card_update_token_works_twice_within_30_minutes(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(card_request_url=lark_receiver.url)
    tok = token(client)
    message_id = send(client, tok, seed.LI_LEI.open_id).json["data"]["message_id"]
    lark.click(message_id, seed.LI_LEI.open_id, button="Acknowledge")
    grant = next(iter(lark.sandbox.card_tokens))  # the c-... token the callback carried
    url = f"{API}/interactive/v1/card/update"
    body = {"token": grant, "card": card("Later")}
    assert client.post(url, json=body, headers=bearer(tok)).json == {"code": 0, "msg": "ok"}
    assert code(client.post(url, json=body, headers=bearer(tok))) == 0
    assert code(client.post(url, json=body, headers=bearer(tok))) == 300040
    assert lark.message(message_id).title == "Later"
    lark.click(message_id, seed.LI_LEI.open_id, button="Acknowledge")
    fresh = next(t for t in lark.sandbox.card_tokens if t != grant)
    lark.advance(1801)
    tok = token(client)
    assert (
        code(client.post(url, json={"token": fresh, "card": card()}, headers=bearer(tok))) == 300030
    )


def test_it_lists_the_bots_chats_page_by_page(client: FlaskClient, lark: LarkSandbox) -> None:
    for n in range(4):
        lark.create_chat(f"extra {n}", [seed.LI_LEI.open_id])
    tok = token(client)
    first = client.get(f"{API}/im/v1/chats?page_size=3", headers=bearer(tok)).json["data"]
    assert first["has_more"] is True and len(first["items"]) == 3
    rest = client.get(
        f"{API}/im/v1/chats?page_size=3&page_token={first['page_token']}", headers=bearer(tok)
    ).json["data"]
    assert rest["has_more"] is False and len(rest["items"]) == 2
    names = {i["name"] for i in first["items"] + rest["items"]}
    assert seed.ONCALL_CHAT.name in names and seed.PAYMENTS_CHAT.name not in names
    assert set(first["items"][0]) >= {
        "chat_id",
        "name",
        "owner_id",
        "tenant_key",
        "chat_status",
        "external",
    }


def test_it_creates_a_chat_once_per_uuid_and_adds_members(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    url = f"{API}/im/v1/chats?user_id_type=open_id&uuid=war-room-42"
    body = {
        "name": "[#42] db-01 down",
        "user_id_list": [seed.LI_LEI.open_id, seed.OUT_OF_RANGE_USER.open_id],
    }
    # One person outside the availability range fails the whole create (232043).
    assert code(client.post(url, json=body, headers=bearer(tok))) == 232043
    body["user_id_list"] = [seed.LI_LEI.open_id]
    chat_id = client.post(url, json=body, headers=bearer(tok)).json["data"]["chat_id"]
    assert client.post(url, json=body, headers=bearer(tok)).json["data"]["chat_id"] == chat_id
    assert lark.sandbox.chats[chat_id].members == [seed.LI_LEI.open_id]
    ids = {"id_list": [seed.HAN_MEIMEI.open_id, seed.OUT_OF_RANGE_USER.open_id, "ou_nobody"]}
    members = f"{API}/im/v1/chats/{chat_id}/members?member_id_type=open_id"
    # succeed_type 0 (the default): one unusable id fails the whole call, nobody is added.
    assert code(client.post(members, json=ids, headers=bearer(tok))) == 99992351
    ids_known = {"id_list": [seed.HAN_MEIMEI.open_id, seed.OUT_OF_RANGE_USER.open_id]}
    assert code(client.post(members, json=ids_known, headers=bearer(tok))) == 232024
    assert lark.sandbox.chats[chat_id].members == [seed.LI_LEI.open_id]
    added = client.post(members + "&succeed_type=1", json=ids, headers=bearer(tok))
    assert lark.sandbox.chats[chat_id].members == [seed.LI_LEI.open_id, seed.HAN_MEIMEI.open_id]
    assert added.json["data"] == {
        "invalid_id_list": [seed.OUT_OF_RANGE_USER.open_id],
        "not_existed_id_list": ["ou_nobody"],
        "pending_approval_id_list": [],
    }
    outside = client.post(
        f"{API}/im/v1/chats/{seed.PAYMENTS_CHAT.chat_id}/members", json=ids, headers=bearer(tok)
    )
    assert code(outside) == 232011


def test_it_finds_people_by_email_and_mobile_within_range(client: FlaskClient) -> None:
    tok = token(client)
    body = {
        "emails": [seed.LI_LEI.email, seed.OUT_OF_RANGE_USER.email, "nobody@example.com"],
        "mobiles": [seed.HAN_MEIMEI.mobile, "13800000001"],
    }
    answer = client.post(
        f"{API}/contact/v3/users/batch_get_id?user_id_type=open_id", json=body, headers=bearer(tok)
    )
    users = answer.json["data"]["user_list"]
    assert users[0]["user_id"] == seed.LI_LEI.open_id and users[0]["email"] == seed.LI_LEI.email
    assert "user_id" not in users[1] and "user_id" not in users[2]
    assert users[4]["user_id"] == seed.LI_LEI.open_id  # mainland numbers work without +86
    assert users[3] == {
        "mobile": seed.HAN_MEIMEI.mobile,
        "user_id": seed.HAN_MEIMEI.open_id,
        "status": users[3]["status"],
    }


def test_create_chat_refuses_a_resigned_user_with_232022(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    lark.sandbox.users[seed.HAN_MEIMEI.open_id].resigned = True
    answer = client.post(
        f"{API}/im/v1/chats?user_id_type=open_id",
        json={"name": "room", "user_id_list": [seed.LI_LEI.open_id, seed.HAN_MEIMEI.open_id]},
        headers=bearer(token(client)),
    )
    assert code(answer) == 232022
