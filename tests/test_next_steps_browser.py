"""No dead ends, in a real browser at 1280x800 and 390x844, in English and in Chinese: the
admin's landing page, the outsider's link page, the reset, the member's license and
diagnostics inside the web app, the dispatch form following its integration, diagnostics
naming people, the integration form keeping secrets, and the sandbox's chat and console.
Screenshots of the outsider page and the member's license page go to docs/tour/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
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
    sign_in_at_login,
    small_targets,
    tour_dir,
)
from tests.factories import Persona
from tests.sandbox_helpers import card, send, token
from tests.test_diagnostics import rule
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import LarkIntegration
from webapp.sandbox import lark_session, seed
from webapp.sandbox.handle import LarkSandbox

TOUR = tour_dir()
SIZES = [(DESKTOP, "en"), (DESKTOP, "zh"), (PHONE, "en"), (PHONE, "zh")]
IDS = ["desktop-en", "desktop-zh", "phone-en", "phone-zh"]
WORDS = {
    "en": {
        "next": "Next step: connect your Lark app.",
        "center": "Integration center",
        "outsider": "Not a member of",
        "forgot": "Forgot your password?",
        "license": "License",
        "no_seat": "You have no license seat",
        "diagnostics": "Diagnostics",
        "back": "Back to my incidents",
        "unticked": "is not in were unticked",
        "kept": "Kept: what you typed is held",
        "open": "Open",
    },
    "zh": {
        "next": "下一步：连接您的 Lark 应用。",
        "center": "集成中心",
        "outsider": "还不是",
        "forgot": "忘记密码？",
        "license": "许可证",
        "no_seat": "您没有许可证席位",
        "diagnostics": "诊断",
        "back": "返回我的故障",
        "unticked": "的机器人不在的群已被取消勾选",
        "kept": "已保留：您输入的内容已暂存",
        "open": "打开",
    },
}


def name_of(viewport: dict[str, int], lang: str) -> str:
    return f"{'desktop' if viewport is DESKTOP else 'phone'}-{lang}"


def tidy(page: Page, within: str = "main") -> None:
    """What every page here must be: no sideways scroll, touch-sized controls, no serious
    accessibility finding."""
    assert horizontal_overflow(page) == 0
    assert small_targets(page, within=within) == []
    assert axe_violations(page, within=within) == []


def as_admin(page_at: PageAt, base: str, persona: Persona, viewport: Any, lang: str) -> Page:
    persona.member.locale = lang
    db.session.commit()
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    sign_in_at_login(page, base, persona)
    return page


def in_lark(page_at: PageAt, base: str, person: seed.SeedUser, viewport: Any, lang: str) -> Page:
    """The sandbox's Lark client, signed in to Lark as `person`, speaking `lang`."""
    page = page_at(viewport, lark=True, locale="zh-CN" if lang == "zh" else "en-US")
    host = urlsplit(base).hostname or "127.0.0.1"
    page.context.add_cookies(
        [
            {
                "name": lark_session.USER_COOKIE,
                "value": person.open_id,
                "domain": host,
                "path": "/_lark",
            }
        ]
    )
    return page


