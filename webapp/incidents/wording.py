"""The words of a refusal: who did what, how long ago."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.i18n import ago
from webapp.incidents import events
from webapp.incidents.states import Verb
from webapp.models import EventKind, Incident, IncidentEvent, Member, Status


def already(what: str, who: Member | None, when: datetime | None) -> str:
    name = who.name if who else _("the system")
    if what == EventKind.ACKNOWLEDGED:
        return _("Already acknowledged by %(name)s %(ago)s.", name=name, ago=ago(when))
    return _("Already resolved by %(name)s %(ago)s.", name=name, ago=ago(when))


def refusal(verb: Verb, incident: Incident, now: datetime) -> str:
    """Why the incident's state does not allow `verb` (webapp/incidents/states.state_verbs)."""
    if incident.status is Status.CLOSED:
        return already(EventKind.RESOLVED, incident.closed_by, incident.closed_at)
    if verb is Verb.ACKNOWLEDGE and incident.status is Status.PROCESSING:
        return already(EventKind.ACKNOWLEDGED, incident.acknowledged_by, incident.acknowledged_at)
    if verb is Verb.UNSNOOZE:
        return _("The incident is not snoozed.")
    if incident.is_snoozed(now):
        return _("The incident is snoozed: Unsnooze it first.")
    return not_state(incident)


def not_state(incident: Incident) -> str:
    labels = {
        Status.TRIGGERED: _("triggered"),
        Status.PROCESSING: _("acknowledged"),
        Status.CLOSED: _("resolved"),
    }
    return _("Not possible: the incident is %(state)s.", state=labels[incident.status])


def stale_message(incident: Incident) -> str:
    last = db.session.execute(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None:
        return _("The incident changed since you loaded it.")
    who = last.actor.name if last.actor else _("the system")
    return _(
        "The incident changed since you loaded it: %(kind)s by %(name)s %(ago)s.",
        kind=events.event_label(last.kind),
        name=who,
        ago=ago(last.created_at),
    )
