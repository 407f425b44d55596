"""Who is told about an incident, and the outbox rows that carry it to Lark."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Channel, Member


class DispatchRule(db.Model):  # type: ignore[name-defined]
    """A channel's dispatch policy (分派策略): which incidents, whom to tell, which chats."""

    __tablename__ = "dispatch_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Empty list = every severity.
    severities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Every pair must match the incident's labels; empty = any incident.
    label_match: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # Escalation layers, in order: [{"delay_minutes": 0, "assignees": true,
    #   "team_ids": [..], "member_ids": [..], "chat_ids": ["oc_.."]}, ...]
    layers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    channel: Mapped[Channel] = relationship()


class DeliveryKind(enum.StrEnum):
    """What an outbox row does; `webapp/delivery/kinds.py` holds the work of each."""

    SEND_CARD = "send_card"
    UPDATE_CARD = "update_card"
    NOTICE = "notice"  # a "deliveries are late" text to a channel's chats
    WAR_ROOM = "war_room"
    ESCALATE = "escalate"
    EMAIL = "email"
    COVER_CARD = "cover_card"  # a cover request, to one person (webapp/schedules/cover.py)
    COVER_UPDATE = "cover_update"  # a copy of it redrawn after someone took it
    SHIFT_REMINDER = "shift_reminder"  # "your shift starts in N minutes", to one person
    HANDOFF_POST = "handoff_post"  # "on call this week", to the schedule's group chat
    REPLY = "reply"  # the bot's answer to a message in a chat (webapp/schedules/ask.py)
    DIGEST = "digest"  # the weekly figures, to a channel's chats (webapp/insights/digest.py)
    MAINTENANCE = "maintenance"  # a window began or ended, to its chats (webapp/silences/)
    WEBHOOK = "webhook"  # a signed event to an account's endpoint (webapp/webhooks/); no Lark
    ALERT_NOTICE = "alert_notice"  # an alert storm or a flapping alert, to a channel's chats
    BUZZ = "buzz"  # one step of a person's ladder: Lark's urgent (加急) on a card, or e-mail


class FailureReason(enum.StrEnum):
    """Why a delivery failed or waits: Lark's failures classified (webapp/lark/errors.py),
    and the few of our own. The outbox, diagnostics and the timeline speak these."""

    NOT_LINKED = "not_linked"
    BOT_NOT_IN_CHAT = "bot_not_in_chat"
    CHAT_GONE = "chat_gone"
    MEMBERS_REFUSED = "members_refused"
    BOT_DISABLED = "bot_disabled"
    APP_NOT_INSTALLED = "app_not_installed"
    APP_DISABLED = "app_disabled"  # 10014: the app is switched off in the tenant
    GROUP_RESTRICTED = "group_restricted"  # the group's settings stop the bot posting
    BUSY = "busy"  # Lark is still busy with the same thing (a create, a send, a press)
    NO_PERMISSION = "no_permission"
    BAD_CREDENTIALS = "bad_credentials"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    INVALID_REQUEST = "invalid_request"
    CARD_INVALID = "card_invalid"
    MESSAGE_TOO_OLD = "message_too_old"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (a reason, not a secret)
    SERVER = "server"
    NETWORK = "network"
    SMTP = "smtp"  # the mail server refused or was unreachable
    NOBODY_ON_CALL = "nobody_on_call"  # a schedule layer found nobody on call
    # Lark's refusals of a buzz (docs/lark/urgent.md), and our own reasons not to buzz.
    BUZZ_QUOTA = "buzz_quota"  # the tenant's SMS / phone buzz quota is used up
    BUZZ_NOT_ALLOWED = "buzz_not_allowed"  # the group lets only its owner and admins buzz
    BUZZ_UNREAD = "buzz_unread"  # the person has 200 unread buzzes
    BUZZ_SCOPE = "buzz_scope"  # the app lacks the urgent scope for this kind of buzz
    NOT_IN_CHAT = "not_in_chat"  # the person is not in the chat of the buzzed message
    NO_CARD = "no_card"  # the card to buzz never reached the person
    PHONE_RESERVED = "phone_reserved"  # phone buzzes are kept for Critical incidents


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent; `reason` says why in one small taxonomy
    CANCELLED = "cancelled"  # an escalation step made moot by an acknowledgement


class Delivery(db.Model):  # type: ignore[name-defined]
    """An outbox row, written in the same transaction as the change it reports."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("uuid"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_integration_created", "integration_id", "created_at"),
        Index("ix_delivery_endpoint_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every kind but `webhook` goes through a Lark integration; a webhook row has none.
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # a DeliveryKind
    receive_id_type: Mapped[str | None] = mapped_column(String(16))
    receive_id: Mapped[str | None] = mapped_column(String(128))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    card_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("card_message.id", ondelete="CASCADE")
    )
    # Lark's send de-duplication key (≤ 50 chars, 1 hour): a retry never posts twice.
    uuid: Mapped[str] = mapped_column(String(50))
    layer: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=12,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(32))  # a FailureReason
    message_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member | None] = relationship()


class WarRoom(db.Model):  # type: ignore[name-defined]
    """A Lark group chat made for one incident (作战室)."""

    __tablename__ = "war_room"
    __table_args__ = (UniqueConstraint("incident_id", "integration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    chat_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    # Members Lark could not find, with the reason: [{"member_id":1,"name":"..","reason":".."}]
    missing: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when Lark said the chat was dissolved (im.chat.disbanded_v1).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiUsage(db.Model):  # type: ignore[name-defined]
    """Lark API calls per integration per month, for the free edition's quota."""

    __tablename__ = "api_usage"
    __table_args__ = (UniqueConstraint("integration_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    calls: Mapped[int] = mapped_column(Integer, default=0)


class LarkApiEvent(db.Model):  # type: ignore[name-defined]
    """A notable answer from Lark (rate limit, quota, permission) for the diagnostics page."""

    __tablename__ = "lark_api_event"
    __table_args__ = (Index("ix_lark_api_event_integration_at", "integration_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    path: Mapped[str] = mapped_column(String(120))
    code: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # rate_limited | quota | permission | other
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
