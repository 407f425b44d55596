"""Declaring an incident by hand in a real browser, on a 390 px phone and on the desktop,
in English and Chinese. Screenshots land in tests/artifacts/declare-*.png."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot, small_targets
from tests.incident_pages_support import integration
from tests.test_incident_pages_browser import open_as
from webapp.extensions import db
from webapp.models import LarkIntegration

pytestmark = pytest.mark.browser


@pytest.fixture
def lark(owner: factories.Persona, live_server: str) -> LarkIntegration:
    return integration(owner.account)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_new_incident_from_the_list_to_its_detail(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: dict[str, int],
) -> None:
    factories.channel(owner.account, [owner.member, member.member], name="Payments")
    page = open_as(page_at, viewport, app, live_server, owner, lark)
    page.get_by_role("link", name="New incident").click()
    expect(page.get_by_role("heading", name="New incident")).to_be_visible()
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:  # a radio or checkbox is pressed through its whole label
        assert small_targets(page, within=".inc-new div.field, .inc-new .form-actions") == []
        labels = page.locator(".inc-new label.choice").evaluate_all(
            "(all) => all.map((l) => l.getBoundingClientRect().height)"
        )
        assert labels and min(labels) >= 44
    page.get_by_label("Title").fill("Checkout is slow")
    page.get_by_label("Critical").check()
    page.get_by_label("Channel").select_option(label="Payments")
    page.get_by_label(member.member.name).check()
    size = "phone" if viewport is PHONE else "desktop"
    screenshot(page, f"declare-form-{size}")
    page.get_by_role("button", name="Declare the incident").click()
    expect(page.locator("#incident-detail")).to_contain_text("Checkout is slow")
    expect(page.locator("body")).to_contain_text("declared.")
    screenshot(page, f"declare-done-{size}", full_page=False)


def test_the_form_in_chinese_at_390_px(
    page_at: PageAt, app: Flask, live_server: str, lark: LarkIntegration, owner: factories.Persona
) -> None:
    page = open_as(page_at, PHONE, app, live_server, owner, lark)
    owner.member.locale = "zh"
    db.session.commit()
    page.goto(f"{live_server}/lark/{lark.key}/incidents/new")
    expect(page.get_by_role("heading", name="新建故障")).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "declare-form-phone-zh")
