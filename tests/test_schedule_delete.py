"""Deleting a schedule: an admin confirms it, and a schedule a dispatch policy pages through
cannot be deleted until the policy stops using it (its incidents would reach nobody)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import rule
from tests.test_schedule_dispatch import core_platform
from webapp.extensions import db
from webapp.models import CalendarFeed, Schedule, ScheduleLayer, ScheduleOverride, utcnow
from webapp.schedules import feeds


def delete(client: FlaskClient, schedule_id: int, confirm: str = "delete"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/schedules/{schedule_id}")
    return client.post(
        f"/schedules/{schedule_id}/delete", data={"csrf_token": token, "confirm": confirm}
    )


def count(model: type) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_admin_deletes_an_unused_schedule_with_everything_it_holds(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    schedule = core_platform(owner, member)
    now = utcnow()
    db.session.add(
        ScheduleOverride(
            schedule_id=schedule.id,
            member_id=member.member.id,
            starts_at=now,
            ends_at=now + timedelta(hours=2),
        )
    )
    db.session.commit()
    token = feeds.issue(schedule)
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    sign_in(client, owner)
    page = client.get(f"/schedules/{schedule.id}").get_data(as_text=True)
    assert f'href="/schedules/{schedule.id}/delete"' in page
    confirm = client.get(f"/schedules/{schedule.id}/delete").get_data(as_text=True)
    assert "Delete “Core Platform primary”?" in confirm and "Delete the schedule" in confirm

    answer = delete(client, schedule.id)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/schedules")
    listing = client.get("/schedules").get_data(as_text=True)
    assert "Schedule “Core Platform primary” deleted." in listing
    assert "Core Platform primary</a>" not in listing
    assert (count(Schedule), count(ScheduleLayer), count(ScheduleOverride)) == (0, 0, 0)
    assert count(CalendarFeed) == 0
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_a_schedule_a_policy_pages_through_is_kept_and_the_policy_named(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    schedule = core_platform(owner, member)
    integration = factories.lark_integration(owner.account)
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    used = rule(channel, integration, [{"delay_minutes": 0, "schedule_ids": [schedule.id]}])
    sign_in(client, owner)
    confirm = client.get(f"/schedules/{schedule.id}/delete").get_data(as_text=True)
    assert f'href="/admin/channels/{channel.id}/dispatch"' in confirm and used.name in confirm
    assert "Delete the schedule" not in confirm  # no button to press

    refused = delete(client, schedule.id)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "“rule 0” (Payments) pages whoever is on call here" in text
    assert count(Schedule) == 1 and count(ScheduleLayer) == 1

    used.layers = [{"delay_minutes": 0, "member_ids": [owner.member.id]}]
    db.session.commit()
    assert delete(client, schedule.id).status_code == 303
    assert count(Schedule) == 0


def test_only_an_admin_of_the_account_deletes_and_only_when_confirmed(
    client: FlaskClient, owner: Persona, member: Persona
) -> None:
    schedule = core_platform(owner, member)
    elsewhere = factories.persona("owner")  # the owner of another account
    sign_in(client, member)
    assert f"/schedules/{schedule.id}/delete" not in client.get(
        f"/schedules/{schedule.id}"
    ).get_data(as_text=True)
    assert client.get(f"/schedules/{schedule.id}/delete").status_code == 403
    assert delete(client, schedule.id).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})

    sign_in(client, elsewhere)
    assert client.get(f"/schedules/{schedule.id}/delete").status_code == 404
    assert delete(client, schedule.id).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/schedules")})

    sign_in(client, owner)
    assert delete(client, schedule.id, confirm="").status_code == 303  # back to the question
    no_token = client.post(f"/schedules/{schedule.id}/delete", data={"confirm": "delete"})
    assert no_token.status_code == 400
    assert count(Schedule) == 1
