"""The buzz budget: SMS and phone buzzes counted per integration and Beijing month (the
month Lark's quotas use), a forecast for the month, and the phone reserve for Critical."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.lark import usage
from webapp.models import (
    BuzzUsage,
    Delivery,
    DeliveryKind,
    FailureReason,
    LarkIntegration,
    Severity,
    dialect_insert,
)
from webapp.paging.rules import APP, PHONE, SMS, settings_of


@dataclass(frozen=True)
class Month:
    month: str
    app: int
    sms: int
    phone: int
    sms_forecast: int  # at this pace, by the end of the month
    phone_forecast: int
    quota_refused: bool  # Lark answered 230024 this month


def count(integration_id: int, via: str, now: datetime) -> None:
    """One buzz Lark accepted, in the caller's transaction."""
    if via not in (APP, SMS, PHONE):
        return
    month = usage.month_of(now)
    db.session.execute(
        dialect_insert(BuzzUsage)
        .values(integration_id=integration_id, month=month, app=0, sms=0, phone=0)
        .on_conflict_do_nothing(index_elements=["integration_id", "month"])
    )
    column = getattr(BuzzUsage, via)
    db.session.execute(
        update(BuzzUsage)
        .where(BuzzUsage.integration_id == integration_id, BuzzUsage.month == month)
        .values({via: column + 1})
        .execution_options(synchronize_session=False)
    )


def month(integration_id: int, now: datetime) -> Month:
    key = usage.month_of(now)
    row = db.session.scalars(
        select(BuzzUsage).where(BuzzUsage.integration_id == integration_id, BuzzUsage.month == key)
    ).first()
    app, sms, phone = (row.app, row.sms, row.phone) if row else (0, 0, 0)
    return Month(
        key,
        app,
        sms,
        phone,
        forecast(sms, now),
        forecast(phone, now),
        quota_refused(integration_id, now),
    )


def months_of(account_id: int, now: datetime) -> list[tuple[LarkIntegration, Month]]:
    """This month's buzzes of each of the account's integrations."""
    integrations = db.session.scalars(
        select(LarkIntegration)
        .where(LarkIntegration.account_id == account_id)
        .order_by(LarkIntegration.id)
    )
    return [(integration, month(integration.id, now)) for integration in integrations]


def forecast(used: int, now: datetime) -> int:
    """`used` so far this month, carried on at the same pace to the month's end."""
    start, end = usage.month_starts_at(now), usage.quota_resets_at(now)
    elapsed = max((now - start).total_seconds(), 3600.0)  # the first hour forecasts nothing wild
    return round(used * (end - start).total_seconds() / elapsed)


def quota_refused(integration_id: int, now: datetime) -> bool:
    """A buzz this month ended on 230024 (the tenant's SMS / phone buzz quota used up)."""
    found = db.session.scalar(
        select(Delivery.id)
        .where(
            Delivery.integration_id == integration_id,
            Delivery.kind == DeliveryKind.BUZZ,
            Delivery.reason == FailureReason.BUZZ_QUOTA,
            Delivery.created_at >= usage.month_starts_at(now),
        )
        .limit(1)
    )
    return found is not None


def phone_allowed(account_id: int, severity: str) -> bool:
    """False when an admin keeps phone buzzes for Critical and this incident is not."""
    if severity == Severity.CRITICAL.value:
        return True
    return not settings_of(account_id).reserve_phone_for_critical
