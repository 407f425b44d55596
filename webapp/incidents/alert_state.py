"""What alerts do to their incident: one joined, one resolved (the last one closes it when
its channel says so), one started flapping. Called by the intake inside its transaction;
the caller commits. Each writes a timeline line and tells `incident_changed` listeners (the
dispatcher redraws cards, coalesced, and writes notices).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.extensions import db
from webapp.incidents.errors import Actor, incident_changed
from webapp.models import EventKind, Incident, IncidentEvent, Status, utcnow


def joined(
    incident: Incident,
    actor: Actor,
    details: dict[str, Any],
    first: bool,
    now: datetime | None = None,
) -> None:
    """Count a new alert on the incident; the caller commits (one transaction per body)."""
    now = now or utcnow()
    incident.alert_count += 1
    incident.alerts_firing += 1
    incident.last_merged_at = now
    incident.updated_at = now
    if not first:
        _alert_event(incident, actor, EventKind.ALERT_JOINED, details)


def flapping(incident: Incident, actor: Actor, details: dict[str, Any]) -> None:
    """One of the incident's alerts started flapping: its pages are muted until
    `details["until"]`. One timeline line; the dispatcher tells the channel's chats once."""
    until = details.get("until")
    stored = {**details, "until": until.isoformat() if isinstance(until, datetime) else until}
    _alert_event(incident, actor, EventKind.FLAPPING, stored)


def _alert_event(incident: Incident, actor: Actor, kind: str, details: dict[str, Any]) -> None:
    event = IncidentEvent(
        incident=incident, actor=None, source=actor.source, kind=kind, details=details
    )
    db.session.add(event)  # written with the body's other rows, at the next flush
    incident_changed.send(incident, event=event)


def resolved(incident: Incident, actor: Actor, details: dict[str, Any], last: bool) -> bool:
    """Record a resolved alert; when it was the last one firing, close the incident.

    Returns True when the incident closed. The caller commits.
    """
    incident.updated_at = utcnow()
    if not last or incident.status is Status.CLOSED:
        _alert_event(incident, actor, EventKind.ALERT_RESOLVED, details)
        return False
    db.session.add(
        IncidentEvent(
            incident=incident,
            actor=None,
            source=actor.source,
            kind=EventKind.ALERT_RESOLVED,
            details=details,
        )
    )
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
