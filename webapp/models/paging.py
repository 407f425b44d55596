"""Who is woken how: each member's notification rules per severity, the account's defaults,
and the SMS / phone buzzes counted per month (webapp/paging/ owns the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.base import JSONType, UTCDateTime, utcnow


class PagingRule(db.Model):  # type: ignore[name-defined]
    """One severity's ladder for one member, or the account's default when member_id is None.

    steps: [{"after": 0, "via": "card"}, {"after": 5, "via": "phone"}] in order; `via` is
    card, app, sms, phone or email. quiet: in the member's quiet hours (quiet_start ..
    quiet_end, minutes of the day in their time zone) this severity buzzes nobody.
    """

    __tablename__ = "paging_rule"
    __table_args__ = (UniqueConstraint("account_id", "member_id", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    severity: Mapped[str] = mapped_column(String(16))  # a Severity value
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    quiet: Mapped[bool] = mapped_column(default=False)
    quiet_start: Mapped[int] = mapped_column(Integer, default=22 * 60)
    quiet_end: Mapped[int] = mapped_column(Integer, default=7 * 60)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PagingSettings(db.Model):  # type: ignore[name-defined]
    """An account's paging choices beyond the default rules."""

    __tablename__ = "paging_settings"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    # Phone buzzes (the tenant's scarcest quota) only for Critical incidents.
    reserve_phone_for_critical: Mapped[bool] = mapped_column(default=False)


class BuzzUsage(db.Model):  # type: ignore[name-defined]
    """Buzzes Lark accepted per integration and month (Beijing time, like the API quota)."""

    __tablename__ = "buzz_usage"
    __table_args__ = (UniqueConstraint("integration_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("lark_integration.id", ondelete="CASCADE")
    )
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    app: Mapped[int] = mapped_column(Integer, default=0)
    sms: Mapped[int] = mapped_column(Integer, default=0)
    phone: Mapped[int] = mapped_column(Integer, default=0)
