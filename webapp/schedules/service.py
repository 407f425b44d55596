"""Changing schedules: create a schedule, add a layer, add an override. Bad input raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    Channel,
    DispatchRule,
    Member,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
)
from webapp.oncall.rotation import SHIFT_KINDS


class ScheduleError(ValueError):
    """Input a person typed that cannot be saved; the message says which and why."""


@dataclass
class LayerInput:
    name: str
    member_ids: list[int]
    kind: str
    hours: int
    weekday: int
    handoff: str  # HH:MM
    timezone: str
    start: str  # YYYY-MM-DD
    restrict_weekdays: list[int]
    restrict_from: str
    restrict_to: str


def _zone(name: str) -> str:
    if name not in available_timezones():
        raise ScheduleError(
            _("unknown time zone %(name)s (use an IANA name like Asia/Shanghai)", name=repr(name))
        )
    return name


def _minute(text: str, what: str) -> int:
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise ScheduleError(_("%(what)s: use HH:MM, like 09:00", what=what)) from None
    return parsed.hour * 60 + parsed.minute


def _members(account_id: int, ids: list[int]) -> list[int]:
    found = set(
        db.session.scalars(
            select(Member.id).where(Member.id.in_(ids), Member.account_id == account_id)
        )
    )
    if not ids or any(i not in found for i in ids):
        raise ScheduleError(_("choose one or more members of this account"))
    return ids


def create_schedule(account_id: int, name: str, timezone: str) -> Schedule:
    name = name.strip()
    if not name or len(name) > 120:
        raise ScheduleError(_("a schedule needs a name (at most 120 characters)"))
    if db.session.scalar(
        select(Schedule.id).where(Schedule.account_id == account_id, Schedule.name == name)
    ):
        raise ScheduleError(_("a schedule named %(name)s already exists", name=repr(name)))
    schedule = Schedule(account_id=account_id, name=name, timezone=_zone(timezone))
    db.session.add(schedule)
    db.session.commit()
    return schedule


class ScheduleInUse(ScheduleError):
    """Dispatch policies page through the schedule: it is kept."""

    def __init__(self, rules: list[DispatchRule], message: str) -> None:
        super().__init__(message)
        self.rules = rules


def rules_paging_through(schedule: Schedule) -> list[DispatchRule]:
    """The dispatch policies whose escalation layers page whoever is on call here."""
    stmt = (
        select(DispatchRule)
        .join(Channel, Channel.id == DispatchRule.channel_id)
        .where(Channel.account_id == schedule.account_id)
        .order_by(Channel.name, DispatchRule.position, DispatchRule.id)
    )
    return [
        rule
        for rule in db.session.scalars(stmt)
        if any(schedule.id in (layer.get("schedule_ids") or []) for layer in rule.layers or [])
    ]


def delete_schedule(schedule: Schedule) -> None:
    """Delete the schedule with its layers, overrides, cover requests and calendar URLs.

    Refused while a dispatch policy pages through it: its incidents would reach nobody
    through that layer, so the policy is changed first."""
    using = rules_paging_through(schedule)
    if using:
        raise ScheduleInUse(
            using,
            _(
                "%(name)s pages whoever is on call here. Take the schedule out of its "
                "escalation layers first, then delete it.",
                name=", ".join(f"“{rule.name}” ({rule.channel.name})" for rule in using),
            ),
        )
    db.session.delete(schedule)
    db.session.commit()


def _layer_fields(schedule: Schedule, form: LayerInput) -> dict[str, Any]:
    """The layer's columns from the form, or ScheduleError saying what to fix."""
    if form.kind not in SHIFT_KINDS:
        raise ScheduleError(_("the shift length is daily, weekly or a number of hours"))
    if form.kind == "hours" and not 1 <= form.hours <= 24 * 14:
        raise ScheduleError(_("a shift of N hours needs N between 1 and 336"))
    try:
        start = date.fromisoformat(form.start)
    except ValueError:
        raise ScheduleError(_("the rotation start is a date, like 2026-06-01")) from None
    restriction = None
    if form.restrict_weekdays:
        lo = _minute(form.restrict_from, _("restriction start"))
        hi = _minute(form.restrict_to, _("restriction end"))
        if lo >= hi:
            raise ScheduleError(_("the restriction must end after it starts on the same day"))
        restriction = {"weekdays": sorted(set(form.restrict_weekdays)), "start": lo, "end": hi}
    return {
        "name": form.name.strip()[:120] or "Layer",
        "member_ids": _members(schedule.account_id, form.member_ids),
        "shift_kind": form.kind,
        "shift_hours": form.hours,
        "handoff_weekday": form.weekday % 7,
        "handoff_minute": _minute(form.handoff, _("handoff time")),
        "timezone": _zone(form.timezone),
        "rotation_start": start,
        "restriction": restriction,
    }


