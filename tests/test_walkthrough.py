"""The whole product in a real browser, as the seed guide tells it, in English and Chinese,
on the Lark PC workbench (1280x800) and on a phone (390x844).

An admin creates a Lark app in the sandbox's developer console and the integration in our
integration center, verifies the card URL and sets a dispatch policy; an Alertmanager alert
arrives; a member presses Acknowledge on the card while unlinked (and is told so), opens
the app from the workbench, links, presses Acknowledge again (both chats' cards follow),
snoozes and resolves in the web app (the cards follow), and switches account; the admin
checks the license and diagnostics pages. Every step leaves a screenshot in
tests/artifacts/tour/; with TOUR_DIR set, they are also copied there (docs/tour in the README).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask_babel import force_locale, gettext, pgettext
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import factories
from tests.browser import ARTIFACTS, axe_violations, horizontal_overflow
from tests.factories import Persona
from tests.test_alert_intake import ALERTMANAGER_FIRING
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import Channel
from webapp.sandbox import seed

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RUNS = [
    pytest.param(DESKTOP, "en", id="desktop-en"),
    pytest.param(PHONE, "zh", id="phone-zh"),
    pytest.param(DESKTOP, "zh", id="desktop-zh"),
    pytest.param(PHONE, "en", id="phone-en"),
]


class Tour:
    """One run of the walk-through: its language, its size, and its screenshots."""

    def __init__(self, app: Flask, base: str, browser: Browser, size: dict[str, int], lang: str):
        self.app, self.base, self.browser, self.size, self.lang = app, base, browser, size, lang
        self.step = 0
        self.name = f"{'desktop' if size is DESKTOP else 'phone'}-{lang}"
        self.folder = ARTIFACTS / "tour" / self.name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    def t(self, msgid: str, **values: str) -> str:
        """What the product says for `msgid` in this run's language."""
        with self.app.test_request_context(), force_locale(self.lang):
            return gettext(msgid, **values)

    def pt(self, context: str, msgid: str) -> str:
        """The same for a msgid said with a context (pgettext)."""
        with self.app.test_request_context(), force_locale(self.lang):
            return pgettext(context, msgid)

    def card(self, msgid: str) -> str:
        """What the card says: a Feishu integration's cards speak Chinese, whoever reads them."""
        with self.app.test_request_context(), force_locale("zh"):
            return gettext(msgid)

    def context(self, lark: bool) -> BrowserContext:
        phone = self.size is PHONE
        locale = "zh-CN" if self.lang == "zh" else "en-US"
        options: dict[str, object] = {"viewport": self.size, "locale": locale}
        if phone:
            options.update(is_mobile=True, has_touch=True)
        if lark:
            agent = seed.LARK_MOBILE_USER_AGENT if phone else seed.LARK_USER_AGENT
            lark_locale = "zh_CN" if self.lang == "zh" else "en_US"
            options["user_agent"] = agent.replace("LarkLocale/zh_CN", f"LarkLocale/{lark_locale}")
        context = self.browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(15_000)
        return context

    def shot(self, page: Page, what: str, check: bool = True) -> None:
        self.step += 1
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(self.folder / f"{self.step:02d}-{what}.png"), full_page=True)
        if check:
            assert horizontal_overflow(page) == 0, f"{what}: the page scrolls sideways"
            assert axe_violations(page, "main") == [], what


