"""A member without a license seat is told before pressing anything: a banner naming whom to
ask, the License page, and disabled action buttons that say why."""

from __future__ import annotations

import json
import re

import flask_babel
import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.incident_pages_support import csrf_from, enter, integration
from webapp.extensions import db
from webapp.models import LarkIntegration

HX = {"HX-Request": "true"}


@pytest.fixture
def lark(owner: factories.Persona) -> LarkIntegration:
    return integration(owner.account)


@pytest.fixture
def seatless(owner: factories.Persona) -> factories.Persona:
    persona = factories.persona("member", account=owner.account, seat=False)
    persona.member.locale = "en"
    db.session.commit()
    return persona


def test_a_member_without_a_seat_sees_a_banner_naming_the_admins_and_the_license_page(
    client: FlaskClient,
    owner: factories.Persona,
    seatless: factories.Persona,
    lark: LarkIntegration,
) -> None:
    factories.incident(owner.account, "Disk full on db-01")
    enter(client, seatless, lark)
    page = client.get(f"/lark/{lark.key}/incidents?scope=all").get_data(as_text=True)
    banner = page[page.index('id="no-seat-banner"') :]
    banner = banner[: banner.index("</div>")]
    assert "You have no license seat." in banner
    assert f"Ask an admin to assign you one: {owner.member.name}." in banner
    assert re.search(r'<a href="[^"]*/license">Open the License page</a>', banner)


def test_the_seatless_member_s_buttons_are_disabled_with_the_reason(
    client: FlaskClient,
    owner: factories.Persona,
    seatless: factories.Persona,
    lark: LarkIntegration,
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    enter(client, seatless, lark)
    page = client.get(f"/lark/{lark.key}/incidents?scope=all").get_data(as_text=True)
    row = page[page.index(f'id="incident-{incident.number}"') :]
    row = row[: row.index("</tr>")]
    buttons = re.findall(r"<button [^>]*>", row)
    assert buttons and all("disabled" in b for b in buttons)
    assert all(
        'title="You have no license seat, so you cannot act on incidents."' in b for b in buttons
    )
    assert "<details" not in row  # no "More" menu of things they cannot do
    bulk = page[page.index('id="bulk-form"') :]
    bulk = bulk[: bulk.index("</form>")]
    assert all("disabled" in b for b in re.findall(r"<button [^>]*>", bulk))
    detail = client.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    actions = detail[
        detail.index('id="inc-act-detail"') : detail.index(
            "</form>", detail.index('id="inc-act-detail"')
        )
    ]
    assert all("disabled" in b for b in re.findall(r"<button [^>]*>", actions))
    assert 'name="minutes"' not in detail and 'id="reassign"' not in detail


def test_in_chinese_the_banner_says_the_same(
    client: FlaskClient,
    owner: factories.Persona,
    seatless: factories.Persona,
    lark: LarkIntegration,
) -> None:
    seatless.member.locale = "zh"
    db.session.commit()
    enter(client, seatless, lark)
    flask_babel.refresh()
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    assert "您没有许可证席位。" in page
    assert f"请联系管理员为您分配一个：{owner.member.name}。" in page


def test_a_member_with_a_seat_sees_no_banner_and_live_buttons(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    enter(client, owner, lark)
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    assert 'id="no-seat-banner"' not in page
    row = page[page.index(f'id="incident-{incident.number}"') :]
    assert "disabled" not in row[: row.index("</tr>")]


def test_a_refused_row_action_says_why_inside_the_row_not_in_a_floating_toast(
    client: FlaskClient,
    owner: factories.Persona,
    seatless: factories.Persona,
    lark: LarkIntegration,
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    enter(client, seatless, lark)
    token = csrf_from(client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True))
    response = client.post(
        f"/lark/{lark.key}/incidents/{incident.number}/acknowledge",
        data={"version": str(incident.version), "region": "row"},
        headers={**HX, "X-CSRFToken": token},
    )
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert re.search(
        r'<p class="inc-refusal inc-refusal-error" role="alert">You have no license seat', body
    )
    toast = json.loads(response.headers["HX-Trigger"])["toast"]
    assert toast["inline"] is True and "license seat" in toast["message"]


def test_switch_account_asks_before_it_unlinks(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    menu = page[page.index('id="lk-switch"') :]
    menu = menu[: menu.index("</details>")]
    summary = menu[: menu.index("</summary>")]
    assert "Switch account" in summary and "<button" not in summary  # opening it unlinks nothing
    assert f"Unlink your Lark user from {owner.member.name} and sign in as another member?" in menu
    assert re.search(
        r'<button class="btn btn-small btn-danger" type="submit">Yes, switch account</button>', menu
    )
