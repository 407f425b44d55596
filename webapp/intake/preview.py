"""What a channel's grouping rule would have done to its alerts of the last 24 hours:
"the last 24 h of alerts would have made 6 incidents instead of 212".

Computed from the stored alerts (when each arrived, its dedup key and labels) with the same
`grouping.group_key` the intake uses; each group counts as open for its whole window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.intake import grouping
from webapp.intake.grouping import GroupRule
from webapp.models import Alert, Incident

SINCE = timedelta(hours=24)
MAX_ALERTS = 50_000  # beyond this the preview reads the newest ones only


@dataclass(frozen=True)
class Preview:
    alerts: int
    incidents_were: int
    incidents_would_be: int


def preview(channel_id: int, rule: GroupRule | None, now: datetime) -> Preview:
    rows = db.session.execute(
        select(Alert.created_at, Alert.dedup_key, Alert.labels, Alert.incident_id)
        .join(Incident, Incident.id == Alert.incident_id)
        .where(Incident.channel_id == channel_id, Alert.created_at > now - SINCE)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(MAX_ALERTS)
    ).all()
    alerts = [(at, key, labels or {}) for at, key, labels, _ in reversed(rows)]
    were = len({incident_id for *_, incident_id in rows})
    would = were if rule is None else grouping.count_groups(rule, channel_id, alerts)
    return Preview(alerts=len(rows), incidents_were=were, incidents_would_be=would)
