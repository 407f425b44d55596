"""Diagnostics names the Lark users who pressed a card unlinked, and forgets them once linked."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.test_diagnostics import check, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import LarkBinding, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

ONCALL = seed.ONCALL_CHAT.chat_id


@pytest.fixture
def pressed(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> tuple[LarkIntegration, LarkSandbox]:
    """Wang Fang and Zhang Wei, not linked, pressed the card in the on-call group twice."""
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": False, "chat_ids": [ONCALL]}])
    factories.incident(owner.account, ch=channel)
    outbox.run_once()
    [card] = lark.messages_to(ONCALL)
    for person in (seed.WANG_FANG, seed.ZHANG_WEI, seed.WANG_FANG):
        lark.click(card.message_id, person.open_id, button=card.buttons[0])
    sign_in(client, owner)
    return integration, lark


def test_unlinked_pressers_are_named_by_their_lark_names(
    client: FlaskClient, pressed: tuple[LarkIntegration, LarkSandbox]
) -> None:
    status, text = check(client, "card_operators")
    assert status == "failing"
    assert "3 click(s) in the last 7 days came from 2 Lark user(s)" in text
    assert seed.WANG_FANG.name in text and seed.ZHANG_WEI.name in text
    assert "ou_" not in text
    assert "Members page" in text


def test_the_names_are_asked_of_lark_once_not_on_every_page(
    client: FlaskClient, pressed: tuple[LarkIntegration, LarkSandbox]
) -> None:
    _integration, lark = pressed
    check(client, "card_operators")
    check(client, "card_operators")
    lookups = [c for c in lark.calls() if "/contact/v3/users/ou_" in c.path]
    assert len(lookups) == 2


def test_a_person_who_linked_since_is_no_longer_counted(
    client: FlaskClient, owner: factories.Persona, pressed: tuple[LarkIntegration, LarkSandbox]
) -> None:
    integration, _lark = pressed
    wang = factories.persona("member", account=owner.account)
    db.session.add(
        LarkBinding(
            integration_id=integration.id, member_id=wang.member.id, open_id=seed.WANG_FANG.open_id
        )
    )
    db.session.commit()
    status, text = check(client, "card_operators")
    assert "1 click(s) in the last 7 days came from 1 Lark user(s)" in text
    assert seed.WANG_FANG.name not in text and seed.ZHANG_WEI.name in text
    zhang = factories.persona("member", account=owner.account)
    db.session.add(
        LarkBinding(
            integration_id=integration.id, member_id=zhang.member.id, open_id=seed.ZHANG_WEI.open_id
        )
    )
    db.session.commit()
    status, text = check(client, "card_operators")
    assert status == "ok"


def test_a_name_lark_will_not_give_is_shown_as_the_id_and_says_so(
    client: FlaskClient, pressed: tuple[LarkIntegration, LarkSandbox]
) -> None:
    _integration, lark = pressed
    lark.app().configure(visibility=[seed.LI_LEI.open_id])  # the others are out of range now
    status, text = check(client, "card_operators")
    assert f"{seed.WANG_FANG.open_id} (Lark did not give the name)" in text
    assert status == "failing"


def test_without_the_contact_scope_the_id_is_shown_with_the_scope_lark_wants(
    client: FlaskClient, pressed: tuple[LarkIntegration, LarkSandbox]
) -> None:
    """Lark's user-get page: the call needs contact:contact.base:readonly (or a wider
    contact:contact scope); contact:user.base:readonly only lets the name field through."""
    _integration, lark = pressed
    lark.app().configure(
        scopes={"im:chat", "im:message", "contact:user.id:readonly", "contact:user.base:readonly"}
    )

    status, text = check(client, "card_operators")

    assert status == "failing"
    assert seed.WANG_FANG.name not in text
    assert (
        f"{seed.WANG_FANG.open_id} (Lark did not give the name: the app lacks the permission "
        "contact:contact.base:readonly)"
    ) in text
