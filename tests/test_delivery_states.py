"""Every target accounted for: per incident and each person or chat its dispatch policy
named, "Who was told" on the incident page shows one state (delivered, waiting, failed), and
the timeline gets a line the first time a target fails or waits more than a minute.

Each failure reason the Lark client knows is made to happen in the sandbox."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.test_dispatch import bind, rule
from tests.test_outbox import later
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Channel, Incident, LarkBinding, LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

SEND = "/open-apis/im/v1/messages"
CHAT = seed.ONCALL_CHAT.chat_id


@dataclass(frozen=True)
class Case:
    reason: str
    to_chat: bool  # the policy names only the chat (else only the person)
    arrange: Callable[[LarkSandbox], None]
    state: str  # what "Who was told" says
    line: str  # the timeline event's words
    shown: str  # words on the page that name the failure
    # run the worker again as if this many seconds had passed (a wait over a minute)
    after: float = 0.0


def _no_arrangement(lark: LarkSandbox) -> None:
    return None


CASES = [
    Case(
        "quota",
        False,
        lambda lark: lark.set_quota(edition="free", monthly_quota=10, usage=10),
        "failed",
        "notification failed",
        "monthly API quota is used up",
    ),
    Case(
        "rate_limited",
        False,
        lambda lark: lark.fail(SEND, code=99991400),
        "waiting",
        "notification waiting",
        "rate limit holds it back",
        after=70,
    ),
    Case("not_linked", False, _no_arrangement, "failed", "notification failed", "未关联应用"),
    Case(
        "outside_availability",
        False,
        lambda lark: lark.fail(SEND, code=230013),
        "failed",
        "notification failed",
        "availability range",
    ),
    Case(
        "bot_not_in_chat",
        True,
        lambda lark: lark.fail(SEND, code=230002),
        "failed",
        "notification failed",
        "Add the bot to the chat",
    ),
    Case(
        "chat_gone",
        True,
        lambda lark: lark.dissolve_chat(CHAT),
        "failed",
        "notification failed",
        "was dissolved",
    ),
    Case(
        "bad_credentials",
        False,
        lambda lark: lark.fail(SEND, code=99991543),
        "failed",
        "notification failed",
        "refused the App ID or App Secret",
    ),
    Case(
        "lark_down",
        False,
        lambda lark: lark.fail(SEND, status=503),
        "waiting",
        "notification waiting",
        "Lark answers with errors",
        after=70,
    ),
]


def _page(client: FlaskClient, integration: LarkIntegration, incident: Incident) -> str:
    db.session.expire_all()
    page = client.get(f"/lark/{integration.key}/incidents/{incident.number}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _region(page: str, region_id: str) -> str:
    start = page.index(f'id="{region_id}"')
    end = page.index("</section>", start)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[start:end])).split())


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_each_failure_reason_shows_a_state_and_a_timeline_line(
    case: Case, client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    started = time.monotonic()
    integration = factories.lark_integration(owner.account)
    if case.reason != "not_linked":
        bind(integration, owner.member, seed.LI_LEI.open_id)
    channel: Channel = factories.channel(owner.account, [owner.member])
    layer = {"chat_ids": [CHAT]} if case.to_chat else {"assignees": True}
    rule(channel, integration, [layer])
    case.arrange(lark)

    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])
    outbox.run_once()
    if case.after:
        later(case.after)

    sign_in(client, owner)
    binding = LarkBinding(integration_id=integration.id, member_id=owner.member.id, open_id="x")
    if case.reason == "not_linked":  # the page needs a binding; the policy's one came too late
        db.session.add(binding)
        db.session.commit()
    else:
        binding = db.session.query(LarkBinding).filter_by(member_id=owner.member.id).one()
    with client.session_transaction() as session:
        session["lark"] = {"key": integration.key, "binding": binding.id}
    page = _page(client, integration, incident)

    told = _region(page, "who-was-told")
    target = seed.ONCALL_CHAT.name if case.to_chat else owner.member.name
    assert f"{case.state}" in told and case.shown in told, told
    assert page.count('data-state="') >= 1
    timeline = _region(page, "incident-timeline")
    assert case.line in timeline and case.shown in timeline, timeline
    assert target in told or CHAT in told
    print(f"{case.reason}: {time.monotonic() - started:.2f}s")


def test_a_delivered_card_shows_when_and_which_message(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    binding = bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])
    outbox.run_once()
    [card] = lark.messages_to(seed.LI_LEI.open_id)

    sign_in(client, owner)
    with client.session_transaction() as session:
        session["lark"] = {"key": integration.key, "binding": binding.id}
    told = _region(_page(client, integration, incident), "who-was-told")
    assert "delivered" in told and card.message_id in told and owner.member.name in told


def test_a_quota_refusal_never_waits_for_next_month(
    owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    lark.set_quota(edition="free", monthly_quota=10, usage=10)
    incident = factories.incident(owner.account, ch=channel, assignees=[owner.member])
    outbox.run_once()
    from tests.test_dispatch import rows

    [row] = rows(incident)
    assert (row.status.value, row.reason) == ("failed", "quota")


def test_an_admin_sees_who_was_told_from_the_last_failures(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [member.member])
    rule(channel, integration, [{"member_ids": [member.member.id]}])
    incident = factories.incident(owner.account, ch=channel, title="Queue backlog")
    outbox.run_once()
    sign_in(client, owner)

    diagnostics = client.get("/admin/diagnostics").get_data(as_text=True)
    link = f"/admin/incidents/{incident.number}/delivery"
    assert f'href="{link}"' in diagnostics
    page = client.get(link).get_data(as_text=True)
    told = _region(page, "who-was-told")
    assert member.member.name in told and "failed" in told and "未关联应用" in told
    assert "notification failed" in _region(page, "incident-timeline")


def test_the_admin_delivery_page_is_for_admins_of_the_incident_s_account(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account)
    sign_in(client, member)
    assert client.get(f"/admin/incidents/{incident.number}/delivery").status_code == 403
    other_admin = factories.persona("owner")  # the owner of another account
    sign_in(client, other_admin)
    assert client.get(f"/admin/incidents/{incident.number}/delivery").status_code == 404
