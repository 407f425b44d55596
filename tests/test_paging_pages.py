"""The rules pages: a member edits their own ladder from the web app's menu and sends
themselves a test buzz; an admin sets the account's defaults, reserves phone buzzes for
Critical, and sees this month's buzzes with a forecast."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_dispatch import bind
from tests.test_outbox import later
from tests.test_paging import _told
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.lark import usage
from webapp.models import LarkBinding, LarkIntegration, PagingRule, utcnow
from webapp.paging import budget, rules
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox


def _in_lark(client: FlaskClient, persona: factories.Persona, open_id: str) -> LarkIntegration:
    integration = factories.lark_integration(persona.account)
    binding: LarkBinding = bind(integration, persona.member, open_id)
    sign_in(client, persona)
    with client.session_transaction() as session:
        session["lark"] = {"key": integration.key, "binding": binding.id}
    return integration


def _form(token: str, **fields: str) -> dict[str, Any]:
    base = {"csrf_token": token, "quiet_start": "22:00", "quiet_end": "07:00"}
    base.update(fields)
    return base


def test_the_menu_leads_to_the_member_s_rules_with_the_starting_ladder(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    home = client.get(f"/lark/{integration.key}/", follow_redirects=True).get_data(as_text=True)
    assert f'href="/lark/{integration.key}/paging"' in home
    page = client.get(f"/lark/{integration.key}/paging").get_data(as_text=True)
    assert "You follow the account's default rules" in page
    assert 'name="Critical-via-2"' in page
    assert 'value="phone" selected' in page  # Critical's third step: phone buzz
    assert 'name="Info-quiet" value="1" checked' in page


def test_a_member_saves_their_own_ladder_and_it_applies_to_them(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    path = f"/lark/{integration.key}/paging"
    answer = client.post(
        path,
        data=_form(
            csrf_token(client, path),
            **{"Critical-after-0": "0", "Critical-via-0": "card"},
            **{"Critical-after-1": "2", "Critical-via-1": "sms"},
            **{"Warning-after-0": "0", "Warning-via-0": "card"},
            **{"Info-after-0": "0", "Info-via-0": "card", "Info-quiet": "1"},
        ),
    )
    assert answer.status_code == 303
    ladder = rules.ladder_for(owner.member, "Critical")
    assert (ladder.source, [(s.after, s.via) for s in ladder.steps]) == (
        "own",
        [(0, "card"), (2, "sms")],
    )
    page = client.get(path).get_data(as_text=True)
    assert "Use the account's default rules" in page  # they have rules of their own now
    back = client.post(f"{path}/reset", data={"csrf_token": csrf_token(client, path)})
    assert back.status_code == 303
    assert rules.ladder_for(owner.member, "Critical").source == "built_in"


def test_a_rule_that_cannot_be_kept_is_refused_and_nothing_changes(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    path = f"/lark/{integration.key}/paging"
    answer = client.post(
        path,
        data=_form(csrf_token(client, path), **{"Critical-after-0": "5", "Critical-via-0": "fax"}),
    )
    assert answer.status_code == 422
    assert "Choose card, in-app buzz" in answer.get_data(as_text=True)
    assert db.session.scalars(select(PagingRule)).all() == []


def test_saving_without_the_csrf_token_is_refused(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    answer = client.post(f"/lark/{integration.key}/paging", data=_form(""))
    assert answer.status_code == 400
    assert db.session.scalars(select(PagingRule)).all() == []


def test_send_me_a_test_buzz_rings_a_card_in_lark(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    path = f"/lark/{integration.key}/paging"
    answer = client.post(f"{path}/test", data={"csrf_token": csrf_token(client, path)})
    assert answer.status_code == 303
    outbox.run_once()

    [card] = lark.messages_to(seed.LI_LEI.open_id)
    assert card.title in ("Test buzz from On-call", "来自值班的测试加急")
    assert [(b.message_id, b.via) for b in lark.buzzes(seed.LI_LEI.open_id)] == [
        (card.message_id, "app")
    ]
    page = client.get(path).get_data(as_text=True)
    assert 'data-state="delivered"' in page


def test_a_test_buzz_refused_for_a_missing_scope_names_the_scope(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    lark.set_scopes(seed.DEMO_APP_ID, [])
    path = f"/lark/{integration.key}/paging"
    client.post(f"{path}/test", data={"csrf_token": csrf_token(client, path)})
    outbox.run_once()
    page = client.get(path).get_data(as_text=True)
    assert 'data-state="failed"' in page and "im:message.urgent" in page


def test_a_member_gets_403_on_the_account_defaults(
    client: FlaskClient, member: factories.Persona
) -> None:
    sign_in(client, member)
    assert client.get("/admin/paging").status_code == 403
    assert client.post("/admin/paging", data={}).status_code in (400, 403)


def test_an_admin_sets_the_defaults_and_reserves_phone_buzzes(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    sign_in(client, owner)
    answer = client.post(
        "/admin/paging",
        data=_form(
            csrf_token(client, "/admin/paging"),
            **{"Critical-after-0": "0", "Critical-via-0": "card"},
            **{"Critical-after-1": "1", "Critical-via-1": "phone"},
            reserve_phone="1",
        ),
    )
    assert answer.status_code == 303
    ladder = rules.ladder_for(member.member, "Critical")
    assert (ladder.source, [s.via for s in ladder.steps]) == ("account", ["card", "phone"])
    assert rules.settings_of(owner.account.id).reserve_phone_for_critical is True
    page = client.get("/admin/paging").get_data(as_text=True)
    assert 'name="reserve_phone" value="1" checked' in page


@pytest.mark.now("2026-06-15T10:00:00+08:00")  # mid-month: the phone buzz falls in the same month
def test_the_budget_counts_sms_and_phone_buzzes_with_a_forecast(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    _told(owner)
    outbox.run_once()
    later(5 * 60 + 1)  # the phone buzz
    sign_in(client, owner)
    page = client.get("/admin/paging").get_data(as_text=True)
    start = page.index('id="pg-budget"')
    row = page[start : page.index("</tbody>", start)]
    assert "<td>1</td><td>0</td><td>1</td>" in row  # in-app 1, SMS 0, phone 1


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_rules_page_speaks_both_languages(
    locale: str, client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    owner.member.locale = locale
    db.session.commit()
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    page = client.get(f"/lark/{integration.key}/paging").get_data(as_text=True)
    assert ("My notification rules" if locale == "en" else "我的通知规则") in page
    assert ("Send me a test buzz" if locale == "en" else "给我发一条测试加急") in page


def _checklist_step(integration: LarkIntegration, key: str) -> Any:
    from webapp.diagnostics import checklist

    db.session.expire_all()
    return next(s for s in checklist.steps(integration) if s.key == key)


def test_the_setup_checklist_ticks_the_urgent_scopes_only_from_a_buzz(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = _in_lark(client, owner, seed.LI_LEI.open_id)
    assert _checklist_step(integration, "urgent_scopes").status.value == "waiting"
    lark.set_scopes(seed.DEMO_APP_ID, [])
    path = f"/lark/{integration.key}/paging"
    client.post(f"{path}/test", data={"csrf_token": csrf_token(client, path)})
    outbox.run_once()
    assert _checklist_step(integration, "urgent_scopes").status.value == "failing"
    lark.set_scopes(seed.DEMO_APP_ID, ["im:message.urgent"])
    client.post(f"{path}/test", data={"csrf_token": csrf_token(client, path)})
    outbox.run_once()
    step = _checklist_step(integration, "urgent_scopes")
    assert (step.status.value, step.evidence) == ("done", "Buzzes Lark accepted: app.")


def test_a_used_up_buzz_quota_turns_diagnostics_red_and_shows_on_the_license_page(
    client: FlaskClient, owner: factories.Persona, lark: LarkSandbox
) -> None:
    from webapp.diagnostics.limits import buzz_quota_check

    integration, _incident = _told(owner)
    assert buzz_quota_check(integration).status.value == "ok"
    lark.set_buzz_quota(quota=0)
    outbox.run_once()
    later(5 * 60 + 1)
    db.session.expire_all()
    check = buzz_quota_check(integration)
    assert check.status.value == "failing" and "230024" in check.evidence
    assert "buy more buzzes" in check.fix
    sign_in(client, owner)
    diagnostics = client.get("/admin/diagnostics").get_data(as_text=True)
    assert "SMS and phone buzz quota" in diagnostics
    license_page = client.get("/admin/license").get_data(as_text=True)
    assert 'id="pg-budget"' in license_page and "230024" in license_page


def test_the_forecast_carries_this_month_s_pace_to_its_end() -> None:
    now = utcnow()
    start, end = usage.month_starts_at(now), usage.quota_resets_at(now)
    halfway = start + (end - start) / 2
    assert budget.forecast(7, halfway) == 14
    assert budget.forecast(0, halfway) == 0
