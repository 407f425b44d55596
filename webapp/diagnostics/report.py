"""Diagnostics: the seed guide's FAQ as live checks, per integration and per member.

Admins see every check of every integration (`report`), plus the account's license
(`account_checks`); a member sees their own line (`member_status`), which the Lark
homepage shows too. The checks themselves live in webapp/diagnostics/checks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import mailer
from webapp.diagnostics import people
from webapp.diagnostics.chats import chats_check, war_rooms_check
from webapp.diagnostics.checks import (
    Check,
    Level,
    card_operators_check,
    card_url_check,
    clear_cache,
    credentials_check,
    license_check,
    live_bindings,
    members_linked_check,
    not_linked_deliveries_check,
    target_of,
    worst,
)
from webapp.diagnostics.limits import (
    buzz_quota_check,
    permissions_check,
    quota_check,
    rate_limit_check,
)
from webapp.diagnostics.silences import silences_check
from webapp.extensions import db
from webapp.lark.errors import fix as lark_fix
from webapp.models import Account, Delivery, DeliveryStatus, Incident, LarkIntegration, Member

__all__ = ["Check", "FailureRow", "Level", "MemberStatus", "Report", "member_status", "report"]

FAILURES_SHOWN = 50


@dataclass(frozen=True)
class FailureRow:
    at: datetime
    code: int | None
    reason: str
    target: str
    incident_id: int | None
    error: str
    fix: str
    incident_number: int | None = None  # links to the incident's "Who was told" (admins)


@dataclass
class Report:
    integration: LarkIntegration
    checks: list[Check]
    failures: list[FailureRow]

    @property
    def worst(self) -> Level:
        return worst(c.status for c in self.checks)


def init_app(app: Flask) -> None:
    app.extensions.setdefault("test_resets", []).append(clear_cache)
    people.init_app(app)
    # Any page may show a member's line: {% include "admin/_member_status.html" %} with
    # `status = member_status(integration, member)` (the Lark homepage, for one).
    app.add_template_global(member_status, "member_status")


# -- the report ------------------------------------------------------------------------


def account_checks(account: Account) -> list[Check]:
    """Checks that concern the account, not one integration: license seats, e-mail, silences."""
    return [license_check(account), mail_check(), silences_check(account)]


def mail_check() -> Check:
    """The e-mail fallback: where it goes, or that there is none."""
    title = _("E-mail when Lark cannot deliver")
    where = mailer.describe()
    if where is None:
        return Check(
            "email",
            title,
            Level.WARNING,
            _(
                "No e-mail: SMTP_URL is not set, so a person Lark cannot reach (not linked, "
                "quota used up) is not told another way."
            ),
            _(
                "Set SMTP_URL (smtp://user:pass@host:port, or smtps:// for TLS) and MAIL_FROM "
                "in the environment and restart."
            ),
        )
    return Check(
        "email",
        title,
        Level.OK,
        _("People Lark cannot reach get an e-mail through %(where)s.", where=where),
    )


def report(integration: LarkIntegration) -> Report:
    if not integration.enabled:
        disabled = Check(
            "enabled",
            _("Integration enabled"),
            Level.WARNING,
            _("This integration is disabled: Lark's calls to its URLs are refused."),
            _("Enable it on the integration page when it should work again."),
        )
        return Report(integration, [disabled], recent_failures(integration))
    checks = [
        credentials_check(integration),
        card_url_check(integration),
        members_linked_check(integration),
        not_linked_deliveries_check(integration),
        card_operators_check(integration),
        chats_check(integration),
        war_rooms_check(integration),
        permissions_check(integration),
        rate_limit_check(integration),
        quota_check(integration),
        buzz_quota_check(integration),
    ]
    return Report(integration, checks, recent_failures(integration))


# -- the failure log -------------------------------------------------------------------


def recent_failures(
    integration: LarkIntegration, member: Member | None = None, limit: int = FAILURES_SHOWN
) -> list[FailureRow]:
    # Failed rows, and rows Lark's quota holds back (they wait, but Lark did refuse them).
    stmt = select(Delivery).where(
        Delivery.integration_id == integration.id,
        (Delivery.status == DeliveryStatus.FAILED)
        | ((Delivery.status == DeliveryStatus.PENDING) & (Delivery.reason == "quota")),
    )
    if member is not None:
        stmt = stmt.where(Delivery.member_id == member.id)
    stmt = stmt.order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit)
    return [
        FailureRow(
            at=d.created_at,
            code=d.last_error_code,
            reason=d.reason or "server",
            target=target_of(d),
            incident_id=d.incident_id,
            error=d.last_error or "",
            fix=lark_fix(d.reason or "server"),
            incident_number=_number_of(d.incident_id),
        )
        for d in db.session.scalars(stmt)
    ]


def _number_of(incident_id: int | None) -> int | None:
    incident = db.session.get(Incident, incident_id) if incident_id else None
    return incident.number if incident is not None else None


# -- one member's line -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberStatus:
    """A member's own state for one integration, shown in one line on the homepage."""

    linked: bool
    lark_name: str | None
    licensed: bool
    # None: no card was sent to them yet; else whether the latest ones arrived.
    notifications_ok: bool | None
    last_failure_reason: str | None
    level: Level
    line: str
    fix: str


def _latest_personal(integration: LarkIntegration, member: Member) -> list[Delivery]:
    stmt = (
        select(Delivery)
        .where(
            Delivery.integration_id == integration.id,
            Delivery.member_id == member.id,
            Delivery.status.in_((DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)),
        )
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(5)
    )
    return list(db.session.scalars(stmt))


def member_status(integration: LarkIntegration, member: Member) -> MemberStatus:
    binding = live_bindings(integration).get(member.id)
    latest = _latest_personal(integration, member)
    failed = next((d for d in latest if d.status is DeliveryStatus.FAILED), None)
    ok = None if not latest else failed is None
    parts = [
        _("Linked to Lark as %(name)s.", name=binding.lark_name or binding.open_id)
        if binding
        else _("Not linked to Lark."),
        _("You hold a license seat.") if member.has_seat else _("You have no license seat."),
    ]
    if ok is None:
        parts.append(_("No card was sent to you yet."))
    elif ok:
        parts.append(_("Your last notifications arrived."))
    else:
        parts.append(_("A recent notification did not reach you."))
    fixes = []
    if binding is None:
        fixes.append(_("Open the app from the Lark workbench and sign in once."))
    if not member.has_seat:
        fixes.append(_("Ask an account admin for a license seat (License page)."))
    if failed is not None:
        fixes.append(lark_fix(failed.reason or "server"))
    level = Level.FAILING if (binding is None or failed is not None) else Level.OK
    if level is Level.OK and not member.has_seat:
        level = Level.WARNING
    return MemberStatus(
        linked=binding is not None,
        lark_name=binding.lark_name if binding else None,
        licensed=member.has_seat,
        notifications_ok=ok,
        last_failure_reason=failed.reason if failed else None,
        level=level,
        line=" ".join(str(p) for p in parts),
        fix=" ".join(str(f) for f in fixes),
    )
