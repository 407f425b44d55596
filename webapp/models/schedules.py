"""On-call schedules: layers (rotations), overrides and calendar feed tokens."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Member, Team


class Schedule(db.Model):  # type: ignore[name-defined]
    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    # IANA name; the page draws the timeline in it.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A Lark DM this many minutes before each shift starts; 0 sends none.
    reminder_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # A group chat (oc_...) told who is on call at each handoff; None posts nowhere.
    handoff_chat_id: Mapped[str | None] = mapped_column(String(64))

    team: Mapped[Team | None] = relationship()
    layers: Mapped[list[ScheduleLayer]] = relationship(
        back_populates="schedule", order_by="ScheduleLayer.position", cascade="all, delete-orphan"
    )
    overrides: Mapped[list[ScheduleOverride]] = relationship(
        back_populates="schedule",
        order_by="ScheduleOverride.starts_at",
        cascade="all, delete-orphan",
    )


class ScheduleLayer(db.Model):  # type: ignore[name-defined]
    """One rotation. A higher `position` wins where it has someone."""

    __tablename__ = "schedule_layer"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedule.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Member ids in rotation order.
    member_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    shift_kind: Mapped[str] = mapped_column(String(16), default="weekly")
    shift_hours: Mapped[int] = mapped_column(Integer, default=24)
    handoff_weekday: Mapped[int] = mapped_column(Integer, default=0)
    handoff_minute: Mapped[int] = mapped_column(Integer, default=9 * 60)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    rotation_start: Mapped[date] = mapped_column(Date)
    # None, or {"weekdays": [0..6], "start": minute, "end": minute}.
    restriction: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    schedule: Mapped[Schedule] = relationship(back_populates="layers")


class ScheduleOverride(db.Model):  # type: ignore[name-defined]
    """A person on call for a time range, over every layer."""

    __tablename__ = "schedule_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedule.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schedule: Mapped[Schedule] = relationship(back_populates="overrides")
    member: Mapped[Member] = relationship()


class CoverRequest(db.Model):  # type: ignore[name-defined]
    """A member asks the others in the schedule to cover a range; the first taker gets it,
    unless the asker withdraws it first.

    `covered_by_id` is set once, by a compare-and-set UPDATE, in the same transaction as
    the override it creates: two presses at once make one override.
    """

    __tablename__ = "cover_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedule.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    covered_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    covered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedule_override.id", ondelete="SET NULL")
    )
    # Set once, by the asker or an admin, while nobody has taken it (compare-and-set, like
    # `covered_by_id`): a request is open, taken or withdrawn, never two of them.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    schedule: Mapped[Schedule] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    covered_by: Mapped[Member | None] = relationship(foreign_keys=[covered_by_id])


class CalendarFeed(db.Model):  # type: ignore[name-defined]
    """A secret iCalendar URL: of a whole schedule, or of one member's shifts in it.

    Only the SHA-256 of the token is stored; revoking deletes the row.
    """

    __tablename__ = "calendar_feed"
    __table_args__ = (UniqueConstraint("token_hash"), UniqueConstraint("schedule_id", "member_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    schedule: Mapped[Schedule] = relationship()
    member: Mapped[Member | None] = relationship()
