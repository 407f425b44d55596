"""A person in the Lark client, in a real browser, on the PC workbench and on a phone:
first visit binds, the next visit is login-free, switch account binds another member.
Screenshots land in tests/artifacts/identity-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page

from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    PageAt,
    axe_violations,
    horizontal_overflow,
    screenshot,
    small_targets,
)
from tests.factories import Persona
from webapp.models import LarkIntegration
from webapp.sandbox import seed

pytestmark = pytest.mark.browser

SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def integration(owner: Persona, live_server: str) -> LarkIntegration:
    return factories.lark_integration(owner.account, tenant_key=seed.TENANT_KEY)


def as_lark_user(
    page_at: PageAt, viewport: dict[str, int], live_server: str, name: str = "韩梅梅"
) -> Page:
    """The sandbox's Lark client, signed in to Lark as `name`."""
    page = page_at(viewport, lark=True)
    page.goto(f"{live_server}/_lark/")
    page.get_by_role("button", name=re.compile(name)).click()
    return page


def open_from_workbench(page_at: PageAt, viewport: dict[str, int], live_server: str) -> Page:
    """In the sandbox's Lark client: be 韩梅梅, open the workbench, open the On-call app."""
    page = as_lark_user(page_at, viewport, live_server)
    page.goto(f"{live_server}/_lark/workbench")
    page.get_by_role("link", name="Open").first.click()
    page.wait_for_url(lambda url: "/lark/demo/" in url)
    return page


def fits(page: Page, within: str = "body") -> None:
    """No sideways scrolling, every control of ours at least 44 x 44 px, no axe findings."""
    assert horizontal_overflow(page) == 0
    assert small_targets(page, within=within) == []
    assert axe_violations(page, within) == []


SHELL = ".lk-topbar, .lk-nav"  # the shell; the incident list is drawn inside it


def sign_in_to_link(page: Page, persona: Persona) -> None:
    page.get_by_label("E-mail").fill(persona.member.email)
    page.get_by_label("Password").fill(persona.password)
    page.get_by_role("button", name="Sign in and link").click()
    page.wait_for_url(lambda url: "/bind" not in url)


def menu(page: Page, persona: Persona) -> Locator:
    """The account menu in the top bar, named after the signed-in member."""
    return page.locator("summary.lk-me", has_text=persona.member.name)


def shows_member(page: Page, persona: Persona) -> None:
    """The shell's top bar names the signed-in member."""
    menu(page, persona).wait_for()


@pytest.mark.parametrize("viewport", SIZES)
def test_first_visit_binds_then_the_next_visit_is_login_free(
    page_at: PageAt,
    live_server: str,
    integration: LarkIntegration,
    member: Persona,
    viewport: dict[str, int],
) -> None:
    size = "desktop" if viewport is DESKTOP else "phone"
    page = open_from_workbench(page_at, viewport, live_server)
    page.get_by_text("You are 韩梅梅 in Lark.").wait_for()
    screenshot(page, f"identity-bind-{size}")
    fits(page)
    sign_in_to_link(page, member)
    shows_member(page, member)
    screenshot(page, f"identity-home-{size}")
    fits(page, within=SHELL)

    again = open_from_workbench(page_at, viewport, live_server)  # closed, then opened again
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
    page = open_from_workbench(page_at, viewport, live_server)
    sign_in_to_link(page, member)
    menu(page, member).click()
    switch = page.locator("#lk-switch > summary")
    switch.wait_for()
    screenshot(page, f"identity-menu-{size}", full_page=False)
    fits(page, within=SHELL)
    page.keyboard.press("Escape")
    switch.wait_for(state="hidden")
    menu(page, member).click()
    switch.click()  # only asks: nothing is unlinked yet
    page.get_by_text(f"Unlink your Lark user from {member.member.name}").wait_for()
    assert "/bind" not in page.url
    page.get_by_role("button", name="Yes, switch account").click()
    page.get_by_text("Sign in as another member").wait_for()
    screenshot(page, f"identity-switched-{size}")
    sign_in_to_link(page, owner)
    shows_member(page, owner)


@pytest.mark.parametrize(
    ("person", "explanation"),
    [
        (seed.OUT_OF_RANGE_USER, "outside the availability range"),
        (seed.OTHER_TENANT_USER, "from another organisation"),
    ],
    ids=["outside-range", "other-tenant"],
)
def test_people_lark_does_not_let_in_are_told_why(
    page_at: PageAt,
    live_server: str,
    integration: LarkIntegration,
    person: seed.SeedUser,
    explanation: str,
) -> None:
    page = as_lark_user(page_at, PHONE, live_server, person.name)
    page.goto(f"{live_server}/lark/demo/")
    page.get_by_role("alert").filter(has_text=explanation).wait_for()
    screenshot(page, f"identity-refused-{person.en_name.replace(' ', '-').lower()}-phone")
    fits(page)
