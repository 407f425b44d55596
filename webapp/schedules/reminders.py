"""Shift reminders and handoff posts, queued once per shift however often they are looked for.

`queue_due(now)` writes an outbox row for every shift that starts within the schedule's
reminder lead (a DM to the person), and for every handoff that just happened (a post to the
schedule's group chat). Each row's uuid names the schedule, the person and the shift's
start, and rows are inserted with ON CONFLICT DO NOTHING: any number of workers, cron runs
or restarts queue each reminder once. The delivery worker looks once a minute
(webapp/delivery/worker.py), and `flask lark remind` does one pass for cron.

Someone not linked to Lark gets the reminder by e-mail when SMTP_URL is set (the same row,
addressed to their e-mail); otherwise the schedule page names them. A reminder that cannot go
out before its shift starts is dropped, never sent late.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DispatchRule,
    Incident,
    Member,
    Schedule,
    Status,
)
from webapp.oncall.rotation import Shift
from webapp.oncall.schedule import joined, shifts
from webapp.schedules import cards, reminder_mail
from webapp.schedules.outbox import first_integration, insert_once, page_url, reach

# A handoff post is still worth sending this long after the handoff (a worker restarting).
HANDOFF_GRACE = timedelta(minutes=15)
# Shifts are looked up this far ahead, so a shift's end is its real end, not the window's
# (the longest shift is 336 hours).
AHEAD = timedelta(days=15)


def queue_due(now: datetime) -> int:
    """Queue the reminders and handoff posts due at `now`; returns how many were looked at."""
    looked = 0
    for schedule in db.session.scalars(select(Schedule).order_by(Schedule.id)):
        lead = timedelta(minutes=max(0, schedule.reminder_minutes))
        if not lead and not schedule.handoff_chat_id:
            continue
        found = joined(shifts(schedule, now - timedelta(days=1), now + lead + AHEAD))
        for shift in found:
            if lead and shift.start - lead <= now < shift.start:
                looked += _remind(schedule, shift, now)
            if schedule.handoff_chat_id and shift.start <= now < shift.start + HANDOFF_GRACE:
                looked += _post(schedule, shift, now)
    db.session.commit()
    return looked


def _payload(schedule: Schedule, shift: Shift, target: str) -> dict[str, Any]:
    return {
        "schedule_id": schedule.id,
        "member_id": shift.member_id,
        "start": shift.start.isoformat(),
        "end": shift.end.isoformat(),
        "target": target,
    }


def _remind(schedule: Schedule, shift: Shift, now: datetime) -> int:
    member = db.session.get(Member, shift.member_id)
    if member is None:
        return 0
    found = reach(member)
    if found is not None:
        integration, binding = found
        receive = ("open_id", binding.open_id)
    else:  # not linked to Lark: by e-mail, or the schedule page names them (no_reminder)
        first = first_integration(schedule.account_id)  # every outbox row names one
        if first is None or not member.email or not reminder_mail.mail_configured():
            return 0
        integration, receive = first, ("email", member.email)
    insert_once(
        integration,
        DeliveryKind.SHIFT_REMINDER,
        f"remind-{schedule.id}-{member.id}-{int(shift.start.timestamp())}",
        now,
        receive=receive,
        member_id=member.id,
        payload=_payload(schedule, shift, member.name),
    )
    return 1


def no_reminder(schedule: Schedule, members: list[Member]) -> tuple[list[Member], list[Member]]:
    """Of the schedule's people not linked to Lark: those who get no reminder at all, and
    those who get it by e-mail. Nobody, when the schedule sends no reminders."""
    if schedule.reminder_minutes <= 0:
        return [], []
    unlinked = [m for m in members if reach(m) is None]
    mailed = []
    if reminder_mail.mail_configured() and first_integration(schedule.account_id) is not None:
        mailed = [m for m in unlinked if m.email]
    return [m for m in unlinked if m not in mailed], mailed


def _post(schedule: Schedule, shift: Shift, now: datetime) -> int:
    integration = first_integration(schedule.account_id)
    if integration is None or not schedule.handoff_chat_id:
        return 0
    insert_once(
        integration,
        DeliveryKind.HANDOFF_POST,
        f"handoff-{schedule.id}-{int(shift.start.timestamp())}",
        now,
        receive=("chat_id", schedule.handoff_chat_id),
        payload=_payload(schedule, shift, schedule.handoff_chat_id),
    )
    return 1


def inherited(schedule: Schedule) -> list[Incident]:
    """Open incidents of the channels whose dispatch rules page this schedule."""
    rules = db.session.scalars(
        select(DispatchRule)
        .join(Channel, Channel.id == DispatchRule.channel_id)
        .where(Channel.account_id == schedule.account_id)
    )
    channel_ids = {
        rule.channel_id
        for rule in rules
        if any(
            schedule.id in [int(i) for i in layer.get("schedule_ids") or []]
            for layer in rule.layers or []
        )
    }
    if not channel_ids:
        return []
    return list(
        db.session.scalars(
            select(Incident)
            .where(Incident.channel_id.in_(channel_ids), Incident.status != Status.CLOSED)
            .order_by(Incident.number)
        )
    )


TOO_LATE = "shift_started"  # the reason a reminder not sent before its shift began is dropped


def too_late(row: Delivery, now: datetime) -> bool:
    """A reminder that could not go out before its shift started is dropped, not sent late."""
    start = (row.payload or {}).get("start")
    return bool(start) and now >= datetime.fromisoformat(str(start))


def card_for(row: Delivery, locale: str, now: datetime) -> dict[str, Any] | None:
    """The reminder or handoff card a row carries, drawn now; None when the schedule is gone."""
    payload = row.payload or {}
    schedule = db.session.get(Schedule, int(payload.get("schedule_id") or 0))
    if schedule is None:
        return None
    start = datetime.fromisoformat(payload["start"])
    end = datetime.fromisoformat(payload["end"])
    if row.kind == DeliveryKind.HANDOFF_POST:
        member = db.session.get(Member, int(payload.get("member_id") or 0))
        name = member.name if member else "?"
        return cards.handoff_card(
            schedule, name, start, end, locale=locale, page_url=page_url(schedule)
        )
    return cards.reminder_card(
        _view(schedule, start, end, now), locale=locale, page_url=page_url(schedule)
    )


def _view(schedule: Schedule, start: datetime, end: datetime, now: datetime) -> cards.ReminderView:
    minutes = math.ceil((start - now).total_seconds() / 60)  # 20 seconds left: "1 minute"
    return cards.ReminderView(schedule, start, end, minutes, inherited(schedule))


def mail_for(row: Delivery, now: datetime) -> EmailMessage | None:
    """The e-mail a reminder row addressed to an e-mail address carries, drawn now."""
    payload = row.payload or {}
    schedule = db.session.get(Schedule, int(payload.get("schedule_id") or 0))
    member = db.session.get(Member, row.member_id) if row.member_id else None
    if schedule is None or member is None or not row.receive_id:
        return None
    start = datetime.fromisoformat(payload["start"])
    end = datetime.fromisoformat(payload["end"])
    view = _view(schedule, start, end, now)
    return reminder_mail.compose(member, view, page_url(schedule), row.receive_id)