def to_tour(shot: Path, name: str) -> None:
    shutil.copy(shot, TOUR / name)


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_the_admin_lands_on_the_next_step_and_every_admin_page(
    page_at: PageAt, live_server: str, owner: Persona, viewport: Any, lang: str
) -> None:
    page = as_admin(page_at, live_server, owner, viewport, lang)
    words = WORDS[lang]
    assert words["next"] in page.inner_text("main")
    screenshot(page, f"landing-{name_of(viewport, lang)}")
    tidy(page)
    page.get_by_role("link", name=words["center"]).click()
    page.wait_for_url("**/admin/integrations")


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_a_lark_user_with_no_account_learns_whose_it_is_and_whom_to_ask(
    page_at: PageAt, live_server: str, owner: Persona, viewport: Any, lang: str
) -> None:
    factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)
    page = in_lark(page_at, live_server, seed.HAN_MEIMEI, viewport, lang)
    page.goto(f"{live_server}/lark/demo/")
    page.wait_for_url("**/lark/demo/bind")
    page.fill("input[name=password]", "not my password")
    page.click("#lk-bind button[type=submit]")
    page.locator("#lk-outsider.lk-outsider-stressed").wait_for()
    text = page.inner_text("#lk-bind")
    assert WORDS[lang]["outsider"] in text and owner.account.name in text
    assert owner.member.name in page.inner_text("#lk-admins")
    shot = screenshot(page, f"outsider-{name_of(viewport, lang)}")
    to_tour(shot, f"outsider-{name_of(viewport, lang)}.png")
    tidy(page)
    page.get_by_role("link", name=WORDS[lang]["forgot"]).click()
    page.locator("#forgot").wait_for()
    assert owner.member.name in page.inner_text("#forgot")  # no SMTP_URL: ask an admin
    tidy(page)


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_a_member_reads_license_and_diagnostics_inside_the_web_app(
    page_at: PageAt, live_server: str, owner: Persona, viewport: Any, lang: str
) -> None:
    factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)
    member = factories.persona("member", account=owner.account, seat=False)
    page = in_lark(page_at, live_server, seed.HAN_MEIMEI, viewport, lang)
    page.goto(f"{live_server}/lark/demo/")
    page.wait_for_url("**/lark/demo/bind")
    page.fill("input[name=email]", member.member.email)
    page.fill("input[name=password]", member.password)
    page.click("#lk-bind button[type=submit]")
    page.locator(".lk-nav").wait_for()
    words = WORDS[lang]
    page.locator(".lk-nav").get_by_role("link", name=words["license"], exact=True).click()
    page.wait_for_url("**/lark/demo/license")
    assert page.locator(".lk-topbar").is_visible() and page.locator(".admin-bar").count() == 0
    assert page.locator(".lk-nav").is_visible()  # the bottom bar on the phone
    assert words["no_seat"] in page.inner_text("main")
    shot = screenshot(page, f"member-license-{name_of(viewport, lang)}")
    to_tour(shot, f"member-license-{name_of(viewport, lang)}.png")
    tidy(page)
    page.locator(".lk-nav").get_by_role("link", name=words["diagnostics"], exact=True).click()
    page.wait_for_url("**/lark/demo/diagnostics")
    assert page.locator("#member-status").is_visible()
    screenshot(page, f"member-diagnostics-{name_of(viewport, lang)}")
    tidy(page)
    page.get_by_role("link", name=words["back"]).click()
    page.wait_for_url(re.compile(r".*/lark/demo/(incidents)?$"))


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_the_dispatch_form_reloads_the_chats_of_the_integration_chosen(
    page_at: PageAt, live_server: str, owner: Persona, lark: LarkSandbox, viewport: Any, lang: str
) -> None:
    factories.lark_integration(owner.account)
    ops = lark.create_app("Ops bot")
    lark.set_bot_in_chat(seed.PAYMENTS_CHAT.chat_id, present=True, app_id=ops.app_id)
    second = factories.lark_integration(
        owner.account, key="ops", app_id=ops.app_id, app_secret=ops.app.app_secret
    )
    second.name = "Ops bot"
    db.session.commit()
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    page = as_admin(page_at, live_server, owner, viewport, lang)
    page.goto(f"{live_server}/admin/channels/{channel.id}/dispatch/new")
    page.fill("#f-name", "Payments pages")
    page.locator("#layer0").get_by_label(seed.ONCALL_CHAT.name).check()
    page.select_option("#f-integration", label="Ops bot")
    page.locator("#rule-notice").wait_for()
    assert WORDS[lang]["unticked"] in page.inner_text("#rule-notice")
    assert page.locator("#layer0").get_by_label(seed.PAYMENTS_CHAT.name).count() == 1
    assert page.locator("#layer0").get_by_label(seed.ONCALL_CHAT.name).count() == 0
    assert page.input_value("#f-name") == "Payments pages"  # what was typed stays
    page.locator("#layer0").get_by_label(seed.PAYMENTS_CHAT.name).check()
    screenshot(page, f"dispatch-follows-{name_of(viewport, lang)}")
    page.click("#rule-form .form-actions button[type=submit]")
    page.locator(".flash-success").wait_for()
    assert "Ops bot" in page.inner_text(".dispatch-rule .dispatch-via")
    tidy(page)


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_diagnostics_name_the_unlinked_pressers(
    page_at: PageAt, live_server: str, owner: Persona, lark: LarkSandbox, viewport: Any, lang: str
) -> None:
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [owner.member])
    rule(channel, integration, [{"assignees": False, "chat_ids": [seed.ONCALL_CHAT.chat_id]}])
    factories.incident(owner.account, ch=channel)
    outbox.run_once()
    [sent] = lark.messages_to(seed.ONCALL_CHAT.chat_id)
    lark.click(sent.message_id, seed.WANG_FANG.open_id, button=sent.buttons[0])
    page = as_admin(page_at, live_server, owner, viewport, lang)
    page.goto(f"{live_server}/admin/diagnostics")
    item = page.inner_text("#check-card_operators")
    assert seed.WANG_FANG.name in item and "ou_" not in item
    screenshot(page, f"diagnostics-names-{name_of(viewport, lang)}")


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_the_integration_form_keeps_the_secrets_after_a_mistake(
    page_at: PageAt, live_server: str, owner: Persona, lark: LarkSandbox, viewport: Any, lang: str
) -> None:
    page = as_admin(page_at, live_server, owner, viewport, lang)
    page.goto(f"{live_server}/admin/integrations/new")
    page.fill("#f-app_id", seed.DEMO_APP_ID)
    page.fill("#f-app_secret", seed.DEMO_APP_SECRET)
    page.fill("#f-verification_token", seed.DEMO_VERIFICATION_TOKEN)
    page.fill("#f-encrypt_key", seed.DEMO_ENCRYPT_KEY)
    page.click("form.card-box .form-actions button[type=submit]")  # the name is missing
    page.locator("#f-name-errors li").wait_for()
    assert page.content().count(WORDS[lang]["kept"]) == 3
    assert seed.DEMO_APP_SECRET not in page.content()
    screenshot(page, f"integration-kept-{name_of(viewport, lang)}")
    page.fill("#f-name", "On-call")
    page.click("form.card-box .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/integrations/\d+$"))
    saved = db.session.query(LarkIntegration).one()
    assert saved.verification_token == seed.DEMO_VERIFICATION_TOKEN


