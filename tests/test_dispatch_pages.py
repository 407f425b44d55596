"""The dispatch policy pages (/admin/channels/<id>/dispatch): admins only, chats from Lark."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from webapp.extensions import db
from webapp.models import DispatchRule, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

CHAT = seed.ONCALL_CHAT


def _page(owner: Persona) -> tuple[LarkIntegration, str]:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    return integration, f"/admin/channels/{channel.id}/dispatch"


def test_an_admin_sees_the_chats_the_bot_is_in(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    _, path = _page(owner)
    sign_in(client, owner)

    page = client.get(path).get_data(as_text=True)

    assert "Dispatch policy of Core Platform" in page
    assert CHAT.name in page
    assert seed.PAYMENTS_CHAT.name not in page  # the bot is not in that one


def test_with_no_chats_the_page_says_to_add_the_bot_to_the_group(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    _, path = _page(owner)
    lark.set_bot_in_chat(CHAT.chat_id, present=False)
    sign_in(client, owner)

    page = client.get(path).get_data(as_text=True)

    assert "The bot is not in any group chat yet." in page
    assert "Add bot" in page and "refresh" in page


def test_an_admin_adds_a_rule_with_escalation(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    integration, path = _page(owner)
    sign_in(client, owner)

    response = client.post(
        f"{path}/new",
        data={
            "csrf_token": csrf_token(client, f"{path}/new"),
            "name": "Critical database incidents",
            "integration_id": integration.id,
            "enabled": "1",
            "severity": ["Critical"],
            "labels": "service=db\n",
            "layer0-assignees": "1",
            "layer0-chat": CHAT.chat_id,
            "layer1-delay": "15",
            "layer1-member": str(member.member.id),
        },
    )

    assert response.status_code == 303
    rule = db.session.scalars(select(DispatchRule)).one()
    assert rule.severities == ["Critical"]
    assert rule.label_match == {"service": "db"}
    assert [layer["delay_minutes"] for layer in rule.layers] == [0, 15]
    assert rule.layers[0]["chat_ids"] == [CHAT.chat_id]
    assert rule.layers[1]["member_ids"] == [member.member.id]
    page = client.get(path).get_data(as_text=True)
    assert "After 15 min without acknowledgement" in page
    assert member.member.name in page


def test_a_chat_the_bot_is_not_in_is_refused(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration, path = _page(owner)
    sign_in(client, owner)

    response = client.post(
        f"{path}/new",
        data={
            "csrf_token": csrf_token(client, f"{path}/new"),
            "name": "Payments",
            "integration_id": integration.id,
            "layer0-chat": seed.PAYMENTS_CHAT.chat_id,
        },
    )

    assert response.status_code == 422
    assert "The bot of Lark is not in every chat chosen here." in response.get_data(as_text=True)
    assert db.session.scalars(select(DispatchRule)).all() == []


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    integration, path = _page(owner)
    sign_in(client, owner)

    response = client.post(
        f"{path}/new", data={"name": "x", "integration_id": integration.id, "layer0-assignees": "1"}
    )

    assert response.status_code == 400
    assert db.session.scalars(select(DispatchRule)).all() == []


def test_a_plain_member_is_forbidden(
    client: FlaskClient, owner: Persona, member: Persona, lark: LarkSandbox
) -> None:
    _, path = _page(owner)
    sign_in(client, member)

    assert client.get(path).status_code == 403
    assert client.get("/admin/channels").status_code == 403


def test_another_accounts_channel_is_not_found(
    client: FlaskClient, owner: Persona, outsider: Persona, lark: LarkSandbox
) -> None:
    _, path = _page(owner)
    outsider.member.role = owner.member.role  # an admin, but of another account
    db.session.commit()
    sign_in(client, outsider)

    assert client.get(path).status_code == 404
    assert client.get(f"{path}/new").status_code == 404


def test_the_channels_list_links_each_policy(
    client: FlaskClient, owner: Persona, lark: LarkSandbox
) -> None:
    _, path = _page(owner)
    sign_in(client, owner)

    page = client.get("/admin/channels").get_data(as_text=True)

    assert f'href="{path}"' in page
