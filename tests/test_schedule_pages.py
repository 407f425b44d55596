"""The schedule pages: admins create schedules, layers and overrides; everyone sees the timeline."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_schedule_dispatch import LINKS, paged
from tests.test_schedules import weekly_schedule
from webapp.models import Schedule


def post(client: FlaskClient, path: str, data: dict[str, object]) -> tuple[int, str]:
    token = csrf_token(client, "/schedules")
    answer = client.post(path, data={**data, "csrf_token": token})
    return answer.status_code, answer.get_data(as_text=True)


@pytest.mark.now("2026-06-15T10:00:00+08:00")  # the dates it reads are stated
def test_an_admin_builds_a_schedule_with_a_layer_and_an_override(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    sign_in(client, owner)
    status, _ = post(
        client, "/schedules", {"name": "Core Platform primary", "timezone": "Asia/Shanghai"}
    )
    assert status == 303
    schedule = Schedule.query.filter_by(name="Core Platform primary").one()
    path = f"/schedules/{schedule.id}"
    status, _ = post(
        client,
        f"{path}/layers",
        {
            "name": "Weekly",
            "member_ids": [str(owner.member.id), str(member.member.id)],
            "kind": "weekly",
            "weekday": "0",
            "handoff": "09:00",
            "timezone": "Asia/Shanghai",
            "start": "2026-06-01",
        },
    )
    assert status == 303
    status, _ = post(
        client,
        f"{path}/overrides",
        {
            "member_id": str(member.member.id),
            "start": "2026-06-16T09:00",
            "end": "2026-06-16T21:00",
        },
    )
    assert status == 303
    page = client.get(path).get_data(as_text=True)
    final = page.split('class="sch-row sch-final"')[1].split('class="sch-row"')[0]
    # 2026-06-15 10:00 Beijing: the owner's week, with the member's override on Tuesday.
    names = [n.strip() for n in re.findall(r'<span class="sch-bar[^"]*"[^>]*>([^<]+)', final)]
    assert names[:3] == [
        member.member.name,
        owner.member.name,
        member.member.name,
    ]
    assert "sch-mine" in final and "sch-override" in final


def test_bad_input_keeps_what_was_typed_and_says_why(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    status, page = post(client, "/schedules", {"name": "Night shift", "timezone": "Mars/Olympus"})
    assert status == 422
    assert "unknown time zone" in page
    assert 'value="Night shift"' in page and 'value="Mars/Olympus"' in page


def test_members_see_schedules_but_cannot_change_them_and_outsiders_cannot_reach_them(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    outsider: factories.Persona,
) -> None:
    schedule = weekly_schedule(owner, member)
    sign_in(client, member)
    assert client.get(f"/schedules/{schedule.id}").status_code == 200
    status, _ = post(client, "/schedules", {"name": "Mine", "timezone": "UTC"})
    assert status == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})
    sign_in(client, outsider)
    assert client.get(f"/schedules/{schedule.id}").status_code == 404


def test_a_member_gets_a_calendar_url_for_their_own_shifts(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    sign_in(client, member)
    status, page = post(client, f"/schedules/{schedule.id}/feed", {"action": "issue"})
    assert status == 200
    url = re.search(r'<code class="sch-feed">http://[^/]+(/calendar/[^<]+\.ics)</code>', page)
    assert url
    assert client.get(url.group(1)).status_code == 200


@pytest.mark.now("2026-06-10T03:00:00+00:00")
def test_the_lark_homepage_shows_who_is_on_call_now_and_my_next_shifts(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    incident = paged(owner, member, schedule)
    assert incident.number
    sign_in(client, owner)
    key, binding = LINKS[owner.member.id]
    with client.session_transaction() as session:
        session["lark"] = {"key": key, "binding": binding}
    answer = client.get(f"/lark/{key}/", follow_redirects=True)
    page = answer.get_data(as_text=True)
    box = page.split('id="my-oncall"')[1].split("</section>")[0]
    assert f"<strong>{member.member.name}</strong>" in box
    assert "On call now" in box and "My next shifts" in box
    # The owner's next week starts Monday 15 June, 09:00 Beijing.
    assert "Core Platform primary: 06-15 09:00–06-22 09:00" in box
