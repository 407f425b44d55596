"""Escalation layers that page "whoever is on call in schedule S", decided when they fire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import DispatchRule, Member, Schedule
from webapp.oncall.schedule import on_call


def on_call_members(
    account_id: int, schedule_ids: list[int], at: datetime
) -> tuple[list[tuple[Member, Schedule]], list[Schedule]]:
    """(member, schedule) for whoever is on call in each schedule; schedules with nobody."""
    found: list[tuple[Member, Schedule]] = []
    empty: list[Schedule] = []
    if not schedule_ids:
        return found, empty
    schedules = db.session.scalars(
        select(Schedule)
        .where(Schedule.id.in_(schedule_ids), Schedule.account_id == account_id)
        .order_by(Schedule.id)
    )
    for schedule in schedules:
        shift = on_call(schedule, at)
        member = db.session.get(Member, shift.member_id) if shift else None
        if member is None or member.account_id != account_id:
            empty.append(schedule)
            continue
        found.append((member, schedule))
    return found, empty


def on_call_targets(
    account_id: int, schedule_ids: list[int], at: datetime
) -> tuple[list[tuple[Member, str]], list[Schedule]]:
    """(member, English label) for whoever is on call in each schedule; schedules with nobody."""
    found, empty = on_call_members(account_id, schedule_ids, at)
    return [(m, f"{m.name} (on call in {s.name})") for m, s in found], empty


def on_call_for_channel(
    account_id: int, channel_id: int, at: datetime
) -> list[tuple[str, str, datetime]]:
    """(person, schedule, until) for each schedule the channel's dispatch rules page."""
    ids: dict[int, None] = {}
    for rule in db.session.scalars(
        select(DispatchRule).where(DispatchRule.channel_id == channel_id)
    ):
        for layer in rule.layers or []:
            ids.update(dict.fromkeys(int(i) for i in layer.get("schedule_ids") or []))
    if not ids:
        return []
    out = []
    for schedule in db.session.scalars(
        select(Schedule)
        .where(Schedule.id.in_(ids), Schedule.account_id == account_id)
        .order_by(Schedule.name)
    ):
        shift = on_call(schedule, at)
        member = db.session.get(Member, shift.member_id) if shift else None
        if shift is not None and member is not None and member.account_id == account_id:
            out.append((member.name, schedule.name, shift.end))
    return out


def choices(account_id: int, at: datetime) -> list[tuple[Schedule, Member | None]]:
    """The account's schedules by name, each with whoever is on call in it at `at`."""
    out: list[tuple[Schedule, Member | None]] = []
    for schedule in db.session.scalars(
        select(Schedule).where(Schedule.account_id == account_id).order_by(Schedule.name)
    ):
        shift = on_call(schedule, at)
        member = db.session.get(Member, shift.member_id) if shift else None
        out.append((schedule, member if member and member.account_id == account_id else None))
    return out