@pytest.fixture
def worker(app: Flask) -> Iterator[None]:
    """The outbox worker, delivering in the background as `flask lark worker` does."""
    stop = threading.Event()

    def run() -> None:
        with app.app_context():
            outbox.work(0.2, stop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.fixture
def team(owner: Persona, member: Persona) -> tuple[Channel, str]:
    owner.member.name, member.member.name = "Li Lei", "Han Meimei"
    channel = factories.channel(owner.account, [owner.member, member.member], "Core Platform")
    source = factories.alert_source(owner.account, channel, key="tour-alerts")
    db.session.commit()
    return channel, source.key


def sign_in(tour: Tour, page: Page, persona: Persona, button: str = "Sign in") -> None:
    page.get_by_label(tour.t("E-mail")).fill(persona.member.email)
    page.get_by_label(tour.t("Password")).fill(persona.password)
    page.get_by_role("button", name=tour.t(button)).click()


def create_lark_app(tour: Tour, console: Page) -> dict[str, str]:
    """In the sandbox's developer console: a new self-built app, and its credentials."""
    console.goto(f"{tour.base}/_lark/console/")
    console.get_by_label(tour.t("App name")).fill("On-call tour")
    console.get_by_role("button", name=tour.t("Create app")).click()
    console.wait_for_url(re.compile(r"/_lark/console/apps/cli_"))
    tour.shot(console, "lark-console-new-app", check=False)
    return {
        field: console.locator(f"#{field.replace('_', '-')}").inner_text().strip()
        for field in ("app_id", "app_secret", "verification_token", "encrypt_key")
    }


def create_integration(tour: Tour, admin: Page, creds: dict[str, str]) -> dict[str, str]:
    """In our integration center: the guide's form, then the four URLs to paste into Lark."""
    admin.goto(f"{tour.base}/admin/integrations/new")
    admin.get_by_label(re.compile("^" + re.escape(tour.t("Name")))).fill("Lark")
    admin.get_by_label(re.compile("^App ID")).fill(creds["app_id"])
    admin.get_by_label(re.compile("^App Secret")).fill(creds["app_secret"])
    admin.get_by_label(re.compile("^Verification Token")).fill(creds["verification_token"])
    admin.get_by_label(re.compile("^Encrypt Key")).fill(creds["encrypt_key"])
    tour.shot(admin, "integration-form")
    admin.get_by_role("button", name=tour.t("Save")).click()
    admin.wait_for_url(re.compile(r"/admin/integrations/\d+$"))
    urls = {
        key: admin.locator(f"#url-{key}").input_value()
        for key in ("web", "redirect", "card", "events")
    }
    tour.shot(admin, "integration-urls")
    return urls


def configure_lark_app(tour: Tour, console: Page, app_id: str, urls: dict[str, str]) -> None:
    """Back in Lark: homepage and redirect URLs, the card and event request URLs (verified)."""
    console.goto(f"{tour.base}/_lark/console/apps/{app_id}")
    console.locator("#homepage_url").fill(urls["web"])
    console.locator("#redirect_urls").fill(urls["redirect"])
    console.locator("form", has=console.locator("#homepage_url")).get_by_role(
        "button", name=tour.t("Save")
    ).click()
    console.locator("#card_request_url").fill(urls["card"])
    console.locator("#callbacks").get_by_role("button", name=tour.t("Save and verify")).click()
    tour.shot(console, "lark-console-url-verified", check=False)
    console.locator("#event_request_url").fill(urls["events"])
    console.locator("#events").get_by_role("button", name=tour.t("Save and verify")).click()
    for box in console.locator("#events input[name=event]").all():
        box.check()
    console.locator("#events").get_by_role("button", name=tour.t("Save subscriptions")).click()


def add_bot_to_chats(tour: Tour, lark: Page, app_id: str) -> None:
    for chat in (seed.ONCALL_CHAT, seed.PAYMENTS_CHAT):
        lark.goto(f"{tour.base}/_lark/messenger/{chat.chat_id}")
        lark.get_by_text(tour.t("Group settings")).click()
        lark.locator("#bot-app").select_option(app_id)
        lark.get_by_role("button", name=tour.t("Add bot")).click()
    tour.shot(lark, "lark-bot-in-chats", check=False)


def set_dispatch_policy(tour: Tour, admin: Page, channel: Channel) -> None:
    admin.goto(f"{tour.base}/admin/channels")
    admin.get_by_role("link", name=channel.name).click()
    admin.get_by_role("link", name=tour.t("Add a rule")).click()
    admin.locator("#f-name").fill("Everything")
    for chat in (seed.ONCALL_CHAT, seed.PAYMENTS_CHAT):
        admin.get_by_label(chat.name).first.check()
    tour.shot(admin, "dispatch-rule")
    admin.get_by_role("button", name=tour.t("Save")).click()
    admin.wait_for_url(re.compile(r"/dispatch$"))
    tour.shot(admin, "dispatch-policy")


def open_chat(tour: Tour, lark: Page, chat_id: str) -> None:
    lark.goto(f"{tour.base}/_lark/messenger/{chat_id}")


def press(tour: Tour, lark: Page, button: str) -> None:
    lark.locator(".lk-card").last.get_by_role("button", name=tour.card(button)).click()


def card_says(lark: Page, text: str) -> None:
    expect(lark.locator(".lk-card").last).to_contain_text(text, timeout=15_000)


@pytest.mark.parametrize(("size", "lang"), RUNS)
def test_the_product_tour(
    app: Flask,
    live_server: str,
    browser: Browser,
    worker: None,
    owner: Persona,
    member: Persona,
    team: tuple[Channel, str],
    size: dict[str, int],
    lang: str,
) -> None:
    tour = Tour(app, live_server, browser, size, lang)
    channel, alert_key = team

    # 1. The admin: a Lark app in the developer console, the integration, the card URL.
    admin = tour.context(lark=False).new_page()
    admin.goto(f"{live_server}/login")
    sign_in(tour, admin, owner)
    console = tour.context(lark=False).new_page()
    creds = create_lark_app(tour, console)
    urls = create_integration(tour, admin, creds)
    configure_lark_app(tour, console, creds["app_id"], urls)
    admin.reload()
    tour.shot(admin, "integration-checklist")

    # 2. Han Meimei's Lark client: the bot joins two chats; the admin's dispatch policy.
    lark = tour.context(lark=True).new_page()
    lark.goto(f"{live_server}/_lark/")
    lark.get_by_role("button", name=re.compile(seed.HAN_MEIMEI.name)).click()
    add_bot_to_chats(tour, lark, creds["app_id"])
    set_dispatch_policy(tour, admin, channel)

    # 3. Alertmanager fires; the card reaches both chats.
    body = json.loads(json.dumps(ALERTMANAGER_FIRING))
    answer = requests.post(f"{live_server}/api/v1/alerts/{alert_key}", json=body, timeout=10)
    assert answer.json()["results"][0]["action"] == "created"
    open_chat(tour, lark, seed.ONCALL_CHAT.chat_id)
    card_says(lark, "api 5xx above 5%")
    tour.shot(lark, "card-in-chat", check=False)

    # 4. Acknowledge while not linked: Lark shows our toast, the card stays as it was.
    press(tour, lark, "Acknowledge")
    expect(lark.locator(".lk-toast, [role=status], [role=alert]").last).to_contain_text(
        re.compile("link|关联")
    )
    tour.shot(lark, "ack-not-linked", check=False)

    # 5. Open the app from the workbench, link the Lark user to the member.
    lark.goto(f"{live_server}/_lark/workbench")
    app_tile = lark.locator(".lk-app", has_text="On-call tour")
    app_tile.get_by_role("link", name=tour.pt("verb: open an app", "Open")).click()
    lark.wait_for_url(re.compile("/lark/.+/bind"))
    tour.shot(lark, "bind-page")
    sign_in(tour, lark, member, button="Sign in and link")
    lark.wait_for_url(lambda url: "/bind" not in url)
    tour.shot(lark, "homepage")

    # 6. Acknowledge again: done, and the other chat's card follows through the outbox.
    open_chat(tour, lark, seed.ONCALL_CHAT.chat_id)
    press(tour, lark, "Acknowledge")
    card_says(lark, member.member.name)
    tour.shot(lark, "acknowledged-on-card", check=False)
    open_chat(tour, lark, seed.PAYMENTS_CHAT.chat_id)
    card_says(lark, member.member.name)
    tour.shot(lark, "other-chat-follows", check=False)

    # 7. The web app: open the incident, snooze it, resolve it; the cards follow.
    lark.goto(urls["web"] + "incidents/1")
    tour.shot(lark, "incident-detail")
    lark.locator("select[name=minutes]").first.select_option("60")
    lark.get_by_role("button", name=tour.t("Snooze")).first.click()
    expect(lark.locator("#toasts")).to_contain_text(re.compile(r"\S"))
    tour.shot(lark, "snoozed")
    lark.get_by_role("button", name=tour.t("Resolve")).first.click()
    expect(lark.locator("main")).to_contain_text(tour.t("Resolved"))
    tour.shot(lark, "resolved")
    open_chat(tour, lark, seed.ONCALL_CHAT.chat_id)
    expect(
        lark.locator(".lk-card").last.get_by_role("button", name=tour.card("Reopen"))
    ).to_be_visible(timeout=15_000)
    tour.shot(lark, "card-follows-resolution", check=False)

    # 8. Switch account: the Lark user is linked to another member.
    lark.goto(urls["web"])
    lark.locator("summary.lk-me").click()
    lark.locator("#lk-switch > summary").click()  # asks before it unlinks
    expect(lark.locator("#lk-switch")).to_contain_text(member.member.name)
    lark.get_by_role("button", name=tour.t("Yes, switch account")).click()
    lark.wait_for_url(re.compile("/bind"))
    sign_in(tour, lark, owner, button="Sign in and link")
    lark.wait_for_url(lambda url: "/bind" not in url)
    expect(lark.locator("summary.lk-me")).to_contain_text(owner.member.name)
    tour.shot(lark, "switched-account")

    # 9. The admin's license and diagnostics pages.
    admin.goto(f"{live_server}/admin/license")
    tour.shot(admin, "license")
    admin.goto(f"{live_server}/admin/diagnostics")
    tour.shot(admin, "diagnostics")

    if os.environ.get("TOUR_DIR"):
        target = Path(os.environ["TOUR_DIR"]) / tour.name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(tour.folder, target)
