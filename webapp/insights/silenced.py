"""Insights: how many alerts silences and maintenance windows kept from paging, per rule.

An alert counts as silenced when a silence matched it on arrival (`Alert.silence_id`); the
rule is the incident's title, as in the noisiest rules. Alerts count in the period their
incident was opened in, like every other figure of the page.
"""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.insights.queries import Scope
from webapp.models import Alert, Incident


def silenced_per_rule(scope: Scope) -> dict[str, int]:
    rows = db.session.execute(
        select(Incident.title, func.count(Alert.id))
        .join(Alert, Alert.incident_id == Incident.id)
        .where(*scope.where(), Alert.silence_id.is_not(None))
        .group_by(Incident.title)
    ).all()
    return {str(title): int(count) for title, count in rows}
