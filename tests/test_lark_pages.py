"""License and diagnostics opened from the Lark homepage stay inside the web app's shell."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from tests.test_dispatch import bind
from webapp.models import LarkIntegration
from webapp.views.lark_context import SESSION_KEY


def in_lark(client: FlaskClient, integration: LarkIntegration, persona: Persona) -> None:
    binding = bind(integration, persona.member, f"ou_{persona.member.id}")
    sign_in(client, persona)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}


def nav(page: str) -> dict[str, str]:
    block = re.search(r'<nav class="lk-nav".*?</nav>', page, re.S)
    assert block, "no web app navigation"
    return dict(
        (text.strip(), href) for href, text in re.findall(r'href="([^"]+)"[^>]*>([^<]+)<', block[0])
    )


def test_a_member_reads_the_license_inside_the_web_app_with_a_way_back(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    member = factories.persona("member", account=owner.account, seat=False)
    in_lark(client, integration, member)
    page = client.get(f"/lark/{integration.key}/incidents").get_data(as_text=True)
    assert nav(page)["License"] == f"/lark/{integration.key}/license"
    assert nav(page)["Diagnostics"] == f"/lark/{integration.key}/diagnostics"
    page = client.get(f"/lark/{integration.key}/license").get_data(as_text=True)
    assert 'class="lk-topbar' in page and "admin-bar" not in page
    assert 'aria-current="page">License<' in page
    assert "You have no license seat, so you cannot act on incidents yet." in page
    assert owner.member.name in page
    assert "/admin/" not in page
    assert f'href="/lark/{integration.key}/">Back to my incidents' in page


def test_a_member_reads_their_diagnostics_inside_the_web_app(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    in_lark(client, integration, member)
    page = client.get(f"/lark/{integration.key}/diagnostics").get_data(as_text=True)
    assert 'class="lk-topbar' in page and "admin-bar" not in page
    assert 'aria-current="page">Diagnostics<' in page
    assert 'id="member-status"' in page and "You hold a license seat." in page
    assert "/admin/" not in page
    assert "Ask an admin:" in page


def test_an_admin_in_the_web_app_finds_the_admin_pages_from_there(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    in_lark(client, integration, owner)
    license_page = client.get(f"/lark/{integration.key}/license").get_data(as_text=True)
    assert 'href="/admin/license">Manage seats in the admin pages' in license_page
    diagnostics = client.get(f"/lark/{integration.key}/diagnostics").get_data(as_text=True)
    assert 'href="/admin/diagnostics">Open the full diagnostics' in diagnostics
    assert "admin-bar" in client.get("/admin/license").get_data(as_text=True)  # still admin


def test_without_a_lark_session_the_pages_start_the_lark_sign_in(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    other = factories.lark_integration(outsider.account, key="theirs")
    in_lark(client, other, outsider)
    for path in ("license", "diagnostics"):
        response = client.get(f"/lark/{integration.key}/{path}")
        assert response.status_code == 302
        assert (
            "/authen/" in response.headers["Location"]
            or "authorize" in response.headers["Location"]
        )
        assert client.get(f"/lark/nope/{path}").status_code == 404
