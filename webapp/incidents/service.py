"""The incident service: the only code that changes incident state.

Every verb takes the incident, an `Actor` (who, and from where: web, card, api, system),
checks the transition and the actor's right to act, writes one timeline event, bumps the
version and commits, all in one transaction. Listeners of `incident_changed` (the
dispatcher that writes outbox rows) run inside that same transaction, before the commit.

A refusal raises an `IncidentError` subclass whose message names what happened
("already acknowledged by Li Lei 2 minutes ago") and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from webapp.extensions import db
from webapp.incidents import wording
from webapp.incidents.access import check_may_act as check_may_act
from webapp.incidents.access import may_view as may_view
from webapp.incidents.errors import Actor as Actor
from webapp.incidents.errors import IncidentError as IncidentError
from webapp.incidents.errors import InvalidTransition as InvalidTransition
from webapp.incidents.errors import NoSeat as NoSeat
from webapp.incidents.errors import NotAllowed as NotAllowed
from webapp.incidents.errors import StaleVersion as StaleVersion
from webapp.incidents.errors import incident_changed as incident_changed
from webapp.incidents.states import Verb, state_verbs
from webapp.incidents.transaction import commit_unless_deferred, deferred, held_lock
from webapp.incidents.transaction import lock_rows as lock_rows
from webapp.incidents.transaction import one_transaction as one_transaction
from webapp.models import (
    Account,
    EventKind,
    Incident,
    IncidentEvent,
    Member,
    Severity,
    Status,
    utcnow,
)

SNOOZE_MINUTES = (30, 60, 120, 240, 480, 1440)


def acknowledge(incident: Incident, actor: Actor, expected_version: int | None = None) -> Incident:
    """Triggered → Processing. The actor also becomes a responder, and the assignee when
    nobody is assigned: whoever claims an unassigned incident is the one handling it."""

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.ACKNOWLEDGE, inc, now)
        inc.status = Status.PROCESSING
        inc.acknowledged_at = now
        inc.acknowledged_by = actor.member
        inc.snoozed_until = None
        _add_responder(inc, actor.member)
        if not inc.assignees and actor.member is not None:
            inc.assignees.append(actor.member)
            return {"assigned": actor.member.name}
        return {}

    return _apply(incident, actor, EventKind.ACKNOWLEDGED, change, expected_version)


def unacknowledge(
    incident: Incident, actor: Actor, expected_version: int | None = None
) -> Incident:
    """Processing → Triggered."""

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.UNACKNOWLEDGE, inc, now)
        inc.status = Status.TRIGGERED
        inc.acknowledged_at = None
        inc.acknowledged_by = None
        return {}

    return _apply(incident, actor, EventKind.UNACKNOWLEDGED, change, expected_version)


def resolve(incident: Incident, actor: Actor, expected_version: int | None = None) -> Incident:
    """Triggered or Processing → Closed."""

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.RESOLVE, inc, now)
        inc.status = Status.CLOSED
        inc.closed_at = now
        inc.closed_by = actor.member
        inc.snoozed_until = None
        return {}

    return _apply(incident, actor, EventKind.RESOLVED, change, expected_version)


def reopen(incident: Incident, actor: Actor, expected_version: int | None = None) -> Incident:
    """Closed → Triggered."""

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.REOPEN, inc, now)
        inc.status = Status.TRIGGERED
        inc.closed_at = None
        inc.closed_by = None
        inc.acknowledged_at = None
        inc.acknowledged_by = None
        return {}

    return _apply(incident, actor, EventKind.REOPENED, change, expected_version)


def snooze(
    incident: Incident, actor: Actor, minutes: int, expected_version: int | None = None
) -> Incident:
    """Silence an open incident's notifications for one of `SNOOZE_MINUTES`."""
    if minutes not in SNOOZE_MINUTES:
        raise InvalidTransition(_("Snooze for 30 min, 1, 2, 4, 8 or 24 hours."), incident)

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.SNOOZE, inc, now)
        inc.snoozed_until = now + timedelta(minutes=minutes)
        return {"minutes": minutes, "until": inc.snoozed_until.isoformat()}

    return _apply(incident, actor, EventKind.SNOOZED, change, expected_version)


