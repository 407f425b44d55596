"""The card request URL: verified, idempotent, and always answering with a reason.

Callbacks here are built the way Lark builds them, with code independent of the product's
(pycryptodome's AES and hashlib, as lark-oapi does), and lark-oapi's own handlers judge the
same requests: the product must accept what the SDK accepts and reject what it rejects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from Crypto.Cipher import AES
from flask.testing import FlaskClient
from lark_oapi.core.model import RawRequest
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from webapp.cards import actions as card_actions
from webapp.cards import receipts as card_receipts
from webapp.cards.actions import CardAction
from webapp.cards.render import incident_card
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.lark import callbacks as lark_callbacks
from webapp.lark.client import LarkClient
from webapp.models import (
    CallbackReceipt,
    CardMessage,
    Incident,
    IncidentEvent,
    LarkBinding,
    LarkIntegration,
    LicenseRefusal,
    Platform,
    Source,
    Status,
    WarRoom,
    utcnow,
)
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

VERIFICATION_TOKEN = "v-token-for-tests"
ENCRYPT_KEY = "encrypt-key-for-tests"
OPEN_ID = "ou_tester"
MESSAGE_ID = "om_card_1"


# -- Lark's side, written independently of webapp.lark.crypto ---------------------------


def lark_encrypt(key: str, plaintext: str) -> str:
    iv = os.urandom(16)
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


@dataclass
class Post:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def signed_v2(payload: dict[str, Any], *, key: str = ENCRYPT_KEY, age: float = 0) -> Post:
    body = json.dumps({"encrypt": lark_encrypt(key, json.dumps(payload))}).encode()
    timestamp, nonce = str(int(time.time() - age)), uuid.uuid4().hex
    signature = hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()
    return Post(body, _headers(timestamp, nonce, signature))


def signed_v1(payload: dict[str, Any], *, token: str = VERIFICATION_TOKEN, age: float = 0) -> Post:
    body = json.dumps(payload).encode()
    timestamp, nonce = str(int(time.time() - age)), uuid.uuid4().hex
    signature = hashlib.sha1((timestamp + nonce + token).encode() + body).hexdigest()  # noqa: S324
    headers = _headers(timestamp, nonce, signature)
    headers["X-Refresh-Token"] = uuid.uuid4().hex
    return Post(body, headers)


def _headers(timestamp: str, nonce: str, signature: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature,
    }


def v2_payload(
    value: dict[str, Any], *, open_id: str = OPEN_ID, token: str = VERIFICATION_TOKEN
) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "token": token,
            "create_time": str(int(time.time() * 1_000_000)),
            "event_type": "card.action.trigger",
            "tenant_key": "tenant-1",
            "app_id": "cli_test",
        },
        "event": {
            "operator": {"open_id": open_id, "tenant_key": "tenant-1"},
            "token": "c-update-token",
            "action": {"value": value, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": MESSAGE_ID, "open_chat_id": "oc_chat"},
        },
    }


def v1_payload(value: dict[str, Any], *, open_id: str = OPEN_ID) -> dict[str, Any]:
    return {
        "open_id": open_id,
        "open_message_id": MESSAGE_ID,
        "tenant_key": "tenant-1",
        "token": "c-update-token",
        "action": {"value": value, "tag": "button"},
    }


def sdk_accepts(post: Post) -> bool:
    """lark-oapi's verdict on a new-channel request (its handler answers 500 on refusal)."""
    handler = (
        EventDispatcherHandler.builder(ENCRYPT_KEY, VERIFICATION_TOKEN)
        .register_p2_card_action_trigger(lambda data: P2CardActionTriggerResponse({}))
        .build()
    )
    req = RawRequest()
    req.headers, req.body = post.headers, post.body
    return handler.do(req).status_code == 200


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def integration(owner: Persona) -> LarkIntegration:
    integration = LarkIntegration(
        account_id=owner.account.id,
        key="k-cards",
        name="Lark",
        app_id="cli_test",
        api_base_url="http://127.0.0.1:9/_lark",
        platform=Platform.FEISHU,
    )
    integration.app_secret = "secret"
    integration.verification_token = VERIFICATION_TOKEN
    integration.encrypt_key = ENCRYPT_KEY
    db.session.add(integration)
    db.session.commit()
    return integration


