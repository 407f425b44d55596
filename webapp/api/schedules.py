"""/api/v1/schedules and /api/v1/oncall: schedules with their layers and overrides, an
override made by a program, and who is on call now per schedule and per channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from webapp.api import auth
from webapp.api.incident_shapes import CreateHeaders
from webapp.api.incidents import members_of, once_or_problem, replayed
from webapp.api.problems import ApiProblem, FieldError
from webapp.api.schemas import ChannelRef, Id, MemberRef, channel_ref, member_ref
from webapp.api.spec import bp, operation
from webapp.extensions import db
from webapp.models import Member, Schedule, ScheduleOverride, TokenScope, utcnow
from webapp.oncall import schedule as oncall
from webapp.schedules import paged
from webapp.schedules import service as schedules

TAG = "schedules"
# Overrides listed: those ending after this far back, starting before this far ahead.
OVERRIDES_BACK = timedelta(days=7)
OVERRIDES_AHEAD = timedelta(days=90)


class LayerOut(BaseModel):
    id: int
    name: str
    position: int = Field(description="A higher layer wins where it has someone.")
    members: list[MemberRef] = Field(description="In rotation order.")
    shift: str = Field(description="daily, weekly, or hours")
    shift_hours: int
    timezone: str


class OverrideOut(BaseModel):
    id: int
    member: MemberRef | None
    starts_at: datetime
    ends_at: datetime


class ScheduleOut(BaseModel):
    id: int
    name: str
    timezone: str
    layers: list[LayerOut]


class ScheduleDetail(ScheduleOut):
    overrides: list[OverrideOut] = Field(
        description="Overrides ending in the last 7 days or starting in the next 90."
    )


class ScheduleList(BaseModel):
    items: list[ScheduleOut]


class OverrideIn(BaseModel):
    member_id: Id
    starts_at: AwareDatetime = Field(description="RFC 3339 with an offset.")
    ends_at: AwareDatetime


class OnCallNow(BaseModel):
    schedule: ScheduleRef
    member: MemberRef | None = Field(description="null: nobody is on call.")
    since: datetime | None
    until: datetime | None


class ScheduleRef(BaseModel):
    id: int
    name: str


class ChannelOnCall(BaseModel):
    channel: ChannelRef
    on_call: list[OnCallNow] = Field(description="The schedules its dispatch policies page.")


class OnCallOut(BaseModel):
    at: datetime
    schedules: list[OnCallNow]
    channels: list[ChannelOnCall]


OnCallNow.model_rebuild()


def _names(account_id: int) -> dict[int, Member]:
    return {
        m.id: m for m in db.session.scalars(select(Member).where(Member.account_id == account_id))
    }


def _schedule_out(schedule: Schedule, people: dict[int, Member]) -> dict[str, Any]:
    layers = [
        LayerOut(
            id=layer.id,
            name=layer.name,
            position=layer.position,
            members=[member_ref(people[i]) for i in layer.member_ids if i in people],
            shift=layer.shift_kind,
            shift_hours=layer.shift_hours,
            timezone=layer.timezone,
        )
        for layer in schedule.layers
    ]
    return {
        "id": schedule.id,
        "name": schedule.name,
        "timezone": schedule.timezone,
        "layers": layers,
    }


def _override_out(override: ScheduleOverride, people: dict[int, Member]) -> OverrideOut:
    who = people.get(override.member_id)
    return OverrideOut(
        id=override.id,
        member=member_ref(who) if who else None,
        starts_at=override.starts_at,
        ends_at=override.ends_at,
    )


def _detail(schedule: Schedule) -> ScheduleDetail:
    people = _names(schedule.account_id)
    now = utcnow()
    shown = [
        _override_out(o, people)
        for o in schedule.overrides
        if o.ends_at > now - OVERRIDES_BACK and o.starts_at < now + OVERRIDES_AHEAD
    ]
    return ScheduleDetail(**_schedule_out(schedule, people), overrides=shown)


def _account_schedules(account_id: int) -> list[Schedule]:
    return list(
        db.session.scalars(
            select(Schedule).where(Schedule.account_id == account_id).order_by(Schedule.name)
        )
    )


@bp.get("/schedules")
@operation(TokenScope.READ, {"HTTP_200": ScheduleList}, TAG)
def list_schedules() -> ScheduleList:
    """The account's schedules with their layers, by name."""
    account_id = auth.token().account_id
    people = _names(account_id)
    items = [ScheduleOut(**_schedule_out(s, people)) for s in _account_schedules(account_id)]
    return ScheduleList(items=items)


@bp.get("/schedules/<int(min=1, max=2147483647):schedule_id>")
@operation(TokenScope.READ, {"HTTP_200": ScheduleDetail}, TAG)
def get_schedule(schedule_id: int) -> ScheduleDetail:
    """One schedule with its layers and current overrides."""
    return _detail(_schedule(schedule_id))


def _schedule(schedule_id: int) -> Schedule:
    found = db.session.get(Schedule, schedule_id)
    if found is None or found.account_id != auth.token().account_id:
        raise ApiProblem(404, "not-found", _("This account has no schedule with this id."))
    return found


@bp.post("/schedules/<int(min=1, max=2147483647):schedule_id>/overrides")
@operation(TokenScope.WRITE, {"HTTP_201": OverrideOut}, TAG)
def create_override(
    schedule_id: int, json: OverrideIn, headers: CreateHeaders
) -> tuple[Any, int, dict[str, str]]:
    """Put a member on call between two instants, over every layer."""
    schedule = _schedule(schedule_id)
    members_of(schedule.account_id, [json.member_id], "member_id")

    def create() -> tuple[int, Any]:
        try:
            made = schedules.add_override_between(
                schedule, json.member_id, json.starts_at, json.ends_at, commit=False
            )
        except schedules.ScheduleError as wrong:
            db.session.rollback()
            raise ApiProblem(
                422,
                "invalid-input",
                _("Some fields are wrong."),
                [FieldError(field="ends_at", message=str(wrong))],
            ) from None
        return 201, _override_out(made, _names(schedule.account_id)).model_dump(mode="json")

    answer = once_or_problem(headers.idempotency_key, create)
    return answer.body, answer.status, replayed(answer)


def _now_in(schedule: Schedule, at: datetime, people: dict[int, Member]) -> OnCallNow:
    shift = oncall.on_call(schedule, at)
    who = people.get(shift.member_id) if shift else None
    return OnCallNow(
        schedule=ScheduleRef(id=schedule.id, name=schedule.name),
        member=member_ref(who) if who else None,
        since=shift.start if shift and who else None,
        until=shift.end if shift and who else None,
    )


@bp.get("/oncall")
@operation(TokenScope.READ, {"HTTP_200": OnCallOut}, "on call")
def on_call_now() -> OnCallOut:
    """Who is on call now in each schedule, and for each channel (the schedules its
    dispatch policies page)."""
    account_id = auth.token().account_id
    at = utcnow()
    people = _names(account_id)
    per_schedule = {s.id: _now_in(s, at, people) for s in _account_schedules(account_id)}
    channels = [
        ChannelOnCall(channel=ref, on_call=[per_schedule[s.id] for s in paged_by])
        for channel, paged_by in paged.schedules_by_channel(account_id)
        if (ref := channel_ref(channel)) is not None
    ]
    return OnCallOut(at=at, schedules=list(per_schedule.values()), channels=channels)