def unsnooze(incident: Incident, actor: Actor, expected_version: int | None = None) -> Incident:
    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        _require(Verb.UNSNOOZE, inc, now)
        inc.snoozed_until = None
        return {}

    return _apply(incident, actor, EventKind.UNSNOOZED, change, expected_version)


def reassign(
    incident: Incident,
    actor: Actor,
    members: Iterable[Member],
    expected_version: int | None = None,
) -> Incident:
    """Replace the assignees. Every new assignee must belong to the incident's account."""
    chosen = list(members)

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        if not chosen:
            raise InvalidTransition(_("Choose at least one person to assign."), inc)
        if any(m.account_id != inc.account_id for m in chosen):
            raise NotAllowed(_("Only members of this account can be assigned."), inc)
        before = [m.name for m in inc.assignees]
        inc.assignees = chosen
        return {"from": before, "to": [m.name for m in chosen], "to_ids": [m.id for m in chosen]}

    return _apply(incident, actor, EventKind.REASSIGNED, change, expected_version)


def add_responder(
    incident: Incident, actor: Actor, member: Member, expected_version: int | None = None
) -> Incident:
    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        if member.account_id != inc.account_id:
            raise NotAllowed(_("Only members of this account can respond."), inc)
        if member in inc.responders:
            raise InvalidTransition(_("%(name)s is already a responder.", name=member.name), inc)
        inc.responders.append(member)
        return {"member": member.name, "member_id": member.id}

    return _apply(incident, actor, EventKind.RESPONDER_ADDED, change, expected_version)


def comment(incident: Incident, actor: Actor, text: str) -> Incident:
    body = text.strip()

    def change(inc: Incident, now: datetime) -> dict[str, Any]:
        if not body:
            raise InvalidTransition(_("A comment cannot be empty."), inc)
        if len(body) > 4000:
            raise InvalidTransition(_("A comment can be at most 4,000 characters."), inc)
        return {"text": body}

    return _apply(incident, actor, EventKind.COMMENTED, change, None)


def record(incident: Incident, actor: Actor, kind: str, details: dict[str, Any]) -> IncidentEvent:
    """Add a timeline event that changes no state (a failed notification, a war room...).

    The caller commits; the version is not bumped, so open cards stay current.
    """
    event = IncidentEvent(
        incident=incident, actor=actor.member, source=actor.source, kind=kind, details=details
    )
    db.session.add(event)
    return event


# -- machinery -------------------------------------------------------------------------


Change = Callable[[Incident, datetime], dict[str, Any]]


def _apply(
    incident: Incident,
    actor: Actor,
    kind: str,
    change: Change,
    expected_version: int | None,
    retried: bool = False,
) -> Incident:
    """Lock the row, check, change, record, notify listeners, commit — or change nothing.

    SQLite has no row lock: two writers may read the same version, and the second one's
    UPDATE then matches no row. A caller that named no version asked for the change on the
    incident as it is, so it is tried once more on the fresh row (which may now refuse it,
    "Already acknowledged by ..."); a caller that named one hears that the incident moved on."""
    try:
        locked = _lock(incident.id)
        check_may_act(locked, actor)
        if expected_version is not None and locked.version != expected_version:
            raise StaleVersion(wording.stale_message(locked), locked)
        now = utcnow()
        with db.session.no_autoflush:  # one UPDATE, so the version moves by exactly one
            details = change(locked, now)
        if actor.message_id:
            details["message_id"] = actor.message_id
        event = IncidentEvent(
            incident=locked, actor=actor.member, source=actor.source, kind=kind, details=details
        )
        db.session.add(event)
        locked.updated_at = now
        db.session.flush()
        incident_changed.send(locked, event=event)
        commit_unless_deferred()
    except StaleDataError:
        db.session.rollback()
        fresh = db.session.get(Incident, incident.id)
        if fresh is not None and expected_version is None and not retried and not deferred():
            return _apply(fresh, actor, kind, change, None, retried=True)
        raise StaleVersion(
            wording.stale_message(fresh) if fresh else _("The incident changed."), fresh
        ) from None
    except IncidentError:
        if not deferred():
            db.session.rollback()
        raise
    except Exception:
        db.session.rollback()
        raise
    return locked


