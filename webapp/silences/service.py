"""Making, changing and ending silences, with Alertmanager's rules for each.

`save` is Alertmanager's `Set`: without an id it creates; with one it updates in place when
history allows (same matchers; an active silence keeps its start and cannot end in the
past; a pending one cannot start in the past), and otherwise expires the old silence and
creates a new one with a new id. `expire` ends a silence now (Alertmanager's DELETE). Every
change is a line in the account's audit trail and on the incidents it holds; a silence that
starts now holds the open incidents it matches at once, one that ends releases them at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.incidents.transaction import commit_unless_deferred
from webapp.models import Silence, Status, utcnow
from webapp.silences import audit, holds
from webapp.silences.matchers import Matcher, MatcherInvalid, check_set, load

MAX_COMMENT = 1000
MAX_CREATED_BY = 120


class SilenceRefused(ValueError):
    """The silence cannot be saved as asked; the message says why (Alertmanager's words)."""


class SilenceNotFound(LookupError):
    pass


@dataclass
class SilenceInput:
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


@dataclass(frozen=True)
class Ending:
    """What ending a silence did to the incidents it held."""

    paged: int = 0
    released: int = 0
    handed_over: int = 0


def get(account_id: int, silence_id: str, lock: bool = False) -> Silence | None:
    """The account's silence, or None (another account's silence is not found either)."""
    stmt = select(Silence).where(Silence.id == silence_id, Silence.account_id == account_id)
    return db.session.scalar(stmt.with_for_update() if lock else stmt)


def save(
    account_id: int,
    data: SilenceInput,
    actor: Actor,
    silence_id: str | None = None,
    *,
    incident_id: int | None = None,
    who: str = "",
) -> Silence:
    """Create a silence, or update the one named (see the module's docstring); commits.

    `who` names an actor without a member in the audit trail (an API token)."""
    now = utcnow()
    _check(data, now)
    previous = None
    if silence_id:
        previous = get(account_id, silence_id, lock=True)
        if previous is None or previous.window_id is not None:
            raise SilenceNotFound(silence_id)
        if _can_update(previous, data, now):
            _update(previous, data, actor, now, who)
            commit_unless_deferred()
            return previous
    silence = Silence(
        id=str(uuid.uuid4()),
        account_id=account_id,
        matchers=[m.as_json() for m in data.matchers],
        starts_at=max(data.starts_at, now),
        ends_at=data.ends_at,
        comment=data.comment,
        created_by=data.created_by,
        member_id=actor.member.id if actor.member else None,
        source=actor.source.value,
        incident_id=incident_id or (previous.incident_id if previous else None),
        created_at=now,
        updated_at=now,
    )
    db.session.add(silence)
    details = {"matchers": [str(m) for m in data.matchers], "until": data.ends_at.isoformat()}
    if previous is not None:
        details["replaces"] = previous.id
    audit.record(account_id, actor, "silence_created", silence.id, details, who or data.created_by)
    db.session.flush()
    if silence.starts_at <= now:
        begin(silence, actor, now)
    if previous is not None and previous.state(now) != "expired":
        _end(previous, actor, now, "replaced")
    commit_unless_deferred()
    return silence


def expire(account_id: int, silence_id: str, actor: Actor, who: str = "") -> Silence:
    """End the silence now; its incidents still open are paged now. Idempotent."""
    silence = get(account_id, silence_id, lock=True)
    if silence is None or silence.window_id is not None:
        raise SilenceNotFound(silence_id)
    now = utcnow()
    if silence.state(now) != "expired":
        _end(silence, actor, now, "expired early")
        audit.record(account_id, actor, "silence_expired", silence.id, {}, who or "")
    commit_unless_deferred()
    return silence


def _end(silence: Silence, actor: Actor, now: datetime, why: str) -> Ending:
    if silence.starts_at > now:
        silence.starts_at = now
    silence.ends_at = now
    silence.updated_at = now
    return finish(silence, actor, now, why)


def _check(data: SilenceInput, now: datetime) -> None:
    try:
        check_set(data.matchers)
    except MatcherInvalid as exc:
        raise SilenceRefused(str(exc)) from None
    if data.ends_at < data.starts_at:
        raise SilenceRefused("end time must not be before start time")
    if data.ends_at <= now:
        raise SilenceRefused("end time can't be in the past")
    if not data.created_by.strip() or len(data.created_by) > MAX_CREATED_BY:
        raise SilenceRefused(f"createdBy: required, at most {MAX_CREATED_BY} characters")
    if len(data.comment) > MAX_COMMENT:
        raise SilenceRefused(f"comment: at most {MAX_COMMENT} characters")


def _can_update(previous: Silence, data: SilenceInput, now: datetime) -> bool:
    """Alertmanager's canUpdate: an edit that keeps the silence's history true."""
    if previous.matchers != [m.as_json() for m in data.matchers]:
        return False
    state = previous.state(now)
    if state == "active":
        same_start = int(previous.starts_at.timestamp()) == int(data.starts_at.timestamp())
        return same_start and data.ends_at >= now
    return state == "pending" and data.starts_at >= now


def _update(silence: Silence, data: SilenceInput, actor: Actor, now: datetime, who: str) -> None:
    silence.starts_at = data.starts_at
    silence.ends_at = data.ends_at
    silence.comment = data.comment
    silence.created_by = data.created_by
    silence.updated_at = now
    details = {"until": data.ends_at.isoformat(), "comment": data.comment}
    audit.record(
        silence.account_id, actor, "silence_changed", silence.id, details, who or data.created_by
    )
    for incident in holds.held_by(silence):
        holds.note_change(incident, silence, actor, "edited")
    if silence.starts_at <= now and silence.begun_at is None:
        begin(silence, actor, now)


def extend(silence: Silence, until: datetime, actor: Actor) -> Silence:
    """Make an active or pending silence last until `until` (a later press of the card)."""
    data = SilenceInput(
        matchers=load(silence.matchers),
        starts_at=silence.starts_at,
        ends_at=max(until, silence.ends_at),
        created_by=silence.created_by,
        comment=silence.comment,
    )
    return save(silence.account_id, data, actor, silence.id)


# -- the start and the end, run once each (by the worker, or at once by a request) ----------


def begin(silence: Silence, actor: Actor, now: datetime) -> int:
    """Hold every open incident the silence matches; returns how many."""
    held = holds.in_scope(silence)
    for incident in held:
        holds.hold(incident, silence, actor)
    silence.begun_at = now
    return len(held)


def finish(silence: Silence, actor: Actor, now: datetime, why: str) -> Ending:
    """Release the incidents the silence held: another active silence that matches takes
    one over; otherwise it is paged now (when it still waits for someone)."""
    paged = released = handed = 0
    for incident in holds.held_by(silence):
        if incident.status is Status.CLOSED:
            incident.silence_id = None
            continue
        labels = holds.incident_labels(incident)
        other = holds.silence_for(incident.account_id, incident.channel_id, labels, now)
        if other is not None and other.id != silence.id:
            holds.note_change(incident, other, actor, "handed over")
            handed += 1
        elif holds.release(incident, silence, actor, why):
            paged += 1
        else:
            released += 1
    silence.finished_at = now
    if silence.begun_at is None:
        silence.begun_at = now
    return Ending(paged, released, handed)