@pytest.fixture
def bound(integration: LarkIntegration, owner: Persona) -> Persona:
    db.session.add(
        LarkBinding(integration_id=integration.id, member_id=owner.member.id, open_id=OPEN_ID)
    )
    db.session.commit()
    return owner


@pytest.fixture
def incident(owner: Persona) -> Incident:
    return factories.incident(owner.account, title="db-01 is down")


def post(client: FlaskClient, integration: LarkIntegration, sent: Post) -> Any:
    return client.post(f"/lark/{integration.key}/card", data=sent.body, headers=sent.headers)


def value(action: CardAction, incident: Incident, **extra: Any) -> dict[str, Any]:
    return card_actions.button_value(action, incident, **extra)


def events(incident: Incident, kind: str) -> list[IncidentEvent]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(IncidentEvent).where(
                IncidentEvent.incident_id == incident.id, IncidentEvent.kind == kind
            )
        ).scalars()
    )


# -- url verification ----------------------------------------------------------------------


def test_it_echoes_a_plain_url_verification_and_records_it(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    sent = {"challenge": "ch-1", "token": VERIFICATION_TOKEN, "type": "url_verification"}
    response = client.post(f"/lark/{integration.key}/card", json=sent)
    assert response.status_code == 200
    assert response.get_json() == {"challenge": "ch-1"}
    db.session.refresh(integration)
    assert integration.url_verified_at is not None


def test_it_echoes_an_encrypted_url_verification(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    plain = json.dumps(
        {"challenge": "ch-2", "token": VERIFICATION_TOKEN, "type": "url_verification"}
    )
    response = client.post(
        f"/lark/{integration.key}/card", json={"encrypt": lark_encrypt(ENCRYPT_KEY, plain)}
    )
    assert response.get_json() == {"challenge": "ch-2"}


def test_it_refuses_a_url_verification_with_the_wrong_token(
    client: FlaskClient, integration: LarkIntegration
) -> None:
    sent = {"challenge": "ch-3", "token": "guess", "type": "url_verification"}
    response = client.post(f"/lark/{integration.key}/card", json=sent)
    assert response.status_code == 401
    assert "challenge" not in response.get_json()
    db.session.refresh(integration)
    assert integration.url_verified_at is None


# -- acting ------------------------------------------------------------------------------


def test_a_new_channel_press_acknowledges_and_answers_with_the_redrawn_card(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    response = post(
        client, integration, signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    )
    answer = response.get_json()
    assert response.status_code == 200
    assert answer["toast"]["type"] == "success"
    assert answer["toast"]["i18n"]["en_us"] == f"Incident #{incident.number} acknowledged."
    assert answer["card"]["type"] == "raw"
    card = answer["card"]["data"]
    assert card["config"]["update_multi"] is True
    assert '"a": "unack"' in json.dumps(card)
    [event] = events(incident, "acknowledged")
    assert event.source is Source.CARD
    assert event.actor_id == bound.member.id
    assert event.details["message_id"] == MESSAGE_ID


def test_an_old_channel_press_answers_with_the_card_itself(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    response = post(client, integration, signed_v1(v1_payload(value(CardAction.RESOLVE, incident))))
    answer = response.get_json()
    assert answer["schema"] == "2.0"
    assert answer["header"]["template"] == "green"
    assert answer["toast"]["type"] == "success"
    db.session.refresh(incident)
    assert incident.status is Status.CLOSED


def test_a_snooze_press_snoozes_and_the_card_then_offers_unsnooze(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    answer = post(
        client, integration, signed_v2(v2_payload(value(CardAction.SNOOZE, incident, minutes=60)))
    ).get_json()
    db.session.refresh(incident)
    assert incident.snoozed_until is not None
    assert '"a": "uns"' in json.dumps(answer["card"]["data"])
    assert answer["toast"]["i18n"]["en_us"] == f"Incident #{incident.number} snoozed for 1 h."


def test_refresh_redraws_the_card_and_changes_nothing(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    answer = post(
        client, integration, signed_v2(v2_payload(value(CardAction.REFRESH, incident)))
    ).get_json()
    assert (
        answer["card"]["data"]["header"]["title"]["content"] == f"#{incident.number} db-01 is down"
    )
    assert len(events(incident, "triggered")) == 1
    assert (
        db.session.execute(select(IncidentEvent).where(IncidentEvent.kind != "triggered")).first()
        is None
    )


def test_it_records_the_tenant_and_the_time_of_the_last_callback(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    post(client, integration, signed_v2(v2_payload(value(CardAction.REFRESH, incident))))
    db.session.refresh(integration)
    assert integration.tenant_key == "tenant-1"
    assert integration.last_callback_at is not None


# -- refusals ----------------------------------------------------------------------------


def test_an_unlinked_operator_is_told_how_to_link_and_the_card_is_unchanged(
    client: FlaskClient, integration: LarkIntegration, incident: Incident
) -> None:
    answer = post(
        client, integration, signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    ).get_json()
    assert "card" not in answer
    assert "not linked" in answer["toast"]["i18n"]["en_us"]
    assert "Open in web app" in answer["toast"]["i18n"]["en_us"]
    assert set(answer["toast"]["i18n"]) == {"zh_cn", "en_us"}
    assert answer["toast"]["content"] == answer["toast"]["i18n"]["zh_cn"]  # Feishu: Chinese first
    assert events(incident, "acknowledged") == []


def test_a_member_without_a_seat_is_pointed_at_the_license_page(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    bound.member.has_seat = False
    db.session.commit()
    answer = post(
        client, integration, signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    ).get_json()
    assert "license seat" in answer["toast"]["i18n"]["en_us"]
    links = _open_urls(answer["card"]["data"])
    assert any("/card/fix/no_seat" in url for url in links)
    assert events(incident, "acknowledged") == []
    assert db.session.execute(select(LicenseRefusal)).scalars().one().source == "card"


def test_a_member_without_access_is_refused_with_a_link(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, member: Persona
) -> None:
    bound.member.role = factories.Role.MEMBER
    ch = factories.channel(bound.account, [member.member])
    private = factories.incident(bound.account, ch=ch)
    answer = post(
        client, integration, signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, private)))
    ).get_json()
    assert "do not have access" in answer["toast"]["i18n"]["en_us"]
    assert any("/card/fix/forbidden" in url for url in _open_urls(answer["card"]["data"]))


def test_a_stale_card_answers_with_the_current_card_and_who_acted(
    client: FlaskClient,
    integration: LarkIntegration,
    bound: Persona,
    member: Persona,
    incident: Incident,
) -> None:
    old = value(CardAction.ACKNOWLEDGE, incident)
    from webapp.incidents import service as incidents
    from webapp.incidents.service import Actor

    incidents.acknowledge(incident, Actor(member.member, Source.WEB))
    answer = post(client, integration, signed_v2(v2_payload(old))).get_json()
    toast = answer["toast"]["i18n"]["en_us"]
    assert toast.startswith(f"Already acknowledged by {member.member.name}")
    assert answer["toast"]["type"] == "warning"
    assert '"a": "unack"' in json.dumps(answer["card"]["data"])
    assert len(events(incident, "acknowledged")) == 1


def test_a_closed_incident_says_so(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    old = value(CardAction.ACKNOWLEDGE, incident)
    post(client, integration, signed_v2(v2_payload(value(CardAction.RESOLVE, incident))))
    answer = post(client, integration, signed_v2(v2_payload(old))).get_json()
    assert answer["toast"]["i18n"]["en_us"].startswith(f"Already resolved by {bound.member.name}")
    assert '"a": "reo"' in json.dumps(answer["card"]["data"])


def test_an_unknown_button_value_is_answered_kindly(
    client: FlaskClient, integration: LarkIntegration, bound: Persona
) -> None:
    answer = post(client, integration, signed_v2(v2_payload({"key": "value"}))).get_json()
    assert "Refresh" in answer["toast"]["i18n"]["en_us"]
    assert "card" not in answer


def test_an_exception_inside_the_handler_still_answers_200_with_a_request_id(
    client: FlaskClient,
    integration: LarkIntegration,
    bound: Persona,
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: Any) -> Incident:
        raise RuntimeError("boom")

    monkeypatch.setattr(card_actions, "perform", explode)
    response = post(
        client, integration, signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    )
    assert response.status_code == 200
    assert response.get_json()["toast"]["type"] == "error"
    assert "request" in response.get_json()["toast"]["i18n"]["en_us"]


# -- verification --------------------------------------------------------------------------


def _tampered(kind: str, incident: Incident) -> Post:
    good = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    if kind == "forged signature":
        good.headers["X-Lark-Signature"] = "0" * 64
    elif kind == "missing signature":
        del good.headers["X-Lark-Signature"]
    elif kind == "wrong key":
        good = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)), key="another key")
    elif kind == "wrong token":
        good = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident), token="guess"))
    elif kind == "changed body":
        good.body = good.body.replace(b'"}', b'A"}')
    return good


