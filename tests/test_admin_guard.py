"""One admin guard and one "this account's row or 404" rule for every admin page
(webapp/views/access.py): a visitor is sent to sign in, and another account's rows answer
exactly as rows that do not exist."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_schedules import weekly_schedule
from webapp.views import access

ADMIN_PAGES = ("/admin/channels", "/admin/sources/", "/admin/insights/", "/admin/members")


def test_every_admin_blueprint_shares_the_one_guard(app: Flask) -> None:
    guarded = {
        name
        for name, functions in app.before_request_funcs.items()
        if access.signed_in_admin in functions
    }
    assert {"dispatch", "sources", "insights", "members"} <= guarded


def test_a_visitor_is_sent_to_sign_in_and_a_member_is_refused(
    client: FlaskClient, member: Persona
) -> None:
    for page in ADMIN_PAGES:
        visitor = client.get(page)
        assert visitor.status_code == 302 and "/login" in visitor.headers["Location"], page
    sign_in(client, member)
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 403, page


def test_another_account_s_rows_answer_as_missing_ones(
    client: FlaskClient, owner: Persona, member: Persona, outsider: Persona
) -> None:
    elsewhere = factories.channel(outsider.account, [outsider.member], name="Payroll")
    theirs = {
        "channel": f"/admin/channels/{elsewhere.id}/dispatch",
        "source": f"/admin/sources/{factories.alert_source(outsider.account, elsewhere).id}",
        "integration": f"/admin/integrations/{factories.lark_integration(outsider.account).id}",
        "schedule": f"/schedules/{weekly_schedule(outsider, outsider).id}",
        "insights": f"/admin/insights/?channel={elsewhere.id}",
    }
    missing = {
        "channel": "/admin/channels/999999/dispatch",
        "source": "/admin/sources/999999",
        "integration": "/admin/integrations/999999",
        "schedule": "/schedules/999999",
        "insights": "/admin/insights/?channel=999999",
    }
    sign_in(client, owner)
    for what, url in theirs.items():
        answer, absent = client.get(url), client.get(missing[what])
        assert answer.status_code == absent.status_code == 404, what
        assert answer.get_data() == absent.get_data(), what
        assert "Payroll" not in answer.get_data(as_text=True), what
