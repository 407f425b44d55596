"""What an admin reads on the insights page, and a member in "My week" on the homepage."""

from __future__ import annotations

import re

import pytest
import time_machine
from flask.testing import FlaskClient
from flask_babel import refresh

from tests import factories, incident_pages_support, insights_support
from tests.conftest import sign_in
from tests.insights_support import NOW
from tests.test_schedules import weekly_schedule
from webapp.extensions import db

pytestmark = pytest.mark.now(NOW)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def week(
    clock: time_machine.Traveller, owner: factories.Persona, member: factories.Persona
) -> insights_support.Week:
    return insights_support.build(clock, owner, member)


def test_the_admin_reads_every_figure_of_the_week(
    client: FlaskClient, week: insights_support.Week
) -> None:
    sign_in(client, week.owner)
    response = client.get("/admin/insights/?days=7")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text(html)
    assert "5 incidents in the last 7 days." in page
    assert "Time to acknowledge 10 min 15 min 20 min 20 min" in page
    assert "Time to resolve 30 min 1 h 5 min 2 h 0 min 2 h 0 min" in page
    assert "disk full 3 0% 30 min" in page
    assert "cpu high 2 50% 20 min" in page
    assert f"{week.member.member.name} 1 3" in page
    assert f"{week.owner.member.name} 1 1" in page
    assert "1 incidents reached a second layer." in page
    assert f"#{week.escalated.number} cpu high 3" in page
    assert "Lark card 1" in page and "Web 1" in page and "API 1" in page
    # The charts are accessible SVG with a title and a description, tables behind a toggle.
    assert html.count('role="img"') == 2
    assert '<title id="chart-per-day-t">Incidents per day by severity</title>' in html
    assert "2026-06-14 0 0 0" not in page and "2026-06-14 1 0 0" in page
    assert html.count("<details>") == 2


def test_a_channel_and_a_period_are_chosen_in_the_address(
    client: FlaskClient, week: insights_support.Week
) -> None:
    sign_in(client, week.owner)
    page = text(
        client.get(f"/admin/insights/?days=30&channel={week.channel.id}").get_data(as_text=True)
    )
    assert "1 incidents in the last 30 days." in page
    assert "disk full" not in page


def test_bad_choices_get_a_clear_answer(
    client: FlaskClient, week: insights_support.Week, outsider: factories.Persona
) -> None:
    sign_in(client, week.owner)
    refused = client.get("/admin/insights/?days=14")
    assert refused.status_code == 400
    assert "Choose a period of 7, 30 or 90 days." in refused.get_data(as_text=True)
    other = factories.channel(outsider.account, [outsider.member], name="Theirs")
    assert client.get(f"/admin/insights/?channel={other.id}").status_code == 404


def test_members_may_not_open_the_insights_page(
    client: FlaskClient, member: factories.Persona
) -> None:
    sign_in(client, member)
    assert client.get("/admin/insights/").status_code == 403


def test_an_account_without_incidents_is_told_the_next_step(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    page = text(client.get("/admin/insights/").get_data(as_text=True))
    assert "No incidents in the last 7 days" in page
    assert "Next step: connect an alert source to a channel" in page
    assert "Open the integration center" in page


def test_my_week_on_the_homepage(client: FlaskClient, week: insights_support.Week) -> None:
    lark = incident_pages_support.integration(week.owner.account)
    incident_pages_support.enter(client, week.member, lark)
    page = text(client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True))
    assert "My week Pages received 3 Acknowledged by me 1" in page
    assert "Median time to acknowledge 5 min Night-time pages 1" in page
    assert "Next shift None in the next two weeks" in page


def test_my_week_names_my_next_shift(client: FlaskClient, week: insights_support.Week) -> None:
    # Weekly hand-offs on Mondays at 09:00 Beijing: the member's week ended at 09:00 today.
    weekly_schedule(week.owner, week.member)
    lark = incident_pages_support.integration(week.owner.account)
    incident_pages_support.enter(client, week.member, lark)
    page = text(client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True))
    assert "Next shift 06-22 09:00 Core Platform primary" in page


def test_in_chinese_the_admin_reads_the_same_figures(
    client: FlaskClient, week: insights_support.Week
) -> None:
    sign_in(client, week.owner)
    week.owner.member.locale = "zh"
    db.session.commit()
    refresh()  # the test's app context outlives each request: forget the last one's locale
    html = client.get("/admin/insights/?days=7").get_data(as_text=True)
    page = text(html)
    assert '<html lang="zh-CN"' in html
    assert "认领用时 10 min" not in page  # durations are in Chinese too
    assert "认领用时" in page and "解决用时" in page
    assert '<title id="chart-per-day-t">按严重程度的每日故障数</title>' in html
    assert "disk full 3 0%" in page  # alert rule names are data
