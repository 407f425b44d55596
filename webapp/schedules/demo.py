"""The demo's schedule: the demo members on a weekly rotation, with one override."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Member, Schedule, ScheduleLayer, ScheduleOverride, utcnow
from webapp.schedules import feeds

NAME = "Core Platform primary"
TZ = "Asia/Shanghai"


def load(account: Account, members: list[Member]) -> str:
    """Create the schedule once; print a fresh calendar URL (a new token each run)."""
    schedule = db.session.scalar(
        select(Schedule).where(Schedule.account_id == account.id, Schedule.name == NAME)
    )
    if schedule is None:
        schedule = _create(account, members)
    token = feeds.issue(schedule)
    return (
        f"on-call calendar ({NAME}): {current_app.config['PUBLIC_BASE_URL']}/calendar/{token}.ics"
    )


def _create(account: Account, members: list[Member]) -> Schedule:
    today = utcnow().astimezone(ZoneInfo(TZ)).date()
    monday = today - timedelta(days=today.weekday())
    schedule = Schedule(account_id=account.id, name=NAME, timezone=TZ)
    schedule.layers.append(
        ScheduleLayer(
            name="Weekly rotation",
            member_ids=[m.id for m in members],
            shift_kind="weekly",
            handoff_weekday=0,
            handoff_minute=10 * 60,
            timezone=TZ,
            rotation_start=monday,
        )
    )
    # Han Meimei (the second demo member) covers the coming Saturday, 09:00-21:00 Beijing.
    saturday = monday + timedelta(days=5 if today.weekday() < 5 else 12)
    start = datetime.combine(saturday, time(9), ZoneInfo(TZ))
    schedule.overrides.append(
        ScheduleOverride(
            member_id=members[1].id, starts_at=start, ends_at=start + timedelta(hours=12)
        )
    )
    db.session.add(schedule)
    db.session.commit()
    return schedule
