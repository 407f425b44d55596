"""The list's rows as plain values: what a row draws, read as columns.

The list draws 50 rows on every render, and building 50 ORM incidents with their channel and
assignees was half of a list request's database time. A page reads these columns and one
statement for the page's assignees' names; a row answering an action is made from the
incident the action loaded (`ListRow.of`), so both draw the same template.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

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
    names = _assignee_names([r[0] for r in found])
    pages = []
    for id_, number, title, status, severity, version, created, snoozed, channel, at in found:
        shown = ListRow(
            id_, number, title, status, severity, version, created, snoozed, channel,
            names.get(id_, ()),
        )  # fmt: skip
        pages.append((shown, at))
    return pages


def _assignee_names(ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    link = incident_assignees.c
    stmt = (
        select(link.incident_id, Member.name)
        .join(Member, Member.id == link.member_id)
        .where(link.incident_id.in_(ids))
        .order_by(link.incident_id, Member.id)
    )
    names: defaultdict[int, list[str]] = defaultdict(list)
    for incident_id, name in db.session.execute(stmt):
        names[incident_id].append(name)
    return {key: tuple(value) for key, value in names.items()}
