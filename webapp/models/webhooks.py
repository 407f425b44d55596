"""Outbound webhook endpoints: the URLs an account's own tools receive signed events at."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp import vault
from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow


class WebhookEvent(enum.StrEnum):
    """The event types a webhook endpoint can ask for (the payload's `type`).

    Capabilities that emit a new kind of event add it here (webapp/webhooks/emit.py maps
    timeline events to these, and `emit()` takes one for anything else).
    """

    TRIGGERED = "incident.triggered"
    ACKNOWLEDGED = "incident.acknowledged"
    RESOLVED = "incident.resolved"
    REOPENED = "incident.reopened"
    REASSIGNED = "incident.reassigned"
    COMMENTED = "incident.commented"
    ESCALATED = "incident.escalated"
    SILENCED = "alert.silenced"
    STORM = "alert.storm"
    # "Send a test event" on the admin page; never filtered out, never offered as a filter.
    TEST = "webhook.test"


class WebhookEndpoint(db.Model):  # type: ignore[name-defined]
    """A URL of the account's that receives signed events (Standard Webhooks)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    # Empty = every event type / every channel.
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    channel_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    secret_sealed: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Why it was switched off when that was not an admin's choice (410 Gone, a day of failures).
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # The first failed attempt since the last success; a day of failures disables it.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def secret(self) -> str:
        """The `whsec_...` signing secret."""
        return vault.unseal(self.secret_sealed)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_sealed = vault.seal(value)
