"""Pressing a card button: the sandbox posts Lark's callback, signed (and encrypted), and
applies the answer; lark-oapi's own handlers accept what it sends."""

from __future__ import annotations

import json
import time
from typing import Any

import lark_oapi
import pytest
from flask.testing import FlaskClient
from lark_oapi.card.model import Card
from lark_oapi.core.model import RawRequest
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from tests.sandbox_fixtures import LarkSandbox, Received, Receiver
from tests.sandbox_helpers import card, send, token
from webapp.sandbox import crypto, decisions, seed

LI = seed.LI_LEI.open_id


def _raw(received: Received) -> RawRequest:
    request = RawRequest()
    request.uri = "/card"
    request.headers = received.headers
    request.body = received.body
    return request


def _sent_card(client: FlaskClient, lark: LarkSandbox, receiver: Receiver, **settings: Any) -> str:
    lark.app().configure(card_request_url=receiver.url, **settings)
    return str(send(client, token(client), LI).json["data"]["message_id"])


def test_lark_oapi_accepts_the_new_encrypted_callback_and_its_answer_updates_the_card(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    seen: list[P2CardActionTrigger] = []

    def on_click(data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        seen.append(data)
        done = card("Acknowledged by 李雷")
        return P2CardActionTriggerResponse(
            {
                "toast": {
                    "type": "success",
                    "content": "Acknowledged",
                    "i18n": {"zh_cn": "已认领"},
                },
                "card": {"type": "raw", "data": done},
            }
        )

    handler = (
        lark_oapi.EventDispatcherHandler.builder(
            seed.DEMO_ENCRYPT_KEY, seed.DEMO_VERIFICATION_TOKEN
        )
        .register_p2_card_action_trigger(on_click)
        .build()
    )

    def answer(received: Received) -> tuple[int, Any]:
        response = handler.do(_raw(received))
        return response.status_code, response.content

    lark_receiver.answer = answer
    message_id = _sent_card(client, lark, lark_receiver)
    result = lark.click(message_id, LI, button="Acknowledge")
    assert result.ok, result
    assert result.toast == {"type": "success", "content": "已认领"}
    assert lark.message(message_id).title == "Acknowledged by 李雷"
    event = seen[0].event
    assert event.operator.open_id == LI and event.action.value == {"action": "ack", "id": "42"}
    assert event.context.open_message_id == message_id and event.token.startswith("c-")
    assert (
        seen[0].header.event_type == "card.action.trigger"
        and seen[0].header.app_id == seed.DEMO_APP_ID
    )
    assert set(lark_receiver.requests[0].json) == {"encrypt"}


def test_lark_oapi_aes_cipher_reads_the_encrypted_body(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    message_id = _sent_card(client, lark, lark_receiver)
    lark.click(message_id, LI, button="Acknowledge")
    received = lark_receiver.requests[0]
    plain = json.loads(
        lark_oapi.AESCipher(seed.DEMO_ENCRYPT_KEY).decrypt_str(received.json["encrypt"])
    )
    assert plain["schema"] == "2.0" and plain["header"]["token"] == seed.DEMO_VERIFICATION_TOKEN
    headers = received.headers
    expected = crypto.sha256_signature(
        headers["X-Lark-Request-Timestamp"],
        headers["X-Lark-Request-Nonce"],
        seed.DEMO_ENCRYPT_KEY,
        received.body,
    )
    assert headers["X-Lark-Signature"] == expected
    assert abs(int(headers["X-Lark-Request-Timestamp"]) - time.time()) < 60


def test_lark_oapi_refuses_a_callback_signed_with_another_key(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    handler = (
        lark_oapi.EventDispatcherHandler.builder("another key", seed.DEMO_VERIFICATION_TOKEN)
        .register_p2_card_action_trigger(lambda data: P2CardActionTriggerResponse({}))
        .build()
    )
    lark_receiver.answer = lambda received: (handler.do(_raw(received)).status_code, b"{}")
    message_id = _sent_card(client, lark, lark_receiver, encrypt_key="another key")
    assert lark.click(message_id, LI, button="Acknowledge").ok
    lark.app().configure(encrypt_key=seed.DEMO_ENCRYPT_KEY)
    refused = lark.click(message_id, LI, button="Acknowledge")
    assert not refused.ok and refused.error_code == 200671


def test_lark_oapi_card_action_handler_accepts_the_old_callback(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    seen: list[Card] = []

    def on_click(data: Card) -> dict[str, Any]:
        seen.append(data)
        old = {
            "config": {"update_multi": True},
            "header": {"title": {"tag": "plain_text", "content": "Resolved"}},
            "elements": [],
        }
        return {**old, "toast": {"type": "info", "content": "Resolved"}}

    handler = (
        lark_oapi.CardActionHandler.builder("", seed.DEMO_VERIFICATION_TOKEN)
        .register(on_click)
        .build()
    )
    lark_receiver.answer = lambda received: (200, handler.do(_raw(received)).content)
    old_card = {
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": "P2"}},
        "elements": [
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": "Resolve"},
                        "value": {"action": "resolve"},
                    }
                ],
            }
        ],
    }
    lark.app().configure(card_request_url=lark_receiver.url, callbacks={"card.action.trigger_v1"})
    message_id = send(client, token(client), LI, content=old_card).json["data"]["message_id"]
    result = lark.click(message_id, LI, button="Resolve")
    assert result.ok and result.toast == {"type": "info", "content": "Resolved"}
    assert lark.message(message_id).title == "Resolved"
    assert seen[0].open_id == LI and seen[0].action.value == {"action": "resolve"}
    assert seen[0].open_message_id == message_id and seen[0].token.startswith("c-")
    assert "encrypt" not in lark_receiver.requests[0].json
    assert lark_receiver.requests[0].headers["X-Refresh-Token"]


def test_the_refresh_token_changes_only_after_a_good_answer(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(card_request_url=lark_receiver.url, callbacks={"card.action.trigger_v1"})
    message_id = send(client, token(client), LI).json["data"]["message_id"]
    lark_receiver.answer = lambda received: (500, {})
    lark.click(message_id, LI, button="Acknowledge")
    lark.click(message_id, LI, button="Acknowledge")
    lark_receiver.answer = lambda received: (200, {})
    lark.click(message_id, LI, button="Acknowledge")
    lark.click(message_id, LI, button="Acknowledge")
    tokens = [r.headers["X-Refresh-Token"] for r in lark_receiver.requests]
    assert tokens[0] == tokens[1] == tokens[2] != tokens[3]


def test_both_subscriptions_send_two_requests_and_one_good_answer_is_enough(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark_receiver.answer = lambda received: (
        (404, {}) if "encrypt" in received.json else (200, {"toast": {"content": "ok"}})
    )
    message_id = _sent_card(
        client, lark, lark_receiver, callbacks={"card.action.trigger", "card.action.trigger_v1"}
    )
    result = lark.click(message_id, LI, button="Acknowledge")
    assert result.ok and [a.channel for a in result.attempts] == [
        "card.action.trigger",
        "card.action.trigger_v1",
    ]


def test_it_reports_lark_client_errors(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    message_id = _sent_card(client, lark, lark_receiver, encrypt_key="")
    cases: list[tuple[Any, int]] = [
        ((500, {"msg": "boom"}), 200671),
        ((200, b"not json"), 200672),
        ((200, {"elements": []}), 200672),  # an old-shape answer on the new channel
        ((200, {"card": {"type": "raw", "data": "nope"}}), 200673),
        ((200, {"card": {"type": "raw", "data": {"header": {}, "elements": []}}}), 200830),
    ]
    for answer, code in cases:
        lark_receiver.answer = lambda received, answer=answer: answer
        result = lark.click(message_id, LI, button="Acknowledge")
        assert (result.ok, result.error_code) == (False, code)
    lark.app().configure(card_request_url="http://127.0.0.1:9/card")
    assert lark.click(message_id, LI, button="Acknowledge").error_code == 200342


def test_a_late_answer_is_reported_as_200341(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert decisions.CALLBACK_TIMEOUT_S == 3.0
    monkeypatch.setattr(decisions, "CALLBACK_TIMEOUT_S", 0.3)  # the same rule, a shorter wait

    def slow(received: Received) -> tuple[int, Any]:
        time.sleep(0.6)
        return 200, {}

    lark_receiver.answer = slow
    message_id = _sent_card(client, lark, lark_receiver)
    result = lark.click(message_id, LI, button="Acknowledge")
    assert result.error_code == 200341 and lark.message(message_id).updates == 0


def test_without_encrypt_key_the_new_callback_is_plain_json(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    message_id = _sent_card(client, lark, lark_receiver, encrypt_key="")
    lark.click(message_id, LI, {"action": "snooze", "minutes": 30})
    body = lark_receiver.requests[0].json
    assert body["event"]["action"] == {
        "value": {"action": "snooze", "minutes": 30},
        "tag": "button",
    }
    assert body["event"]["context"]["open_chat_id"].startswith("oc_")


def test_saving_the_card_url_runs_the_encrypted_url_verification(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    handler = lark_oapi.EventDispatcherHandler.builder(
        seed.DEMO_ENCRYPT_KEY, seed.DEMO_VERIFICATION_TOKEN
    ).build()
    lark_receiver.answer = lambda received: (200, handler.do(_raw(received)).content)
    passed, words = lark.app().verify_url(lark_receiver.url)
    assert passed, words
    assert "encrypt" in lark_receiver.requests[0].json
    assert lark.app().app.card_request_url == lark_receiver.url


def test_url_verification_fails_on_a_wrong_echo_or_after_one_second(
    lark: LarkSandbox, lark_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert decisions.URL_VERIFICATION_TIMEOUT_S == 1.0
    monkeypatch.setattr(decisions, "URL_VERIFICATION_TIMEOUT_S", 0.3)  # same rule, shorter wait
    lark.app().configure(card_request_url="")
    lark_receiver.answer = lambda received: (200, {"challenge": "wrong"})
    assert lark.app().verify_url(lark_receiver.url) == (
        False,
        "The answer did not echo the challenge code.",
    )

    def slow(received: Received) -> tuple[int, Any]:
        time.sleep(0.6)
        return 200, {}

    lark_receiver.answer = slow
    passed, words = lark.app().verify_url(lark_receiver.url)
    assert not passed and "1 second" in words
    assert lark.app().app.card_request_url == ""
