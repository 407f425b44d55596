"""The sandbox's urgent (加急) endpoints refuse what Lark refuses, with Lark's codes
(docs/lark/urgent.md), and a buzz rings on the card until the person opens it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.sandbox_fixtures import LarkSandbox
from tests.sandbox_helpers import API, bearer, code, send, token
from webapp.sandbox import decisions, seed

PERSON = seed.LI_LEI.open_id


def _buzz(
    client: FlaskClient,
    tok: str,
    message_id: str,
    via: str = "app",
    ids: Any = None,
    id_type: str | None = "open_id",
) -> TestResponse:
    query = f"?user_id_type={id_type}" if id_type else ""
    return client.patch(
        f"{API}/im/v1/messages/{message_id}/urgent_{via}{query}",
        json={"user_id_list": [PERSON] if ids is None else ids},
        headers=bearer(tok),
    )


def _card_to_person(client: FlaskClient) -> tuple[str, str]:
    tok = token(client)
    sent = send(client, tok, PERSON)
    return tok, str(sent.json["data"]["message_id"])  # type: ignore[index]


def test_an_in_app_buzz_on_the_bot_s_own_card_is_accepted_and_rings(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok, message_id = _card_to_person(client)
    answer = _buzz(client, tok, message_id)
    assert code(answer) == 0 and answer.json["data"] == {"invalid_user_id_list": []}  # type: ignore[index]
    assert [(b.message_id, b.via, b.read) for b in lark.buzzes(PERSON)] == [
        (message_id, "app", False)
    ]
    assert lark.buzz_usage()["used"] == 0  # an in-app buzz is free


@pytest.mark.parametrize("via", ["sms", "phone"])
def test_sms_and_phone_buzzes_use_the_tenant_s_quota_until_230024(
    via: str, client: FlaskClient, lark: LarkSandbox
) -> None:
    tok, message_id = _card_to_person(client)
    lark.set_buzz_quota(quota=1)
    assert code(_buzz(client, tok, message_id, via)) == 0
    refused = _buzz(client, tok, message_id, via)
    assert (refused.status_code, code(refused)) == (400, 230024)
    assert code(_buzz(client, tok, message_id, "app")) == 0  # the in-app buzz still works
    assert lark.buzz_usage() == {"quota": 1, "used": 1}


def test_the_quota_is_set_from_the_control_endpoint(client: FlaskClient) -> None:
    answer = client.post("/_lark/_control/quota", json={"buzz_quota": 3, "buzz_used": 2})
    assert answer.json["buzz"] == {"quota": 3, "used": 2}  # type: ignore[index]


def test_a_message_of_another_app_cannot_be_buzzed(client: FlaskClient, lark: LarkSandbox) -> None:
    _tok, message_id = _card_to_person(client)
    other = lark.create_app("Other")
    other_token = token(client, other.app_id, other.app.app_secret)
    assert code(_buzz(client, other_token, message_id)) == decisions.CODE_NOT_OWN_MESSAGE == 230012


def test_a_batch_message_cannot_be_buzzed(client: FlaskClient) -> None:
    tok = token(client)
    assert code(_buzz(client, tok, "bm_0123456789")) == 230001


def test_people_outside_the_chat_are_listed_and_nobody_at_all_is_230001(
    client: FlaskClient,
) -> None:
    tok, message_id = _card_to_person(client)
    stranger = seed.HAN_MEIMEI.open_id  # not in Li Lei's direct chat with the bot
    partly = _buzz(client, tok, message_id, ids=[PERSON, stranger])
    assert code(partly) == 0
    assert partly.json["data"]["invalid_user_id_list"] == [stranger]  # type: ignore[index]
    assert code(_buzz(client, tok, message_id, ids=[stranger])) == 230001


def test_a_group_that_lets_only_admins_buzz_refuses_the_bot_with_230052(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    chat = seed.ONCALL_CHAT.chat_id
    message_id = send(client, tok, chat, "chat_id").json["data"]["message_id"]  # type: ignore[index]
    lark.set_chat_urgent(chat, "only_owner")
    assert code(_buzz(client, tok, message_id)) == 230052
    lark.set_chat_urgent(chat, "only_owner", bot_admin=True)
    assert code(_buzz(client, tok, message_id)) == 0


def test_the_bot_removed_from_the_chat_cannot_buzz_there(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok = token(client)
    chat = seed.ONCALL_CHAT.chat_id
    message_id = send(client, tok, chat, "chat_id").json["data"]["message_id"]  # type: ignore[index]
    with lark.sandbox.lock:
        lark.sandbox.chats[chat].bots.discard(seed.DEMO_APP_ID)
    assert code(_buzz(client, tok, message_id)) == 230002


def test_200_unread_buzzes_refuse_the_next_with_230023(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok, message_id = _card_to_person(client)
    lark.limits(False)  # 200 calls in a row: Lark's rate limits are another test's subject
    for _ in range(decisions.MAX_UNREAD_BUZZES):
        assert code(_buzz(client, tok, message_id)) == 0
    assert code(_buzz(client, tok, message_id)) == 230023


@pytest.mark.parametrize("via", ["app", "sms", "phone"])
def test_each_kind_needs_its_own_scope(via: str, client: FlaskClient, lark: LarkSandbox) -> None:
    tok, message_id = _card_to_person(client)
    lark.set_scopes(seed.DEMO_APP_ID, ["im:message.urgent"] if via != "app" else [])
    refused = _buzz(client, tok, message_id, via)
    assert code(refused) == 99991672
    assert f"im:message.urgent{'' if via == 'app' else ':' + via}" in refused.json["msg"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("ids", "id_type"),
    [([], "open_id"), ("ou_x", "open_id"), ([PERSON] * 201, "open_id"), ([PERSON], None)],
    ids=["empty", "not-a-list", "over-200", "no-user-id-type"],
)
def test_a_malformed_request_is_refused_as_invalid(
    ids: Any, id_type: str | None, client: FlaskClient
) -> None:
    tok, message_id = _card_to_person(client)
    assert code(_buzz(client, tok, message_id, ids=ids, id_type=id_type)) == 230001


def test_the_call_log_shows_each_urgent_call_with_its_body(client: FlaskClient) -> None:
    tok, message_id = _card_to_person(client)
    _buzz(client, tok, message_id, "phone")
    logged = client.get("/_lark/_control/calls?path=*/urgent_*").json["calls"]  # type: ignore[index]
    assert [(c["method"], c["code"], c["body"]) for c in logged] == [
        ("PATCH", 0, {"user_id_list": [PERSON]})
    ]
    assert logged[0]["path"].endswith(f"/{message_id}/urgent_phone")


def test_a_buzzed_card_rings_until_the_person_opens_it(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    tok, message_id = _card_to_person(client)
    _buzz(client, tok, message_id, "phone")
    client.post("/_lark/sign-in", data={"open_id": PERSON})
    chat = lark.messages_to(PERSON)[0].chat_id
    page = client.get(f"/_lark/messenger/{chat}").get_data(as_text=True)
    assert "Buzzing you by phone" in page or "电话加急" in page
    client.post(f"/_lark/messages/{message_id}/buzz/open")
    page = client.get(f"/_lark/messenger/{chat}").get_data(as_text=True)
    assert "lk-buzz-open" not in page
    assert [b.read for b in lark.buzzes(PERSON)] == [True]
