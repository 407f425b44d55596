"""An admin follows the seed guide: the sandbox plays Lark's developer console, we play ours."""

from __future__ import annotations

import json
import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.models import LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    token = csrf_token(client, "/admin/license")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kw)


def create_through_the_form(client: FlaskClient, live_server: str, **overrides: str) -> Any:
    data = {
        "name": "On-call",
        "app_id": seed.DEMO_APP_ID,
        "app_secret": seed.DEMO_APP_SECRET,
        "verification_token": seed.DEMO_VERIFICATION_TOKEN,
        "encrypt_key": seed.DEMO_ENCRYPT_KEY,
        "platform": "feishu",
        "edition": "free",
        "api_base_url": f"{live_server}/_lark",
        **overrides,
    }
    response = post(client, "/admin/integrations/new", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalars(select(LarkIntegration)).one()


def step_status(page: str, title_start: str) -> str:
    """The status word shown on the checklist step whose title starts with `title_start`."""
    pattern = r'<li class="step step-(\w+)">(?:(?!</li>).)*?<strong>' + re.escape(title_start)
    match = re.search(pattern, page, re.S)
    assert match, f"no step {title_start!r}"
    return match.group(1)


def test_an_admin_follows_the_guide_and_the_checklist_ticks_from_lark_s_evidence(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    # 二、添加飞书集成: the form with the values copied from the console.
    integration = create_through_the_form(client, live_server)
    detail = f"/admin/integrations/{integration.id}"
    page = client.get(detail).get_data(as_text=True)
    # The save asked Lark for a tenant token with the credentials: that step is proven.
    assert step_status(page, "Copy the App ID") == "done"

    # "Test credentials": Lark hands out a tenant token.
    answer = post(client, f"{detail}/test", headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'id="credentials"' in answer.get_data(as_text=True)
    assert "Lark accepted the App ID and App Secret." in answer.get_data(as_text=True)
    assert json.loads(answer.headers["HX-Trigger"])["toast"]["kind"] == "success"
    # The checklist is swapped out of band: the credentials step is ticked at once.
    assert 'hx-swap-oob="true"' in answer.get_data(as_text=True)
    assert step_status(answer.get_data(as_text=True), "Copy the App ID") == "done"

    # 三、配置飞书应用: paste our card request URL into Lark's callback configuration.
    urls = {
        "card": f"{live_server}/lark/{integration.key}/card",
        "redirect": f"{live_server}/lark/{integration.key}/oauth/callback",
    }
    lark.app().configure(
        redirect_urls=[urls["redirect"]], homepage_url=f"{live_server}/lark/{integration.key}/"
    )
    ok, words = lark.app().verify_url(urls["card"])
    assert ok, words

    db.session.expire_all()  # the card URL was verified by the live server's own session
    page = client.get(detail).get_data(as_text=True)
    assert step_status(page, "Create a self-built app") == "done"
    assert step_status(page, "Copy the App ID") == "done"
    assert step_status(page, "Copy the Verification Token") == "done"
    assert "URL verified" in page
    # Nobody opened the app or received a card yet: those steps wait, honestly.
    assert step_status(page, "Add the redirect URL") == "waiting"
    assert step_status(page, "Publish a version") == "unknown"


def test_a_wrong_app_secret_shows_lark_s_error_in_words(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    integration = create_through_the_form(client, live_server)
    lark.app().configure(app_secret="ResetInTheConsoleResetInTheConsole")  # reset in Lark later
    detail = f"/admin/integrations/{integration.id}"
    response = post(client, f"{detail}/test")
    assert response.status_code == 303
    page = client.get(detail).get_data(as_text=True)
    assert "Lark answered" in page
    assert "Lark refused the App ID or App Secret." in page
    assert step_status(page, "Copy the App ID") == "failing"
    db.session.refresh(integration)
    assert integration.token_error  # the earlier proof from the save no longer counts


def test_a_wrong_open_api_base_says_lark_could_not_be_reached(
    client: FlaskClient, owner: factories.Persona, live_server: str
) -> None:
    sign_in(client, owner)
    integration = create_through_the_form(client, live_server, api_base_url="http://127.0.0.1:9")
    response = post(
        client, f"/admin/integrations/{integration.id}/test", headers={"HX-Request": "true"}
    )
    text = response.get_data(as_text=True)
    assert "Does not work:" in text
    assert "Lark could not be reached" in text


def test_one_click_link_finds_members_by_e_mail_and_confirms_the_contact_permission(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    han = factories.persona("member", account=owner.account)
    han.member.email, han.member.phone = seed.HAN_MEIMEI.email, None
    owner.member.phone = None  # factories' numbers can collide with the seeded people's
    db.session.commit()
    sign_in(client, owner)
    integration = create_through_the_form(client, live_server)
    detail = f"/admin/integrations/{integration.id}"
    assert "Link members by e-mail and mobile" in client.get(detail).get_data(as_text=True)
    response = post(client, f"{detail}/link-members")
    assert response.status_code == 303
    page = client.get(detail).get_data(as_text=True)
    assert "Linked 1, already linked 0, not found 1." in page
    assert owner.member.name in page  # the one Lark does not know, with the reason
    assert "contact:user.id:readonly" in page
    assert "Confirmed so far: contact:user.id:readonly." in page


def test_a_secret_reset_in_lark_is_noticed_although_a_token_is_cached(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    sign_in(client, owner)
    integration = create_through_the_form(client, live_server)
    detail = f"/admin/integrations/{integration.id}"
    post(client, f"{detail}/test")
    lark.app().configure(app_secret="ResetInTheConsoleResetInTheConsole")
    post(client, f"{detail}/test")
    page = client.get(detail).get_data(as_text=True)
    assert "Lark refused the App ID or App Secret." in page
    assert step_status(page, "Copy the App ID") == "failing"
    assert step_status(page, "Create a self-built app") == "done"  # it existed all along


def console_value(page: str, field: str) -> str:
    match = re.search(rf'<dd id="{field}">([^<]+)</dd>', page)
    assert match, f"no {field} on the console page"
    return match.group(1).strip()


def test_the_whole_guide_in_the_sandbox_console_and_our_ui_ends_with_a_working_card(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    from webapp.delivery import worker as outbox

    owner.member.email, owner.member.phone = seed.LI_LEI.email, None
    db.session.commit()
    # 一、创建飞书应用: a self-built app in the developer console; copy its credentials.
    created = client.post("/_lark/console/apps", data={"name": "On-call"})
    console = created.headers["Location"]
    page = client.get(console).get_data(as_text=True)
    copied = {f: console_value(page, f) for f in ("app-id", "app-secret", "verification-token")}
    copied["encrypt-key"] = console_value(page, "encrypt-key")
    # 二、添加飞书集成: our form.
    sign_in(client, owner)
    integration = create_through_the_form(
        client,
        live_server,
        app_id=copied["app-id"],
        app_secret=copied["app-secret"],
        verification_token=copied["verification-token"],
        encrypt_key=copied["encrypt-key"],
    )
    detail = f"/admin/integrations/{integration.id}"
    urls = dict(
        re.findall(
            r'id="url-(\w+)" type="text" readonly value="([^"]+)"',
            client.get(detail).get_data(as_text=True),
        )
    )
    # 三、配置飞书应用: homepage, redirect URL, card callbacks (Lark verifies the URL on save).
    client.post(
        f"{console}/web", data={"homepage_url": urls["web"], "redirect_urls": urls["redirect"]}
    )
    client.post(
        f"{console}/callbacks", data={"callback": ["card.action.trigger", "card.action.trigger_v1"]}
    )
    client.post(f"{console}/card-url", data={"card_request_url": urls["card"]})
    assert "Verified:" in client.get(console).get_data(as_text=True)
    # 四、发布: visibility all staff.
    client.post(f"{console}/visibility", data={"scope": "all"})

    post(client, f"{detail}/test")
    post(client, f"{detail}/link-members")  # the owner is found by e-mail
    factories.incident(owner.account, assignees=[owner.member])
    outbox.run_once()
    [card] = lark.messages_to(seed.LI_LEI.open_id, app_id=copied["app-id"])
    assert lark.click(card.message_id, seed.LI_LEI.open_id, button=card.buttons[0]).ok

    db.session.expire_all()
    page = client.get(detail).get_data(as_text=True)
    for step in (
        "Create a self-built app",
        "Copy the App ID",
        "Copy the Verification Token",
        "Subscribe card callbacks",
        "Publish a version",
    ):
        assert step_status(page, step) == "done", step
    # Nobody opened the web app yet, and no chat list was loaded: said, not faked.
    assert step_status(page, "Set the desktop and mobile homepage") == "waiting"
    assert step_status(page, "Apply for im:chat") == "waiting"
    assert "Confirmed so far: im:message, contact:user.id:readonly." in page


def test_the_permissions_step_names_the_message_event_scopes_and_waits_for_a_message(
    client: FlaskClient, owner: factories.Persona, live_server: str, lark: LarkSandbox
) -> None:
    """Lark's receive_v1 page: subscribing im.message.receive_v1 needs a message-event scope
    (im:message is not one); only a message reaching us proves the app holds one."""
    from webapp.models import utcnow

    integration = factories.lark_integration(owner.account)
    lark.app().configure(event_request_url=f"{live_server}/lark/{integration.key}/events")
    # The other three scopes already proved by traffic (the guide test above walks it).
    integration.last_send_ok_at = integration.chats_listed_at = utcnow()
    db.session.commit()
    owner.member.email = seed.LI_LEI.email
    db.session.commit()
    sign_in(client, owner)
    detail = f"/admin/integrations/{integration.id}"
    post(client, f"{detail}/link-members")

    before = client.get(detail).get_data(as_text=True)
    lark.say(seed.ONCALL_CHAT.chat_id, seed.LI_LEI.open_id, "oncall")
    db.session.expire_all()  # the event was handled by the live server's thread
    after = client.get(detail).get_data(as_text=True)

    title = (
        "Apply for im:chat, im:message, im:message.group_at_msg:readonly, "
        "im:message.p2p_msg:readonly, contact:user.id:readonly and contact:contact.base:readonly"
    )
    assert title in before
    assert step_status(before, "Apply for im:chat") == "waiting"
    assert "someone writes @bot in a group" in before
    assert step_status(after, "Apply for im:chat") == "done"