def add_layer(schedule: Schedule, form: LayerInput) -> ScheduleLayer:
    fields = _layer_fields(schedule, form)
    position = max((x.position for x in schedule.layers), default=-1) + 1
    layer = ScheduleLayer(position=position, **fields)
    schedule.layers.append(layer)
    db.session.commit()
    return layer


def layer_of(schedule: Schedule, layer_id: int) -> ScheduleLayer | None:
    return next((x for x in schedule.layers if x.id == layer_id), None)


def update_layer(schedule: Schedule, layer_id: int, form: LayerInput) -> ScheduleLayer:
    """Change a layer in place; nothing is saved unless every field is valid."""
    layer = layer_of(schedule, layer_id)
    if layer is None:
        raise ScheduleError(_("that layer is no longer in this schedule"))
    for key, value in _layer_fields(schedule, form).items():
        setattr(layer, key, value)
    db.session.commit()
    return layer


def delete_layer(schedule: Schedule, layer_id: int) -> None:
    layer = layer_of(schedule, layer_id)
    if layer is None:
        raise ScheduleError(_("that layer is no longer in this schedule"))
    schedule.layers.remove(layer)
    db.session.commit()


def local_range(schedule: Schedule, start: str, end: str) -> tuple[datetime, datetime]:
    """A range from local wall times (YYYY-MM-DDTHH:MM) in the schedule's time zone."""
    zone = ZoneInfo(schedule.timezone)
    try:
        lo = datetime.fromisoformat(start).replace(tzinfo=zone)
        hi = datetime.fromisoformat(end).replace(tzinfo=zone)
    except ValueError:
        raise ScheduleError(_("start and end are a date and time, like 2026-06-20T09:00")) from None
    if lo >= hi:
        raise ScheduleError(_("the end must come after the start"))
    return lo, hi


def override_of(schedule: Schedule, override_id: int) -> ScheduleOverride | None:
    return next((x for x in schedule.overrides if x.id == override_id), None)


def update_override(
    schedule: Schedule, override_id: int, member_id: int, start: str, end: str
) -> ScheduleOverride:
    override = override_of(schedule, override_id)
    if override is None:
        raise ScheduleError(_("that override is no longer in this schedule"))
    lo, hi = local_range(schedule, start, end)
    _members(schedule.account_id, [member_id])
    override.member_id, override.starts_at, override.ends_at = member_id, lo, hi
    db.session.commit()
    return override


def delete_override(schedule: Schedule, override_id: int) -> None:
    override = override_of(schedule, override_id)
    if override is None:
        raise ScheduleError(_("that override is no longer in this schedule"))
    schedule.overrides.remove(override)
    db.session.commit()


def add_override(schedule: Schedule, member_id: int, start: str, end: str) -> ScheduleOverride:
    """An override from local wall times (YYYY-MM-DDTHH:MM) in the schedule's time zone."""
    lo, hi = local_range(schedule, start, end)
    _members(schedule.account_id, [member_id])
    override = ScheduleOverride(member_id=member_id, starts_at=lo, ends_at=hi)
    schedule.overrides.append(override)
    db.session.commit()
    return override


def set_reminders(schedule: Schedule, minutes: str, chat_id: str) -> None:
    """How long before a shift its person is reminded in Lark (0: never), and the group
    chat told at each handoff (empty: none)."""
    text, chat = minutes.strip(), chat_id.strip()
    if not text.isdigit() or not 0 <= int(text) <= 24 * 60:
        raise ScheduleError(_("the reminder is a number of minutes from 0 (none) to 1440"))
    if chat and (not chat.startswith("oc_") or len(chat) > 64 or not chat.isascii()):
        raise ScheduleError(_("the handoff chat is a Lark chat ID like oc_1a2b3c, or empty"))
    schedule.reminder_minutes = int(text)
    schedule.handoff_chat_id = chat or None
    db.session.commit()
