"""The list's rows as plain values: what a row draws, read as columns.

`ListRow` is the one description of what a row draws, names of people and channels
included: the row's HTML is remembered under it (webapp/views/list_rows.py), the list's
ETag is a digest of it (webapp/views/list_etag.py), and the change probe re-reads the names
it drew (`names_now`), since renaming a channel or a member changes no incident.

The list draws 50 rows on every render, and building 50 ORM incidents with their channel and
assignees was half of a list request's database time. A page reads these columns and one
statement for the page's assignees' names; a row answering an action is made from the
incident the action loaded (`ListRow.of`), so both draw the same template.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal, select, union_all

from webapp.extensions import db
from webapp.incidents import memo
from webapp.models import Channel, Incident, Member, Severity, Status, incident_assignees


@dataclass(frozen=True, slots=True)
class ListRow:
    id: int
    number: int
    title: str
    status: Status
    severity: Severity
    version: int
    created_at: datetime
    snoozed_until: datetime | None
    channel_name: str | None
    assignee_names: tuple[str, ...]  # in the order of Incident.assignees (member id)
    channel_id: int | None
    assignee_ids: tuple[int, ...]  # beside assignee_names: the change probe re-reads them

    def is_snoozed(self, now: datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now

    @classmethod
    def of(cls, incident: Incident) -> ListRow:
        return cls(
            incident.id,
            incident.number,
            incident.title,
            incident.status,
            incident.severity,
            incident.version,
            incident.created_at,
            incident.snoozed_until,
            incident.channel.name if incident.channel else None,
            tuple(member.name for member in incident.assignees),
            incident.channel_id,
            tuple(member.id for member in incident.assignees),
        )


# First-page statements by member's view; bounded: the oldest half goes when it is full.
_built: memo.Store[Select[Any]] = memo.Store(512)

_CHANNEL_NAME = (
    select(Channel.name).where(Channel.id == Incident.channel_id).scalar_subquery().label("ch")
)
COLUMNS = (
    Incident.id,
    Incident.number,
    Incident.title,
    Incident.status,
    Incident.severity,
    Incident.version,
    Incident.created_at,
    Incident.snoozed_until,
    _CHANNEL_NAME,
    Incident.channel_id,
)


def load(
    build: Callable[[], Select[Any]],
    params: dict[str, Any] | None = None,
    key: tuple[Any, ...] | None = None,
) -> list[tuple[ListRow, Any]]:
    """(row, rank) for each result of the page statement `build` makes, which selects
    (Incident, rank). With a `key` (the member's view: the first page, the moment a bound
    parameter) the statement is built once per key and process."""

    def columns() -> Select[Any]:
        made = build()
        return made.with_only_columns(*COLUMNS, list(made.selected_columns)[-1])

    stmt = _built.get_or_make(key, columns) if key is not None else columns()
    found = db.session.execute(stmt, params or {}).all()
    made = made_of([r[: len(COLUMNS)] for r in found])
    return [(row, r[len(COLUMNS)]) for row, r in zip(made, found, strict=True)]


def made_of(found: Sequence[Sequence[Any]]) -> list[ListRow]:
    """The rows of a statement that selected `COLUMNS`, with their assignees (one more
    statement)."""
    people = _assignees([r[0] for r in found])
    made = []
    for id_, number, title, status, severity, version, created, snoozed, ch, ch_id in found:
        pairs = people.get(id_, [])
        names, ids = tuple(p[1] for p in pairs), tuple(p[0] for p in pairs)
        row = ListRow(
            id_, number, title, status, severity, version, created, snoozed, ch, names, ch_id, ids
        )  # fmt: skip
        made.append(row)
    return made


def _assignees(ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    if not ids:
        return {}
    link = incident_assignees.c
    stmt = (
        select(link.incident_id, Member.id, Member.name)
        .join(Member, Member.id == link.member_id)
        .where(link.incident_id.in_(ids))
        .order_by(link.incident_id, Member.id)
    )
    people: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
    for incident_id, member_id, name in db.session.execute(stmt):
        people[incident_id].append((member_id, name))
    return people


# -- the names a page drew -------------------------------------------------------------------

# ((channel ids and names), (member ids and names)), each sorted by id
Names = tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]


def names_drawn(rows: Iterable[ListRow]) -> Names:
    channels: dict[int, str] = {}
    people: dict[int, str] = {}
    for row in rows:
        if row.channel_id is not None and row.channel_name is not None:
            channels[row.channel_id] = row.channel_name
        people.update(zip(row.assignee_ids, row.assignee_names, strict=True))
    return tuple(sorted(channels.items())), tuple(sorted(people.items()))


def names_now(drawn: Names) -> Names:
    """The names those channels and people have now: one statement, none when the page
    drew no name."""
    channel_ids = [id_ for id_, _ in drawn[0]]
    member_ids = [id_ for id_, _ in drawn[1]]
    if not channel_ids and not member_ids:
        return drawn
    stmt = union_all(
        select(literal(0), Channel.id, Channel.name).where(Channel.id.in_(channel_ids)),
        select(literal(1), Member.id, Member.name).where(Member.id.in_(member_ids)),
    )
    found: tuple[dict[int, str], dict[int, str]] = ({}, {})
    for kind, id_, name in db.session.execute(stmt):
        found[kind][id_] = name
    return tuple(sorted(found[0].items())), tuple(sorted(found[1].items()))
