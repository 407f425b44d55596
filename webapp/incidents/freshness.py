"""What the incident list shows, in one cheap statement: the page's rows as the list draws
them (webapp/incidents/rows.ListRow, names included) and the counts. The list answers a
refresh with 304 when this has not changed.

`changes` is cheaper still: one index range probe that tells whether anything the list
could show changed since a moment, so an unchanged list is not even looked at again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select, true

from webapp.extensions import db
from webapp.incidents import memo, queries, rows
from webapp.incidents.rows import ListRow
from webapp.models import Incident, Member, Status, channel_members
from webapp.models.base import UTCDateTime


@dataclass(frozen=True)
class Shown:
    rows: list[ListRow]  # the page's rows and the one after (whether "load more" shows)
    counts: tuple[int, ...]
    next_wake: datetime | None = None  # the soonest snooze in the account to run out
    last_modified: datetime | None = None


def shown(member: Member, filters: queries.Filters, limit: int, now: datetime) -> Shown:
    """The counts, left-joined to the page's rows (so an empty page still has its counts):
    the page's own index walk, reading a few columns instead of drawing 50 incidents."""
    limit = max(1, min(limit, queries.MAX_ROWS))
    key = (member.id, member.account_id, member.is_admin, filters, limit)
    found = db.session.execute(_statement(key, member, filters, limit), {"now": now}).all()
    width = len(queries.COUNTED)
    page = sorted((r[width + 1 :] for r in found if r[width + 1] is not None), key=lambda r: r[0])
    drawn = rows.made_of([r[:-1] for r in page])
    counts = tuple(found[0][:width]) if found else ()
    wake = found[0][width] if found else None
    return Shown(drawn, counts, wake, max((r[-1] for r in page), default=None))


# Building the statement is most of the Python a refresh costs (a few ms: five status
# conditions, the scope's subqueries, the page's walk), so each member's view keeps its
# statement, with the moment as a parameter. Bounded: the oldest half goes when it is full.
_built: memo.Store[Select[Any]] = memo.Store(512)


def _statement(
    key: tuple[Any, ...], member: Member, filters: queries.Filters, limit: int
) -> Select[Any]:
    return _built.get_or_make(key, lambda: _build(member, filters, limit))


def _build(member: Member, filters: queries.Filters, limit: int) -> Select[Any]:
    now = bindparam("now", type_=UTCDateTime())
    page = (
        queries.page_statement(member, filters, None, limit, now)  # type: ignore[arg-type]
        .with_only_columns(*rows.COLUMNS, Incident.updated_at)
        .subquery("p")
    )
    wake = (
        select(func.min(Incident.snoozed_until))
        .where(
            Incident.account_id == member.account_id,
            Incident.status.in_([Status.TRIGGERED, Status.PROCESSING]),
            Incident.snoozed_until > now,
        )
        .scalar_subquery()
        .label("next_wake")
    )
    counts = select(*queries.count_columns(member, filters, now), wake).subquery("c")  # type: ignore[arg-type]
    return select(counts, page).select_from(counts).outerjoin(page, true())


# -- the change detector ----------------------------------------------------------------------

# A change sets the incident's updated_at (webapp/incidents/service.py) and commits moments
# later, so a change committed after a look may carry an updated_at from a little before it.
# Every look therefore reaches this far back: far longer than an incident transaction lasts.
SETTLE = timedelta(seconds=60)


def changes(member: Member, since: datetime) -> tuple[int, ...]:
    """What moves whenever the member's list could read differently: how many of the
    account's incidents changed after `since` and the sum of their versions (a new incident
    adds a row, every change bumps a version), and the member's channels (which incidents
    "my channels" and a member's "all" reach). One statement: a range of
    `ix_incident_account_updated` and the member's few channel rows. It runs on every
    refresh, so it is built once and run on the session's connection, past the ORM."""
    params = {"account": member.account_id, "since": since, "member": member.id}
    row = db.session.connection().execute(_CHANGES, params).one()
    return tuple(int(value) for value in row)


def _changes_statement() -> Select[Any]:
    recent = (
        select(func.count().label("n"), func.coalesce(func.sum(Incident.version), 0).label("v"))
        .where(
            Incident.account_id == bindparam("account"),
            Incident.updated_at > bindparam("since", type_=UTCDateTime()),
        )
        .subquery("r")
    )
    channel = channel_members.c.channel_id
    joined = (
        select(
            func.count().label("n"),
            func.coalesce(func.sum(channel), 0).label("s"),
            func.coalesce(func.sum(channel * channel), 0).label("q"),
        )
        .where(channel_members.c.member_id == bindparam("member"))
        .subquery("m")
    )
    return select(recent.c.n, recent.c.v, joined.c.n, joined.c.s, joined.c.q).select_from(
        recent.join(joined, true())
    )


_CHANGES = _changes_statement()
