"""A Lark self-built app wired to an account, and the Lark users bound to members."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp import vault
from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow
from webapp.models.core import Account, Member


class Platform(enum.StrEnum):
    FEISHU = "feishu"  # open.feishu.cn, China
    LARK = "lark"  # open.larksuite.com, international


class Edition(enum.StrEnum):
    FREE = "free"  # 基础免费版: a monthly API quota for all self-built apps of the tenant
    PAID = "paid"


class LarkIntegration(db.Model):  # type: ignore[name-defined]
    __tablename__ = "lark_integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    # The public, unguessable part of the four URLs pasted into Lark.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    app_id: Mapped[str] = mapped_column(String(64))
    app_secret_sealed: Mapped[str] = mapped_column(Text)
    verification_token_sealed: Mapped[str] = mapped_column(Text)
    encrypt_key_sealed: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[Platform] = mapped_column(
        Enum(Platform, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]),
        default=Platform.FEISHU,
    )
    edition: Mapped[Edition] = mapped_column(
        Enum(Edition, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]),
        default=Edition.PAID,
    )
    # Open API base, e.g. https://open.feishu.cn, or the sandbox's http://127.0.0.1:5000/_lark
    api_base_url: Mapped[str] = mapped_column(String(255))
    # OAuth authorize host; None derives it from the platform (the sandbox: api_base_url).
    accounts_base_url: Mapped[str | None] = mapped_column(String(255))
    # The Lark tenant the app belongs to, learnt from the first callback or login.
    tenant_key: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Evidence for the setup checklist and diagnostics, written by normal traffic.
    token_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_error: Mapped[str | None] = mapped_column(String(500))
    url_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_send_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chats_listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    chats_seen: Mapped[int | None] = mapped_column(Integer)
    # The event request URL: its url_verification, and the last event Lark sent to it.
    events_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()

    @property
    def app_secret(self) -> str:
        return vault.unseal(self.app_secret_sealed)

    @app_secret.setter
    def app_secret(self, value: str) -> None:
        self.app_secret_sealed = vault.seal(value)

    @property
    def verification_token(self) -> str:
        return vault.unseal(self.verification_token_sealed)

    @verification_token.setter
    def verification_token(self, value: str) -> None:
        self.verification_token_sealed = vault.seal(value)

    @property
    def encrypt_key(self) -> str | None:
        return vault.unseal(self.encrypt_key_sealed) if self.encrypt_key_sealed else None

    @encrypt_key.setter
    def encrypt_key(self, value: str | None) -> None:
        self.encrypt_key_sealed = vault.seal(value) if value else None


class LarkBinding(db.Model):  # type: ignore[name-defined]
    """A Lark user bound to a member. Ended bindings stay as the history of switches."""

    __tablename__ = "lark_binding"
    __table_args__ = (
        # At most one live binding per Lark user and per member, in each integration.
        Index(
            "uq_binding_live_open_id",
            "integration_id",
            "open_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "uq_binding_live_member",
            "integration_id",
            "member_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    open_id: Mapped[str] = mapped_column(String(64))
    union_id: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    tenant_key: Mapped[str | None] = mapped_column(String(64))
    lark_name: Mapped[str | None] = mapped_column(String(120))
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    # "oauth" (the member signed in) or "bulk" (admin's one-click link by email/mobile)
    method: Mapped[str] = mapped_column(String(8), default="oauth")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(40))

    integration: Mapped[LarkIntegration] = relationship()
    member: Mapped[Member] = relationship()


class CardMessage(db.Model):  # type: ignore[name-defined]
    """A card we sent about an incident; later changes update it in place."""

    __tablename__ = "card_message"
    __table_args__ = (UniqueConstraint("integration_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    receive_id_type: Mapped[str] = mapped_column(String(16))
    receive_id: Mapped[str] = mapped_column(String(128))
    # The version of the incident the card on Lark's side shows.
    rendered_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ChatStatus(enum.StrEnum):
    MEMBER = "member"  # the bot is in the chat
    REMOVED = "removed"  # im.chat.member.bot.deleted_v1
    DISBANDED = "disbanded"  # im.chat.disbanded_v1


class LarkChat(db.Model):  # type: ignore[name-defined]
    """What Lark's chat events said last about one group chat of the bot.

    Lark's chat list (im/v1/chats) stays the source of the form's chat list; a row newer
    than the list read overrides it, so an event shows in every web worker at once.
    """

    __tablename__ = "lark_chat"
    __table_args__ = (UniqueConstraint("integration_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    chat_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ChatStatus] = mapped_column(
        Enum(
            ChatStatus, native_enum=False, length=12, values_callable=lambda e: [m.value for m in e]
        ),
        default=ChatStatus.MEMBER,
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackReceipt(db.Model):  # type: ignore[name-defined]
    """A card callback we answered: a repeat (same event_id or X-Refresh-Token) acts once."""

    __tablename__ = "callback_receipt"
    __table_args__ = (UniqueConstraint("integration_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    dedupe_key: Mapped[str] = mapped_column(String(128))
    operator_open_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    # "ok", or the refusal: not_linked, no_seat, forbidden, stale, closed, bad_request, error
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LicenseRefusal(db.Model):  # type: ignore[name-defined]
    """A member without a seat tried to act; the license page lists the last 30 days."""

    __tablename__ = "license_refusal"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship()
