"""Silences, maintenance windows and the account's audit trail of them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Channel, Member


class Silence(db.Model):  # type: ignore[name-defined]
    """Alertmanager's silence: matchers over an alert's labels, from `starts_at` to `ends_at`.

    Alerts it matches are recorded, never paged. A maintenance window's occurrence is a
    silence too (`window_id`), scoped to the window's channel when it has one."""

    __tablename__ = "silence"
    __table_args__ = (
        Index("ix_silence_account_ends", "account_id", "ends_at"),
        Index("ix_silence_incident", "incident_id"),
    )

    # A UUID, as Alertmanager's silence IDs are: amtool prints and takes it.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    # [{"name": "alertname", "value": "DiskFull", "isRegex": false, "isEqual": true}, ...]
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[str] = mapped_column(String(120), default="")  # Alertmanager's free text
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))  # who, when a member
    source: Mapped[str] = mapped_column(String(8), default="api")  # a Source value
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    window_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_window.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    page_at_end: Mapped[bool] = mapped_column(default=True)
    # The worker's marks: the start and the end were acted on (each exactly once).
    begun_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member | None] = relationship()
    window: Mapped[MaintenanceWindow | None] = relationship(back_populates="silences")

    def state(self, now: datetime) -> str:
        """Alertmanager's words: pending, active or expired."""
        if self.ends_at <= now:
            return "expired"
        return "pending" if self.starts_at > now else "active"


class MaintenanceWindow(db.Model):  # type: ignore[name-defined]
    """A named window over a channel (or matchers), once or weekly, in a stated time zone."""

    __tablename__ = "maintenance_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    timezone: Mapped[str] = mapped_column(String(64))
    # The first occurrence's local start; weekly windows repeat on its weekday at its time.
    start_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    weekly: Mapped[bool] = mapped_column(default=False)
    page_at_end: Mapped[bool] = mapped_column(default=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled: no more
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    channel: Mapped[Channel | None] = relationship()
    member: Mapped[Member | None] = relationship()
    silences: Mapped[list[Silence]] = relationship(
        back_populates="window", order_by="Silence.starts_at"
    )


class AuditEntry(db.Model):  # type: ignore[name-defined]
    """One line of the account's audit trail: who made, changed or ended what, and from where."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    actor: Mapped[str] = mapped_column(String(120))  # the name, kept when the member goes
    source: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(40))  # silence_created, window_ended, ...
    subject: Mapped[str] = mapped_column(String(64))  # the silence's id or "window:<id>"
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
