"""The incident list for programs (the REST API): a whole account's incidents with the web
list's filters (status, severity, search) plus channel and assignee, newest first, one
keyset page at a time. People's lists are scoped to the member: webapp/incidents/queries.py."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, literal, select, true
from sqlalchemy.orm import joinedload, selectinload

from webapp.extensions import db
from webapp.incidents.queries import Cursor, status_condition
from webapp.models import Alert, Incident, IncidentEvent, Severity, incident_assignees, utcnow

MAX_PAGE = 100


@dataclass(frozen=True)
class AccountFilters:
    status: str = "any"  # one of queries.STATUSES
    severity: Severity | None = None
    channel_id: int | None = None
    # A member id, or 0 for incidents nobody is assigned to; None for any.
    assignee_id: int | None = None
    q: str = ""


@dataclass
class AccountPage:
    incidents: list[Incident]
    next_cursor: str | None


def page(account_id: int, filters: AccountFilters, cursor: str | None, limit: int) -> AccountPage:
    """One page, newest first; a cursor that is not one of ours starts from the top."""
    limit = max(1, min(limit, MAX_PAGE))
    where = and_(Incident.account_id == account_id, _matching(filters))
    after = Cursor.decode(cursor)
    stmt = select(Incident).where(where)
    if after is not None:
        stmt = stmt.where(
            (Incident.created_at < after.created_at)
            | ((Incident.created_at == after.created_at) & (Incident.id < after.id))
        )
    stmt = (
        stmt.options(selectinload(Incident.assignees), joinedload(Incident.channel))
        .order_by(Incident.created_at.desc(), Incident.id.desc())
        .limit(limit + 1)
    )
    found = list(db.session.execute(stmt).unique().scalars())
    if len(found) <= limit:
        return AccountPage(found, None)
    last = found[limit - 1]
    return AccountPage(found[:limit], Cursor(0, last.created_at, last.id).encode())


def _matching(filters: AccountFilters) -> ColumnElement[bool]:
    conditions = [status_condition(filters.status, utcnow())]
    if filters.severity is not None:
        conditions.append(Incident.severity == filters.severity)
    if filters.channel_id is not None:
        conditions.append(Incident.channel_id == filters.channel_id)
    if filters.q:
        conditions.append(Incident.title.icontains(filters.q, autoescape=True))
    if filters.assignee_id is not None:
        conditions.append(_assigned(filters.assignee_id))
    return and_(true(), *conditions)


def _assigned(member_id: int) -> ColumnElement[bool]:
    probe = select(literal(1)).where(incident_assignees.c.incident_id == Incident.id)
    if member_id == 0:
        return ~probe.exists()
    return probe.where(incident_assignees.c.member_id == member_id).exists()


def one(account_id: int, number: int) -> Incident | None:
    """An incident of the account by its number, with its alerts and timeline loaded."""
    stmt = (
        select(Incident)
        .where(Incident.account_id == account_id, Incident.number == number)
        .options(
            joinedload(Incident.channel),
            selectinload(Incident.assignees),
            selectinload(Incident.responders),
            selectinload(Incident.alerts).load_only(
                Alert.id,
                Alert.title,
                Alert.severity,
                Alert.status,
                Alert.labels,
                Alert.starts_at,
                Alert.ends_at,
            ),
            selectinload(Incident.events).joinedload(IncidentEvent.actor),
        )
    )
    return db.session.execute(stmt).unique().scalar_one_or_none()
