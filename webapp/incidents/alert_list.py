"""The alerts of one incident as its page lists them: each with its own state (firing or
resolved, first and last seen, labels, links, why it did not page), filtered by state.

A grouped incident may hold thousands of alerts: the page shows the newest `SHOWN` of the
chosen state and says how many there are of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, select

from webapp.extensions import db
from webapp.models import Alert, AlertStatus, Incident

SHOWN = 200
FILTERS = ("all", "firing", "resolved", "quiet")


@dataclass(frozen=True)
class AlertPage:
    state: str
    alerts: list[Alert]
    counts: dict[str, int]  # per filter

    @property
    def hidden(self) -> int:
        return max(0, self.counts[self.state] - len(self.alerts))


def _where(state: str) -> ColumnElement[bool] | None:
    if state == "firing":
        return Alert.status == AlertStatus.FIRING
    if state == "resolved":
        return Alert.status == AlertStatus.RESOLVED
    if state == "quiet":
        return Alert.quiet_reason.is_not(None)
    return None


def page(incident: Incident, state: str) -> AlertPage:
    """The newest alerts of `state` (an unknown state reads as "all"), and every count."""
    state = state if state in FILTERS else "all"
    stmt = select(Alert).where(Alert.incident_id == incident.id)
    if (condition := _where(state)) is not None:
        stmt = stmt.where(condition)
    alerts = list(db.session.scalars(stmt.order_by(Alert.id.desc()).limit(SHOWN)))
    row = db.session.execute(
        select(
            func.count(),
            func.count().filter(Alert.status == AlertStatus.FIRING),
            func.count().filter(Alert.quiet_reason.is_not(None)),
        ).where(Alert.incident_id == incident.id)
    ).one()
    total, firing, quiet = (int(n) for n in row)
    counts = {"all": total, "firing": firing, "resolved": total - firing, "quiet": quiet}
    return AlertPage(state, alerts, counts)


def alert_mark(
    quiet_reason: str | None,
    inhibited_by: int | None,
    flapping_until: datetime | None,
    now: datetime,
) -> str | None:
    """Why an alert did not page, in words: "flapping", "inhibited by #41"."""
    if flapping_until is not None and flapping_until > now:
        return _("flapping: pages muted")
    if quiet_reason == "inhibited" and inhibited_by is not None:
        return _("inhibited by #%(number)s", number=inhibited_by)
    if quiet_reason == "flapping":
        return _("flapping: not paged")
    return None


def moment(text: object) -> datetime | None:
    """A time stored as ISO text in an event's details (a flapping alert's mute end)."""
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
