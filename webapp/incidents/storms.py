"""Alert storms: an incident whose alert count crosses one of its channel's thresholds
(say 10, 100, 1,000) gets one timeline line and one notice to the channel's chats each.

`storm_crossed` is the one place a threshold is crossed: the dispatcher hears it through
`incident_changed` (kind `storm`) and writes the notices; a webhook can listen there too.
"""

from __future__ import annotations

from webapp.extensions import db
from webapp.incidents.errors import Actor, incident_changed
from webapp.models import EventKind, Incident, IncidentEvent

MAX_THRESHOLDS = 5


def crossed(level: int, count: int, thresholds: list[int]) -> list[int]:
    """The thresholds above the incident's storm level that `count` reached, lowest first."""
    return sorted(t for t in thresholds if level < t <= count)


def check(incident: Incident, thresholds: list[int], actor: Actor) -> None:
    """After alerts joined: announce each threshold the count has newly reached."""
    for threshold in crossed(incident.storm_level, incident.alert_count, thresholds):
        storm_crossed(incident, threshold, actor)


def storm_crossed(incident: Incident, threshold: int, actor: Actor) -> IncidentEvent:
    """Record that `incident` reached `threshold` alerts, and tell the listeners."""
    incident.storm_level = max(incident.storm_level, threshold)
    event = IncidentEvent(
        incident=incident,
        actor=None,
        source=actor.source,
        kind=EventKind.STORM,
        details={"threshold": threshold, "alerts": incident.alert_count},
    )
    db.session.add(event)
    db.session.flush()
    incident_changed.send(incident, event=event)
    return event
