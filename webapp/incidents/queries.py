"""The read side of incidents: what a member's list shows, with counts, fast at a million rows.

Every list request costs a fixed number of statements whatever the table size:
one for the capped counts, one for the page (keyset on (created_at, id), never OFFSET),
and one for the page's assignees' names (rows are plain values: webapp/incidents/rows.py).

Why it stays flat in the table size (see bench/README.md for the measurements):
- the page walks `ix_incident_account_status_created` (or the channel index) newest first
  and stops after `limit + 1` matches; the scope test for "mine" is an EXISTS probe on the
  assignee / responder primary keys, one index lookup per row visited;
- counts are capped: each status counts at most `cap(status)` matching rows with
  `SELECT count(*) FROM (SELECT 1 ... LIMIT cap)`. The open states are bounded by the open
  backlog, so they count up to 1,000 ("999+"); Closed grows forever, so it stops at 100
  ("99+") and reads a few hundred index entries instead of a million. An exact count of
  the whole history is not worth a full index scan on every 15-second refresh;
- text search is the one filter that visits rows without an index (ILIKE on the title);
  with the default "open" status it only reads the open backlog. A trigram index is the
  next step if searching the whole closed history gets slow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    union_all,
)

from webapp.extensions import db
from webapp.incidents import rows
from webapp.incidents.rows import ListRow
from webapp.models import (
    Incident,
    Member,
    Severity,
    Status,
    channel_members,
    incident_assignees,
    incident_responders,
    utcnow,
)
from webapp.models.base import UTCDateTime

SCOPES = ("mine", "channels", "all")
STATUSES = ("open", "triggered", "processing", "snoozed", "closed", "any")
COUNTED = ("triggered", "processing", "snoozed", "closed")
SEVERITIES = ("critical", "warning", "info")
SORTS = ("newest", "severity")
PAGE_SIZE = 50
# A refresh re-renders what the member already loaded, up to this many rows.
MAX_ROWS = 200
COUNT_CAP = 1000
CLOSED_COUNT_CAP = 100
SEARCH_MAX = 100

_SEVERITY_ORDER = (Severity.CRITICAL, Severity.WARNING, Severity.INFO)


@dataclass(frozen=True)
class Filters:
    """What the member asked to see; every field lives in the URL."""

    scope: str = "mine"
    status: str = "open"
    severity: str = ""
    q: str = ""
    sort: str = "newest"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Unknown values fall back to the default: a shared link never errors."""
        default = cls()
        return cls(
            scope=_pick(args.get("scope"), SCOPES, default.scope),
            status=_pick(args.get("status"), STATUSES, default.status),
            severity=_pick(args.get("severity"), SEVERITIES, ""),
            q=(args.get("q") or "").strip()[:SEARCH_MAX],
            sort=_pick(args.get("sort"), SORTS, default.sort),
        )

    def params(self, **changes: str) -> dict[str, Any]:
        """URL query parameters that differ from the defaults (short, shareable links)."""
        chosen = replace(self, **changes)
        default = Filters()
        return {
            name: value
            for name, value in vars(chosen).items()
            if value and value != getattr(default, name)
        }

    @property
    def is_default(self) -> bool:
        return self == Filters()


