"""One incident, or a few, as a member may see them: a list row, the detail page with
everything it shows loaded up front, the listed numbers a bulk action may touch, and who
can be assigned. None (or leaving one out) when it is not the member's to see: a 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from webapp.extensions import db
from webapp.incidents.queries import MAX_ROWS, scope
from webapp.incidents.service import may_view
from webapp.models import Alert, Incident, IncidentEvent, Member


def row(member: Member, number: int) -> Incident | None:
    """One incident for a list row, or None when it is not the member's to see (404)."""
    stmt = (
        select(Incident)
        .where(Incident.account_id == member.account_id, Incident.number == number)
        .options(selectinload(Incident.assignees), joinedload(Incident.channel))
    )
    incident = db.session.execute(stmt).unique().scalar_one_or_none()
    if incident is None or not may_view(member, incident):
        return None
    return incident


def detail(member: Member, number: int) -> Incident | None:
    """One incident with everything the detail page shows, loaded up front."""
    stmt = (
        select(Incident)
        .where(Incident.account_id == member.account_id, Incident.number == number)
        .options(
            joinedload(Incident.channel),
            selectinload(Incident.assignees),
            selectinload(Incident.responders),
            selectinload(Incident.alerts).load_only(
                Alert.id, Alert.title, Alert.severity, Alert.status, Alert.starts_at
            ),
            selectinload(Incident.events).joinedload(IncidentEvent.actor),
        )
    )
    incident = db.session.execute(stmt).unique().scalar_one_or_none()
    if incident is None or not may_view(member, incident):
        return None
    return incident


def assignable(member: Member) -> list[Member]:
    """Members of the account who can be assigned, by name."""
    stmt = select(Member).where(Member.account_id == member.account_id).order_by(Member.name)
    return list(db.session.execute(stmt.limit(500)).scalars())


def visible_numbers(member: Member, numbers: Sequence[int]) -> list[Incident]:
    """The listed incidents the member may see (bulk actions); others are silently left out."""
    if not numbers:
        return []
    stmt = (
        select(Incident)
        .where(
            scope(member, "all"),
            Incident.number.in_(list(numbers)[:MAX_ROWS]),
        )
        .order_by(Incident.number)
    )
    return list(db.session.execute(stmt).scalars())