@pytest.mark.browser
@pytest.mark.parametrize(("viewport", "lang"), SIZES, ids=IDS)
def test_the_sandbox_chat_opens_at_its_newest_message_and_the_console_uses_this_server(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    client: Any,
    lark: LarkSandbox,
    viewport: Any,
    lang: str,
) -> None:
    lark.limits(False)  # twelve cards at once, past the 5/s a person may receive
    tok = token(client)
    for n in range(12):
        send(client, tok, seed.LI_LEI.open_id, content=card(f"P{n % 3 + 1} incident number {n}"))
    page = in_lark(page_at, live_server, seed.LI_LEI, viewport, lang)
    page.goto(f"{live_server}/_lark/messenger")
    page.locator(".lk-chat-link").first.click()
    newest = page.locator("#messages").get_by_text("incident number 11").first
    newest.wait_for()
    page.wait_for_function(
        """() => { const m = [...document.querySelectorAll('#messages > *')].pop();
                   const r = m.getBoundingClientRect();
                   return r.bottom <= innerHeight + 2 && r.bottom > 0; }"""
    )
    oldest = page.locator("#messages").get_by_text("incident number 0").first.bounding_box()
    assert oldest is None or oldest["y"] < 0  # scrolled past the oldest
    screenshot(page, f"sandbox-chat-newest-{name_of(viewport, lang)}", full_page=False)
    page.goto(f"{live_server}/_lark/workbench")
    assert page.locator(".lk-btn-primary").first.inner_text() == WORDS[lang]["open"]
    page.goto(f"{live_server}/_lark/console/apps/{seed.DEMO_APP_ID}")
    placeholder = page.get_attribute("#card_request_url", "placeholder") or ""
    assert placeholder.startswith(str(app.config["PUBLIC_BASE_URL"]))
