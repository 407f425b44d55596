"""A person in the Lark client, in a real browser, on the PC workbench and on a phone:
first visit binds, the next visit is login-free, switch account binds another member.
Screenshots land in tests/artifacts/identity-*.png."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot, small_targets
from tests.factories import Persona
from webapp.models import LarkIntegration
from webapp.sandbox import lark_session, seed

pytestmark = pytest.mark.browser

SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def integration(owner: Persona, live_server: str) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


def in_lark(page_at: PageAt, viewport: dict[str, int], live_server: str) -> Page:
    """A page of the Lark client, signed in to Lark as 韩梅梅."""
    page = page_at(viewport, lark=True)
    host = urlsplit(live_server).hostname
    page.context.add_cookies(
        [
            {
                "name": lark_session.USER_COOKIE,
                "value": seed.HAN_MEIMEI.open_id,
                "domain": host,
                "path": "/_lark",
            }
        ]
    )
    return page


def fits(page: Page, within: str = "body") -> None:
    """No sideways scrolling, and every control of ours is at least 44 x 44 px."""
    assert horizontal_overflow(page) == 0
    assert small_targets(page, within=within) == []


SHELL = ".lk-topbar, .lk-nav"  # ours; the incident list inside is helper WEB's


def sign_in_to_link(page: Page, persona: Persona) -> None:
    page.get_by_label("E-mail").fill(persona.member.email)
    page.get_by_label("Password").fill(persona.password)
    page.get_by_role("button", name="Sign in and link").click()
    page.wait_for_url(lambda url: "/bind" not in url)


def shows_member(page: Page, persona: Persona) -> None:
    """The shell's top bar names the signed-in member."""
    page.get_by_label(f"Menu for {persona.member.name}").wait_for()


@pytest.mark.parametrize("viewport", SIZES)
def test_first_visit_binds_then_the_next_visit_is_login_free(
    page_at: PageAt,
    live_server: str,
    integration: LarkIntegration,
    member: Persona,
    viewport: dict[str, int],
) -> None:
    size = "desktop" if viewport is DESKTOP else "phone"
    page = in_lark(page_at, viewport, live_server)
    page.goto(f"{live_server}/lark/demo/")
    page.get_by_text("You are 韩梅梅 in Lark.").wait_for()
    screenshot(page, f"identity-bind-{size}")
    fits(page)
    sign_in_to_link(page, member)
    shows_member(page, member)
    screenshot(page, f"identity-home-{size}")
    fits(page, within=SHELL)

    again = in_lark(page_at, viewport, live_server)  # the app closed and opened again
    again.goto(f"{live_server}/lark/demo/")
    shows_member(again, member)
    assert "/bind" not in again.url


@pytest.mark.parametrize("viewport", SIZES)
def test_switch_account_from_the_menu_binds_another_member(
    page_at: PageAt,
    live_server: str,
    integration: LarkIntegration,
    member: Persona,
    owner: Persona,
    viewport: dict[str, int],
) -> None:
    size = "desktop" if viewport is DESKTOP else "phone"
    page = in_lark(page_at, viewport, live_server)
    page.goto(f"{live_server}/lark/demo/")
    sign_in_to_link(page, member)
    page.get_by_label(f"Menu for {member.member.name}").click()
    page.get_by_role("button", name="Switch account").wait_for()
    screenshot(page, f"identity-menu-{size}", full_page=False)
    fits(page, within=SHELL)
    page.get_by_role("button", name="Switch account").click()
    page.get_by_text("Sign in as another member").wait_for()
    screenshot(page, f"identity-switched-{size}")
    sign_in_to_link(page, owner)
    shows_member(page, owner)
