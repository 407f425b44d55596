"""Lark users bound to members: bind on first visit, switch account, admins' bulk link.

A binding ties one Lark user (open_id, per app) to one member, inside one integration.
At most one *live* binding exists per Lark user and per member (partial unique indexes);
ending one keeps the row, so the bindings of a person read as a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.lark.client import LarkClient
from webapp.lark.oauth import LarkUser
from webapp.models import LarkBinding, LarkIntegration, Member, utcnow

# Why a binding ended (LarkBinding.ended_reason).
ENDED_SWITCH = "switch_account"
ENDED_ADMIN = "unlinked_by_admin"

# batch_get_id takes at most 50 e-mails and 50 mobiles per request (Lark's limit).
LOOKUP_BATCH = 50


class BindingError(Exception):
    """A bind was refused; the message tells the person what to do instead."""


class WrongAccount(BindingError):
    pass


class AlreadyBound(BindingError):
    def __init__(self, message: str, existing: LarkBinding) -> None:
        super().__init__(message)
        self.existing = existing


def live_binding(integration: LarkIntegration, open_id: str) -> LarkBinding | None:
    """The member a Lark user acts as in this integration, if any."""
    return db.session.execute(
        select(LarkBinding).where(
            LarkBinding.integration_id == integration.id,
            LarkBinding.open_id == open_id,
            LarkBinding.ended_at.is_(None),
        )
    ).scalar_one_or_none()


def binding_of(integration: LarkIntegration, member: Member) -> LarkBinding | None:
    """The member's live binding in this integration, if any."""
    return db.session.execute(
        select(LarkBinding).where(
            LarkBinding.integration_id == integration.id,
            LarkBinding.member_id == member.id,
            LarkBinding.ended_at.is_(None),
        )
    ).scalar_one_or_none()


def history(integration: LarkIntegration, member: Member) -> list[LarkBinding]:
    """Every binding of the member in this integration, newest first."""
    return list(
        db.session.execute(
            select(LarkBinding)
            .where(LarkBinding.integration_id == integration.id, LarkBinding.member_id == member.id)
            .order_by(LarkBinding.created_at.desc(), LarkBinding.id.desc())
        ).scalars()
    )


def bind(integration: LarkIntegration, lark_user: LarkUser, member: Member) -> LarkBinding:
    """Bind the Lark user to the member, after the member proved who they are.

    Raises WrongAccount for a member of another account and AlreadyBound when either
    side already has a live binding to someone else. Binding the same pair again is a no-op.
    """
    if member.account_id != integration.account_id:
        raise WrongAccount(
            _(
                "%(member)s is not a member of %(account)s, the account this Lark app belongs"
                " to. Sign in with your %(account)s login.",
                member=member.email,
                account=integration.account.name,
            )
        )
    existing = live_binding(integration, lark_user.open_id)
    if existing is not None and existing.member_id == member.id:
        refresh_profile(existing, lark_user)
        db.session.commit()
        return existing
    _refuse_second_binding(integration, lark_user, member, existing)
    binding = _new_binding(integration, member, lark_user.open_id, method="oauth")
    refresh_profile(binding, lark_user)
    return _commit_new(binding, integration, lark_user, member)


def _refuse_second_binding(
    integration: LarkIntegration,
    lark_user: LarkUser,
    member: Member,
    existing_for_user: LarkBinding | None,
) -> None:
    if existing_for_user is not None:
        raise AlreadyBound(
            _(
                "Your Lark user is already linked to %(member)s. Use “Switch account” in the"
                " menu to link it to another member.",
                member=existing_for_user.member.name,
            ),
            existing_for_user,
        )
    existing_for_member = binding_of(integration, member)
    if existing_for_member is not None:
        raise AlreadyBound(
            _(
                "%(member)s is already linked to another Lark user (%(lark)s). Open the app as"
                " that Lark user and use “Switch account”, or ask an administrator to unlink"
                " it, then try again.",
                member=member.name,
                lark=existing_for_member.lark_name or existing_for_member.open_id,
            ),
            existing_for_member,
        )


def _new_binding(
    integration: LarkIntegration, member: Member, open_id: str, method: str
) -> LarkBinding:
    return LarkBinding(
        integration_id=integration.id,
        member_id=member.id,
        open_id=open_id,
        tenant_key=integration.tenant_key,
        method=method,
    )


def _commit_new(
    binding: LarkBinding, integration: LarkIntegration, lark_user: LarkUser, member: Member
) -> LarkBinding:
    """Insert; a concurrent bind of either side loses on the unique index and is explained."""
    db.session.add(binding)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _refuse_second_binding(
            integration, lark_user, member, live_binding(integration, lark_user.open_id)
        )
        raise
    return binding


