"""Heartbeats (dead man's switches): a ping URL that must be called in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp import vault
from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow
from webapp.models.core import Channel


class Heartbeat(db.Model):  # type: ignore[name-defined]
    """A dead man's switch: pinged every `period_s`; silence past the grace opens an incident."""

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("channel.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    period_s: Mapped[int] = mapped_column(Integer)
    grace_s: Mapped[int] = mapped_column(Integer)
    # The ping URL's token: looked up by its SHA-256, kept sealed so admins can see the URL again.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[str] = mapped_column(Text)
    paused: Mapped[bool] = mapped_column(default=False)
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When silence becomes an incident: the last ping (or the start) + period + grace.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set by the one worker that claimed the miss; cleared by the next ping.
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    channel: Mapped[Channel] = relationship()

    @property
    def token(self) -> str:
        return vault.unseal(self.token_sealed)

    @token.setter
    def token(self, value: str) -> None:
        self.token_sealed = vault.seal(value)
