"""License seats: how many the account bought, who holds one, who was refused for lack of one.

A member needs a seat to act on incidents (webapp/incidents.check_may_act refuses
otherwise and writes a LicenseRefusal row). This is the page the refusal points to,
Flashduty's "费用中心".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Account, LicenseRefusal, Member, utcnow

REFUSAL_WINDOW = timedelta(days=30)


class LicenseError(Exception):
    """A seat change that cannot be made; the message says why, for people."""


@dataclass(frozen=True)
class SeatUsage:
    used: int
    allowed: int
    holders: list[Member]
    without: list[Member]

    @property
    def full(self) -> bool:
        return self.used >= self.allowed

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.allowed)) if self.allowed else 100


@dataclass(frozen=True)
class RefusedMember:
    member: Member
    attempts: int
    last_at: datetime
    sources: list[str]


def usage(account: Account) -> SeatUsage:
    members = list(
        db.session.scalars(
            select(Member).where(Member.account_id == account.id).order_by(Member.name)
        )
    )
    holders = [m for m in members if m.has_seat]
    without = [m for m in members if not m.has_seat]
    return SeatUsage(len(holders), account.seats_allowed, holders, without)


def seats_used(account_id: int) -> int:
    stmt = select(func.count(Member.id)).where(
        Member.account_id == account_id, Member.has_seat.is_(True)
    )
    return int(db.session.execute(stmt).scalar_one())


def assign(account: Account, member: Member) -> None:
    """Give a member a seat, refusing beyond the seats the account bought.

    The account row is locked (PostgreSQL) so two admins assigning the last seat at
    the same moment cannot both succeed.
    """
    if member.account_id != account.id:
        raise LicenseError(_("This person is not a member of your account."))
    locked = db.session.execute(
        select(Account).where(Account.id == account.id).with_for_update()
    ).scalar_one()
    if member.has_seat:
        db.session.rollback()
        return
    if seats_used(locked.id) >= locked.seats_allowed:
        allowed = locked.seats_allowed
        db.session.rollback()
        raise LicenseError(
            _(
                "All %(allowed)s seats are in use. Release a seat first, or buy more seats.",
                allowed=allowed,
            )
        )
    member.has_seat = True
    db.session.commit()


def release(account: Account, member: Member) -> None:
    if member.account_id != account.id:
        raise LicenseError(_("This person is not a member of your account."))
    member.has_seat = False
    db.session.commit()


def recent_refusals(account: Account, now: datetime | None = None) -> list[RefusedMember]:
    """Members who tried to act without a seat in the last 30 days, most recent first."""
    since = (now or utcnow()) - REFUSAL_WINDOW
    rows = db.session.scalars(
        select(LicenseRefusal)
        .where(LicenseRefusal.account_id == account.id, LicenseRefusal.created_at >= since)
        .order_by(LicenseRefusal.created_at.desc())
    )
    grouped: dict[int, RefusedMember] = {}
    for row in rows:
        seen = grouped.get(row.member_id)
        if seen is None:
            grouped[row.member_id] = RefusedMember(row.member, 1, row.created_at, [row.source])
            continue
        sources = seen.sources if row.source in seen.sources else [*seen.sources, row.source]
        grouped[row.member_id] = RefusedMember(
            seen.member, seen.attempts + 1, seen.last_at, sources
        )
    return list(grouped.values())


def refusal_count(account_id: int, since: datetime) -> int:
    stmt = select(func.count(LicenseRefusal.id)).where(
        LicenseRefusal.account_id == account_id, LicenseRefusal.created_at >= since
    )
    return int(db.session.execute(stmt).scalar_one())


def admins_of(account: Account) -> list[Member]:
    """Whom a member without a seat should ask."""
    members = db.session.scalars(
        select(Member).where(Member.account_id == account.id).order_by(Member.name)
    )
    return [m for m in members if m.is_admin]
