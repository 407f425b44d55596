"""The incident list and detail in a real browser, on the Lark PC workbench and on a phone.

Screenshots land in tests/artifacts/incidents-*.png.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot, small_targets
from tests.incident_pages_support import integration, many
from webapp.extensions import db
from webapp.identity import sessions
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, LarkBinding, LarkIntegration, Source

pytestmark = pytest.mark.browser

SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture
def lark(owner: factories.Persona, live_server: str) -> LarkIntegration:
    return integration(owner.account)


def _binding(persona: factories.Persona, lark: LarkIntegration) -> LarkBinding:
    found = db.session.query(LarkBinding).filter_by(member_id=persona.member.id).first()
    if found is not None:
        return found
    made = LarkBinding(
        integration_id=lark.id, member_id=persona.member.id, open_id=f"ou_{persona.member.id}"
    )
    db.session.add(made)
    db.session.commit()
    return made


def open_as(
    page_at: PageAt,
    viewport: dict[str, int],
    app: Flask,
    live_server: str,
    persona: factories.Persona,
    lark: LarkIntegration,
) -> Page:
    """A browser context already signed in through the Lark integration (a signed session
    cookie like the one the OAuth round trip leaves)."""
    binding = _binding(persona, lark)
    persona.member.locale = "en"  # the Lark user agent asks for Chinese; the tests read English
    db.session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
        {
            "_user_id": str(persona.member.id),
            "_fresh": True,
            sessions.SESSION_ID: sessions.start_record(persona.member, "browser test"),
            "lark": {"key": lark.key, "binding": binding.id},
        }
    )
    page = page_at(viewport, lark=True)
    host = urlsplit(live_server).hostname
    page.context.add_cookies(
        [{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "domain": host, "path": "/"}]
    )
    page.goto(f"{live_server}/lark/{lark.key}/incidents")
    return page


def _size(viewport: dict[str, int]) -> str:
    return "desktop" if viewport is DESKTOP else "phone"


def fits(page: Page, viewport: dict[str, int]) -> None:
    assert horizontal_overflow(page) == 0
    if viewport is PHONE:
        small = small_targets(page, within="#incident-list, #incident-filters")
        assert small == [], sorted(set(small))


def rows(page: Page) -> int:
    return page.locator("#incident-list tr.inc-row").count()


@pytest.mark.parametrize("viewport", SIZES)
def test_filter_search_and_load_more(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
) -> None:
    me = owner.member
    many(owner.account, 52, [me])
    disk = factories.incident(owner.account, "Disk full on db-01", assignees=[me])
    old = factories.incident(owner.account, "Disk full on db-02", assignees=[me])
    incidents.resolve(old, Actor(me, Source.WEB))
    page = open_as(page_at, viewport, app, live_server, owner, lark)
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(50)
    screenshot(page, f"incidents-list-{_size(viewport)}", full_page=False)
    fits(page, viewport)

    page.get_by_role("link", name="Load more").click()
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(53)

    page.get_by_label("Search by title or number").fill("disk")
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(1)
    expect(page.locator(f"#incident-{disk.number}")).to_be_visible()
    page.wait_for_url("**q=disk**")

    page.get_by_role("link", name="Resolved").click()
    expect(page.locator(f"#incident-{old.number}")).to_be_visible()
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(1)
    page.wait_for_url("**status=closed&q=disk")
    screenshot(page, f"incidents-search-closed-{_size(viewport)}")

    page.get_by_label("Severity").select_option("warning")
    expect(page.locator("#incident-list .inc-empty")).to_contain_text("No incident matches")
    page.wait_for_url("**severity=warning**")
    assert "status=closed" in page.url
    page.get_by_label("Severity").select_option("critical")
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(1)
    page.wait_for_url("**severity=critical**")

    page.reload()
    expect(page.get_by_label("Search by title or number")).to_have_value("disk")
    expect(page.locator(f"#incident-{old.number}")).to_be_visible()


@pytest.mark.parametrize("viewport", SIZES)
def test_acknowledge_a_row_then_snooze_from_the_detail(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    viewport: dict[str, int],
) -> None:
    incident = factories.incident(
        owner.account, "CPU high on web-03", assignees=[owner.member], labels={"env": "prod"}
    )
    page = open_as(page_at, viewport, app, live_server, owner, lark)
    row = page.locator(f"#incident-{incident.number}")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row.locator(".inc-st")).to_contain_text("Acknowledged")
    expect(page.locator("#toasts")).to_contain_text(f"Incident #{incident.number} acknowledged.")
    expect(page.locator('.inc-count[data-status="processing"]')).to_have_text("1")
    row.locator("summary").click()  # "More": snooze and reassign load when it opens
    expect(row.get_by_label("Snooze for")).to_be_visible()
    expect(row.get_by_label("Assign to")).to_be_visible()
    screenshot(page, f"incidents-row-menu-{_size(viewport)}", full_page=False)
    row.locator("summary").click()
    screenshot(page, f"incidents-acknowledged-{_size(viewport)}", full_page=False)

    row.get_by_role("link", name="CPU high on web-03").click()
    detail = page.locator("#incident-detail")
    expect(detail).to_contain_text("env=prod")
    detail.get_by_label("Snooze for").select_option("120")
    detail.get_by_role("button", name="Snooze").click()
    expect(detail.locator(".inc-badges")).to_contain_text("Snoozed")
    expect(detail.locator("#incident-timeline")).to_contain_text("snoozed")
    expect(detail.locator("#incident-timeline")).to_contain_text("via web")
    screenshot(page, f"incidents-detail-snoozed-{_size(viewport)}")
    fits(page, viewport)
    db.session.expire_all()
    fresh = db.session.get(Incident, incident.id)
    assert fresh is not None and fresh.snoozed_until is not None


@pytest.mark.parametrize("viewport", SIZES)
def test_a_change_made_elsewhere_appears_within_one_refresh(
    page_at: PageAt,
    app: Flask,
    live_server: str,
    lark: LarkIntegration,
    owner: factories.Persona,
    member: factories.Persona,
    viewport: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "LIST_REFRESH_SECONDS", 1)
    both = [owner.member, member.member]
    watched = factories.incident(owner.account, "Queue backlog growing", assignees=both)
    chosen = factories.incident(owner.account, "Cache misses", assignees=both)
    first = open_as(page_at, viewport, app, live_server, owner, lark)
    first.locator(f"#incident-{chosen.number} input[name=ids]").check()
    second = open_as(page_at, DESKTOP, app, live_server, member, lark)
    second.locator(f"#incident-{watched.number}").get_by_role("button", name="Acknowledge").click()
    expect(second.locator(f"#incident-{watched.number} .inc-st")).to_contain_text("Acknowledged")

    row = first.locator(f"#incident-{watched.number}")
    expect(row.locator(".inc-st")).to_contain_text("Acknowledged", timeout=5_000)
    expect(row.locator(".inc-updated")).to_have_text("Updated")
    expect(first.locator(f"#incident-{chosen.number} input[name=ids]")).to_be_checked()
    screenshot(first, f"incidents-live-update-{_size(viewport)}", full_page=False)


def test_in_chinese_the_phone_list_still_fits(
    page_at: PageAt, app: Flask, live_server: str, lark: LarkIntegration, owner: factories.Persona
) -> None:
    many(owner.account, 3, [owner.member])
    page = open_as(page_at, PHONE, app, live_server, owner, lark)
    owner.member.locale = "zh"
    db.session.commit()
    page.reload()
    expect(page.locator("#incident-list tr.inc-row")).to_have_count(3)
    screenshot(page, "incidents-list-phone-zh", full_page=False)
    fits(page, PHONE)
