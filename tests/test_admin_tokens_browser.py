"""The API tokens page in a real browser at 390 px and on the desktop, English and Chinese:
make a token, copy its secret, revoke it. Screenshots land in tests/artifacts/tokens-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser import (
    DESKTOP,
    PHONE,
    PageAt,
    axe_violations,
    horizontal_overflow,
    screenshot,
    sign_in_at_login,
)
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_make_copy_and_revoke_a_token(
    page_at: PageAt, live_server: str, owner: factories.Persona, viewport: dict[str, int]
) -> None:
    page = page_at(viewport)
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/tokens/")
    expect(page.get_by_text("No token yet.")).to_be_visible()
    page.get_by_label("Name").fill("deploy-pipeline")
    page.get_by_label("Read and write: also declare").check()
    page.get_by_role("button", name="Make the token").click()
    secret = page.locator("#token-secret").input_value()
    assert secret.startswith("oncall_")
    expect(page.locator("#issued")).to_contain_text("It is shown only now")
    expect(page.locator("#tokens")).to_contain_text("deploy-pipeline")
    assert horizontal_overflow(page) == 0
    assert axe_violations(page, "main") == []
    size = "phone" if viewport is PHONE else "desktop"
    screenshot(page, f"tokens-made-{size}")

    page.get_by_role("link", name="Revoke deploy-pipeline").click()
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator("body")).to_contain_text("Token “deploy-pipeline” revoked")
    expect(page.locator("#tokens")).to_contain_text("revoked")


def test_the_page_in_chinese_at_390_px(
    page_at: PageAt, live_server: str, owner: factories.Persona
) -> None:
    owner.member.locale = "zh"
    db.session.commit()
    page = page_at(PHONE)
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/admin/tokens/")
    expect(page.get_by_role("heading", name="API 令牌", exact=True)).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "tokens-phone-zh")
