"""Nobody lands on a dead end: the admin's landing page after /login leads everywhere."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from flask_babel import refresh

from tests import factories
from tests.conftest import sign_in
from tests.factories import Persona
from webapp.extensions import db


def links(page: str) -> dict[str, str]:
    """{link text: href} of a page."""
    return {
        re.sub(r"\s+", " ", text).strip(): href
        for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S)
    }


def test_an_admin_without_an_integration_is_told_to_create_one_and_finds_every_admin_page(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    page = client.get("/").get_data(as_text=True)
    found = links(page)
    assert "Next step: connect your Lark app." in page
    assert found["Create your first Lark integration"] == "/admin/integrations/new"
    assert found["Integration center"] == "/admin/integrations"
    assert found["License"] == "/admin/license"
    assert found["Channels' dispatch"] == "/admin/channels"
    assert found["Diagnostics"] == "/admin/diagnostics"
    for href in found.values():
        if href.startswith("/admin"):
            assert client.get(href).status_code == 200, href


def test_an_admin_with_an_integration_gets_its_page_and_web_app_and_no_setup_prompt(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    sign_in(client, owner)
    page = client.get("/").get_data(as_text=True)
    found = links(page)
    assert "Next step" not in page
    assert found[integration.name] == f"/admin/integrations/{integration.id}"
    assert found["Open the web app"] == f"/lark/{integration.key}/"


def test_a_plain_member_is_sent_to_lark_and_to_the_pages_they_may_read(
    client: FlaskClient, member: Persona
) -> None:
    sign_in(client, member)
    page = client.get("/").get_data(as_text=True)
    found = links(page)
    assert "Open the on-call app from the Lark workbench" in page
    assert "Integration center" not in found
    assert found["License"] == "/admin/license"


def test_the_landing_page_speaks_chinese_to_a_member_who_chose_it(
    client: FlaskClient, owner: Persona
) -> None:
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    refresh()
    page = client.get("/").get_data(as_text=True)
    assert "下一步：连接您的 Lark 应用。" in page
    assert links(page)["集成中心"] == "/admin/integrations"
