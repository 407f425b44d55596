"""/api/v1/heartbeats: the account's heartbeats (list, one, create, pause, resume, delete).
The ping URL itself (`/ping/<token>`) takes no API token; it is shown to write tokens only,
since whoever holds it keeps the heartbeat alive."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field
from sqlalchemy import select

from webapp.api import auth
from webapp.api.incident_shapes import CreateHeaders
from webapp.api.incidents import once_or_problem, replayed
from webapp.api.problems import ApiProblem, FieldError
from webapp.api.schemas import ID_MAX, ChannelRef, Id, PageQuery, channel_ref
from webapp.api.spec import bp, operation
from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.models import Heartbeat, Incident, TokenScope

TAG = "heartbeats"
ONE = "/heartbeats/<int(min=1, max=2147483647):heartbeat_id>"
# The service's field names, as the API spells them.
FIELDS = {"period": "period_minutes", "grace": "grace_minutes"}


class HeartbeatOut(BaseModel):
    id: int
    name: str
    channel: ChannelRef | None
    period_minutes: int
    grace_minutes: int
    state: Literal["waiting", "up", "down", "paused"] = Field(
        description="waiting: never pinged yet; down: silent past period and grace."
    )
    last_ping_at: datetime | None
    due_at: datetime = Field(description="When silence opens an incident, unless pinged.")
    incident_number: int | None = Field(description="The incident its silence opened, if open.")
    ping_url: str | None = Field(
        description="GET, HEAD or POST it, no token needed. Shown to write tokens only."
    )


class HeartbeatPage(BaseModel):
    items: list[HeartbeatOut]
    next_cursor: str | None


class HeartbeatIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, pattern=r"\S")
    channel_id: Id = Field(description="The channel the incident opens in.")
    period_minutes: int = Field(ge=1, le=43200, description="How often a ping is expected.")
    grace_minutes: int = Field(default=5, ge=0, le=10080, description="How late it may be.")


def _out(heartbeat: Heartbeat) -> HeartbeatOut:
    incident = db.session.get(Incident, heartbeat.incident_id) if heartbeat.incident_id else None
    shows_url = auth.token().scope.allows(TokenScope.WRITE)
    return HeartbeatOut(
        id=heartbeat.id,
        name=heartbeat.name,
        channel=channel_ref(heartbeat.channel),
        period_minutes=heartbeat.period_s // 60,
        grace_minutes=heartbeat.grace_s // 60,
        state=_state(heartbeat),
        last_ping_at=heartbeat.last_ping_at,
        due_at=heartbeat.due_at,
        incident_number=incident.number if incident is not None else None,
        ping_url=heartbeats.ping_url(heartbeat) if shows_url else None,
    )


def _state(heartbeat: Heartbeat) -> Literal["waiting", "up", "down", "paused"]:
    if heartbeat.paused:
        return "paused"
    if heartbeat.down_since is not None:
        return "down"
    return "up" if heartbeat.last_ping_at is not None else "waiting"


def _heartbeat(heartbeat_id: int) -> Heartbeat:
    found = db.session.get(Heartbeat, heartbeat_id)
    if found is None or found.account_id != auth.token().account_id:
        raise ApiProblem(404, "not-found", _("This account has no heartbeat with this id."))
    return found


@bp.get("/heartbeats")
@operation(TokenScope.READ, {"HTTP_200": HeartbeatPage}, TAG)
def list_heartbeats(query: PageQuery) -> HeartbeatPage:
    """The account's heartbeats, by id."""
    found = list(
        db.session.scalars(
            select(Heartbeat)
            .where(Heartbeat.account_id == auth.token().account_id, Heartbeat.id > _after(query))
            .order_by(Heartbeat.id)
            .limit(query.limit + 1)
        )
    )
    shown = found[: query.limit]
    more = str(shown[-1].id) if len(found) > query.limit else None
    return HeartbeatPage(items=[_out(h) for h in shown], next_cursor=more)


def _after(query: PageQuery) -> int:
    cursor = query.cursor
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 10 or int(cursor) > ID_MAX:
        raise _invalid("cursor", _("This cursor is not one of ours: start without one."))
    return int(cursor)


def _invalid(field: str, message: str) -> ApiProblem:
    errors = [FieldError(field=field, message=message)]
    return ApiProblem(422, "invalid-input", _("Some fields are wrong."), errors)


@bp.get(ONE)
@operation(TokenScope.READ, {"HTTP_200": HeartbeatOut}, TAG)
def get_heartbeat(heartbeat_id: int) -> HeartbeatOut:
    """One heartbeat, with its state and the incident its silence opened."""
    return _out(_heartbeat(heartbeat_id))


@bp.post("/heartbeats")
@operation(TokenScope.WRITE, {"HTTP_201": HeartbeatOut}, TAG)
def create_heartbeat(json: HeartbeatIn, headers: CreateHeaders) -> tuple[Any, int, dict[str, str]]:
    """A new heartbeat; its answer carries the ping URL to call."""
    account_id = auth.token().account_id
    try:
        settings = heartbeats.checked(
            account_id, json.name, json.channel_id, json.period_minutes, json.grace_minutes
        )
    except heartbeats.InvalidHeartbeat as wrong:
        raise _invalid(FIELDS.get(wrong.field, wrong.field), str(wrong)) from None

    def create() -> tuple[int, Any]:
        made = heartbeats.create(account_id, settings, commit=False)
        return 201, _out(made).model_dump(mode="json")

    answer = once_or_problem(headers.idempotency_key, create)
    return answer.body, answer.status, replayed(answer)


@bp.post(ONE + "/pause")
@operation(TokenScope.WRITE, {"HTTP_200": HeartbeatOut}, TAG)
def pause_heartbeat(heartbeat_id: int) -> HeartbeatOut:
    """Stop checking it: its silence opens no incident until resumed."""
    heartbeat = _heartbeat(heartbeat_id)
    heartbeats.pause(heartbeat)
    return _out(heartbeat)


@bp.post(ONE + "/resume")
@operation(TokenScope.WRITE, {"HTTP_200": HeartbeatOut}, TAG)
def resume_heartbeat(heartbeat_id: int) -> HeartbeatOut:
    """Check it again, counting the period from now."""
    heartbeat = _heartbeat(heartbeat_id)
    heartbeats.resume(heartbeat)
    return _out(heartbeat)


@bp.delete(ONE)
@operation(TokenScope.WRITE, {"HTTP_200": HeartbeatOut}, TAG)
def delete_heartbeat(heartbeat_id: int) -> HeartbeatOut:
    """Delete it (answering it as it was): its ping URL answers 404 from now on; incidents
    it opened are kept."""
    heartbeat = _heartbeat(heartbeat_id)
    gone = _out(heartbeat)
    heartbeats.delete(heartbeat)
    return gone
