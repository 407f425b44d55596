"""Lark's answer is the truth about the quota: a 99991403 marks the tenant's quota used up
whatever edition the form says, and every page that speaks of the quota follows it."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.test_diagnostics import ONCALL, bind, check, rule
from webapp.delivery import lark_limits
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Edition, LarkIntegration, utcnow
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def _exhausted_paid(owner: factories.Persona, lark: LarkSandbox) -> LarkIntegration:
    """A paid integration (as the form said) on a tenant whose free quota is used up."""
    integration = factories.lark_integration(owner.account)
    assert integration.edition is Edition.PAID
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True, "chat_ids": [ONCALL]}])
    lark.set_quota(edition="free", monthly_quota=10, usage=10)
    factories.incident(owner.account, ch=channel, assignees=[owner.member], title="Disk full")
    outbox.run_once()
    db.session.expire_all()
    return integration


def test_a_99991403_sets_the_edition_to_free_and_the_integration_page_says_so(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _exhausted_paid(owner, lark)

    assert integration.edition is Edition.FREE
    assert lark_limits.quota_used_up(integration, utcnow())
    sign_in(client, owner)
    page = client.get(f"/admin/integrations/{integration.id}").get_data(as_text=True)
    assert 'id="edition-set-free"' in page and "free edition" in page
    assert "Lark answered 99991403" in page


@pytest.mark.now("2026-06-15T10:00:00+08:00")  # the dates it reads are stated
def test_the_quota_check_is_red_with_lark_s_figure_and_the_reset_date(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    _exhausted_paid(owner, lark)
    sign_in(client, owner)

    status, text = check(client, "quota")
    assert status == "failing"
    assert "quota is used up (99991403, 10,000 of 10,000 calls" in text
    assert "resets on July 1, 2026" in text  # the suite's clock: 15 June 2026
    page = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "No delivery failed." not in page
    assert "99991403" in page.split("failures")[-1]


def test_a_check_under_a_quota_failure_names_the_quota_not_the_credentials(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    _exhausted_paid(owner, lark)
    lark.fail("/open-apis/im/v1/chats", code=99991403)
    sign_in(client, owner)

    status, text = check(client, "chats")
    assert status == "warning"
    assert "Fix the credentials first" not in text
    assert "monthly API quota is used up" in text


def test_a_new_integration_form_defaults_to_the_free_edition(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/admin/integrations/new").get_data(as_text=True)
    checked = [line for line in page.splitlines() if 'name="edition"' in line and "checked" in line]
    assert len(checked) == 1 and 'value="free"' in checked[0]
