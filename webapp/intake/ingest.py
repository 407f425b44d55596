"""Applying parsed alerts to incidents: open, join, resolve or close, in one transaction.

Parsing (`parsers/`) validates the whole body first, so a bad body reaches nothing here and
writes nothing. Replays of an alert change nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.intake.alert import ParsedAlert
from webapp.models import Alert, AlertSource, AlertStatus, Incident, Status


class Action(enum.StrEnum):
    """What one alert did, as the intake API answers it."""

    CREATED = "created"
    JOINED = "joined"
    RESOLVED = "resolved"
    CLOSED = "closed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass
class Outcome:
    action: Action
    incident_number: int | None


def ingest(source: AlertSource, alerts: list[ParsedAlert]) -> list[Outcome]:
    """Apply parsed alerts in one transaction; replays of an alert change nothing."""
    actor = Actor.api()
    try:
        outcomes = [_apply(source, alert, actor) for alert in alerts]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcomes


def _apply(source: AlertSource, parsed: ParsedAlert, actor: Actor) -> Outcome:
    # One writer per source at a time, taken before looking for the open incident: the
    # same alert posted 50 times at once (or by an HA pair of Alertmanagers) then finds
    # the incident the first one opened instead of opening its own. A no-op UPDATE takes
    # the row lock on PostgreSQL and SQLite's write lock (with its busy timeout) as the
    # transaction's first write, so no one reads a snapshot that is already stale.
    db.session.execute(
        update(AlertSource).where(AlertSource.id == source.id).values(key=AlertSource.key)
    )
    if parsed.starts_at is None:
        # A generic alert without a start time: the same key while firing is a replay.
        starts_at = datetime.now(UTC)
        existing = _latest_firing(source, parsed.dedup_key)
    else:
        starts_at = parsed.starts_at
        existing = db.session.execute(
            select(Alert).where(
                Alert.source_id == source.id,
                Alert.dedup_key == parsed.dedup_key,
                Alert.starts_at == starts_at,
            )
        ).scalar_one_or_none()
    if parsed.status is AlertStatus.RESOLVED:
        return _resolve(existing, parsed, actor)
    if existing is not None:
        return Outcome(Action.DUPLICATE, existing.incident.number)
    incident = _open_incident_for(source, parsed.dedup_key)
    action = Action.JOINED
    if incident is None:
        incident = incidents.open_incident(
            source.account_id,
            title=parsed.title,
            severity=parsed.severity,
            description=parsed.description,
            channel_id=source.channel_id,
            labels=parsed.labels,
            dedup_key=parsed.dedup_key,
            actor=actor,
            details={"alert": parsed.title, "labels": parsed.labels, "source": source.name},
            commit=False,
        )
        action = Action.CREATED
    alert = Alert(
        incident=incident,
        source_id=source.id,
        dedup_key=parsed.dedup_key,
        title=parsed.title,
        description=parsed.description,
        severity=parsed.severity,
        status=AlertStatus.FIRING,
        labels=parsed.labels,
        annotations=parsed.annotations,
        starts_at=starts_at,
    )
    db.session.add(alert)
    incidents.alert_joined(incident, actor, _details(parsed), first=action is Action.CREATED)
    return Outcome(action, incident.number)


def _resolve(alert: Alert | None, parsed: ParsedAlert, actor: Actor) -> Outcome:
    if alert is None:
        return Outcome(Action.IGNORED, None)
    incident = alert.incident
    if alert.status is AlertStatus.RESOLVED:
        return Outcome(Action.DUPLICATE, incident.number)
    alert.status = AlertStatus.RESOLVED
    alert.ends_at = parsed.ends_at or datetime.now(UTC)
    # Keep what the resolved alert said (labels, annotations, values) for the timeline.
    alert.labels = parsed.labels or alert.labels
    alert.annotations = parsed.annotations or alert.annotations
    db.session.flush()
    still_firing = db.session.execute(
        select(Alert.id)
        .where(Alert.incident_id == incident.id, Alert.status == AlertStatus.FIRING)
        .limit(1)
    ).first()
    closed = incidents.alert_resolved(incident, actor, _details(parsed), last=still_firing is None)
    return Outcome(Action.CLOSED if closed else Action.RESOLVED, incident.number)


def _details(parsed: ParsedAlert) -> dict[str, Any]:
    return {"alert": parsed.title, "labels": parsed.labels, "annotations": parsed.annotations}


def _open_incident_for(source: AlertSource, dedup_key: str) -> Incident | None:
    return db.session.execute(
        select(Incident)
        .where(
            Incident.account_id == source.account_id,
            Incident.dedup_key == dedup_key,
            Incident.status != Status.CLOSED,
        )
        .order_by(Incident.id.desc())
        .limit(1)
        .with_for_update()
    ).scalar_one_or_none()


def _latest_firing(source: AlertSource, dedup_key: str) -> Alert | None:
    return db.session.execute(
        select(Alert)
        .where(
            Alert.source_id == source.id,
            Alert.dedup_key == dedup_key,
            Alert.status == AlertStatus.FIRING,
        )
        .order_by(Alert.id.desc())
        .limit(1)
    ).scalar_one_or_none()
