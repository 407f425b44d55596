"""The simulated Lark client and developer console, as a person uses them."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from tests.sandbox_fixtures import LarkSandbox, Received, Receiver
from tests.sandbox_helpers import card, send, token
from webapp.sandbox import seed


def _as(client: FlaskClient, person: seed.SeedUser) -> None:
    assert client.post("/_lark/sign-in", data={"open_id": person.open_id}).status_code == 303


def test_the_user_picker_lists_the_tenants_people(client: FlaskClient, lark: LarkSandbox) -> None:
    page = client.get("/_lark/").get_data(as_text=True)
    for person in seed.USERS:
        assert person.name in page and person.email in page
    assert "Outside the On-call app" in page


def test_a_person_sees_their_cards_and_groups(client: FlaskClient, lark: LarkSandbox) -> None:
    send(client, token(client), seed.LI_LEI.open_id)
    _as(client, seed.LI_LEI)
    listing = client.get("/_lark/messenger").get_data(as_text=True)
    assert seed.ONCALL_CHAT.name in listing and seed.PAYMENTS_CHAT.name in listing
    assert "[Card] P1 db-01 is down" in listing
    [message] = lark.messages_to(seed.LI_LEI.open_id)
    page = client.get(f"/_lark/messenger/{message.chat_id}").get_data(as_text=True)
    assert "P1 db-01 is down" in page and "<strong>db-01</strong> is down" in page
    assert "lk-h-red" in page and "Acknowledge" in page


def test_a_person_cannot_open_someone_elses_chat(client: FlaskClient, lark: LarkSandbox) -> None:
    send(client, token(client), seed.LI_LEI.open_id)
    [message] = lark.messages_to(seed.LI_LEI.open_id)
    _as(client, seed.HAN_MEIMEI)
    assert client.get(f"/_lark/messenger/{message.chat_id}").status_code == 404
    assert client.post(f"/_lark/messages/{message.message_id}/actions/0").status_code == 404


def test_pressing_a_button_shows_the_toast_and_the_new_card(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    def answer(received: Received) -> tuple[int, object]:
        return 200, {
            "toast": {"type": "success", "content": "Acknowledged"},
            "card": {"type": "raw", "data": card("Acked")},
        }

    lark_receiver.answer = answer
    lark.app().configure(card_request_url=lark_receiver.url, encrypt_key="")
    message_id = send(client, token(client), seed.LI_LEI.open_id).json["data"]["message_id"]
    _as(client, seed.LI_LEI)
    pressed = client.post(f"/_lark/messages/{message_id}/actions/0", headers={"HX-Request": "true"})
    html = pressed.get_data(as_text=True)
    assert pressed.status_code == 200 and f'id="msg-{message_id}"' in html and "Acked" in html
    assert json.loads(pressed.headers["HX-Trigger"]) == {
        "toast": {"message": "Acknowledged", "kind": "success"}
    }
    assert lark_receiver.requests[0].json["event"]["operator"]["open_id"] == seed.LI_LEI.open_id


def test_a_failed_callback_shows_lark_error_code(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark_receiver.answer = lambda received: (500, {})
    lark.app().configure(card_request_url=lark_receiver.url)
    message_id = send(client, token(client), seed.LI_LEI.open_id).json["data"]["message_id"]
    _as(client, seed.LI_LEI)
    pressed = client.post(f"/_lark/messages/{message_id}/actions/0", headers={"HX-Request": "true"})
    assert "200671" in pressed.get_data(as_text=True)
    assert json.loads(pressed.headers["HX-Trigger"])["toast"]["kind"] == "error"


def test_the_conversation_poll_answers_204_when_nothing_changed(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    _as(client, seed.LI_LEI)
    url = f"/_lark/messenger/{seed.ONCALL_CHAT.chat_id}/conversation"
    first = client.get(url)
    assert first.status_code == 200
    fingerprint = first.get_data(as_text=True).split("v=")[1].split('"')[0]
    assert client.get(url, query_string={"v": fingerprint}).status_code == 204
    send(client, token(client), seed.ONCALL_CHAT.chat_id, id_type="chat_id")
    assert client.get(url, query_string={"v": fingerprint}).status_code == 200


def test_the_workbench_opens_the_app_homepage(client: FlaskClient, lark: LarkSandbox) -> None:
    _as(client, seed.ZHAO_LEI)
    page = client.get("/_lark/workbench").get_data(as_text=True)
    assert "On-call" in page and "outside this app" in page
    opened = client.get(f"/_lark/workbench/{seed.DEMO_APP_ID}/open")
    assert opened.status_code == 302 and opened.headers["Location"] == lark.app().app.homepage_url


def test_a_group_member_adds_the_bot_to_a_group(client: FlaskClient, lark: LarkSandbox) -> None:
    _as(client, seed.LI_LEI)
    client.post(
        f"/_lark/chats/{seed.PAYMENTS_CHAT.chat_id}/bot",
        data={"app_id": seed.DEMO_APP_ID, "present": "1"},
    )
    assert seed.DEMO_APP_ID in lark.sandbox.chats[seed.PAYMENTS_CHAT.chat_id].bots


def test_the_console_creates_an_app_and_shows_its_credentials(
    client: FlaskClient, lark: LarkSandbox
) -> None:
    created = client.post(
        "/_lark/console/apps", data={"name": "Flashduty", "tenant_key": seed.TENANT_KEY}
    )
    assert created.status_code == 303
    app_id = created.headers["Location"].rsplit("/", 1)[1]
    app = lark.app(app_id).app
    page = client.get(f"/_lark/console/apps/{app_id}").get_data(as_text=True)
    assert app.app_secret in page and app.verification_token in page and app.encrypt_key in page
    client.post(
        f"/_lark/console/apps/{app_id}/web",
        data={
            "homepage_url": "http://127.0.0.1:5000/lark/k/",
            "redirect_urls": "http://127.0.0.1:5000/lark/k/oauth/callback\n",
        },
    )
    client.post(
        f"/_lark/console/apps/{app_id}/visibility",
        data={"scope": "some", "open_id": [seed.LI_LEI.open_id]},
    )
    client.post(
        f"/_lark/console/apps/{app_id}/callbacks", data={"callback": ["card.action.trigger_v1"]}
    )
    client.post(
        f"/_lark/console/apps/{app_id}/edition",
        data={"edition": "free", "monthly_quota": "10000", "usage": "8000"},
    )
    app = lark.app(app_id).app
    assert app.redirect_urls == ["http://127.0.0.1:5000/lark/k/oauth/callback"]
    assert app.visibility == {seed.LI_LEI.open_id} and app.callbacks == {"card.action.trigger_v1"}
    assert lark.usage() == 8000


def test_the_console_saves_the_card_url_only_when_verification_passes(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(encrypt_key="", card_request_url="")
    lark_receiver.answer = lambda received: (200, {"challenge": received.json["challenge"]})
    client.post(
        f"/_lark/console/apps/{seed.DEMO_APP_ID}/card-url",
        data={"card_request_url": lark_receiver.url},
    )
    page = client.get(f"/_lark/console/apps/{seed.DEMO_APP_ID}").get_data(as_text=True)
    assert (
        "Challenge code verified." in page and lark.app().app.card_request_url == lark_receiver.url
    )
    lark_receiver.answer = lambda received: (403, {})
    client.post(
        f"/_lark/console/apps/{seed.DEMO_APP_ID}/card-url",
        data={"card_request_url": lark_receiver.url + "2"},
    )
    assert "HTTP 403" in client.get(f"/_lark/console/apps/{seed.DEMO_APP_ID}").get_data(
        as_text=True
    )
    assert lark.app().app.card_request_url == lark_receiver.url


def test_a_scripted_lark_client_opens_the_homepage_with_lark_user_agent(
    lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(homepage_url=lark_receiver.url.replace("/card", "/home"))
    page = lark.open_workbench(seed.HAN_MEIMEI.open_id, phone=True)
    assert page.status_code == 200
    assert "Lark/" in lark_receiver.requests[0].headers["User-Agent"]
    session = lark.client_session(seed.LI_LEI.open_id)
    lark.app().configure(redirect_urls=[lark_receiver.url])
    authorize = f"{lark.base_url}/open-apis/authen/v1/authorize"
    answer = session.get(
        authorize,
        params={"client_id": seed.DEMO_APP_ID, "redirect_uri": lark_receiver.url, "state": "x"},
        allow_redirects=False,
    )
    assert answer.status_code == 302 and "code=" in answer.headers["Location"]


def test_a_press_on_the_card_a_person_sees_sends_that_buttons_own_value_toast_to_them_only(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    def answer(received: Received) -> tuple[int, object]:
        return 200, {"toast": {"type": "warning", "content": "Already resolved"}}

    lark_receiver.answer = answer
    lark.app().configure(card_request_url=lark_receiver.url, encrypt_key="")
    tok = token(client)
    chat_id = seed.ONCALL_CHAT.chat_id
    sent = send(client, tok, chat_id, "chat_id", content=card(value={"a": "ack", "v": 1}))
    message_id = sent.json["data"]["message_id"]
    _as(client, seed.LI_LEI)
    drawn = client.get(f"/_lark/messenger/{chat_id}").get_data(as_text=True)
    assert 'name="seen" value="0"' in drawn  # the page Li Lei has open: revision 0
    # The card changes (the incident was resolved) while Li Lei's page still shows the old one.
    patched = client.patch(
        f"/_lark/open-apis/im/v1/messages/{message_id}",
        json={"content": json.dumps(card("Resolved", value={"a": "reo", "v": 2}))},
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert patched.json["code"] == 0
    pressed = client.post(
        f"/_lark/messages/{message_id}/actions/0", data={"seen": "0"}, headers={"HX-Request": "1"}
    )
    assert pressed.status_code == 200
    assert lark_receiver.requests[-1].json["event"]["action"]["value"] == {"a": "ack", "v": 1}
    assert "Already resolved" in client.get(f"/_lark/messenger/{chat_id}").get_data(as_text=True)
    _as(client, seed.HAN_MEIMEI)
    other = client.get(f"/_lark/messenger/{chat_id}").get_data(as_text=True)
    assert "Resolved" in other and "Already resolved" not in other
    assert 'name="seen" value="1"' in other


def test_a_2_0_card_takes_no_clicks_after_14_days(
    client: FlaskClient, lark: LarkSandbox, lark_receiver: Receiver
) -> None:
    lark.app().configure(card_request_url=lark_receiver.url, encrypt_key="")
    message_id = send(client, token(client), seed.LI_LEI.open_id).json["data"]["message_id"]
    lark.advance(14 * 86400 + 60)
    _as(client, seed.LI_LEI)
    pressed = client.post(f"/_lark/messages/{message_id}/actions/0", headers={"HX-Request": "1"})
    assert "14 days" in pressed.get_data(as_text=True) or "14 days" in pressed.headers.get(
        "HX-Trigger", ""
    )
    assert lark_receiver.requests == []
