"""/api/v1/incidents: list, read, declare, and every verb the card and the web app have,
through the same service functions (source `api`, the token as the actor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.api import auth
from webapp.api.incident_shapes import (
    CommentIn,
    CreateHeaders,
    DeclareIn,
    IncidentDetail,
    IncidentPage,
    ListQuery,
    ReassignIn,
    SnoozeIn,
    VersionIn,
    detail,
    out,
)
from webapp.api.problems import ApiProblem, FieldError
from webapp.api.schemas import ID_MAX
from webapp.api.spec import bp, operation
from webapp.extensions import db
from webapp.incidents import listing
from webapp.incidents import service as incidents
from webapp.incidents.queries import Cursor
from webapp.incidents.service import IncidentError, InvalidTransition
from webapp.models import Channel, Incident, Member, TokenScope
from webapp.tokens import idempotency

TAG = "incidents"


# -- reading -------------------------------------------------------------------------------


@bp.get("/incidents")
@operation(TokenScope.READ, {"HTTP_200": IncidentPage}, TAG)
def list_incidents(query: ListQuery) -> IncidentPage:
    """List incidents, newest first.

    The web list's filters (status, severity, words of the title) plus channel and assignee;
    follow `next_cursor` for the next page."""
    after = Cursor.decode(query.cursor) if query.cursor is not None else None
    if query.cursor is not None and (after is None or after.id > ID_MAX):
        raise _invalid("cursor", _("This cursor is not one of ours: start without one."))
    filters = listing.AccountFilters(
        status=query.status,
        severity=query.severity,
        channel_id=query.channel_id,
        assignee_id=_assignee(query.assignee),
        q=(query.q or "").strip(),
    )
    found = listing.page(auth.token().account_id, filters, query.cursor, query.limit)
    return IncidentPage(items=[out(i) for i in found.incidents], next_cursor=found.next_cursor)


def _assignee(word: str | None) -> int | None:
    if word is None:
        return None
    if word == "nobody":
        return 0
    if word != "me":
        return int(word)
    maker = auth.token().created_by_id
    if maker is None:
        raise _invalid("assignee", _("This token was made on the command line: it has no “me”."))
    return maker


@bp.get("/incidents/<int(min=1, max=2147483647):number>")
@operation(TokenScope.READ, {"HTTP_200": IncidentDetail}, TAG)
def get_incident(number: int) -> IncidentDetail:
    """One incident with its alerts and timeline."""
    return detail(_incident(number))


def _incident(number: int) -> Incident:
    found = listing.one(auth.token().account_id, number)
    if found is None:
        raise ApiProblem(404, "not-found", _("This account has no incident #%(n)s.", n=number))
    return found


# -- declaring -----------------------------------------------------------------------------


@bp.post("/incidents")
@operation(TokenScope.WRITE, {"HTTP_201": IncidentDetail}, TAG)
def declare_incident(json: DeclareIn, headers: CreateHeaders) -> tuple[Any, int, dict[str, str]]:
    """Declare an incident by hand (it is dispatched like any other)."""
    account_id = auth.token().account_id
    channel = _channel(account_id, json.channel_id)
    people = members_of(account_id, json.assignee_ids, "assignee_ids")

    def create() -> tuple[int, Any]:
        incident = incidents.open_incident(
            account_id,
            title=json.title.strip(),
            severity=json.severity,
            actor=auth.actor(),
            description=json.description,
            channel_id=channel.id if channel else None,
            labels=json.labels,
            assignees=people,
            commit=False,
        )
        return 201, detail(incident).model_dump(mode="json")

    answer = once_or_problem(headers.idempotency_key, create)
    return answer.body, answer.status, replayed(answer)


def once_or_problem(key: str | None, create: Callable[[], tuple[int, Any]]) -> idempotency.Answer:
    print_ = idempotency.fingerprint(request.method, request.path, request.get_data())
    try:
        return idempotency.once(auth.token(), key, print_, create)
    except idempotency.KeyReused:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            _("This Idempotency-Key was used in the last 24 hours for another request."),
            [FieldError(field="Idempotency-Key", message=_("Use a new key for a new request."))],
        ) from None


def replayed(answer: idempotency.Answer) -> dict[str, str]:
    return {"Idempotent-Replayed": "true"} if answer.replayed else {}


def _channel(account_id: int, channel_id: int | None) -> Channel | None:
    if channel_id is None:
        return None
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.account_id != account_id:
        raise _invalid("channel_id", _("This account has no channel with this id."))
    return channel


def members_of(account_id: int, ids: list[int], field: str) -> list[Member]:
    """The account's members with these ids, in order; an unknown id names its place."""
    found = {
        m.id: m
        for m in db.session.scalars(
            select(Member).where(Member.account_id == account_id, Member.id.in_(ids))
        )
    }
    wrong = [
        FieldError(field=f"{field}.{i}", message=_("This account has no member with this id."))
        for i, ident in enumerate(ids)
        if ident not in found
    ]
    if wrong:
        raise ApiProblem(422, "invalid-input", _("Some fields are wrong."), wrong)
    return [found[i] for i in dict.fromkeys(ids)]


