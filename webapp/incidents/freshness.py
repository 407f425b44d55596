"""What the incident list shows, in one cheap statement: the versions of the page's rows and
the counts. The list answers a refresh with 304 when this has not changed."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, true

from webapp.extensions import db
from webapp.incidents import queries
from webapp.models import Incident, Member
from webapp.models.base import UTCDateTime


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
    key = (member.id, member.account_id, member.is_admin, filters, limit)
    found = db.session.execute(_statement(key, member, filters, limit), {"now": now}).all()
    width = len(queries.COUNTED)
    rows = [ShownRow(*r[width:]) for r in found if r[width] is not None]
    return Shown(sorted(rows, key=lambda r: r.id), tuple(found[0][:width]) if found else ())


# Building the statement is most of the Python a refresh costs (a few ms: five status
# conditions, the scope's subqueries, the page's walk), so each member's view keeps its
# statement, with the moment as a parameter. Bounded: the oldest half goes when it is full.
_built: dict[tuple[Any, ...], Select[Any]] = {}
_BUILT_MAX = 512
_built_lock = threading.Lock()


def _statement(
    key: tuple[Any, ...], member: Member, filters: queries.Filters, limit: int
) -> Select[Any]:
    with _built_lock:
        stmt = _built.get(key)
    if stmt is not None:
        return stmt
    stmt = _build(member, filters, limit)
    with _built_lock:
        if len(_built) >= _BUILT_MAX:
            for old in list(_built)[: _BUILT_MAX // 2]:
                del _built[old]
        _built[key] = stmt
    return stmt


def _build(member: Member, filters: queries.Filters, limit: int) -> Select[Any]:
    now = bindparam("now", type_=UTCDateTime())
    page = (
        queries.page_statement(member, filters, None, limit, now)  # type: ignore[arg-type]
        .with_only_columns(
            Incident.id,
            Incident.version,
            Incident.created_at,
            Incident.snoozed_until,
            Incident.updated_at,
        )
        .subquery("p")
    )
    counts = select(*queries.count_columns(member, filters, now)).subquery("c")  # type: ignore[arg-type]
    return select(counts, page).select_from(counts).outerjoin(page, true())
