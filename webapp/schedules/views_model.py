"""What the pages draw: a two-week timeline of bars, and a member's on-call summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Member, Schedule
from webapp.oncall.rotation import Shift, rotation_shifts
from webapp.oncall.schedule import joined, rotation_of, shifts

DAYS = 14


@dataclass
class Bar:
    left: float  # percent of the two weeks
    width: float
    name: str
    mine: bool
    override: bool
    label: str  # start-end, local


@dataclass
class Row:
    title: str
    final: bool
    bars: list[Bar]


@dataclass
class Timeline:
    start: datetime
    days: list[date]
    rows: list[Row]
    now_left: float


def _bars(
    found: list[Shift], start: datetime, names: dict[int, str], me: int, zone: ZoneInfo
) -> list[Bar]:
    span = timedelta(days=DAYS).total_seconds()
    bars = []
    for s in found:
        left = (s.start - start).total_seconds() / span * 100
        width = (s.end - s.start).total_seconds() / span * 100
        label = f"{s.start.astimezone(zone):%m-%d %H:%M}–{s.end.astimezone(zone):%m-%d %H:%M}"
        bars.append(
            Bar(
                left,
                width,
                names.get(s.member_id, "?"),
                s.member_id == me,
                s.override_id is not None,
                label,
            )
        )
    return bars


def names_of(account_id: int) -> dict[int, str]:
    rows = db.session.execute(select(Member.id, Member.name).where(Member.account_id == account_id))
    return dict(rows.tuples().all())


def timeline(schedule: Schedule, me: Member, now: datetime) -> Timeline:
    zone = ZoneInfo(schedule.timezone)
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(zone)
    end = start + timedelta(days=DAYS)
    names = names_of(schedule.account_id)
    rows = [
        Row("Final schedule", True, _bars(shifts(schedule, start, end), start, names, me.id, zone))
    ]
    for layer in sorted(schedule.layers, key=lambda x: -x.position):
        found = rotation_shifts(rotation_of(layer), start, end)
        rows.append(Row(layer.name, False, _bars(found, start, names, me.id, zone)))
    days = [(start + timedelta(days=i)).date() for i in range(DAYS)]
    now_left = (now - start).total_seconds() / timedelta(days=DAYS).total_seconds() * 100
    return Timeline(start, days, rows, now_left)


@dataclass
class OnCallNow:
    schedule: Schedule
    name: str
    until: datetime


@dataclass
class Summary:
    now: list[OnCallNow]
    mine: list[tuple[Schedule, Shift]]


def summary(member: Member, now: datetime) -> Summary:
    """Who is on call now in the member's schedules, and the member's next shifts."""
    names = names_of(member.account_id)
    current: list[OnCallNow] = []
    mine: list[tuple[Schedule, Shift]] = []
    for schedule in db.session.scalars(
        select(Schedule).where(Schedule.account_id == member.account_id).order_by(Schedule.name)
    ):
        # Back-to-back pieces of one person (a layer running into an override) are one shift.
        found = joined(shifts(schedule, now, now + timedelta(days=DAYS)))
        if found and found[0].start <= now:
            first = found[0]
            current.append(OnCallNow(schedule, names.get(first.member_id, "?"), first.end))
        mine += [(schedule, s) for s in found if s.member_id == member.id]
    mine.sort(key=lambda pair: pair[1].start)
    return Summary(current, mine[:5])