@pytest.mark.parametrize(
    "kind",
    ["good", "forged signature", "missing signature", "wrong key", "wrong token", "changed body"],
)
def test_it_accepts_what_lark_oapi_accepts_and_rejects_what_it_rejects(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident, kind: str
) -> None:
    sent = _tampered(kind, incident)
    accepted = post(client, integration, sent).status_code == 200
    assert accepted == sdk_accepts(sent) == (kind == "good")
    assert bool(events(incident, "acknowledged")) == accepted


def test_it_refuses_a_replayed_request_older_than_five_minutes(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)), age=600)
    assert post(client, integration, sent).status_code == 401
    assert events(incident, "acknowledged") == []


def test_it_refuses_a_timestamp_that_is_not_a_number(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    sent.headers["X-Lark-Request-Timestamp"] = "nan"
    assert post(client, integration, sent).status_code == 401
    assert events(incident, "acknowledged") == []


def test_it_refuses_an_old_channel_request_signed_with_another_token(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    sent = signed_v1(v1_payload(value(CardAction.ACKNOWLEDGE, incident)), token="guess")
    assert post(client, integration, sent).status_code == 401
    assert events(incident, "acknowledged") == []


def test_it_refuses_unknown_and_disabled_integrations(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    assert client.post("/lark/nope/card", data=sent.body, headers=sent.headers).status_code == 404
    integration.enabled = False
    db.session.commit()
    assert post(client, integration, sent).status_code == 404
    assert events(incident, "acknowledged") == []


def test_malformed_json_gets_400(client: FlaskClient, integration: LarkIntegration) -> None:
    response = client.post(
        f"/lark/{integration.key}/card",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400


# -- once only -----------------------------------------------------------------------------


def test_the_same_delivery_twice_acts_once_and_answers_the_same(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    sent = signed_v2(v2_payload(value(CardAction.ACKNOWLEDGE, incident)))
    first = post(client, integration, sent).get_json()
    again = post(client, integration, sent).get_json()
    assert again == first
    assert len(events(incident, "acknowledged")) == 1


def test_one_press_delivered_on_both_channels_acts_once(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    press = value(CardAction.ACKNOWLEDGE, incident)
    new = post(client, integration, signed_v2(v2_payload(press))).get_json()
    old = post(client, integration, signed_v1(v1_payload(press))).get_json()
    assert new["toast"] == old["toast"]
    assert old["header"] == new["card"]["data"]["header"]
    assert len(events(incident, "acknowledged")) == 1


def test_a_refused_press_works_once_the_person_is_linked(
    client: FlaskClient, integration: LarkIntegration, owner: Persona, incident: Incident
) -> None:
    press = value(CardAction.ACKNOWLEDGE, incident)
    post(client, integration, signed_v2(v2_payload(press)))
    db.session.add(
        LarkBinding(integration_id=integration.id, member_id=owner.member.id, open_id=OPEN_ID)
    )
    for receipt in db.session.execute(select(CallbackReceipt)).scalars():
        receipt.created_at -= timedelta(minutes=1)
    db.session.commit()
    answer = post(client, integration, signed_v2(v2_payload(press))).get_json()
    assert answer["toast"]["type"] == "success"
    assert len(events(incident, "acknowledged")) == 1


def test_old_receipts_are_cleared_as_presses_come_in(
    client: FlaskClient,
    integration: LarkIntegration,
    bound: Persona,
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(card_receipts, "PRUNE_EVERY", 1)
    old = CallbackReceipt(integration_id=integration.id, dedupe_key="e:old", outcome="ok")
    old.created_at = old_time = utcnow() - timedelta(days=3)
    db.session.add(old)
    db.session.commit()
    post(client, integration, signed_v2(v2_payload(value(CardAction.REFRESH, incident))))
    db.session.expire_all()
    remaining = db.session.execute(select(CallbackReceipt.created_at)).scalars().all()
    assert remaining and old_time not in remaining


# -- the fix links ---------------------------------------------------------------------------


def test_the_fix_link_for_an_unlinked_account_opens_the_web_app_home(client: FlaskClient) -> None:
    response = client.get("/lark/k1/card/fix/not_linked?n=3")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/lark/k1/")


def test_the_fix_link_for_a_missing_seat_opens_the_license_page(client: FlaskClient) -> None:
    response = client.get("/lark/k1/card/fix/no_seat?n=3")
    assert response.headers["Location"].endswith("/license")


def test_the_fix_link_for_a_stale_card_opens_the_incident(client: FlaskClient) -> None:
    response = client.get("/lark/k1/card/fix/stale?n=3")
    assert response.headers["Location"].endswith("/lark/k1/incidents/3")


def _open_urls(card: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "open_url":
                found.append(node["default_url"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return found


# -- through the sandbox's Lark (its own signing and encryption, real HTTP) -----------------


@pytest.fixture
def demo(owner: Persona, lark: LarkSandbox, live_server: str) -> LarkIntegration:
    """The seeded app's integration (Lark international: English cards), its card URL
    pointing at us, and Wang Fang (an English-speaking Lark user) bound to the owner."""
    integration = factories.lark_integration(owner.account, key="k-live")
    integration.platform = Platform.LARK
    lark.app().configure(card_request_url=f"{live_server}/lark/{integration.key}/card")
    db.session.add(
        LarkBinding(
            integration_id=integration.id, member_id=owner.member.id, open_id=seed.WANG_FANG.open_id
        )
    )
    db.session.commit()
    return integration


def send_card(integration: LarkIntegration, incident: Incident, receiver: str) -> str:
    card = incident_card(incident, locale="en", web_url="https://example.com/")
    kind = "chat_id" if receiver.startswith("oc_") else "open_id"
    sent = LarkClient.for_integration(integration).send_card(kind, receiver, card, uuid.uuid4().hex)
    return sent.message_id


def test_a_press_in_lark_acts_and_lark_shows_the_new_card(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident
) -> None:
    message_id = send_card(demo, incident, seed.WANG_FANG.open_id)
    result = lark.click(message_id, seed.WANG_FANG.open_id, button="Acknowledge")
    assert result.ok, result.error
    assert result.toast and result.toast["content"] == f"Incident #{incident.number} acknowledged."
    assert lark.message(message_id).buttons[:2] == ["Unacknowledge", "Resolve"]
    [event] = events(incident, "acknowledged")
    assert event.details["message_id"] == message_id


def test_a_press_on_the_old_channel_works_too(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident
) -> None:
    lark.app().configure(callbacks={"card.action.trigger_v1"})
    message_id = send_card(demo, incident, seed.WANG_FANG.open_id)
    result = lark.click(message_id, seed.WANG_FANG.open_id, button="Resolve")
    assert result.ok, result.error
    assert [a.channel for a in result.attempts] == ["card.action.trigger_v1"]
    assert lark.message(message_id).buttons[0] == "Reopen"


def test_without_an_encrypt_key_the_verification_token_is_the_check(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident
) -> None:
    lark.app().configure(encrypt_key="")
    demo.encrypt_key = None
    db.session.commit()
    message_id = send_card(demo, incident, seed.WANG_FANG.open_id)
    assert lark.click(message_id, seed.WANG_FANG.open_id, button="Acknowledge").ok
    lark.app().configure(verification_token="another")
    result = lark.click(message_id, seed.WANG_FANG.open_id, button="Resolve")
    assert not result.ok
    assert result.error_code == 200671


def test_saving_the_url_in_the_console_verifies_it(
    demo: LarkIntegration, lark: LarkSandbox, live_server: str
) -> None:
    ok, detail = lark.app().verify_url(f"{live_server}/lark/{demo.key}/card")
    assert ok, detail
    db.session.refresh(demo)
    assert demo.url_verified_at is not None


def test_an_unlinked_lark_user_pressing_in_a_group_is_told_and_the_card_stays(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident
) -> None:
    for binding in db.session.execute(select(LarkBinding)).scalars():
        binding.ended_at = utcnow()  # Wang Fang switched away: no live binding any more
    db.session.commit()
    message_id = send_card(demo, incident, seed.ONCALL_CHAT.chat_id)
    before = lark.message(message_id).content
    result = lark.click(message_id, seed.WANG_FANG.open_id, button="Acknowledge")
    assert result.ok
    assert result.toast and "not linked" in result.toast["content"]
    assert lark.message(message_id).content == before


def test_pressing_an_outdated_copy_shows_who_acted_and_redraws_that_copy(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident, owner: Persona
) -> None:
    direct = send_card(demo, incident, seed.WANG_FANG.open_id)
    group = send_card(demo, incident, seed.ONCALL_CHAT.chat_id)
    assert lark.click(direct, seed.WANG_FANG.open_id, button="Acknowledge").ok
    result = lark.click(group, seed.WANG_FANG.open_id, button="Acknowledge")
    assert result.toast and result.toast["content"].startswith(
        f"Already acknowledged by {owner.member.name}"
    )
    assert lark.message(group).buttons[0] == "Unacknowledge"
    assert len(events(incident, "acknowledged")) == 1


# -- both channels at the same moment (PostgreSQL row locks) --------------------------------


@pytest.mark.postgres_only
def test_one_press_on_both_channels_at_the_same_moment_acts_once(
    integration: LarkIntegration, bound: Persona, incident: Incident, live_server: str
) -> None:
    press = value(CardAction.ACKNOWLEDGE, incident)
    copies = [signed_v2(v2_payload(press)), signed_v1(v1_payload(press))]
    url = f"{live_server}/lark/{integration.key}/card"
    start = threading.Barrier(len(copies))
    answers: list[requests.Response] = []

    def deliver(sent: Post) -> None:
        start.wait()
        answers.append(requests.post(url, data=sent.body, headers=sent.headers, timeout=10))

    threads = [threading.Thread(target=deliver, args=(c,)) for c in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    toasts = {a.json()["toast"]["i18n"]["en_us"] for a in answers}
    assert toasts == {f"Incident #{incident.number} acknowledged."}
    assert len(events(incident, "acknowledged")) == 1


# -- which language the redrawn card speaks -------------------------------------------------


def _card_message(integration: LarkIntegration, incident: Incident, receive_id_type: str) -> None:
    db.session.add(
        CardMessage(
            integration_id=integration.id,
            incident_id=incident.id,
            message_id=MESSAGE_ID,
            receive_id_type=receive_id_type,
            receive_id="ou_or_oc",
        )
    )
    db.session.commit()


def _started(label: str, incident: Incident, zone: str) -> str:
    """The card's start line as the reader in `zone` reads it, derived from the moment."""
    local = incident.created_at.astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    assert offset is not None
    return f"{label}{local:%Y-%m-%d %H:%M} UTC{int(offset.total_seconds() // 3600):+d}"


@pytest.mark.parametrize(
    ("receive_id_type", "label", "zone"),
    [("open_id", "Started: ", "Europe/Berlin"), ("chat_id", "开始时间：", "Asia/Shanghai")],
)
def test_a_direct_card_keeps_its_reader_s_language_and_zone_and_a_group_card_the_platform_s(
    client: FlaskClient,
    integration: LarkIntegration,
    bound: Persona,
    incident: Incident,
    receive_id_type: str,
    label: str,
    zone: str,
) -> None:
    bound.member.locale = "en"  # on Feishu, whose cards are Chinese (and UTC+8) by default
    bound.member.timezone = "Europe/Berlin"  # UTC+2 in summer, UTC+1 in winter
    _card_message(integration, incident, receive_id_type)
    answer = post(client, integration, signed_v2(v2_payload(value(CardAction.REFRESH, incident))))
    drawn = json.dumps(answer.get_json()["card"]["data"], ensure_ascii=False)
    assert _started(label, incident, zone) in drawn


def test_a_failure_before_verification_still_answers_200_with_a_reason(
    client: FlaskClient, integration: LarkIntegration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(key: str) -> LarkIntegration:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(lark_callbacks, "integration", broken)
    response = client.post(f"/lark/{integration.key}/card", json={"schema": "2.0"})
    assert response.status_code == 200
    assert response.get_json()["toast"]["type"] == "error"


def test_the_war_room_button_asks_for_the_incidents_lark_chat(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident
) -> None:
    message_id = send_card(demo, incident, seed.WANG_FANG.open_id)
    result = lark.click(message_id, seed.WANG_FANG.open_id, button="War room")
    assert result.ok, result.error
    assert result.toast and "war room" in result.toast["content"]
    room = db.session.scalars(select(WarRoom)).one()
    assert room.incident_id == incident.id
    outbox.run_once()  # the worker creates the chat in Lark
    db.session.refresh(room)
    assert room.chat_id in lark.sandbox.chats
    again = lark.click(message_id, seed.WANG_FANG.open_id, button="War room")
    assert again.ok
    assert db.session.scalars(select(WarRoom)).all() == [room]


def test_a_press_refused_as_not_linked_acts_as_soon_as_the_person_has_linked(
    demo: LarkIntegration, lark: LarkSandbox, incident: Incident, member: Persona
) -> None:
    message_id = send_card(demo, incident, seed.CHEN_JING.open_id)
    first = lark.click(message_id, seed.CHEN_JING.open_id, button="Acknowledge")
    assert first.ok and first.toast and first.toast["type"] == "warning"
    assert events(incident, "acknowledged") == []
    db.session.add(
        LarkBinding(
            integration_id=demo.id, member_id=member.member.id, open_id=seed.CHEN_JING.open_id
        )
    )
    db.session.commit()
    again = lark.click(message_id, seed.CHEN_JING.open_id, button="Acknowledge")
    assert again.ok and again.toast and again.toast["type"] == "success"
    assert [e.actor_id for e in events(incident, "acknowledged")] == [member.member.id]


def test_a_repeated_acknowledge_after_a_resolve_answers_from_the_incident_as_it_is_now(
    client: FlaskClient, integration: LarkIntegration, bound: Persona, incident: Incident
) -> None:
    ack = value(CardAction.ACKNOWLEDGE, incident)
    first = post(client, integration, signed_v2(v2_payload(ack))).get_json()
    assert first["toast"]["type"] == "success"
    from webapp.incidents import service as incidents
    from webapp.incidents.service import Actor

    db.session.refresh(incident)
    incidents.resolve(incident, Actor(bound.member, Source.WEB))
    again = post(client, integration, signed_v2(v2_payload(ack))).get_json()
    assert again["toast"]["type"] != "success"
    assert again["toast"]["i18n"]["en_us"].startswith(f"Already resolved by {bound.member.name}")
    assert "秒钟后" not in again["toast"]["i18n"]["zh_cn"]
    assert "前" in again["toast"]["i18n"]["zh_cn"]
    assert '"a": "reo"' in json.dumps(again["card"]["data"])  # the card shows it resolved
    db.session.refresh(incident)
    assert incident.status is Status.CLOSED
    assert len(events(incident, "acknowledged")) == 1
