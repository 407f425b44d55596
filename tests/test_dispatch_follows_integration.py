"""The rule form follows the integration chosen: its bot's chats, a refusal naming it, a
"saved" message, and the rule's summary says which integration sends its cards."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from webapp.extensions import db
from webapp.models import DispatchRule, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

CORE, PAYMENTS = seed.ONCALL_CHAT, seed.PAYMENTS_CHAT


@pytest.fixture
def two(owner: Persona, lark: LarkSandbox) -> tuple[LarkIntegration, LarkIntegration, str]:
    """The demo app's bot is in Core Platform; a second app's bot only in Payments."""
    first = factories.lark_integration(owner.account)
    ops = lark.create_app("Ops bot")
    lark.set_bot_in_chat(PAYMENTS.chat_id, present=True, app_id=ops.app_id)
    second = factories.lark_integration(
        owner.account, key="ops", app_id=ops.app_id, app_secret=ops.app.app_secret
    )
    second.name = "Ops bot"
    db.session.commit()
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    return first, second, f"/admin/channels/{channel.id}/dispatch"


def chat_boxes(page: str) -> set[str]:
    return set(re.findall(r'name="layer0-chat" value="([^"]+)"', page))


def test_choosing_another_integration_reloads_its_bots_chats_and_keeps_what_was_typed(
    client: FlaskClient, owner: Persona, two: tuple[LarkIntegration, LarkIntegration, str]
) -> None:
    _first, second, path = two
    sign_in(client, owner)
    page = client.get(f"{path}/new").get_data(as_text=True)
    assert chat_boxes(page) == {CORE.chat_id}
    assert 'hx-post="' in page and 'hx-select="#rule-editor"' in page
    response = client.post(
        f"{path}/new",
        data={
            "csrf_token": csrf_token(client, f"{path}/new"),
            "reload": "1",
            "name": "Payments pages",
            "integration_id": second.id,
            "layer0-chat": CORE.chat_id,
            "layer0-assignees": "1",
        },
        headers={"HX-Request": "true"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert chat_boxes(page) == {PAYMENTS.chat_id}
    assert f'value="{CORE.chat_id}" checked' not in page
    assert "Chats the bot of Ops bot is not in were unticked." in page
    assert 'value="Payments pages"' in page
    assert "Group chats the bot of Ops bot is in" in page
    assert db.session.scalars(select(DispatchRule)).all() == []  # a reload saves nothing


def test_saving_a_chat_the_chosen_bot_is_not_in_is_refused_with_its_name(
    client: FlaskClient, owner: Persona, two: tuple[LarkIntegration, LarkIntegration, str]
) -> None:
    _first, second, path = two
    sign_in(client, owner)
    response = client.post(
        f"{path}/new",
        data={
            "csrf_token": csrf_token(client, f"{path}/new"),
            "name": "Payments pages",
            "integration_id": second.id,
            "layer0-chat": CORE.chat_id,
        },
    )
    assert response.status_code == 422
    assert "The bot of Ops bot is not in every chat chosen here." in response.get_data(as_text=True)
    assert db.session.scalars(select(DispatchRule)).all() == []


def test_switching_a_saved_rule_to_another_bot_does_not_keep_the_old_bots_chats(
    client: FlaskClient, owner: Persona, two: tuple[LarkIntegration, LarkIntegration, str]
) -> None:
    first, second, path = two
    sign_in(client, owner)
    token = csrf_token(client, f"{path}/new")
    form = {"csrf_token": token, "name": "Core", "layer0-chat": CORE.chat_id}
    assert client.post(f"{path}/new", data={**form, "integration_id": first.id}).status_code == 303
    rule = db.session.scalars(select(DispatchRule)).one()
    response = client.post(f"{path}/{rule.id}", data={**form, "integration_id": second.id})
    assert response.status_code == 422
    db.session.refresh(rule)
    assert rule.integration_id == first.id


def test_a_saved_rule_says_so_and_names_its_integration(
    client: FlaskClient, owner: Persona, two: tuple[LarkIntegration, LarkIntegration, str]
) -> None:
    _first, second, path = two
    sign_in(client, owner)
    response = client.post(
        f"{path}/new",
        data={
            "csrf_token": csrf_token(client, f"{path}/new"),
            "name": "Payments pages",
            "integration_id": second.id,
            "layer0-chat": PAYMENTS.chat_id,
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Rule “Payments pages” saved." in page
    summary = re.search(r'<section class="card-box dispatch-rule".*?</section>', page, re.S)
    assert summary is not None
    assert "Sent through: <strong>Ops bot</strong>" in summary.group(0)
    assert f"chat {PAYMENTS.name}" in summary.group(0)
