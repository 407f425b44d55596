"""The silences page in Chromium: desktop and phone, English and Chinese, axe-core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

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
)
from tests.silences_support import silence
from webapp.extensions import db
from webapp.models import Silence

WORDS = {
    "en-US": {"title": "Silences and maintenance", "made": "Silence made", "button": "Silence"},
    "zh-CN": {"title": "静默与维护", "made": "已创建静默", "button": "静默"},
}


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_silences_page_fits_and_makes_a_silence(
    page_at: PageAt, live_server: str, owner: factories.Persona, locale: str, viewport: Any
) -> None:
    words = WORDS[locale]
    silence(owner, 'instance=~"db-.*"', comment="db switchover")
    silence(owner, "env=staging", starts_in=timedelta(hours=3), comment="kernel upgrade")
    page = page_at(viewport, locale=locale)
    sign_in_at_login(page, live_server, owner)

    page.goto(f"{live_server}/admin/silences/")
    page.get_by_role("heading", name=words["title"]).wait_for()
    size = "phone" if viewport is PHONE else "desktop"
    screenshot(page, f"silences-{size}-{locale}")

    assert horizontal_overflow(page) == 0
    if viewport is PHONE:  # touch targets: on a phone (a desktop's small buttons are mouse-sized)
        assert small_targets(page, within="main") == []
    assert axe_violations(page) == []
    page.fill("#s-matchers", 'alertname="DiskFull"')
    page.fill("#s-comment", "disk swap")
    page.get_by_role("button", name=words["button"], exact=True).click()
    page.get_by_text(words["made"]).wait_for()
    made = db.session.scalars(select(Silence).where(Silence.comment == "disk swap")).one()
    assert page.locator(f"#silence-{made.id}").is_visible()
