"""What the schedule page warns about: cover cards, reminders and handoff posts not sent,
and the people who get no reminder (or get it by e-mail) because they are not linked to Lark.

Rows are found by their uuid prefix (webapp/schedules/cover.py and reminders.py name them),
so no JSON query is needed on either database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.lark.errors import fix
from webapp.models import CoverRequest, Delivery, DeliveryKind, DeliveryStatus, Member, Schedule
from webapp.schedules import reminders
from webapp.schedules.cover import members_of
from webapp.schedules.reminders import TOO_LATE

# Failed reminders and posts older than this are no longer shown on the page.
SHOWN_FOR = timedelta(days=7)


@dataclass(frozen=True)
class NotSent:
    kind: DeliveryKind
    target: str  # a person's name, or the group chat
    member_id: int | None
    at: datetime
    words: str  # why, and what to do


def words(row: Delivery) -> str:
    """Why the row was not sent, in the reader's language."""
    payload = row.payload or {}
    if row.reason == TOO_LATE:
        return _("Not sent before the shift started, so it was dropped rather than sent late.")
    if payload.get("gave_up"):
        return _(
            "Lark kept failing for 55 minutes (%(why)s), so it was not sent: trying again "
            "later could have posted it twice. See the diagnostics page.",
            why=row.reason or "server",
        )
    if row.reason == "smtp":
        return _("The mail server refused it: %(error)s", error=row.last_error or "")
    return fix(row.reason or "server")


def _when(row: Delivery) -> datetime:
    failed_at = (row.payload or {}).get("failed_at")
    return datetime.fromisoformat(failed_at) if failed_at else row.created_at


def _not_sent(row: Delivery) -> NotSent:
    target = str((row.payload or {}).get("target") or row.receive_id or "")
    return NotSent(DeliveryKind(row.kind), target, row.member_id, _when(row), words(row))


def cover_not_sent(request: CoverRequest) -> list[NotSent]:
    """The copies of a cover card that never reached their person."""
    rows = db.session.scalars(
        select(Delivery)
        .where(
            Delivery.kind == DeliveryKind.COVER_CARD.value,
            Delivery.uuid.like(f"cover-{request.id}-%"),
            Delivery.status == DeliveryStatus.FAILED,
        )
        .order_by(Delivery.id)
    )
    return [_not_sent(row) for row in rows]


def cover_problems(requests: list[CoverRequest], reader: Member) -> dict[int, list[NotSent]]:
    """Per cover request the asker or an admin reads, the copies that were not sent."""
    return {
        r.id: cover_not_sent(r) for r in requests if reader.is_admin or reader.id == r.member_id
    }


def reminders_not_sent(schedule: Schedule, reader: Member, now: datetime) -> list[NotSent]:
    """The shift reminders and handoff posts of the last week that were not sent: all of them
    for an admin, a member's own reminders for the member."""
    rows = db.session.scalars(
        select(Delivery)
        .where(
            Delivery.kind.in_((DeliveryKind.SHIFT_REMINDER.value, DeliveryKind.HANDOFF_POST.value)),
            or_(
                Delivery.uuid.like(f"remind-{schedule.id}-%"),
                Delivery.uuid.like(f"handoff-{schedule.id}-%"),
            ),
            or_(
                Delivery.status == DeliveryStatus.FAILED,
                (Delivery.status == DeliveryStatus.CANCELLED) & (Delivery.reason == TOO_LATE),
            ),
            Delivery.created_at > now - SHOWN_FOR,
        )
        .order_by(Delivery.created_at.desc())
    )
    shown = [_not_sent(row) for row in rows]
    return [n for n in shown if reader.is_admin or n.member_id == reader.id]


def notes(
    schedule: Schedule, reader: Member, covers: list[CoverRequest], now: datetime
) -> dict[str, Any]:
    """Everything the schedule page warns `reader` about, as template values."""
    no_reminder, mailed = reminders.no_reminder(schedule, members_of(schedule))
    return {
        "cover_problems": cover_problems(covers, reader),
        "not_sent": reminders_not_sent(schedule, reader, now),
        "no_reminder": no_reminder,
        "mailed": mailed,
    }
