"""One time zone per member: chosen, else the Lark client's, else the integration's; written
with its offset on the pages, the timeline and the card."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import flask_babel
import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.incident_pages_support import csrf_from, enter, integration
from webapp import i18n
from webapp.extensions import db
from webapp.identity import timezones
from webapp.models import LarkIntegration, Member, Platform


@pytest.fixture
def lark(owner: factories.Persona) -> LarkIntegration:
    return integration(owner.account)


@pytest.fixture
def web(client: FlaskClient, owner: factories.Persona, lark: LarkIntegration) -> FlaskClient:
    owner.member.locale = "en"
    db.session.commit()
    enter(client, owner, lark)
    return client


def _settings(web: FlaskClient, lark: LarkIntegration, zone: str) -> Any:
    token = csrf_from(web.get(f"/lark/{lark.key}/settings").get_data(as_text=True))
    return web.post(
        f"/lark/{lark.key}/settings",
        data={"csrf_token": token, "timezone": zone},
        follow_redirects=True,
    )


def test_an_offset_is_written_the_way_people_read_it() -> None:
    summer = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    assert i18n.offset_label(summer, ZoneInfo("Asia/Shanghai")) == "UTC+8"
    assert i18n.offset_label(summer, ZoneInfo("America/New_York")) == "UTC-4"
    assert i18n.offset_label(summer, ZoneInfo("Asia/Kolkata")) == "UTC+5:30"
    assert i18n.offset_label(summer, UTC) == "UTC"
    assert i18n.stamp(summer, ZoneInfo("Asia/Shanghai")) == "2026-06-15 10:00 UTC+8"


def test_the_chosen_zone_wins_then_the_lark_client_s_then_the_integration_s(
    owner: factories.Persona, lark: LarkIntegration
) -> None:
    member: Member = owner.member
    lark.platform = Platform.FEISHU
    assert timezones.name_for(member, lark) == "Asia/Shanghai"
    lark.platform = Platform.LARK
    assert timezones.name_for(member, lark) == "UTC"
    timezones.note_client(member, "Europe/Berlin")
    assert timezones.name_for(member, lark) == "Europe/Berlin"
    timezones.choose(member, "America/New_York")
    assert timezones.name_for(member, lark) == "America/New_York"
    timezones.choose(member, None)
    assert timezones.name_for(member, lark) == "Europe/Berlin"
    timezones.note_client(member, "Not/AZone")
    assert member.client_timezone == "Europe/Berlin"


def test_a_member_chooses_a_zone_and_the_detail_and_timeline_show_it_with_its_offset(
    web: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    answer = _settings(web, lark, "Asia/Shanghai")
    assert "Saved. Times now show in Asia/Shanghai." in answer.get_data(as_text=True)
    flask_babel.refresh()
    page = web.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    # The clock stands at 2026-06-15 02:00 UTC: 10:00 in Shanghai.
    assert page.count("2026-06-15 10:00 UTC+8") >= 2  # Started, and the timeline's "triggered"
    assert "02:00 UTC" not in page


def test_started_and_the_timeline_s_triggered_say_the_same_time_ago(
    web: FlaskClient, owner: factories.Persona, lark: LarkIntegration, clock: Any
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    clock.move_to(datetime(2026, 6, 20, 2, 0, tzinfo=UTC))
    flask_babel.refresh()
    page = web.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    started = re.search(r"<dt>Started</dt><dd><time [^>]*>([^<]+)</time>", page)
    triggered = re.search(
        r'<li class="inc-event inc-event-triggered">\s*'
        r'<span class="inc-event-when"><time [^>]*>([^<]+)</time>',
        page,
    )
    assert started and triggered
    assert started.group(1) == triggered.group(1) == "5 days ago"


def test_the_lark_client_s_zone_is_learnt_from_the_web_app(
    web: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    web.set_cookie("lk_tz", "America%2FNew_York")
    page = web.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    db.session.refresh(owner.member)
    assert owner.member.client_timezone == "America/New_York"
    assert "2026-06-14 22:00 UTC-4" in page


def test_an_unknown_zone_is_refused_and_nothing_changes(
    web: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    timezones.choose(owner.member, "Asia/Tokyo")
    answer = _settings(web, lark, "Mars/Olympus_Mons")
    assert "Unknown time zone" in answer.get_data(as_text=True)
    db.session.refresh(owner.member)
    assert owner.member.timezone == "Asia/Tokyo"


def test_the_settings_page_speaks_chinese(
    web: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    owner.member.locale = "zh"
    db.session.commit()
    flask_babel.refresh()
    page = web.get(f"/lark/{lark.key}/settings").get_data(as_text=True)
    assert "时区" in page and "保存" in page


def test_a_direct_card_follows_the_member_s_zone(
    owner: factories.Persona, lark: LarkIntegration, clock: Any
) -> None:
    from webapp.cards.render import incident_card

    incident = factories.incident(owner.account, "Disk full on db-01")
    timezones.choose(owner.member, "America/New_York")
    zone = timezones.zone_for(owner.member, lark)
    card = str(incident_card(incident, locale="en", web_url="https://x.test/", zone=zone))
    assert "Started: 2026-06-14 22:00 UTC-4" in card
