"""The chat events the sandbox sends are exactly what lark-oapi's EventDispatcherHandler
accepts: encrypted with the Encrypt Key, signed, carrying the Verification Token."""

from __future__ import annotations

import json
from typing import Any

import lark_oapi
import pytest
from lark_oapi.api.im.v1 import (
    P2ImChatDisbandedV1,
    P2ImChatMemberBotAddedV1,
    P2ImChatMemberBotDeletedV1,
    P2ImMessageReceiveV1,
)
from lark_oapi.core.model import RawRequest

from tests.sandbox_fixtures import LarkSandbox, Received, Receiver
from webapp.sandbox import seed, talk

LI = seed.LI_LEI.open_id
PAYMENTS = seed.PAYMENTS_CHAT.chat_id


def _raw(received: Received) -> RawRequest:
    request = RawRequest()
    request.uri = "/events"
    request.headers = received.headers
    request.body = received.body
    return request


def _sdk_receiver(receiver: Receiver, key: str, token: str) -> list[Any]:
    seen: list[Any] = []
    handler = (
        lark_oapi.EventDispatcherHandler.builder(key, token)
        .register_p2_im_chat_member_bot_added_v1(seen.append)
        .register_p2_im_chat_member_bot_deleted_v1(seen.append)
        .register_p2_im_chat_disbanded_v1(seen.append)
        .register_p2_im_message_receive_v1(seen.append)
        .build()
    )

    def answer(received: Received) -> tuple[int, Any]:
        response = handler.do(_raw(received))
        return response.status_code, response.content or b"{}"

    receiver.answer = answer
    return seen


def test_lark_oapi_accepts_bot_added_removed_and_chat_dissolved(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(event_request_url=lark_receiver.url)
    seen = _sdk_receiver(lark_receiver, seed.DEMO_ENCRYPT_KEY, seed.DEMO_VERIFICATION_TOKEN)

    added = lark.add_bot(PAYMENTS, by=LI)
    removed = lark.remove_bot(PAYMENTS, by=LI)
    lark.add_bot(PAYMENTS, by=LI)
    [dissolved] = lark.disband(PAYMENTS, by=LI)

    assert added and removed and added.status == removed.status == dissolved.status == 200
    assert [type(e) for e in seen] == [
        P2ImChatMemberBotAddedV1,
        P2ImChatMemberBotDeletedV1,
        P2ImChatMemberBotAddedV1,
        P2ImChatDisbandedV1,
    ]
    first = seen[0]
    assert first.header.event_type == "im.chat.member.bot.added_v1"
    assert first.header.app_id == seed.DEMO_APP_ID and first.header.event_id
    assert first.event.chat_id == PAYMENTS and first.event.name == seed.PAYMENTS_CHAT.name
    assert first.event.operator_id.open_id == LI
    assert seen[3].event.chat_id == PAYMENTS
    assert all(set(r.json) == {"encrypt"} for r in lark_receiver.requests)
    assert all("X-Lark-Signature" in r.headers for r in lark_receiver.requests)


def test_lark_oapi_accepts_a_message_that_mentions_the_bot(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(event_request_url=lark_receiver.url)
    seen = _sdk_receiver(lark_receiver, seed.DEMO_ENCRYPT_KEY, seed.DEMO_VERIFICATION_TOKEN)
    chat = seed.ONCALL_CHAT.chat_id

    message, [sent] = lark.say(chat, LI, "oncall")
    _, unheard = lark.say(chat, LI, "lunch?", at=())

    assert sent.status == 200 and unheard == []
    [event] = seen
    assert isinstance(event, P2ImMessageReceiveV1)
    assert event.event.message.message_id == message.message_id
    assert event.event.message.chat_type == "group"
    assert json.loads(event.event.message.content) == {"text": "@_user_1 oncall"}
    [mention] = event.event.message.mentions
    assert mention.key == "@_user_1" and mention.name == seed.DEMO_APP_NAME
    assert event.event.sender.sender_id.open_id == LI


def test_lark_oapi_refuses_events_signed_with_another_key(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(event_request_url=lark_receiver.url)
    seen = _sdk_receiver(lark_receiver, "another key", seed.DEMO_VERIFICATION_TOKEN)

    sent = lark.add_bot(PAYMENTS, by=LI)

    assert sent is not None and sent.status == 500 and seen == []


def test_only_subscribed_events_are_sent_and_only_the_owner_dissolves(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(event_request_url=lark_receiver.url, events={"im.chat.disbanded_v1"})

    assert lark.add_bot(PAYMENTS, by=LI) is None
    with pytest.raises(talk.NotAllowed, match="owner"):
        lark.disband(PAYMENTS, by=seed.HAN_MEIMEI.open_id)
    assert lark_receiver.requests == []


def test_the_event_url_verification_is_what_lark_oapi_answers(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    _sdk_receiver(lark_receiver, seed.DEMO_ENCRYPT_KEY, seed.DEMO_VERIFICATION_TOKEN)

    passed, words = lark.app().verify_event_url(lark_receiver.url)

    assert passed, words
    assert lark.app().app.event_request_url == lark_receiver.url
