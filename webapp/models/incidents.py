"""Incidents, their timeline, and the raw alerts that open them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Account, Channel, Member

if TYPE_CHECKING:
    from webapp.models.lark import CardMessage


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Severity(enum.StrEnum):
    CRITICAL = "Critical"
    WARNING = "Warning"
    INFO = "Info"

    @property
    def rank(self) -> int:
        """Sort key: Critical first."""
        return {"Critical": 0, "Warning": 1, "Info": 2}[self.value]


class Status(enum.StrEnum):
    TRIGGERED = "Triggered"
    PROCESSING = "Processing"  # acknowledged
    CLOSED = "Closed"


class Source(enum.StrEnum):
    """Where a change came from; every timeline event carries one."""

    WEB = "web"
    CARD = "card"
    API = "api"
    SYSTEM = "system"


class EventKind(enum.StrEnum):
    """The kinds of timeline event; `webapp/incidents/events.py` gives each its words."""

    TRIGGERED = "triggered"
    ALERT_JOINED = "alert_joined"
    ALERT_RESOLVED = "alert_resolved"
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    REASSIGNED = "reassigned"
    RESPONDER_ADDED = "responder_added"
    COMMENTED = "commented"
    NOTIFIED = "notified"
    NOTIFICATION_FAILED = "notification_failed"
    NOTIFICATION_WAITING = "notification_waiting"
    NOTIFICATION_FELL_BACK = "notification_fell_back"
    EMAILED = "emailed"
    WAR_ROOM = "war_room"
    ESCALATED = "escalated"
    SILENCED = "silenced"  # a silence or maintenance window holds its pages
    UNSILENCED = "unsilenced"  # ... no longer: details say whether it was paged then
    SILENCE_CHANGED = "silence_changed"  # the silence holding it was edited or extended
    STORM = "storm"  # the incident's alert count crossed one of its channel's thresholds
    FLAPPING = "flapping"  # an alert changed state too often; its pages are muted a while
    NOT_PAGED = "not_paged"  # opened by an alert that was recorded but not paged (and why)
    BUZZED = "buzzed"  # one step of a person's ladder went out (webapp/paging/)
    BUZZ_FAILED = "buzz_failed"  # a step Lark refused, or one we held back, with the reason


incident_assignees = Table(
    "incident_assignee",
    db.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_incident_assignee_member", "member_id", "incident_id"),
)

incident_responders = Table(
    "incident_responder",
    db.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_incident_responder_member", "member_id", "incident_id"),
)


class Incident(db.Model):  # type: ignore[name-defined]
    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("account_id", "number"),
        # Keyset pagination: newest first within an account, optionally by status.
        Index("ix_incident_account_created", "account_id", "created_at", "id"),
        Index("ix_incident_account_status_created", "account_id", "status", "created_at", "id"),
        Index("ix_incident_channel_created", "channel_id", "created_at", "id"),
        Index("ix_incident_open_dedup", "account_id", "dedup_key", "status"),
        # The list's change detector: the account's incidents changed since a moment, with
        # their versions, read from the index alone (webapp/incidents/freshness.py).
        Index("ix_incident_account_updated", "account_id", "updated_at", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.TRIGGERED)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    # Its alerts still firing; the card says "7 alerts, 3 still firing".
    alerts_firing: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The last time an alert joined it: a channel's grouping window counts from here.
    last_merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest storm threshold its alert count crossed (0: none).
    storm_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    # The silence (webapp/silences/) holding its pages now; None when pages flow.
    silence_id: Mapped[str | None] = mapped_column(String(36))
    # Optimistic concurrency: every change bumps it; a stale version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)

    # SQLAlchemy bumps `version` on every UPDATE and adds `WHERE version = :seen`, so two
    # writers that read the same version cannot both win, even on SQLite.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    account: Mapped[Account] = relationship()
    channel: Mapped[Channel | None] = relationship()
    acknowledged_by: Mapped[Member | None] = relationship(foreign_keys=[acknowledged_by_id])
    closed_by: Mapped[Member | None] = relationship(foreign_keys=[closed_by_id])
    assignees: Mapped[list[Member]] = relationship(
        secondary=incident_assignees, order_by="Member.id"
    )
    responders: Mapped[list[Member]] = relationship(
        secondary=incident_responders, order_by="Member.id"
    )
    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", order_by="IncidentEvent.id", cascade="all, delete-orphan"
    )
    alerts: Mapped[list[Alert]] = relationship(
        back_populates="incident", order_by="Alert.id", cascade="all, delete-orphan"
    )
    # The cards sent about it, read here so a press can load them with the incident.
    card_messages: Mapped[list[CardMessage]] = relationship(
        viewonly=True, order_by="CardMessage.id"
    )

    def is_snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now


class IncidentEvent(db.Model):  # type: ignore[name-defined]
    """One line of an incident's timeline."""

    __tablename__ = "incident_event"
    __table_args__ = (
        # Insights: a period's acknowledgements and escalations, read from the index alone
        # (an incident's events are never older than the incident).
        Index("ix_incident_event_kind_created", "kind", "created_at", "incident_id", "source"),
        # Insights: "did any person act on this incident?" probes only the events people made.
        Index(
            "ix_incident_event_by_person",
            "incident_id",
            postgresql_where=text("actor_id IS NOT NULL"),
            sqlite_where=text("actor_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    source: Mapped[Source] = mapped_column(_enum(Source, 8))
    kind: Mapped[str] = mapped_column(String(40))  # an EventKind
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="events")
    actor: Mapped[Member | None] = relationship()


class AlertSource(db.Model):  # type: ignore[name-defined]
    """An alert intake endpoint: `POST /api/v1/alerts/<key>` lands alerts in its channel."""

    __tablename__ = "alert_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    name: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # Which tool posts here (TOOLS in webapp/intake/parsers/): it decides how the body is read.
    kind: Mapped[str] = mapped_column(String(20), default="generic", server_default="generic")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()
    channel: Mapped[Channel | None] = relationship()


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class QuietReason(enum.StrEnum):
    """Why an alert was recorded but did not page (webapp/incidents/paging.py decides)."""

    INHIBITED = "inhibited"
    FLAPPING = "flapping"


class Alert(db.Model):  # type: ignore[name-defined]
    """One alert episode, from firing to resolved. Repeats while it fires (a replay, or a
    restarted Prometheus with a new startsAt) update this row instead of adding one."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("source_id", "dedup_key", "starts_at", name="uq_alert_occurrence"),
        # The intake's "is this alert already firing?" and its previous episode.
        Index("ix_alert_source_dedup", "source_id", "dedup_key", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_source.id"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    status: Mapped[AlertStatus] = mapped_column(_enum(AlertStatus, 8))
    labels: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The silence that matched it when it arrived (insights count these per silence).
    silence_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the source last said anything about it (a repeat, its resolution).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Recorded but not paged, and why; `inhibited_by` is the number of the incident whose
    # alert inhibited it ("inhibited by #41").
    quiet_reason: Mapped[str | None] = mapped_column(String(16))
    inhibited_by: Mapped[int | None] = mapped_column(Integer)
    # Its state changes (ISO times) of the last flapping window, carried from episode to
    # episode of the same alert, and until when its pages are muted for flapping.
    state_changes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    flapping_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    incident: Mapped[Incident] = relationship(back_populates="alerts")


class NoiseRules(db.Model):  # type: ignore[name-defined]
    """One channel's noise reduction: grouping, storm thresholds, inhibition, flapping.

    A channel without a row keeps the old behaviour: no grouping (an alert joins only an open
    incident with its own dedup key), no storm notices, no inhibition; flapping detection is
    on with its defaults, as Flashduty has it.
    """

    __tablename__ = "noise_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), unique=True
    )
    # Up to 5 label names; empty: grouping off.
    group_by: Mapped[list[str]] = mapped_column(JSONType, default=list)
    group_window_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # True: an alert without one of the labels groups with others missing it too.
    group_missing: Mapped[bool] = mapped_column(default=False)
    # When every alert of an incident has recovered: close it, or leave it to a person.
    close_when_recovered: Mapped[bool] = mapped_column(default=True)
    storm_thresholds: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # [{"source": ["alertname=NodeDown"], "target": ["severity=~warning|info"],
    #   "equal": ["cluster"]}]: Alertmanager's inhibit_rules, matchers as text.
    inhibitions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    flap_enabled: Mapped[bool] = mapped_column(default=True)
    flap_changes: Mapped[int] = mapped_column(Integer, default=4)
    flap_minutes: Mapped[int] = mapped_column(Integer, default=60)
    flap_mute_minutes: Mapped[int] = mapped_column(Integer, default=120)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    channel: Mapped[Channel] = relationship()