def _pick(value: str | None, allowed: Sequence[str], default: str) -> str:
    value = (value or "").strip().lower()
    return value if value in allowed else default


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after (rank, created_at, id); rank is 0 unless by severity."""

    rank: int
    created_at: datetime
    id: int

    def encode(self) -> str:
        micros = int(self.created_at.timestamp() * 1_000_000)
        return f"{self.rank}.{micros}.{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        """A malformed cursor means the first page."""
        try:
            rank, micros, ident = (int(part) for part in (raw or "").split("."))
            when = datetime.fromtimestamp(micros / 1_000_000, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        if not 0 <= rank < len(_SEVERITY_ORDER):
            return None
        return cls(rank, when, ident)


@dataclass
class Page:
    rows: list[ListRow]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class Counts:
    values: Mapping[str, int]

    def label(self, status: str) -> str:
        value, limit = self.values.get(status, 0), cap(status)
        return f"{limit - 1}+" if value >= limit else str(value)


def cap(status: str) -> int:
    return CLOSED_COUNT_CAP if status == "closed" else COUNT_CAP


# -- conditions ---------------------------------------------------------------------------


def _mine(member: Member) -> ColumnElement[bool]:
    """Assigned to the member or they responded: two primary-key probes per row visited.

    Written as `(SELECT 1 ... LIMIT 1) IS NOT NULL` rather than EXISTS on purpose: PostgreSQL
    may turn an EXISTS under OR into a hashed subplan that first reads *every* incident the
    member was ever assigned to (100,000+ at a million rows) to show 50 of them; a scalar
    subquery is always a per-row probe, so the cost follows the rows visited, not history.
    """
    assigned = _probe(incident_assignees, member)
    responded = _probe(incident_responders, member)
    return or_(assigned.is_not(None), responded.is_not(None))


def _probe(table: Table, member: Member) -> ScalarSelect[Any]:
    return (
        select(literal(1))
        .where(table.c.incident_id == Incident.id, table.c.member_id == member.id)
        .limit(1)
        .scalar_subquery()
    )


def _my_channels(member: Member) -> ColumnElement[bool]:
    ids = select(channel_members.c.channel_id).where(channel_members.c.member_id == member.id)
    return Incident.channel_id.in_(ids)


def scope(member: Member, tab: str) -> ColumnElement[bool]:
    """The incidents a tab shows. "all" is exactly what `incidents.may_view` allows."""
    account = Incident.account_id == member.account_id
    if tab == "mine":
        return and_(account, _mine(member))
    if tab == "channels":
        return and_(account, _my_channels(member))
    if member.is_admin:
        return account
    return and_(account, or_(Incident.channel_id.is_(None), _my_channels(member), _mine(member)))


def status_condition(status: str, now: datetime) -> ColumnElement[bool]:
    """Triggered, Processing, Snoozed and Closed do not overlap: a snoozed incident is open
    (triggered or processing) with `snoozed_until` in the future, and counts only as snoozed."""
    open_states = Incident.status.in_([Status.TRIGGERED, Status.PROCESSING])
    awake = or_(Incident.snoozed_until.is_(None), Incident.snoozed_until <= now)
    conditions: dict[str, ColumnElement[bool]] = {
        "open": open_states,
        "triggered": and_(Incident.status == Status.TRIGGERED, awake),
        "processing": and_(Incident.status == Status.PROCESSING, awake),
        "snoozed": and_(open_states, Incident.snoozed_until > now),
        "closed": Incident.status == Status.CLOSED,
    }
    return conditions.get(status, true())


def _search(q: str) -> ColumnElement[bool]:
    """Title contains the words, or the number is exactly it ("#42" or "42")."""
    if not q:
        return true()
    by_title = Incident.title.icontains(q, autoescape=True)
    digits = q.removeprefix("#")
    if digits.isdigit() and len(digits) < 10:
        return or_(by_title, Incident.number == int(digits))
    return by_title


def _severity(severity: str) -> ColumnElement[bool]:
    if not severity:
        return true()
    return Incident.severity == Severity(severity.title())


def _filtered(member: Member, filters: Filters) -> ColumnElement[bool]:
    """Everything except the status: counts use it for each status in turn."""
    return and_(scope(member, filters.scope), _severity(filters.severity), _search(filters.q))


# -- queries ------------------------------------------------------------------------------


def counts(member: Member, filters: Filters, now: datetime | None = None) -> Counts:
    """Capped counts per status for the tab, severity and search: one statement."""
    row = db.session.execute(select(*count_columns(member, filters, now or utcnow()))).one()
    return Counts(dict(zip(COUNTED, row, strict=True)))


def count_columns(member: Member, filters: Filters, now: datetime) -> list[Any]:
    """One capped count per status, as scalar subqueries labelled by the status."""
    base = _filtered(member, filters)
    columns = []
    for status in COUNTED:
        limited = select(literal(1)).where(base, status_condition(status, now)).limit(cap(status))
        columns.append(
            select(func.count()).select_from(limited.subquery()).scalar_subquery().label(status)
        )
    return columns


_NOW = bindparam("now", type_=UTCDateTime())


def page(
    member: Member,
    filters: Filters,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> Page:
    """One page of rows in the chosen order, and the cursor of the next page (None at the end)."""
    limit = max(1, min(limit, MAX_ROWS))
    now = now or utcnow()
    # Every render's first page: its statement is built once per view, the moment bound.
    view = (member.id, member.account_id, member.is_admin, filters, limit) if not after else None
    at: Any = _NOW if view else now
    found = rows.load(lambda: page_statement(member, filters, after, limit, at), {"now": now}, view)
    shown = [r[0] for r in found[:limit]]
    if len(found) <= limit:
        return Page(shown, None)
    last, rank = found[limit - 1]
    return Page(shown, Cursor(rank if filters.sort == "severity" else 0, last.created_at, last.id))


def page_statement(
    member: Member, filters: Filters, after: Cursor | None, limit: int, now: datetime
) -> Select[Any]:
    """(Incident, rank) rows of one page and one more, in the chosen order."""
    where = and_(_filtered(member, filters), status_condition(filters.status, now))
    if filters.sort == "severity":
        return _by_severity(where, filters, after, limit)
    return _newest(where, after, limit)


def _after(cursor: Cursor) -> ColumnElement[bool]:
    # A row comparison lets PostgreSQL start the index scan right at the cursor.
    return tuple_(Incident.created_at, Incident.id) < tuple_(
        literal(cursor.created_at, Incident.created_at.type), literal(cursor.id)
    )


def _newest(where: ColumnElement[bool], after: Cursor | None, limit: int) -> Select[Any]:
    stmt = select(Incident, literal(0)).where(where)
    if after is not None:
        stmt = stmt.where(_after(after))
    return stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit + 1)


def _by_severity(
    where: ColumnElement[bool], filters: Filters, after: Cursor | None, limit: int
) -> Select[Any]:
    """Critical first, newest first within a severity.

    One newest-first index walk per severity, glued with UNION ALL: the severity's rank is
    not a column, so a single ORDER BY on it could not use an index.
    """
    parts = []
    for rank, severity in enumerate(_SEVERITY_ORDER):
        if after is not None and rank < after.rank:
            continue
        part = select(Incident.id, Incident.created_at, literal(rank).label("rank")).where(
            where, Incident.severity == severity
        )
        if after is not None and rank == after.rank:
            part = part.where(_after(after))
        limited = (
            part.order_by(Incident.created_at.desc(), Incident.id.desc())
            .limit(limit + 1)
            .subquery()
        )
        parts.append(select(limited.c.id, limited.c.created_at, limited.c.rank))
    if not parts:
        return select(Incident, literal(0)).where(false())
    ranked = union_all(*parts).subquery()
    return (
        select(Incident, ranked.c.rank)
        .join(ranked, Incident.id == ranked.c.id)
        .order_by(ranked.c.rank, ranked.c.created_at.desc(), ranked.c.id.desc())
        .limit(limit + 1)
    )
