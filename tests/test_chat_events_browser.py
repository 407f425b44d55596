"""In a real browser: the bot added to a group in the sandbox's Lark client shows up in the
open dispatch rule form without a reload; the integration page shows the event URL."""

from __future__ import annotations

import shutil
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
    screenshot,
    sign_in_at_login,
    small_targets,
    tour_dir,
)
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

TOUR = tour_dir()
PAYMENTS = seed.PAYMENTS_CHAT


def _signed_in(page_at: PageAt, live_server: str, owner: factories.Persona, **opts: Any) -> Page:
    page = page_at(opts.pop("viewport", DESKTOP), **opts)
    sign_in_at_login(page, live_server, owner)
    return page


def _tour(shot: Path) -> None:
    shutil.copy(shot, TOUR / shot.name)


@pytest.mark.browser
def test_adding_the_bot_in_the_lark_client_shows_the_chat_in_the_open_rule_form(
    page_at: PageAt, live_server: str, owner: factories.Persona, lark: LarkSandbox
) -> None:
    integration = factories.lark_integration(owner.account)
    lark.app().configure(event_request_url=f"{live_server}/lark/{integration.key}/events")
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    admin = _signed_in(page_at, live_server, owner)
    admin.goto(f"{live_server}/admin/channels/{channel.id}/dispatch/new")
    layer = admin.locator("#layer0-chats")
    assert PAYMENTS.name not in layer.inner_text()
    admin.get_by_label(seed.ONCALL_CHAT.name).first.check()  # a tick made before the change

    client = page_at(DESKTOP, lark=True)
    client.goto(f"{live_server}/_lark/")
    client.locator(f"form:has(input[value='{seed.LI_LEI.open_id}']) button").first.click()
    client.goto(f"{live_server}/_lark/messenger/{PAYMENTS.chat_id}")
    client.get_by_text("Group settings").click()
    client.locator("#bot-app").select_option(seed.DEMO_APP_ID)
    client.get_by_role("button", name="Add bot").click()
    client.wait_for_load_state()
    screenshot(client, "chat-events-lark-bot-added")

    admin.bring_to_front()
    layer.get_by_label(PAYMENTS.name).wait_for(timeout=12_000)  # polled, no reload
    assert admin.get_by_label(seed.ONCALL_CHAT.name).first.is_checked()
    assert not layer.get_by_label(PAYMENTS.name).is_checked()
    _tour(screenshot(admin, "dispatch-form-chat-appears-desktop-en"))


@pytest.mark.browser
@pytest.mark.parametrize(
    "locale, label", [("en-US", "Event request URL"), ("zh-CN", "事件请求地址")]
)
def test_the_integration_page_shows_the_event_url_on_a_phone(
    page_at: PageAt, live_server: str, owner: factories.Persona, locale: str, label: str
) -> None:
    integration = factories.lark_integration(owner.account)
    page = _signed_in(page_at, live_server, owner, viewport=PHONE, locale=locale)
    page.goto(f"{live_server}/admin/integrations/{integration.id}")

    field = page.locator("#url-events")
    assert field.input_value() == f"{live_server}/lark/{integration.key}/events"
    assert label in page.locator("label[for=url-events]").inner_text()
    assert "im.message.receive_v1" in page.locator("#url-events-where").inner_text()
    assert horizontal_overflow(page) == 0
    assert small_targets(page) == []
    page.evaluate("() => document.querySelector('#urls-title').scrollIntoView()")
    _tour(screenshot(page, f"integration-event-url-phone-{locale[:2]}", full_page=False))
