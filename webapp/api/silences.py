"""/api/v1/silences: the account's silences, made, read and ended through webapp/silences
(the same service as amtool's Alertmanager API and the admin page; source `api`, the token as
the actor). Maintenance windows' own silences are not listed: they are booked on the page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field
from sqlalchemy import select

from webapp.api import auth
from webapp.api.problems import ApiProblem
from webapp.api.problems import invalid as _invalid
from webapp.api.spec import bp, operation
from webapp.extensions import db
from webapp.models import Silence, TokenScope, utcnow
from webapp.silences import service
from webapp.silences.matchers import Matcher, MatcherInvalid, checked, load

TAG = "silences"
SILENCE_ID = "<string(length=36):silence_id>"
State = Literal["active", "pending", "expired"]


class MatcherIn(BaseModel):
    name: str = Field(max_length=128, examples=["alertname"])
    value: str = Field(max_length=1000, examples=["DiskFull"])
    is_regex: bool = False
    is_equal: bool = True


class SilenceIn(BaseModel):
    matchers: list[MatcherIn] = Field(min_length=1, max_length=32)
    starts_at: datetime | None = Field(None, description="Empty: now.")
    ends_at: datetime | None = Field(None, description="Or give minutes.")
    minutes: int | None = Field(None, ge=1, le=60 * 24 * 30)
    comment: str = Field(min_length=1, max_length=1000)


class SilenceOut(BaseModel):
    id: str
    state: State
    matchers: list[str] = Field(description='As amtool writes them: alertname="DiskFull".')
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


class SilenceList(BaseModel):
    items: list[SilenceOut]


class StateQuery(BaseModel):
    state: State | None = None


def out(silence: Silence) -> SilenceOut:
    return SilenceOut(
        id=silence.id,
        state=silence.state(utcnow()),  # type: ignore[arg-type]
        matchers=[str(m) for m in load(silence.matchers)],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
    )


@bp.get("/silences")
@operation(TokenScope.READ, {"HTTP_200": SilenceList}, TAG)
def list_silences(query: StateQuery) -> SilenceList:
    """The account's silences, the latest ending first; `state` keeps one state."""
    found = db.session.scalars(
        select(Silence)
        .where(Silence.account_id == auth.token().account_id, Silence.window_id.is_(None))
        .order_by(Silence.ends_at.desc(), Silence.id)
    )
    shown = [out(s) for s in found]
    return SilenceList(items=[s for s in shown if query.state in (None, s.state)])


@bp.get(f"/silences/{SILENCE_ID}")
@operation(TokenScope.READ, {"HTTP_200": SilenceOut}, TAG)
def get_silence(silence_id: str) -> SilenceOut:
    """One silence."""
    return out(_found(silence_id))


@bp.post("/silences")
@operation(TokenScope.WRITE, {"HTTP_201": SilenceOut}, TAG)
def create_silence(json: SilenceIn) -> tuple[Any, int]:
    """Silence the alerts the matchers match (Alertmanager's semantics) from now or later."""
    starts = json.starts_at or utcnow()
    ends = json.ends_at or (starts + timedelta(minutes=json.minutes or 0))
    data = service.SilenceInput(
        _matchers(json.matchers), starts, ends, auth.token().name, json.comment
    )
    try:
        made = service.save(auth.token().account_id, data, auth.actor(), who=auth.token().name)
    except service.SilenceRefused as refused:
        raise _invalid("matchers", str(refused)) from None
    return out(made).model_dump(mode="json"), 201


@bp.post(f"/silences/{SILENCE_ID}/expire")
@operation(TokenScope.WRITE, {"HTTP_200": SilenceOut}, TAG)
def expire_silence(silence_id: str) -> SilenceOut:
    """End the silence now: incidents it held that still wait are paged now."""
    silence = _found(silence_id)
    service.expire(silence.account_id, silence.id, auth.actor(), auth.token().name)
    return out(silence)


def _found(silence_id: str) -> Silence:
    silence = service.get(auth.token().account_id, silence_id)
    if silence is None or silence.window_id is not None:
        raise ApiProblem(404, "not-found", _("No silence of this account has this id."))
    return silence


def _matchers(given: list[MatcherIn]) -> list[Matcher]:
    try:
        return [
            checked(Matcher(m.name, m.value, m.is_regex, m.is_equal), f"matchers[{i}]")
            for i, m in enumerate(given)
        ]
    except MatcherInvalid as exc:
        raise _invalid("matchers", str(exc)) from None
