"""The schedule page in a real browser, desktop and phone, English and Chinese."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot
from webapp.extensions import db
from webapp.models import Schedule, ScheduleLayer, ScheduleOverride, utcnow

TOUR = Path(__file__).resolve().parent.parent / "docs" / "tour"


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
    page = page_at(viewport, locale=locale)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", owner.member.email)
    page.fill("input[name=password]", owner.password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/schedules/{schedule.id}")
    final = page.locator(".sch-final")
    assert heading in final.inner_text()
    assert final.locator(".sch-bar.sch-mine").count() >= 1
    assert final.locator(".sch-bar.sch-override").count() == 1
    # The timeline scrolls inside its box on a phone; the page itself never scrolls sideways.
    assert horizontal_overflow(page) == 0
    shot = screenshot(page, f"schedule-{size}-{locale[:2]}")
    TOUR.mkdir(exist_ok=True)
    shutil.copy(shot, TOUR / shot.name)
