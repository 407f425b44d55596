"""The shapes of /api/v1/incidents: what a program sends and gets back (pydantic models,
which SpecTree turns into the OpenAPI document's schemas), and an incident drawn as one."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from webapp.api.schemas import ChannelRef, Id, MemberRef, PageQuery, channel_ref, member_ref
from webapp.models import AlertStatus, Incident, Severity, Source, Status
from webapp.tokens import idempotency

# The web list's status words (webapp/incidents/queries.py STATUSES).
StatusWord = Literal["open", "triggered", "processing", "snoozed", "closed", "any"]


class AlertOut(BaseModel):
    id: int
    title: str
    severity: Severity
    status: AlertStatus
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None


class EventOut(BaseModel):
    id: int
    kind: str = Field(description="triggered, acknowledged, resolved, commented...")
    source: Source
    actor: MemberRef | None
    token: str | None = Field(description="The API token's name, for changes made with one.")
    at: datetime
    details: dict[str, Any]


class IncidentOut(BaseModel):
    number: int
    title: str
    description: str
    severity: Severity
    status: Status
    snoozed_until: datetime | None
    channel: ChannelRef | None
    assignees: list[MemberRef]
    labels: dict[str, str]
    alert_count: int
    created_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    version: int = Field(description="Send it back as `expected_version` to act only on this.")


class IncidentDetail(IncidentOut):
    responders: list[MemberRef]
    alerts: list[AlertOut]
    timeline: list[EventOut]


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ListQuery(PageQuery):
    status: StatusWord = "open"
    severity: Severity | None = None
    channel_id: Id | None = None
    assignee: str | None = Field(
        default=None,
        pattern=r"^(me|nobody|[1-9][0-9]{0,9})$",
        description="`me` (the token's maker), `nobody`, or a member id.",
    )
    q: str | None = Field(default=None, max_length=100, description="Words of the title.")


class DeclareIn(BaseModel):
    title: str = Field(min_length=1, max_length=500, pattern=r"\S")
    severity: Severity
    description: str = Field(default="", max_length=10_000)
    channel_id: Id | None = None
    assignee_ids: list[Id] = Field(default_factory=list, max_length=20)
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)


class CreateHeaders(BaseModel):
    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=idempotency.KEY_MAX,
        description="The same key within 24 hours returns the first answer.",
    )


class VersionIn(BaseModel):
    expected_version: Id | None = Field(
        default=None, description="Refuse (409) if the incident moved on."
    )


class SnoozeIn(VersionIn):
    minutes: Literal[30, 60, 120, 240, 480, 1440]


class ReassignIn(VersionIn):
    member_ids: list[Id] = Field(min_length=1, max_length=20)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000, pattern=r"\S")


def out(incident: Incident) -> IncidentOut:
    return IncidentOut(**_fields(incident))


def detail(incident: Incident) -> IncidentDetail:
    return IncidentDetail(
        **_fields(incident),
        responders=[member_ref(m) for m in incident.responders],
        alerts=[AlertOut.model_validate(a, from_attributes=True) for a in incident.alerts],
        timeline=[
            EventOut(
                id=e.id,
                kind=e.kind,
                source=e.source,
                actor=member_ref(e.actor) if e.actor else None,
                token=(e.details or {}).get("token"),
                at=e.created_at,
                details=e.details or {},
            )
            for e in incident.events
        ],
    )


def _fields(incident: Incident) -> dict[str, Any]:
    return {
        "number": incident.number,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity,
        "status": incident.status,
        "snoozed_until": incident.snoozed_until,
        "channel": channel_ref(incident.channel),
        "assignees": [member_ref(m) for m in incident.assignees],
        "labels": incident.labels or {},
        "alert_count": incident.alert_count,
        "created_at": incident.created_at,
        "acknowledged_at": incident.acknowledged_at,
        "closed_at": incident.closed_at,
        "version": incident.version,
    }
