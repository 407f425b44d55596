"""What the incident list shows, in one cheap statement: the versions of the page's rows and
the counts. The list answers a refresh with 304 when this has not changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, true

from webapp.extensions import db
from webapp.incidents import queries
from webapp.models import Incident, Member


@dataclass(frozen=True)
class ShownRow:
    id: int
    version: int
    created_at: datetime
    snoozed_until: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Shown:
    rows: list[ShownRow]  # the page's rows and the one after (whether "load more" shows)
    counts: tuple[int, ...]

    @property
    def last_modified(self) -> datetime | None:
        return max((r.updated_at for r in self.rows), default=None)


def shown(member: Member, filters: queries.Filters, limit: int, now: datetime) -> Shown:
    """The counts, left-joined to the page's rows (so an empty page still has its counts):
    the page's own index walk, reading a few columns instead of drawing 50 incidents."""
    limit = max(1, min(limit, queries.MAX_ROWS))
    page = (
        queries.page_statement(member, filters, None, limit, now)
        .with_only_columns(
            Incident.id,
            Incident.version,
            Incident.created_at,
            Incident.snoozed_until,
            Incident.updated_at,
        )
        .subquery("p")
    )
    counts = select(*queries.count_columns(member, filters, now)).subquery("c")
    stmt = select(counts, page).select_from(counts).outerjoin(page, true())
    found = db.session.execute(stmt).all()
    width = len(queries.COUNTED)
    rows = [ShownRow(*r[width:]) for r in found if r[width] is not None]
    return Shown(sorted(rows, key=lambda r: r.id), tuple(found[0][:width]) if found else ())
