"""Diagnostic checks of Lark's limits: refused permissions, rate limits, the monthly quota.

They read LarkApiEvent rows and the ApiUsage counter that webapp/lark/usage.py writes on
every call, so they never call Lark themselves.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.diagnostics.checks import Check, Level
from webapp.extensions import db
from webapp.i18n import ago
from webapp.lark import usage
from webapp.lark.errors import fix
from webapp.models import Edition, FailureReason, LarkApiEvent, LarkIntegration, utcnow
from webapp.paging import budget

RECENT = timedelta(days=7)
RATE_WINDOW = timedelta(hours=24)
QUOTA_WARNING = 0.8


def _events(integration: LarkIntegration, kinds: tuple[str, ...], since: datetime) -> list[Any]:
    stmt = (
        select(LarkApiEvent)
        .where(
            LarkApiEvent.integration_id == integration.id,
            LarkApiEvent.kind.in_(kinds),
            LarkApiEvent.created_at >= since,
        )
        .order_by(LarkApiEvent.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def permissions_check(integration: LarkIntegration) -> Check:
    # "permission" is what webapp/lark/usage.py writes; "no_permission" is the reason's name.
    events = _events(integration, ("permission", "no_permission"), utcnow() - RECENT)
    title = _("Permissions granted (im:chat, im:message, contact:user.id:readonly)")
    if not events:
        return Check(
            "permissions", title, Level.OK, _("Lark refused no call for a missing permission.")
        )
    paths = sorted({f"{e.path} ({e.code})" for e in events})
    return Check(
        "permissions",
        title,
        Level.FAILING,
        _(
            "Lark refused %(count)s call(s) for a missing permission in the last 7 days.",
            count=len(events),
        ),
        _(
            "Under Permissions & Scopes, apply for im:chat, im:message and "
            "contact:user.id:readonly, publish a new version and have the tenant admin approve it."
        ),
        paths,
    )


def rate_limit_check(integration: LarkIntegration) -> Check:
    events = _events(integration, ("rate_limited",), utcnow() - RATE_WINDOW)
    title = _("Rate limits (last 24 hours)")
    if not events:
        return Check(
            "rate_limits", title, Level.OK, _("Lark rate-limited no call in the last 24 hours.")
        )
    return Check(
        "rate_limits",
        title,
        Level.WARNING,
        _(
            "Lark rate-limited %(count)s call(s) in the last 24 hours, the last %(ago)s; the "
            "messages were delayed and retried.",
            count=len(events),
            ago=ago(events[0].created_at),
        ),
        _(
            "Lark allows 5 messages a second to one person or group and 1,000 a minute per app. "
            "Send fewer cards: narrow the dispatch policies, or notify a group chat instead of "
            "many people."
        ),
        sorted({f"{e.path} ({e.code})" for e in events}),
    )


def next_reset(now: datetime) -> date:
    """The day the free edition's quota resets: the 1st of next month, Beijing time."""
    return usage.quota_resets_at(now).astimezone(usage.QUOTA_TZ).date()


def quota_check(integration: LarkIntegration) -> Check:
    title = _("Monthly API quota (free edition)")
    now = utcnow()
    refused = _events(integration, ("quota",), usage.month_starts_at(now))
    if integration.edition is not Edition.FREE and not refused:
        return Check("quota", title, Level.OK, _("Paid editions have no monthly API quota."))
    quota = int(current_app.config["LARK_FREE_MONTHLY_QUOTA"])
    counted = usage.monthly_calls(integration.id, usage.month_of(now))
    reset = format_date(next_reset(now), "long")
    fix = _(
        "Upgrade the Lark plan, or send fewer cards until the reset: narrow the dispatch "
        "policies or notify group chats instead of many people. Incident notifications that "
        "Lark refuses go out by e-mail meanwhile."
    )
    if refused:
        # Lark's answer is the truth: the quota is the tenant's, and other self-built apps may
        # have used it up before our own counter shows it.
        evidence = _(
            "Lark refused %(count)s call(s) this month, the last %(ago)s: the tenant's monthly "
            "API quota is used up (99991403, %(quota)s of %(quota)s calls; this app made "
            "%(used)s of them). It resets on %(reset)s.",
            count=len(refused),
            ago=ago(refused[0].created_at),
            quota=f"{quota:,}",
            used=f"{counted:,}",
            reset=reset,
        )
        return Check("quota", title, Level.FAILING, evidence, fix)
    evidence = _(
        "%(used)s of %(quota)s calls used this month (%(percent)s%%); the quota resets on "
        "%(reset)s. Other self-built apps of your Lark tenant share it.",
        used=f"{counted:,}",
        quota=f"{quota:,}",
        percent=round(100 * counted / quota) if quota else 100,
        reset=reset,
    )
    if counted >= quota:
        return Check("quota", title, Level.FAILING, evidence, fix)
    if counted >= QUOTA_WARNING * quota:
        return Check("quota", title, Level.WARNING, evidence, fix)
    return Check("quota", title, Level.OK, evidence)


def buzz_quota_check(integration: LarkIntegration) -> Check:
    """Red when Lark answered 230024 this month: SMS and phone buzzes fall back."""
    title = _("SMS and phone buzz quota")
    month = budget.month(integration.id, utcnow())
    evidence = _(
        "This month: %(sms)s SMS and %(phone)s phone buzz(es), about %(sms_f)s and %(phone_f)s "
        "by the month's end at this pace.",
        sms=month.sms,
        phone=month.phone,
        sms_f=month.sms_forecast,
        phone_f=month.phone_forecast,
    )
    if month.quota_refused:
        return Check(
            "buzz_quota",
            title,
            Level.FAILING,
            _(
                "Lark refused a buzz this month: the tenant's SMS and phone buzz quota is used "
                "up (230024). Pages fall back to an in-app buzz and an e-mail."
            )
            + " "
            + evidence,
            fix(FailureReason.BUZZ_QUOTA),
        )
    return Check("buzz_quota", title, Level.OK, evidence)
