"""REST API v1, schedules and people: who is on call now per schedule and per channel,
an override made over the API (and who is on call follows), members a page at a time.
Run on the demo account with the demo's printed token, as a newcomer would."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.api_support import call, fields, problem, token_of
from webapp.extensions import db
from webapp.models import Member, Schedule, ScheduleOverride, TokenScope, utcnow
from webapp.oncall import schedule as oncall


def demo_token(app: Flask) -> str:
    printed = app.test_cli_runner().invoke(args=["demo", "load"]).output
    found = re.search(r"demo API token \(read and write\): (\S+)", printed)
    assert found, printed
    return found.group(1)


def demo_schedule() -> Schedule:
    return db.session.scalars(select(Schedule)).one()


def test_who_is_on_call_now_per_schedule_and_channel(app: Flask, client: FlaskClient) -> None:
    secret = demo_token(app)
    schedule = demo_schedule()
    expected = db.session.get(Member, oncall.on_call(schedule, utcnow()).member_id)  # type: ignore[union-attr]
    body = call(client, "GET", "/oncall", secret).get_json()
    [now] = body["schedules"]
    assert now["schedule"] == {"id": schedule.id, "name": "Core Platform primary"}
    assert now["member"]["name"] == expected.name  # type: ignore[union-attr]
    [channel] = body["channels"]
    assert channel["channel"]["name"] == "Core Platform"
    assert channel["on_call"] == [now]


def test_an_override_made_over_the_api_puts_someone_on_call(
    app: Flask, client: FlaskClient
) -> None:
    secret = demo_token(app)
    schedule = demo_schedule()
    wang = db.session.scalars(select(Member).where(Member.name == "Wang Fang")).one()
    start = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    cover = {
        "member_id": wang.id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    path = f"/schedules/{schedule.id}/overrides"
    made = call(client, "POST", path, secret, cover, **{"Idempotency-Key": "cover-1"})
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["member"] == {"id": wang.id, "name": "Wang Fang"}
    body = call(client, "GET", "/oncall", secret).get_json()
    assert body["schedules"][0]["member"]["name"] == "Wang Fang"
    detail = call(client, "GET", f"/schedules/{schedule.id}", secret).get_json()
    assert made.get_json() in detail["overrides"]
    replay = call(client, "POST", path, secret, cover, **{"Idempotency-Key": "cover-1"})
    assert replay.get_json() == made.get_json()
    assert len(db.session.scalars(select(ScheduleOverride)).all()) == 2  # the demo's own, and ours


def test_an_override_needs_an_end_after_its_start_and_an_offset(
    app: Flask, client: FlaskClient
) -> None:
    secret = demo_token(app)
    schedule = demo_schedule()
    owner_id = db.session.scalars(select(Member.id).where(Member.name == "Li Lei")).one()
    now = utcnow()
    backwards = {"member_id": owner_id, "starts_at": now.isoformat(), "ends_at": now.isoformat()}
    path = f"/schedules/{schedule.id}/overrides"
    assert fields(problem(call(client, "POST", path, secret, backwards), 422)) == {"ends_at"}
    naive = {**backwards, "starts_at": "2026-06-20T09:00:00"}
    assert "starts_at" in fields(problem(call(client, "POST", path, secret, naive), 422))


def test_schedules_and_members_of_another_account_are_not_seen(
    app: Flask, client: FlaskClient, outsider: factories.Persona
) -> None:
    demo_token(app)
    theirs = token_of(outsider, TokenScope.WRITE)
    schedule = demo_schedule()
    assert call(client, "GET", "/schedules", theirs).get_json() == {"items": []}
    problem(call(client, "GET", f"/schedules/{schedule.id}", theirs), 404)
    body = {
        "member_id": outsider.member.id,
        "starts_at": utcnow().isoformat(),
        "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
    }
    problem(call(client, "POST", f"/schedules/{schedule.id}/overrides", theirs, body), 404)
    people = call(client, "GET", "/members", theirs).get_json()["items"]
    assert [p["name"] for p in people] == [outsider.member.name]


def test_members_come_a_page_at_a_time(app: Flask, client: FlaskClient) -> None:
    secret = demo_token(app)
    first = call(client, "GET", "/members?limit=3", secret).get_json()
    rest = call(client, "GET", f"/members?cursor={first['next_cursor']}", secret).get_json()
    names = [m["name"] for m in first["items"] + rest["items"]]
    assert names == ["Li Lei", "Han Meimei", "Wang Fang", "Zhang Wei"]
    assert first["items"][0]["role"] == "owner" and rest["next_cursor"] is None
    listed = call(client, "GET", "/schedules", secret).get_json()["items"]
    assert [layer["name"] for layer in listed[0]["layers"]] == ["Weekly rotation"]
