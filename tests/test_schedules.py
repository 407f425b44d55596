"""Schedules stored in the database: who is on call, and the shifts of a member."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests import factories
from webapp.extensions import db
from webapp.models import Schedule, ScheduleLayer, ScheduleOverride
from webapp.oncall.schedule import on_call, shifts


def weekly_schedule(owner: factories.Persona, member: factories.Persona) -> Schedule:
    schedule = Schedule(
        account_id=owner.account.id, name="Core Platform primary", timezone="Asia/Shanghai"
    )
    schedule.layers.append(
        ScheduleLayer(
            name="Weekly",
            position=0,
            member_ids=[owner.member.id, member.member.id],
            shift_kind="weekly",
            handoff_weekday=0,
            handoff_minute=9 * 60,
            timezone="Asia/Shanghai",
            rotation_start=date(2026, 6, 1),
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule


def test_the_weekly_rotation_hands_off_on_monday_at_nine_beijing_time(
    owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    # 2026-06-15 is a Monday; 09:00 Beijing is 01:00 UTC.
    before = on_call(schedule, datetime(2026, 6, 15, 0, 59, tzinfo=UTC))
    after = on_call(schedule, datetime(2026, 6, 15, 1, 0, tzinfo=UTC))
    assert before is not None and before.member_id == member.member.id
    assert after is not None and after.member_id == owner.member.id
    assert after.end == datetime(2026, 6, 22, 1, 0, tzinfo=UTC)


def test_an_override_puts_its_person_on_call_and_shows_in_their_shifts(
    owner: factories.Persona, member: factories.Persona
) -> None:
    schedule = weekly_schedule(owner, member)
    start, end = datetime(2026, 6, 16, 1, tzinfo=UTC), datetime(2026, 6, 16, 13, tzinfo=UTC)
    schedule.overrides.append(
        ScheduleOverride(member_id=member.member.id, starts_at=start, ends_at=end)
    )
    db.session.commit()
    now = on_call(schedule, datetime(2026, 6, 16, 5, tzinfo=UTC))
    assert now is not None and now.member_id == member.member.id and now.override_id is not None
    mine = shifts(
        schedule,
        datetime(2026, 6, 15, 1, tzinfo=UTC),
        datetime(2026, 6, 22, 1, tzinfo=UTC),
        member.member,
    )
    assert [(s.start, s.end) for s in mine] == [(start, end)]
    theirs = shifts(
        schedule,
        datetime(2026, 6, 15, 1, tzinfo=UTC),
        datetime(2026, 6, 22, 1, tzinfo=UTC),
        owner.member,
    )
    assert [(s.start, s.end) for s in theirs] == [
        (datetime(2026, 6, 15, 1, tzinfo=UTC), start),
        (end, datetime(2026, 6, 22, 1, tzinfo=UTC)),
    ]


def test_an_empty_schedule_has_nobody_on_call(owner: factories.Persona) -> None:
    schedule = Schedule(account_id=owner.account.id, name="Empty", timezone="UTC")
    db.session.add(schedule)
    db.session.commit()
    assert on_call(schedule, datetime(2026, 6, 15, tzinfo=UTC)) is None
