"""The insights page and "My week" in a real browser: desktop and phone, English and Chinese.

Screenshots (insights-*.png, my-week-*.png) go to docs/tour/ with TOUR_DIR=docs/tour, else to
tests/artifacts/tour/. Browser tests keep the
machine's clock, so the incidents are placed relative to it (the figures themselves are
pinned at a stated moment in tests/test_insights_pages.py).
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page

from tests import factories
from tests.browser import (
    ARTIFACTS,
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
from tests.incident_pages_support import integration
from tests.test_schedules import weekly_schedule
from webapp.extensions import db
from webapp.identity import sessions
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, LarkBinding, Severity, Source, utcnow

pytestmark = pytest.mark.browser

TOUR = tour_dir()
CASES = [
    pytest.param(DESKTOP, "en", id="desktop-en"),
    pytest.param(PHONE, "en", id="phone-en"),
    pytest.param(DESKTOP, "zh", id="desktop-zh"),
    pytest.param(PHONE, "zh", id="phone-zh"),
]
WORDS = {
    "en": {"per_day": "Incidents per day by severity", "week": "My week", "rules": "disk full"},
    "zh": {"per_day": "按严重程度的每日故障数", "week": "我的一周", "rules": "disk full"},
}


def busy_week(owner: factories.Persona, member: factories.Persona) -> None:
    """Nine incidents over the last six days: acknowledged from the card, the web, the API."""
    me, boss = member.member, owner.member
    plan = [
        (0, "disk full", Severity.CRITICAL, [me], "card"),
        (1, "disk full", Severity.CRITICAL, [me], "web"),
        (1, "cpu high", Severity.WARNING, [boss], None),
        (2, "disk full", Severity.INFO, [], "api"),
        (3, "cpu high", Severity.WARNING, [me], "card"),
        (3, "certificate expires", Severity.INFO, [boss], "web"),
        (4, "disk full", Severity.CRITICAL, [me], None),
        (5, "cpu high", Severity.WARNING, [me], "card"),
        (5, "replication lag", Severity.CRITICAL, [boss], "card"),
    ]
    now = utcnow()
    for days_ago, title, severity, who, acked_from in plan:
        made = factories.incident(owner.account, title=title, severity=severity, assignees=who)
        if acked_from == "api":
            incidents.acknowledge(made, Actor.api())
        elif acked_from is not None:
            incidents.acknowledge(made, Actor((who or [boss])[0], Source(acked_from)))
        incidents.resolve(made, Actor.system())
        opened = now - timedelta(days=days_ago, hours=3)
        db.session.execute(
            db.update(Incident)
            .where(Incident.id == made.id)
            .values(
                created_at=opened,
                acknowledged_at=opened + timedelta(minutes=7) if acked_from else None,
                closed_at=opened + timedelta(minutes=42),
            )
        )
    db.session.commit()


def signed_in(
    page_at: PageAt, live_server: str, persona: factories.Persona, viewport: Any, lang: str
) -> Page:
    persona.member.locale = lang
    db.session.commit()
    page = page_at(viewport, locale="zh-CN" if lang == "zh" else "en-US")
    sign_in_at_login(page, live_server, persona)
    return page


def tour(page: Page, name: str) -> None:
    shot = screenshot(page, name)
    shutil.copy(shot, TOUR / shot.name)


def rendered_font_px(page: Page, selector: str) -> float:
    """The smallest on-screen height of the text in the matching SVG charts, in CSS pixels."""
    return float(
        page.evaluate(
            """(sel) => Math.min(...[...document.querySelectorAll(sel + ' text')]
                 .map((t) => t.getBoundingClientRect().height))""",
            selector,
        )
    )


def _size(viewport: Any) -> str:
    return "desktop" if viewport is DESKTOP else "phone"


@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_the_insights_page_reads_at_both_sizes_in_both_languages(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: Any,
    lang: str,
) -> None:
    busy_week(owner, member)
    page = signed_in(page_at, live_server, owner, viewport, lang)
    page.goto(f"{live_server}/admin/insights/?days=7")
    words = WORDS[lang]
    chart = page.locator("#chart-per-day")
    assert chart.get_attribute("role") == "img"
    assert page.locator("#chart-per-day-t").text_content() == words["per_day"]
    assert "9" in (page.locator("#chart-per-day-d").text_content() or "")
    assert page.locator("#chart-per-day rect").count() >= 6  # one per day and severity seen
    assert words["rules"] in page.inner_text("#ins-rules")
    assert horizontal_overflow(page) == 0
    # Chart labels are as large as body text is allowed to get small, on a phone too.
    assert rendered_font_px(page, ".insights .chart") >= 11
    box = chart.bounding_box()
    assert box is not None and box["width"] <= viewport["width"]
    if viewport is PHONE:
        assert small_targets(page, within=".insights") == []
    assert axe_violations(page, within=".insights") == []
    # The figures behind the chart open from the toggle.
    page.locator(".insights details summary").first.click()
    assert page.locator(".insights details[open] table").first.is_visible()
    tour(page, f"insights-{_size(viewport)}-{lang}")
    for name in ("chart-per-day", "chart-sources"):  # close-ups, to look at the labels
        page.locator(f"#{name}").screenshot(path=ARTIFACTS / f"{name}-{_size(viewport)}-{lang}.png")


@pytest.mark.parametrize(("viewport", "lang"), CASES)
def test_my_week_on_the_lark_homepage_at_both_sizes_in_both_languages(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: Any,
    lang: str,
) -> None:
    busy_week(owner, member)
    weekly_schedule(owner, member)
    lark = integration(owner.account)
    me = member.member
    binding = LarkBinding(integration_id=lark.id, member_id=me.id, open_id=f"ou_{me.id}")
    me.locale = lang
    db.session.add(binding)
    db.session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {
            "_user_id": str(me.id),
            "_fresh": True,
            sessions.SESSION_ID: sessions.start_record(me, "browser test"),
            "lark": {"key": lark.key, "binding": binding.id},
        }
    )
    page = page_at(viewport, lark=True, locale="zh-CN" if lang == "zh" else "en-US")
    page.context.add_cookies(
        [
            {
                "name": app.config["SESSION_COOKIE_NAME"],
                "value": value,
                "domain": urlsplit(live_server).hostname,
                "path": "/",
            }
        ]
    )
    page.goto(f"{live_server}/lark/{lark.key}/incidents")
    week = page.locator("#my-week")
    assert WORDS[lang]["week"] in week.inner_text()
    figures = week.locator("dd").all_inner_texts()
    assert figures[:2] == ["5", "4"]  # five pages to me, four acknowledged by me
    assert figures[2] in ("7 min", "7 分钟")
    assert "Core Platform primary" in figures[4]  # the next shift, within two weeks
    assert horizontal_overflow(page) == 0
    assert axe_violations(page, within="#my-week") == []
    week.scroll_into_view_if_needed()
    shot = screenshot(page, f"my-week-{_size(viewport)}-{lang}", full_page=False)
    shutil.copy(shot, TOUR / shot.name)
