"""In a real browser: a member changes the password from the security page (another browser is
signed out, this one stays), then signs out everywhere and the sign-in page says so."""

from __future__ import annotations

import shutil

import pytest

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot
from tests.test_chat_events_browser import TOUR, _signed_in

NEW = "a brand new passphrase 7"
WORDS = {
    "en-US": {
        "link": "Security: change your password, sign out everywhere",
        "wrong": "That is not your current password.",
        "changed": "you stay signed in here",
        "button": "Change the password",
        "everywhere": "Sign out everywhere",
        "gone": "You were signed out everywhere",
    },
    "zh-CN": {
        "link": "安全：修改密码、在所有设备上退出登录",
        "wrong": "当前密码不正确。",
        "changed": "你在这里保持登录",
        "button": "修改密码",
        "everywhere": "在所有设备上退出登录",
        "gone": "你已在所有设备上退出登录",
    },
}


@pytest.mark.browser
@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (PHONE, "phone")])
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_member_changes_the_password_then_signs_out_everywhere(
    page_at: PageAt,
    live_server: str,
    member: factories.Persona,
    viewport: dict[str, int],
    size: str,
    locale: str,
) -> None:
    words = WORDS[locale]
    other = _signed_in(page_at, live_server, member, viewport=DESKTOP, locale=locale)
    page = _signed_in(page_at, live_server, member, viewport=viewport, locale=locale)
    page.get_by_role("link", name=words["link"]).click()
    page.wait_for_load_state()
    assert page.url.endswith("/account/security")

    form = page.locator("#change-password")
    form.locator("input[name=current]").fill("not my password")
    form.locator("input[name=password]").fill(NEW)
    form.locator("input[name=confirm]").fill(NEW)
    form.get_by_role("button", name=words["button"]).click()
    page.wait_for_load_state()
    assert words["wrong"] in page.locator("#current-errors").inner_text()
    other.reload()
    assert other.url.endswith("/")  # nothing changed: the other browser is still signed in

    form = page.locator("#change-password")
    form.locator("input[name=current]").fill(member.password)
    form.locator("input[name=password]").fill(NEW)
    form.locator("input[name=confirm]").fill(NEW)
    form.get_by_role("button", name=words["button"]).click()
    page.wait_for_load_state()
    assert words["changed"] in page.locator(".flash").inner_text()
    assert not horizontal_overflow(page)
    shot = screenshot(page, f"account-security-{size}-{locale[:2]}")
    if (size, locale) in {("desktop", "en-US"), ("phone", "zh-CN")}:
        TOUR.mkdir(exist_ok=True)
        shutil.copy(shot, TOUR / shot.name)
    other.reload()
    assert "/login" in other.url  # the other browser was signed out

    page.get_by_role("button", name=words["everywhere"]).click()
    page.wait_for_load_state()
    assert "/login" in page.url
    assert words["gone"] in page.locator(".flash").inner_text()
    page.goto(f"{live_server}/account/security")
    assert "/login" in page.url
