"""In a real browser: an admin picks "whoever is on call in a schedule" for a layer, sees who
that is now, saves the rule with nothing else chosen, and the policy names the schedule."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot
from tests.test_chat_events_browser import TOUR, _signed_in
from webapp.extensions import db
from webapp.models import Schedule, ScheduleLayer
from webapp.sandbox.handle import LarkSandbox

WORDS = {
    "en-US": ("on call now:", "At once:", "on call in Core Platform primary"),
    "zh-CN": ("当前值班：", "立即：", "Core Platform primary 的值班人"),
}


def _schedule(owner: factories.Persona, member: factories.Persona) -> Schedule:
    # Browser tests keep the machine's clock: a daily rotation begun a week ago always has
    # one of the two on call, whatever the day.
    schedule = Schedule(account_id=owner.account.id, name="Core Platform primary")
    schedule.layers.append(
        ScheduleLayer(
            name="Daily",
            member_ids=[owner.member.id, member.member.id],
            shift_kind="daily",
            handoff_weekday=0,
            handoff_minute=9 * 60,
            timezone="Asia/Shanghai",
            rotation_start=date.today() - timedelta(days=7),
            restriction=None,
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule


@pytest.mark.browser
@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (PHONE, "phone")])
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_an_admin_saves_a_layer_that_pages_whoever_is_on_call(
    page_at: PageAt,
    live_server: str,
    owner: factories.Persona,
    member: factories.Persona,
    lark: LarkSandbox,
    viewport: dict[str, int],
    size: str,
    locale: str,
) -> None:
    now_words, at_once, summary = WORDS[locale]
    factories.lark_integration(owner.account)
    schedule = _schedule(owner, member)
    channel = factories.channel(owner.account, [owner.member], name="Core Platform")
    page = _signed_in(page_at, live_server, owner, viewport=viewport, locale=locale)
    page.goto(f"{live_server}/admin/channels/{channel.id}/dispatch/new")

    layer = page.locator("#layer0")
    choice = layer.locator(f"label.choice:has(input[value='{schedule.id}'][name$=schedule])")
    text = choice.inner_text()
    assert "Core Platform primary" in text and now_words in text
    assert owner.member.name in text or member.member.name in text
    page.fill("#f-name", "Page the rota")
    layer.locator("input[name=layer0-assignees]").uncheck()
    choice.locator("input").check()
    shot = screenshot(page, f"dispatch-form-schedule-{size}-{locale[:2]}")
    if (size, locale) in {("desktop", "en-US"), ("phone", "zh-CN")}:
        TOUR.mkdir(exist_ok=True)
        shutil.copy(shot, TOUR / shot.name)
    assert not horizontal_overflow(page)

    page.locator("#rule-form button[type=submit].btn-primary").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/admin/channels/{channel.id}/dispatch")
    rule = page.locator(".dispatch-rule").first.inner_text()
    assert at_once in rule and summary in rule
    assert not horizontal_overflow(page)
