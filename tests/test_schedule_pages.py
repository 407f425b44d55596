"""The schedule pages: admins create schedules, layers and overrides; everyone sees the timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.test_schedule_dispatch import LINKS, paged
from tests.test_schedules import weekly_schedule
from webapp.extensions import db
from webapp.models import Schedule, utcnow

BEIJING = ZoneInfo("Asia/Shanghai")  # the zone of weekly_schedule


def _day(days: int) -> str:
    """The date in Beijing `days` after the test's moment, as the override form writes it."""
    return (utcnow().astimezone(BEIJING) + timedelta(days=days)).date().isoformat()


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


def _layer_form(owner: factories.Persona, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Weekly",
        "member_ids": [str(owner.member.id)],
        "kind": "weekly",
        "weekday": "0",
        "handoff": "09:00",
        "timezone": "Asia/Shanghai",
        "start": "2026-06-01",
    }
    form.update(changes)
    return form


def test_an_admin_edits_a_layer_and_bad_input_changes_nothing_and_keeps_what_was_typed(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    layer = schedule.layers[0]
    path = f"/schedules/{schedule.id}"
    sign_in(client, owner)
    status, page = post(
        client, f"{path}/layers/{layer.id}", _layer_form(owner, name="Nights", handoff="9 am")
    )
    assert status == 422
    assert "handoff time: use HH:MM, like 09:00" in page
    edit = page.split(f'id="layer-{layer.id}"')[1].split("</details>")[0]
    assert " open>" in edit.split("\n")[0] or "open>" in edit[:40]
    assert 'value="Nights"' in edit and 'value="9 am"' in edit
    db.session.refresh(layer)
    assert layer.name != "Nights" and layer.handoff_minute == 9 * 60

    status, _ = post(
        client, f"{path}/layers/{layer.id}", _layer_form(owner, name="Nights", handoff="21:00")
    )
    assert status == 303
    db.session.refresh(layer)
    assert (layer.name, layer.handoff_minute, layer.member_ids) == (
        "Nights",
        21 * 60,
        [owner.member.id],
    )


def test_an_admin_deletes_a_layer_and_an_override(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    path = f"/schedules/{schedule.id}"
    sign_in(client, owner)
    status, _ = post(
        client,
        f"{path}/overrides",
        {
            "member_id": str(member.member.id),
            "start": f"{_day(16)}T09:00",
            "end": f"{_day(16)}T21:00",
        },
    )
    assert status == 303
    db.session.refresh(schedule)
    (override,) = schedule.overrides
    assert post(client, f"{path}/overrides/{override.id}/delete", {})[0] == 303
    assert post(client, f"{path}/layers/{schedule.layers[0].id}/delete", {})[0] == 303
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).layers == []
    assert db.session.get(Schedule, schedule.id).overrides == []
    status, page = post(client, f"{path}/layers/{override.id + 999}/delete", {})
    assert status == 422 and "that layer is no longer in this schedule" in page


def test_an_admin_moves_an_override_and_a_backwards_range_is_refused(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    path = f"/schedules/{schedule.id}"
    sign_in(client, owner)
    post(
        client,
        f"{path}/overrides",
        {
            "member_id": str(member.member.id),
            "start": f"{_day(16)}T09:00",
            "end": f"{_day(16)}T21:00",
        },
    )
    db.session.refresh(schedule)
    (override,) = schedule.overrides
    backwards = {
        "member_id": str(owner.member.id),
        "start": f"{_day(17)}T21:00",
        "end": f"{_day(17)}T09:00",
    }
    status, page = post(client, f"{path}/overrides/{override.id}", backwards)
    assert status == 422
    assert "the end must come after the start" in page
    assert f'value="{_day(17)}T21:00"' in page
    db.session.refresh(override)
    assert override.member_id == member.member.id
    moved = {
        "member_id": str(owner.member.id),
        "start": f"{_day(17)}T09:00",
        "end": f"{_day(17)}T21:00",
    }
    assert post(client, f"{path}/overrides/{override.id}", moved)[0] == 303
    db.session.refresh(override)
    assert override.member_id == owner.member.id
    nine = datetime.fromisoformat(f"{_day(17)}T09:00").replace(tzinfo=BEIJING)
    assert override.starts_at == nine.astimezone(UTC)  # 09:00 Beijing is 01:00 UTC


def test_members_and_outsiders_cannot_edit_or_delete(
    client: FlaskClient,
    owner: factories.Persona,
    member: factories.Persona,
    outsider: factories.Persona,
) -> None:
    schedule = weekly_schedule(owner, member)
    layer = schedule.layers[0]
    path = f"/schedules/{schedule.id}"
    sign_in(client, member)
    assert post(client, f"{path}/layers/{layer.id}/delete", {})[0] == 403
    assert post(client, f"{path}/layers/{layer.id}", _layer_form(owner))[0] == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})
    admin = factories.persona("admin", account=outsider.account)
    sign_in(client, admin)
    assert post(client, f"{path}/layers/{layer.id}/delete", {})[0] == 404
    assert client.post(f"{path}/layers/{layer.id}/delete").status_code == 400  # no CSRF token
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).layers != []


@pytest.mark.now("2026-06-15T10:00:00+08:00")
def test_the_chinese_page_says_why_in_chinese(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    import flask_babel

    schedule = weekly_schedule(owner, member)
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    flask_babel.refresh()
    status, page = post(
        client,
        f"/schedules/{schedule.id}/layers/{schedule.layers[0].id}",
        _layer_form(owner, start="soon"),
    )
    assert status == 422
    assert "轮换开始日期须为日期" in page
