"""Calendar feeds: a secret URL per schedule and per member, parsed back with icalendar."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar

from tests import factories
from tests.test_schedules import weekly_schedule
from webapp.extensions import db
from webapp.models import CalendarFeed, ScheduleOverride
from webapp.schedules import feeds


def events(client: FlaskClient, token: str) -> list[tuple[str, datetime, datetime]]:
    answer = client.get(f"/calendar/{token}.ics")
    assert answer.status_code == 200
    assert answer.mimetype == "text/calendar"
    cal = Calendar.from_ical(answer.data)
    return [
        (str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend")) for e in cal.walk("VEVENT")
    ]


@pytest.mark.now("2026-06-16T02:00:00+00:00")
def test_the_schedule_feed_shows_the_final_schedule_naming_each_person(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    start, end = datetime(2026, 6, 16, 1, tzinfo=UTC), datetime(2026, 6, 16, 13, tzinfo=UTC)
    schedule.overrides.append(
        ScheduleOverride(member_id=member.member.id, starts_at=start, ends_at=end)
    )
    db.session.commit()
    found = events(client, feeds.issue(schedule))
    cover = f"On call: {member.member.name} (Core Platform primary)"
    assert (cover, start, end) in found
    assert (
        f"On call: {owner.member.name} (Core Platform primary)",
        end,
        datetime(2026, 6, 22, 1, tzinfo=UTC),
    ) in found
    for before, after in itertools.pairwise(found):
        assert before[2] == after[1]


@pytest.mark.now("2026-06-16T02:00:00+00:00")
def test_a_member_feed_holds_only_their_shifts(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    found = events(client, feeds.issue(schedule, member.member))
    assert found
    assert {summary for summary, _, _ in found} == {
        f"On call: {member.member.name} (Core Platform primary)"
    }


def test_a_revoked_or_wrong_token_is_not_found_and_only_a_hash_is_stored(
    client: FlaskClient, owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    token = feeds.issue(schedule)
    assert token not in {f.token_hash for f in db.session.query(CalendarFeed)}
    assert client.get(f"/calendar/{token}x.ics").status_code == 404
    newer = feeds.issue(schedule)
    assert client.get(f"/calendar/{token}.ics").status_code == 404
    feeds.revoke(schedule)
    assert client.get(f"/calendar/{newer}.ics").status_code == 404
