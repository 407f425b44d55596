"""The schedule page in a real browser, desktop and phone, English and Chinese."""

from __future__ import annotations

import shutil
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

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
from tests.incident_pages_support import integration as integration_for
from webapp.extensions import db
from webapp.identity import sessions
from webapp.models import (
    CoverRequest,
    LarkBinding,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    utcnow,
)
from webapp.oncall.schedule import on_call

TOUR = tour_dir()


def drawn_schedule(owner: factories.Persona, member: factories.Persona) -> Schedule:
    today = utcnow().date()
    schedule = Schedule(account_id=owner.account.id, name="Core Platform primary")
    schedule.layers += [
        ScheduleLayer(
            name="Weekly",
            position=0,
            member_ids=[owner.member.id, member.member.id],
            shift_kind="weekly",
            timezone="Asia/Shanghai",
            rotation_start=today - timedelta(days=today.weekday()),
        ),
        ScheduleLayer(
            name="Office hours",
            position=1,
            member_ids=[member.member.id, owner.member.id],
            shift_kind="daily",
            timezone="Asia/Shanghai",
            rotation_start=today,
            restriction={"weekdays": [0, 1, 2, 3, 4], "start": 9 * 60, "end": 18 * 60},
        ),
    ]
    start = utcnow() + timedelta(days=3)
    schedule.overrides.append(
        ScheduleOverride(
            member_id=member.member.id, starts_at=start, ends_at=start + timedelta(hours=12)
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "size", "locale", "heading"),
    [
        (DESKTOP, "desktop", "en-US", "Final schedule"),
        (PHONE, "phone", "en-US", "Final schedule"),
        (DESKTOP, "desktop", "zh-CN", "最终排班"),
        (PHONE, "phone", "zh-CN", "最终排班"),
    ],
)
def test_the_schedule_page_draws_two_weeks_with_my_shifts_highlighted(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: Any,
    size: str,
    locale: str,
    heading: str,
) -> None:
    schedule = drawn_schedule(owner, member)
    asked_from = utcnow() + timedelta(days=5)
    db.session.add(
        CoverRequest(
            schedule_id=schedule.id,
            member_id=owner.member.id,
            starts_at=asked_from,
            ends_at=asked_from + timedelta(hours=12),
        )
    )
    db.session.commit()
    page = page_at(viewport, locale=locale)
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/schedules/{schedule.id}")
    final = page.locator(".sch-final")
    assert heading in final.inner_text()
    assert final.locator(".sch-bar.sch-mine").count() >= 1
    assert final.locator(".sch-bar.sch-override").count() == 1
    # An admin opens a layer to edit it in place; members ask for cover on the same page.
    page.locator("#schedule-layers details summary").first.click()
    expect(page.locator("#schedule-layers details[open] form").first).to_be_visible()
    expect(page.locator("#cover-requests form").last).to_be_visible()
    # Her open request can be withdrawn; nobody here is linked to Lark, so no reminders.
    expect(page.locator("#cover-requests .sch-covers form button")).to_be_visible()
    expect(page.locator("#schedule-no-reminder")).to_be_visible()
    # The timeline scrolls inside its box on a phone; the page itself never scrolls sideways.
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        within = "#schedule-layers, #schedule-overrides, #cover-requests"
        assert small_targets(page, within=within) == []
    shot = screenshot(page, f"schedule-{size}-{locale[:2]}")
    shutil.copy(shot, TOUR / shot.name)


def _in_lark(
    page_at: PageAt, app: Flask, live_server: str, persona: factories.Persona, viewport: Any
) -> tuple[Page, str]:
    """A browser context signed in through a Lark integration, as the OAuth round trip leaves
    it (a signed session cookie), on the Lark homepage."""
    integration = integration_for(persona.account)
    binding = LarkBinding(
        integration_id=integration.id, member_id=persona.member.id, open_id="ou_browser"
    )
    db.session.add(binding)
    db.session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {
            "_user_id": str(persona.member.id),
            "_fresh": True,
            sessions.SESSION_ID: sessions.start_record(persona.member, "browser test"),
            "lark": {"key": integration.key, "binding": binding.id},
        }
    )
    page = page_at(
        viewport, lark=True, locale="zh-CN" if persona.member.locale == "zh" else "en-US"
    )
    host = urlsplit(live_server).hostname
    page.context.add_cookies(
        [{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "domain": host, "path": "/"}]
    )
    page.goto(f"{live_server}/lark/{integration.key}/")
    return page, integration.key


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "size", "locale", "now_heading", "mine_heading"),
    [
        (DESKTOP, "desktop", "en", "On call now", "My next shifts"),
        (PHONE, "phone", "en", "On call now", "My next shifts"),
        (DESKTOP, "desktop", "zh", "当前值班", "我接下来的班次"),
        (PHONE, "phone", "zh", "当前值班", "我接下来的班次"),
    ],
)
def test_the_lark_homepage_shows_who_is_on_call_now_and_my_next_shifts(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: Any,
    size: str,
    locale: str,
    now_heading: str,
    mine_heading: str,
) -> None:
    schedule = drawn_schedule(owner, member)
    owner.member.locale = locale
    db.session.commit()
    on_now = on_call(schedule, utcnow())
    assert on_now is not None
    who = owner.member.name if on_now.member_id == owner.member.id else member.member.name
    page, _ = _in_lark(page_at, app, live_server, owner, viewport)
    box = page.locator("#my-oncall")
    expect(box).to_be_visible()
    assert [h.strip() for h in box.locator("h2").all_inner_texts()] == [now_heading, mine_heading]
    first = box.locator("ul").first.locator("li").first
    assert who in first.inner_text() and "Core Platform primary" in first.inner_text()
    mine = box.locator("ul").nth(1).locator("li")
    assert mine.count() >= 1 and "Core Platform primary: " in mine.first.inner_text()
    # The schedule's name links to its page.
    box.get_by_role("link", name="Core Platform primary").first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/schedules/{schedule.id}")
    page.go_back()
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        assert small_targets(page, within="#my-oncall") == []
    assert axe_violations(page, within="#my-oncall") == []
    shot = screenshot(page, f"oncall-home-{size}-{locale}")
    shutil.copy(shot, TOUR / shot.name)


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "size", "locale", "words"),
    [
        (DESKTOP, "desktop", "en-US", ("Delete this schedule", "Delete the schedule", "deleted")),
        (PHONE, "phone", "en-US", ("Delete this schedule", "Delete the schedule", "deleted")),
        (DESKTOP, "desktop", "zh-CN", ("删除此值班表", "删除值班表", "已删除")),
        (PHONE, "phone", "zh-CN", ("删除此值班表", "删除值班表", "已删除")),
    ],
)
def test_an_admin_deletes_a_schedule_after_a_confirmation(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: Any,
    size: str,
    locale: str,
    words: tuple[str, str, str],
) -> None:
    schedule = drawn_schedule(owner, member)
    page = page_at(viewport, locale=locale)
    sign_in_at_login(page, live_server, owner)
    page.goto(f"{live_server}/schedules/{schedule.id}")
    page.get_by_role("link", name=words[0]).click()
    confirm = page.get_by_role("button", name=words[1], exact=True)
    expect(confirm).to_be_visible()
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []
    screenshot(page, f"schedule-delete-{size}-{locale[:2]}")
    confirm.click()
    expect(page.locator(".flash")).to_contain_text(words[2])
    expect(page.locator(".flash")).to_contain_text("Core Platform primary")
    assert page.url.endswith("/schedules")