def refresh_profile(binding: LarkBinding, lark_user: LarkUser) -> None:
    """Keep the Lark name and avatar current (they change in Lark, not here)."""
    binding.union_id = lark_user.union_id or binding.union_id
    binding.user_id = lark_user.user_id or binding.user_id
    binding.tenant_key = lark_user.tenant_key or binding.tenant_key
    binding.lark_name = (lark_user.name or binding.lark_name or "")[:120] or None
    binding.avatar_url = lark_user.avatar_url or binding.avatar_url


def returned(binding: LarkBinding, lark_user: LarkUser) -> None:
    """A bound person opened the app again: their Lark profile is kept current."""
    refresh_profile(binding, lark_user)
    db.session.commit()


def learn_tenant(integration: LarkIntegration, tenant_key: str) -> None:
    """The app's Lark tenant, learnt from the first login when nobody set it before."""
    db.session.execute(
        update(LarkIntegration)
        .where(LarkIntegration.id == integration.id, LarkIntegration.tenant_key.is_(None))
        .values(tenant_key=tenant_key)
    )
    db.session.commit()
    db.session.refresh(integration)


def choose_locale(member: Member, locale: str | None) -> None:
    """The language the member chose for the web app and their cards (None: the client's)."""
    member.locale = locale
    db.session.commit()


def end(binding: LarkBinding, reason: str) -> None:
    """End a live binding; the row stays as history."""
    if binding.ended_at is None:
        binding.ended_at = utcnow()
        binding.ended_reason = reason
        db.session.commit()


def switch_account(binding: LarkBinding) -> None:
    """The Lark user wants to act as another member: end this binding."""
    end(binding, ENDED_SWITCH)


# --- bulk link ---------------------------------------------------------------------


@dataclass
class BulkLinkReport:
    linked: list[tuple[Member, str]] = field(default_factory=list)  # (member, matched address)
    already: list[Member] = field(default_factory=list)
    not_found: list[tuple[Member, str]] = field(default_factory=list)  # (member, reason)

    def summary(self) -> str:
        """One sentence for a flash message; `not_found` holds the per-member reasons."""
        return _(
            "Linked %(linked)d, already linked %(already)d, not found %(missing)d.",
            linked=len(self.linked),
            already=len(self.already),
            missing=len(self.not_found),
        )


def bulk_link(
    integration: LarkIntegration, members: list[Member], client: LarkClient | None = None
) -> BulkLinkReport:
    """Link members to Lark users found by e-mail, then mobile (Flashduty's one-click link).

    Their first visit is then login-free. Members Lark cannot find are reported with the
    reason. A LarkError from the lookup (bad credentials, quota...) propagates to the caller.
    """
    report = BulkLinkReport()
    todo = _unlinked(integration, members, report)
    found = _look_up(integration, todo, client)
    for member in todo:
        _link_one(integration, member, found, report)
    db.session.commit()
    return report


def _unlinked(
    integration: LarkIntegration, members: list[Member], report: BulkLinkReport
) -> list[Member]:
    todo = []
    for member in members:
        if member.account_id != integration.account_id:
            report.not_found.append((member, _("Not a member of this account.")))
        elif binding_of(integration, member) is not None:
            report.already.append(member)
        elif not member.email and not member.phone:
            report.not_found.append((member, _("No e-mail or mobile number on file.")))
        else:
            todo.append(member)
    return todo


def _look_up(
    integration: LarkIntegration, members: list[Member], client: LarkClient | None
) -> dict[str, str | None]:
    if not members:
        return {}
    if client is None:
        client = LarkClient.for_integration(integration)
    emails = sorted({m.email.strip().lower() for m in members if m.email})
    mobiles = sorted({m.phone.strip() for m in members if m.phone})
    found: dict[str, str | None] = {}
    for start in range(0, max(len(emails), len(mobiles)), LOOKUP_BATCH):
        found.update(
            client.batch_get_id(
                emails=emails[start : start + LOOKUP_BATCH],
                mobiles=mobiles[start : start + LOOKUP_BATCH],
            )
        )
    return found


def _link_one(
    integration: LarkIntegration,
    member: Member,
    found: dict[str, str | None],
    report: BulkLinkReport,
) -> None:
    email = member.email.strip().lower() if member.email else None
    mobile = member.phone.strip() if member.phone else None
    for address in (email, mobile):
        open_id = found.get(address) if address else None
        if open_id is None:
            continue
        taken = live_binding(integration, open_id)
        if taken is not None:
            report.not_found.append((member, _taken_reason(address or "", taken)))
            return
        db.session.add(_new_binding(integration, member, open_id, method="bulk"))
        db.session.flush()
        report.linked.append((member, address or ""))
        return
    report.not_found.append((member, _missing_reason(email, mobile)))


def _taken_reason(address: str, taken: LarkBinding) -> str:
    return _(
        "The Lark user with %(address)s is already linked to %(member)s.",
        address=address,
        member=taken.member.name,
    )


def _missing_reason(email: str | None, mobile: str | None) -> str:
    shown = " / ".join(a for a in (email, mobile) if a)
    return _(
        "Lark has no user with %(address)s in this organisation, or the user is outside the"
        " app's availability range.",
        address=shown,
    )
