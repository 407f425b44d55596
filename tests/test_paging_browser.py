"""The notification rules page in a real browser, desktop and phone, English and Chinese,
reached from the web app's menu; and a buzzed card ringing in the sandbox's Lark client until
the person opens it. Both go into the product tour."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    PageAt,
    axe_violations,
    horizontal_overflow,
    screenshot,
    small_targets,
    tour_dir,
)
from tests.test_dispatch import bind, rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.identity import sessions
from webapp.models import LarkIntegration
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

TOUR = tour_dir()
CASES = [
    pytest.param(DESKTOP, "en", id="desktop-en"),
    pytest.param(PHONE, "en", id="phone-en"),
    pytest.param(DESKTOP, "zh", id="desktop-zh"),
    pytest.param(PHONE, "zh", id="phone-zh"),
]
WORDS = {
    "en": {
        "menu": "My notification rules",
        "save": "Save my rules",
        "saved": "Saved. Your rules apply",
        "test": "Send me a test buzz",
        "sent": "A test card is on its way",
    },
    "zh": {
        "menu": "我的通知规则",
        "save": "保存我的规则",
        "saved": "已保存。你的规则",
        "test": "给我发一条测试加急",
        "sent": "测试卡片正在发往你的飞书",
    },
}


def _size(viewport: dict[str, int]) -> str:
    return "desktop" if viewport is DESKTOP else "phone"


def _open_web_app(
    page_at: PageAt,
    viewport: dict[str, int],
    app: Flask,
    live_server: str,
    owner: factories.Persona,
    integration: LarkIntegration,
    locale: str,
) -> Page:
    """The web app inside Lark, signed in (the cookie the OAuth round trip leaves)."""
    binding = bind(integration, owner.member, seed.LI_LEI.open_id)
    owner.member.locale = locale
    db.session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {
            "_user_id": str(owner.member.id),
            "_fresh": True,
            sessions.SESSION_ID: sessions.start_record(owner.member, "browser test"),
            "lark": {"key": integration.key, "binding": binding.id},
        }
    )
    page = page_at(viewport, lark=True, locale="zh-CN" if locale == "zh" else "en-US")
    host = urlsplit(live_server).hostname
    page.context.add_cookies(
        [{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "domain": host, "path": "/"}]
    )
    page.goto(f"{live_server}/lark/{integration.key}/incidents")
    return page


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "locale"), CASES)
def test_a_member_edits_their_rules_and_sends_a_test_buzz(
    viewport: dict[str, int],
    locale: str,
    page_at: PageAt,
    app: Flask,
    live_server: str,
    owner: factories.Persona,
    lark: LarkSandbox,
) -> None:
    words = WORDS[locale]
    integration = factories.lark_integration(owner.account)
    page = _open_web_app(page_at, viewport, app, live_server, owner, integration, locale)
    page.locator("#lk-menu summary.lk-me").click()
    page.get_by_role("link", name=words["menu"]).click()
    page.get_by_role("heading", name=words["menu"]).wait_for()
    assert horizontal_overflow(page) == 0
    assert small_targets(page, minimum=24, within="#pg-rules, #pg-test") == []
    assert axe_violations(page, "#pg-rules") == []
    name = f"paging-rules-{_size(viewport)}-{locale}"
    shutil.copy(screenshot(page, name), TOUR / f"{name}.png")

    page.select_option("select[name=Warning-via-2]", "sms")
    page.fill("input[name=Warning-after-2]", "20")
    page.get_by_role("button", name=words["save"]).click()
    page.get_by_text(words["saved"]).wait_for()
    assert page.locator("select[name=Warning-via-2]").input_value() == "sms"

    page.get_by_role("button", name=words["test"]).click()
    page.get_by_text(words["sent"]).wait_for()
    outbox.run_once()
    [card] = lark.messages_to(seed.LI_LEI.open_id)
    assert [b.message_id for b in lark.buzzes(seed.LI_LEI.open_id)] == [card.message_id]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "locale"),
    [pytest.param(DESKTOP, "en", id="desktop-en"), pytest.param(PHONE, "zh", id="phone-zh")],
)
def test_a_buzzed_card_rings_in_the_lark_client_until_it_is_opened(
    viewport: dict[str, int],
    locale: str,
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    lark: LarkSandbox,
) -> None:
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    owner.member.locale = locale
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": True}])
    factories.incident(owner.account, title="db-01 is down", ch=channel, assignees=[owner.member])
    outbox.run_once()

    page = page_at(viewport, locale="zh-CN" if locale == "zh" else "en-US")
    page.goto(f"{live_server}/_lark/")
    page.get_by_role("button", name=seed.LI_LEI.name).click()
    page.get_by_role("link", name=seed.DEMO_APP_NAME).first.click()
    banner = page.locator(".lk-buzz")
    banner.wait_for()
    assert horizontal_overflow(page) == 0
    name = f"buzzing-card-{_size(viewport)}-{locale}"
    shutil.copy(screenshot(page, name), TOUR / f"{name}.png")
    banner.get_by_role("button").click()
    page.locator(".lk-buzz").wait_for(state="detached")
    assert [b.read for b in lark.buzzes(seed.LI_LEI.open_id)] == [True]
