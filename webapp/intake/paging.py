"""The one question the intake asks before an alert may page: should it, and if not, why?

An alert that must not page is still recorded, joins or opens its incident as usual, and
carries the reason (`Alert.quiet_reason`): flapping (its pages muted for a while) or
inhibited by another firing alert (Alertmanager's inhibit rules, "inhibited by #41").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from webapp.extensions import db
from webapp.intake import flapping, inhibition
from webapp.intake.rules import Noise
from webapp.models import (
    Alert,
    AlertStatus,
    EventKind,
    Incident,
    IncidentEvent,
    QuietReason,
    Status,
)

# Firing alerts of a channel looked at for inhibition; beyond this a storm is already on.
MAX_SOURCES = 1000


@dataclass(frozen=True)
class Quiet:
    reason: QuietReason
    inhibited_by: int | None = None

    def details(self) -> dict[str, object]:
        return {"reason": self.reason.value, "inhibited_by": self.inhibited_by}


def decide(
    noise: Noise,
    channel_id: int | None,
    labels: dict[str, str],
    flapping_until: datetime | None,
    now: datetime,
) -> Quiet | None:
    """None when the alert pages; otherwise why it does not."""
    if flapping.muted(flapping_until, now):
        return Quiet(QuietReason.FLAPPING)
    if noise.inhibitions and channel_id is not None:
        number = inhibition.inhibitor(noise.inhibitions, labels, _firing(channel_id))
        if number is not None:
            return Quiet(QuietReason.INHIBITED, number)
    return None


def never_paged(incident_id: int) -> bool:
    """True for an incident a quiet alert opened and no alert has paged since."""
    quiet_opening = select(IncidentEvent.id).where(
        IncidentEvent.incident_id == incident_id, IncidentEvent.kind == EventKind.NOT_PAGED
    )
    woken = select(IncidentEvent.id).where(
        IncidentEvent.incident_id == incident_id,
        IncidentEvent.kind == EventKind.ALERT_JOINED,
        IncidentEvent.details["pages"].as_boolean().is_(True),
    )
    return bool(db.session.scalar(select(exists(quiet_opening) & ~exists(woken))))


def _firing(channel_id: int) -> list[tuple[int, dict[str, str]]]:
    rows = db.session.execute(
        select(Incident.number, Alert.labels)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(
            Incident.channel_id == channel_id,
            Incident.status != Status.CLOSED,
            Alert.status == AlertStatus.FIRING,
        )
        .order_by(Alert.id)
        .limit(MAX_SOURCES)
    )
    return [(number, labels or {}) for number, labels in rows]
