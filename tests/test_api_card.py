"""A program declares, acknowledges and resolves an incident over HTTP with a bearer token,
as curl would, and the incident's card in the (sandboxed) Lark follows each step."""

from __future__ import annotations

import requests
from flask_babel import force_locale, gettext

from tests import factories
from tests.api_support import token_of
from tests.test_dispatch import bind, rule
from webapp.delivery import worker as outbox
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def zh(*words: str) -> list[str]:
    with force_locale("zh"):
        return [gettext(w) for w in words]


def test_curl_declares_acknowledges_and_resolves_and_the_card_follows(
    live_server: str, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    rule(channel, integration, [{"assignees": True}])
    headers = {"Authorization": f"Bearer {token_of(owner, name='curl')}"}
    api = f"{live_server}/api/v1"
    with force_locale("zh"):  # the sandbox's demo tenant is Feishu: cards speak Chinese
        zh_token = gettext("API token %(name)s", name="curl")

    declared = requests.post(
        f"{api}/incidents",
        json={
            "title": "checkout 5xx",
            "severity": "Critical",
            "channel_id": channel.id,
            "assignee_ids": [owner.member.id],
        },
        headers=headers,
        timeout=10,
    )
    assert declared.status_code == 201, declared.text
    number = declared.json()["number"]
    outbox.run_once()
    [card] = lark.messages_to(seed.LI_LEI.open_id)
    assert card.title == f"#{number} checkout 5xx"
    assert card.buttons[:2] == zh("Acknowledge", "Resolve")

    acked = requests.post(f"{api}/incidents/{number}/acknowledge", headers=headers, timeout=10)
    assert acked.json()["status"] == "Processing"
    outbox.run_once()
    card = lark.message(card.message_id)
    assert card.buttons[:2] == zh("Unacknowledge", "Resolve")
    assert card.content.count(zh_token) == 1  # acknowledged by the token, not "the system"

    resolved = requests.post(f"{api}/incidents/{number}/resolve", headers=headers, timeout=10)
    assert resolved.json()["status"] == "Closed"
    outbox.run_once()
    card = lark.message(card.message_id)
    assert zh("Reopen")[0] in card.buttons and zh("Acknowledge")[0] not in card.buttons
    assert card.content.count(zh_token) == 2  # and resolved by it
    assert card.updates == 2
    assert len(lark.messages_to(seed.LI_LEI.open_id)) == 1  # one card, updated in place
