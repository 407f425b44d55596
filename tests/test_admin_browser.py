"""The admin pages in a real browser: phone width, touch targets, copy buttons, axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    PageAt,
    horizontal_overflow,
    same_origin,
    screenshot,
    sign_in_at_login,
    small_targets,
)
from webapp.extensions import db
from webapp.models import LicenseRefusal

AXE = Path(__file__).resolve().parent.parent / "static" / "axe-core-4.14.1.min.js"


def signed_in(page_at: PageAt, live_server: str, persona: factories.Persona, viewport: Any) -> Page:
    page = page_at(viewport)
    sign_in_at_login(page, live_server, persona)
    return page


def axe_violations(page: Page) -> list[str]:
    page.add_script_tag(url=same_origin(page, "/static/" + AXE.name))  # CSP: no inline
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [f"{v['id']}: {v['help']}" for v in found if v.get("impact") in ("serious", "critical")]


@pytest.mark.browser
def test_the_integration_page_fits_a_phone_and_its_copy_buttons_copy(
    page_at: PageAt, live_server: str, owner: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    page = signed_in(page_at, live_server, owner, PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server}/admin/integrations/{integration.id}")
    screenshot(page, "admin-integration-phone")
    assert horizontal_overflow(page) == 0
    assert small_targets(page) == []
    assert axe_violations(page) == []
    page.get_by_role("button", name="Copy Card request URL (消息卡片请求网址)").click()
    page.get_by_text("Copied").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == f"{live_server}/lark/demo/card"


@pytest.mark.browser
def test_test_credentials_answers_in_place(
    page_at: PageAt, live_server: str, owner: factories.Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    page = signed_in(page_at, live_server, owner, DESKTOP)
    page.goto(f"{live_server}/admin/integrations/{integration.id}")
    page.get_by_role("button", name="Test credentials").click()
    page.locator("#credentials .result-ok").wait_for()
    assert "Lark accepted the App ID and App Secret." in page.inner_text("#credentials")
    assert page.url.endswith(f"/admin/integrations/{integration.id}")  # swapped, not reloaded
    assert "1 of 10 steps confirmed" not in page.inner_text("#checklist")
    assert "2 of 11 steps confirmed" in page.inner_text("#checklist")


@pytest.mark.browser
def test_the_form_license_and_diagnostics_pages_fit_a_phone_and_pass_axe(
    page_at: PageAt, live_server: str, owner: factories.Persona
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    db.session.add(
        LicenseRefusal(
            account_id=owner.account.id, member_id=seatless.member.id, source="card", action="act"
        )
    )
    db.session.commit()
    factories.lark_integration(owner.account)
    page = signed_in(page_at, live_server, owner, PHONE)
    for path, name in (
        ("/admin/integrations/new", "admin-new-phone"),
        ("/admin/license", "admin-license-phone"),
        ("/admin/diagnostics", "admin-diagnostics-phone"),
    ):
        page.goto(f"{live_server}{path}")
        screenshot(page, name)
        assert horizontal_overflow(page) == 0, path
        assert axe_violations(page) == [], path
    page.goto(f"{live_server}/admin/license")
    assert small_targets(page) == []
    page.get_by_role("button", name=f"Assign a seat {seatless.member.name}").click()
    page.get_by_text(f"{seatless.member.name} now holds a seat.").wait_for()
    assert "2 of 10 seats in use" in page.inner_text("#seats")