def _require(verb: Verb, incident: Incident, now: datetime) -> None:
    """Refuse what the incident's state does not offer: the same rule the card and the page
    ask (webapp/incidents/states.py), so a snoozed incident refuses Acknowledge."""
    if verb not in state_verbs(incident, now):
        raise InvalidTransition(wording.refusal(verb, incident, now), incident)


def _lock(incident_id: int) -> Incident:
    """Re-read the incident under a row lock (PostgreSQL); SQLite serialises writers itself."""
    incident = held_lock(incident_id)
    if incident is not None:
        return incident
    if deferred():  # keep the caller's rows: a locking read is current without a rollback
        stmt = select(Incident).where(Incident.id == incident_id).with_for_update()
        return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()
    db.session.rollback()  # start from a fresh transaction so the read is current
    stmt = select(Incident).where(Incident.id == incident_id).with_for_update()
    return db.session.execute(stmt).scalar_one()


def _add_responder(incident: Incident, member: Member | None) -> None:
    if member is not None and member not in incident.responders:
        incident.responders.append(member)


# -- opening and alerts (source api or system) ----------------------------------------


def open_incident(
    account_id: int,
    *,
    title: str,
    severity: Severity,
    actor: Actor,
    description: str = "",
    channel_id: int | None = None,
    labels: dict[str, str] | None = None,
    dedup_key: str | None = None,
    assignees: Iterable[Member] = (),
    details: dict[str, Any] | None = None,
    commit: bool = True,
) -> Incident:
    """Create an incident with the next number of its account and a `triggered` event."""
    account = db.session.execute(
        select(Account).where(Account.id == account_id).with_for_update()
    ).scalar_one()  # the lock hands out numbers one at a time on PostgreSQL
    number = (
        db.session.execute(
            select(func.max(Incident.number)).where(Incident.account_id == account.id)
        ).scalar_one()
        or 0
    ) + 1
    now = utcnow()  # the incident starts when it is triggered: one moment for both
    incident = Incident(
        account_id=account.id,
        created_at=now,
        number=number,
        title=title,
        description=description,
        severity=severity,
        status=Status.TRIGGERED,
        channel_id=channel_id,
        labels=labels or {},
        dedup_key=dedup_key,
        alert_count=0,
        assignees=list(assignees),
    )
    db.session.add(incident)
    event = IncidentEvent(
        incident=incident,
        actor=actor.member,
        source=actor.source,
        kind=EventKind.TRIGGERED,
        details=details or {},
        created_at=now,
    )
    db.session.add(event)
    db.session.flush()
    incident_changed.send(incident, event=event)
    if commit:
        db.session.commit()
    return incident


def alert_joined(incident: Incident, actor: Actor, details: dict[str, Any], first: bool) -> None:
    """Count a new alert on the incident; the caller commits (one transaction per body)."""
    incident.alert_count += 1
    incident.updated_at = utcnow()
    if not first:
        event = IncidentEvent(
            incident=incident,
            actor=None,
            source=actor.source,
            kind=EventKind.ALERT_JOINED,
            details=details,
        )
        db.session.add(event)
        db.session.flush()
        incident_changed.send(incident, event=event)
    db.session.flush()


def alert_resolved(incident: Incident, actor: Actor, details: dict[str, Any], last: bool) -> bool:
    """Record a resolved alert; when it was the last one firing, close the incident.

    Returns True when the incident closed. The caller commits.
    """
    db.session.add(
        IncidentEvent(
            incident=incident,
            actor=None,
            source=actor.source,
            kind=EventKind.ALERT_RESOLVED,
            details=details,
        )
    )
    incident.updated_at = utcnow()
    if not last or incident.status is Status.CLOSED:
        db.session.flush()
        return False
    incident.status = Status.CLOSED
    incident.closed_at = utcnow()
    incident.closed_by_id = None
    incident.snoozed_until = None
    event = IncidentEvent(
        incident=incident,
        actor=None,
        source=actor.source,
        kind=EventKind.RESOLVED,
        details={**details, "reason": "all alerts resolved"},
    )
    db.session.add(event)
    db.session.flush()
    incident_changed.send(incident, event=event)
    return True
