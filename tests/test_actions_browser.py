"""The incident actions in a real browser, at 1280x800 and 390x844, in English and Chinese:
the phone list's first screen, the "More" popover, the seatless banner, the time zone
setting, Switch account's question, and a snoozed card in the sandbox offering Resolve.

Screenshots land in tests/artifacts/; the phone list's (and the snoozed card's, in
tests/test_actions_card_browser.py) also in tests/artifacts/tour/, and with TOUR_DIR set
(TOUR_DIR=docs/tour) in the product tour.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot
from tests.incident_pages_support import many
from tests.test_incident_pages_browser import open_as
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import LarkBinding, LarkIntegration, Severity, Source

pytestmark = pytest.mark.browser

# tests/artifacts/tour/ on every run; with TOUR_DIR set (docs/tour), there as well.
TOUR_DIRS = [Path(__file__).resolve().parent / "artifacts" / "tour"] + (
    [Path(os.environ["TOUR_DIR"])] if os.environ.get("TOUR_DIR") else []
)
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
LANGUAGES = [pytest.param("en", id="en"), pytest.param("zh", id="zh")]
WORDS = {
    "en": {"ack": "Acknowledge", "resolve": "Resolve", "yes": "Yes, switch account"},
    "zh": {"ack": "认领", "resolve": "关闭", "yes": "是的，切换账户"},
}


@pytest.fixture
def lark(owner: factories.Persona, live_server: str) -> LarkIntegration:
    from tests.incident_pages_support import integration

    return integration(owner.account)


def _size(viewport: dict[str, int]) -> str:
    return "desktop" if viewport is DESKTOP else "phone"


def _in(page: Page, persona: factories.Persona, locale: str) -> Page:
    persona.member.locale = locale
    db.session.commit()
    page.reload()
    return page


def tour_shot(page: Page, name: str) -> None:
    for folder in TOUR_DIRS:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def fully_visible(page: Page, selector: str) -> int:
    """How many elements matching `selector` lie entirely inside the first screen."""
    return int(
        page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)].filter((el) => {
                const r = el.getBoundingClientRect();
                return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
            }).length""",
            selector,
        )
    )


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("viewport", SIZES)
def test_the_first_screen_shows_five_incidents_with_state_and_main_action(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    me = owner.member
    made = many(owner.account, 8, [me], title="Checkout latency above 2 s on api-gateway")
    incidents.acknowledge(made[-2], Actor(me, Source.WEB))
    incidents.snooze(made[-3], Actor(me, Source.WEB), 60)
    made[0].severity, made[1].severity = Severity.CRITICAL, Severity.INFO
    db.session.commit()
    page = _in(open_as(page_at, viewport, app, live_server, owner, lark), owner, locale)
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(8)
    screenshot(page, f"actions-list-{_size(viewport)}-{locale}", full_page=False)
    if viewport is PHONE:
        tour_shot(page, f"phone-list-{locale}")
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:  # the severity column is hidden: the row's left edge carries it
        edges = page.eval_on_selector_all(
            "#incident-list tr.inc-row",
            "rows => rows.map(r => [r.dataset.severity, getComputedStyle(r).borderLeftColor])",
        )
        colours = {"Critical": "rgb(180, 35, 24)", "Warning": "rgb(138, 75, 0)"}
        colours["Info"] = "rgb(23, 92, 211)"
        assert {severity for severity, _colour in edges} == set(colours)
        assert all(colour == colours[severity] for severity, colour in edges), edges
    # Whole rows, each with its state and its main action inside the first screen.
    assert fully_visible(page, "#incident-list tr.inc-row") >= 5
    assert fully_visible(page, "#incident-list tr.inc-row .inc-st .badge") >= 5
    assert fully_visible(page, "#incident-list tr.inc-row .inc-action .btn-primary") >= 5
    # One tap acts: the newest incident is acknowledged from the list.
    newest = page.locator(f"#incident-{made[-1].number}")
    newest.get_by_role("button", name=WORDS[locale]["ack"], exact=True).click()
    expect(newest.locator(".badge.st-Processing")).to_be_visible()


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("viewport", SIZES)
def test_more_opens_as_a_popover_and_leaves_the_row_as_it_was(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    made = many(owner.account, 6, [owner.member])
    page = _in(open_as(page_at, viewport, app, live_server, owner, lark), owner, locale)
    row = page.locator(f"#incident-{made[2].number}")
    before = row.bounding_box()
    buttons_before = row.locator(".inc-action").first.bounding_box()
    row.locator("summary").click()
    panel = row.locator(".inc-menu-panel")
    expect(panel.locator("select[name=minutes]")).to_be_visible()
    screenshot(page, f"actions-more-{_size(viewport)}-{locale}", full_page=False)
    after = row.bounding_box()
    assert before and after and buttons_before
    assert abs(after["height"] - before["height"]) < 1  # the row did not grow
    assert row.locator(".inc-action").first.bounding_box() == buttons_before  # nothing moved
    box = panel.bounding_box()
    assert box and box["y"] + box["height"] <= viewport["height"] + 1  # on screen
    resolve = panel.get_by_role("button", name=WORDS[locale]["resolve"], exact=True)
    if viewport is PHONE:  # a sheet along the bottom, with the verbs the short row leaves out
        assert box["width"] >= viewport["width"] - 2
        assert abs(box["y"] + box["height"] - viewport["height"]) < 2
        expect(resolve).to_be_visible()
    else:  # the row shows every verb itself
        expect(resolve).to_be_hidden()
        expect(
            row.locator(".inc-row-verbs").get_by_role("button", name=WORDS[locale]["resolve"])
        ).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()


BANNER = {"en": "You have no license seat.", "zh": "您没有许可证席位。"}


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("viewport", SIZES)
def test_a_member_without_a_seat_sees_the_banner_and_disabled_buttons(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    made = many(owner.account, 3, [seatless.member])
    page = _in(open_as(page_at, viewport, app, live_server, seatless, lark), seatless, locale)
    banner = page.locator("#no-seat-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(BANNER[locale])
    expect(banner).to_contain_text(owner.member.name)
    link = banner.get_by_role("link")
    expect(link).to_have_attribute("href", re.compile(r"/license$"))
    row = page.locator(f"#incident-{made[-1].number}")
    main = row.locator(".inc-row-verbs .btn-primary")
    expect(main).to_be_disabled()
    expect(main).to_have_attribute("title", re.compile(r"\S"))
    expect(row.locator("details.inc-menu")).to_have_count(0)
    screenshot(page, f"actions-no-seat-{_size(viewport)}-{locale}", full_page=False)
    assert horizontal_overflow(page) == 0
    box = banner.bounding_box()
    assert box and box["y"] + box["height"] <= viewport["height"]  # seen without scrolling


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("viewport", SIZES)
def test_a_member_chooses_a_time_zone_and_the_pages_follow(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    page = _in(open_as(page_at, viewport, app, live_server, owner, lark), owner, locale)
    page.locator("summary.lk-me").click()
    page.locator(".lk-menu-panel a[href$='/settings']").click()
    page.locator("#lk-timezone").select_option("Asia/Tokyo")
    page.locator(".lk-settings-form button[type=submit]").click()
    expect(page.locator(".flash-success")).to_contain_text("Asia/Tokyo")
    screenshot(page, f"actions-settings-{_size(viewport)}-{locale}", full_page=False)
    page.goto(f"{live_server}/lark/{lark.key}/incidents/{incident.number}")
    # Started and the timeline's "triggered": the same words, the same zone with its offset.
    started = page.locator(".inc-facts > div").nth(3)
    expect(started.locator(".inc-stamp")).to_contain_text("UTC+9")
    expect(page.locator(".inc-event-triggered .inc-stamp")).to_contain_text("UTC+9")
    assert (
        started.locator("time").inner_text()
        == page.locator(".inc-event-triggered time").inner_text()
    )
    screenshot(page, f"actions-detail-zone-{_size(viewport)}-{locale}", full_page=False)
    assert horizontal_overflow(page) == 0


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("viewport", SIZES)
def test_switch_account_asks_before_it_unlinks(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
    locale: str,
) -> None:
    page = _in(open_as(page_at, viewport, app, live_server, owner, lark), owner, locale)
    page.locator("summary.lk-me").click()
    page.locator("#lk-switch > summary").click()
    question = page.locator("#lk-switch .lk-confirm-panel")
    expect(question).to_be_visible()
    expect(question).to_contain_text(owner.member.name)
    screenshot(page, f"actions-switch-asks-{_size(viewport)}-{locale}", full_page=False)
    assert "/bind" not in page.url
    db.session.expire_all()
    assert db.session.query(LarkBinding).filter_by(member_id=owner.member.id).one().ended_at is None
    question.get_by_role("button", name=WORDS[locale]["yes"]).click()
    page.wait_for_url(re.compile("/bind"))