def _invalid(field: str, message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "invalid-input",
        _("Some fields are wrong."),
        [FieldError(field=field, message=message)],
    )


# -- verbs ---------------------------------------------------------------------------------


def _act(number: int, verb: Callable[[Incident], Incident]) -> IncidentDetail:
    """Run one service verb; a refused change is a 409 saying why, and changes nothing."""
    incident = _incident(number)
    try:
        verb(incident)
    except IncidentError as refused:
        kind = "invalid-transition" if isinstance(refused, InvalidTransition) else refused.code
        raise ApiProblem(409, kind.replace("_", "-"), str(refused)) from None
    db.session.expire_all()
    return detail(_incident(number))


@bp.post("/incidents/<int(min=1, max=2147483647):number>/acknowledge")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def acknowledge_incident(number: int, json: VersionIn) -> IncidentDetail:
    """Acknowledge: Triggered → Processing."""
    return _act(number, lambda i: incidents.acknowledge(i, auth.actor(), json.expected_version))


@bp.post("/incidents/<int(min=1, max=2147483647):number>/resolve")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def resolve_incident(number: int, json: VersionIn) -> IncidentDetail:
    """Resolve: Triggered or Processing → Closed."""
    return _act(number, lambda i: incidents.resolve(i, auth.actor(), json.expected_version))


@bp.post("/incidents/<int(min=1, max=2147483647):number>/reopen")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def reopen_incident(number: int, json: VersionIn) -> IncidentDetail:
    """Reopen: Closed → Triggered."""
    return _act(number, lambda i: incidents.reopen(i, auth.actor(), json.expected_version))


@bp.post("/incidents/<int(min=1, max=2147483647):number>/snooze")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def snooze_incident(number: int, json: SnoozeIn) -> IncidentDetail:
    """Snooze an open incident's notifications for 30 minutes up to 24 hours."""
    return _act(
        number, lambda i: incidents.snooze(i, auth.actor(), json.minutes, json.expected_version)
    )


@bp.post("/incidents/<int(min=1, max=2147483647):number>/reassign")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def reassign_incident(number: int, json: ReassignIn) -> IncidentDetail:
    """Replace the assignees with these members."""
    incident = _incident(number)
    people = members_of(incident.account_id, json.member_ids, "member_ids")
    return _act(
        number, lambda i: incidents.reassign(i, auth.actor(), people, json.expected_version)
    )


@bp.post("/incidents/<int(min=1, max=2147483647):number>/comments")
@operation(TokenScope.WRITE, {"HTTP_200": IncidentDetail}, TAG)
def comment_incident(number: int, json: CommentIn) -> IncidentDetail:
    """Add a comment to the timeline."""
    return _act(number, lambda i: incidents.comment(i, auth.actor(), json.text))
