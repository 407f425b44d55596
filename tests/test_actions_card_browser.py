"""A snoozed incident's card in the sandbox's Lark client offers Resolve as well as Unsnooze,
the press resolves it, and the message header and the card body give times in one zone."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests import factories
from tests.browser import DESKTOP, PHONE, horizontal_overflow, screenshot
from webapp.cards.render import incident_card
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.lark.client import LarkClient
from webapp.models import LarkBinding, Platform, Source, Status
from webapp.sandbox import seed
from webapp.sandbox.handle import LarkSandbox

pytestmark = pytest.mark.browser

# tests/artifacts/tour/ on every run; with TOUR_DIR set (docs/tour), there as well.
TOUR_DIRS = [Path(__file__).resolve().parent / "artifacts" / "tour"] + (
    [Path(os.environ["TOUR_DIR"])] if os.environ.get("TOUR_DIR") else []
)
RUNS = {
    # language: platform, who reads the card, the device's zone, the words
    "en": (Platform.LARK, seed.WANG_FANG, "UTC", ("Unsnooze", "Resolve", "Resolved", "Reopen")),
    "zh": (
        Platform.FEISHU,
        seed.LI_LEI,
        "Asia/Shanghai",
        ("取消暂缓", "关闭", "已关闭", "重新打开"),
    ),
}


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_snoozed_card_offers_resolve_and_resolving_from_it_works(
    browser: Browser,
    live_server: str,
    lark: LarkSandbox,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    platform, reader, zone, words = RUNS[locale]
    unsnooze, resolve, resolved, reopen = words
    integration = factories.lark_integration(owner.account, key=f"k-snz-{locale}")
    integration.platform = platform
    lark.app().configure(card_request_url=f"{live_server}/lark/{integration.key}/card")
    db.session.add(
        LarkBinding(
            integration_id=integration.id, member_id=owner.member.id, open_id=reader.open_id
        )
    )
    db.session.commit()
    incident = factories.incident(owner.account, "Checkout latency above 2 s")
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 60)
    card = incident_card(incident, locale=locale, web_url="https://example.com/")
    LarkClient.for_integration(integration).send_card(
        "open_id", reader.open_id, card, uuid.uuid4().hex
    )

    phone = viewport is PHONE
    context = browser.new_context(
        viewport=viewport,
        locale="zh-CN" if locale == "zh" else "en-US",
        timezone_id=zone,
        is_mobile=phone,
        has_touch=phone,
    )
    try:
        page = context.new_page()
        page.goto(f"{live_server}/_lark/")
        page.get_by_role("button", name=reader.name).click()
        page.get_by_role("link", name=seed.DEMO_APP_NAME).first.click()
        shown = page.locator(".lk-card").last
        expect(shown.get_by_role("button", name=unsnooze, exact=True)).to_be_visible()
        expect(shown.get_by_role("button", name=resolve, exact=True)).to_be_visible()
        # The header's time and the card's times are written in the same zone.
        offset = "UTC+8" if zone == "Asia/Shanghai" else "UTC"
        expect(page.locator(".lk-msg-meta time").last).to_have_text(
            re.compile(rf" {re.escape(offset)}$")
        )
        expect(shown).to_contain_text(re.compile(rf"\d\d:\d\d {re.escape(offset)}(?![+\-\d])"))
        size = "desktop" if viewport is DESKTOP else "phone"
        screenshot(page, f"actions-snoozed-card-{size}-{locale}", full_page=False)
        for folder in TOUR_DIRS:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"snoozed-card-resolve-{size}-{locale}.png"))
        assert horizontal_overflow(page) == 0

        shown.get_by_role("button", name=resolve, exact=True).click()
        expect(shown.get_by_role("button", name=reopen, exact=True)).to_be_visible()
        expect(shown).to_contain_text(resolved)
        db.session.expire_all()
        assert db.session.get(type(incident), incident.id).status is Status.CLOSED  # type: ignore[union-attr]
    finally:
        context.close()
