""" "Silence…" on the incident page in a real browser: desktop and phone, English and Chinese."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests import factories
from tests.browser import PHONE, PageAt, axe_violations, screenshot, small_targets
from tests.test_incident_pages_browser import SIZES, _size, fits, lark, open_as  # noqa: F401
from tests.test_silence_card import LABELS
from webapp.extensions import db
from webapp.models import LarkIntegration, Silence

pytestmark = pytest.mark.browser

WORDS = {"en": ("Silence…", "Silenced until"), "zh": ("静默…", "设置静默，直到")}


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("viewport", SIZES)
def test_the_incident_page_silences_its_kind_for_8_hours(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    owner: factories.Persona,
    lark: LarkIntegration,  # noqa: F811 - the fixture imported above
    viewport: dict[str, int],
    locale: str,
) -> None:
    button, held = WORDS[locale]
    incident = factories.incident(owner.account, labels=LABELS)
    page = open_as(page_at, viewport, app, live_server, owner, lark)
    owner.member.locale = locale
    db.session.commit()
    page.goto(f"{live_server}/lark/{lark.key}/incidents/{incident.number}")

    page.select_option(f"#silence-detail-{incident.number}", "480")
    page.get_by_role("button", name=button).click()
    page.locator(".inc-silenced").wait_for()

    assert held in page.locator(".inc-silenced").inner_text()
    made = db.session.scalars(select(Silence)).one()
    assert [m["name"] for m in made.matchers] == ["alertname", "instance", "severity"]
    screenshot(page, f"incident-silenced-{_size(viewport)}-{locale}")
    fits(page, viewport)
    if viewport is PHONE:
        assert small_targets(page, within=".inc-silence") == []
    assert axe_violations(page, within="#incident-detail") == []
