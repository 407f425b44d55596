"""Applying parsed alerts to incidents: open, join, resolve or close, in one transaction.

Parsing (`parsers/`) validates the whole body first, so a bad body reaches nothing here and
writes nothing. Replays of an alert change nothing.

An alert episode is one `Alert` row from firing to resolved. While it fires, a repeat is the
same episode whatever its start time (a restarted Prometheus re-sends it with a new
`startsAt`), and a resolution closes the episode it names or, failing that, the one firing.
A new episode joins an open incident of its group (the channel's grouping rule) or of its
own dedup key, else opens one; `paging.decide` says whether it may page.

A body of 100 alerts costs a few statements per incident it touches, not per alert: the
episodes of the whole body are read at once, each incident is looked up and locked once,
and the new rows are written together at the commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from webapp.extensions import db
from webapp.incidents import alert_state, storms
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.intake import flapping, grouping, paging, rules
from webapp.intake.alert import ParsedAlert
from webapp.intake.paging import Quiet
from webapp.intake.rules import Noise
from webapp.models import (
    Alert,
    AlertSource,
    AlertStatus,
    Channel,
    Incident,
    Silence,
    Status,
    utcnow,
)
from webapp.silences import holds


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


@dataclass
class Batch:
    """What one body's transaction knows: its rules, and what it already read and locked."""

    source: AlertSource
    noise: Noise
    actor: Actor = field(default_factory=Actor.api)
    latest: dict[str, Alert] = field(default_factory=dict)  # dedup key -> newest episode
    open: dict[str, Incident] = field(default_factory=dict)  # join key -> locked incident
    locked: dict[int, Incident] = field(default_factory=dict)
    unpaged: dict[int, bool] = field(default_factory=dict)  # opened quietly, not paged yet


def ingest(source: AlertSource, alerts: list[ParsedAlert]) -> list[Outcome]:
    """Apply parsed alerts in one transaction; replays of an alert change nothing."""
    try:
        _lock(source)
        batch = Batch(source, rules.for_channel(source.channel_id))
        batch.latest = _latest(source, {a.dedup_key for a in alerts})
        outcomes = [_apply(batch, alert) for alert in alerts]
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcomes


def _lock(source: AlertSource) -> None:
    """One intake transaction per channel, and per source, at a time; held to the commit.

    The same alert posted 50 times at once (or by an HA pair of Alertmanagers) then finds the
    incident the first one opened instead of opening its own; grouped alerts from several
    sources cannot take the same incidents' row locks in opposite orders (a deadlock) nor
    open two incidents for one group. The source's no-op UPDATE takes PostgreSQL's row lock
    and SQLite's write lock (with its busy timeout) as the transaction's first write."""
    if source.channel_id is not None:
        db.session.execute(
            select(Channel.id).where(Channel.id == source.channel_id).with_for_update()
        )
    db.session.execute(
        update(AlertSource).where(AlertSource.id == source.id).values(key=AlertSource.key)
    )


def _apply(batch: Batch, parsed: ParsedAlert) -> Outcome:
    now = utcnow()
    latest = batch.latest.get(parsed.dedup_key)
    if parsed.status is AlertStatus.RESOLVED:
        return _resolve(batch, _episode_resolved(batch.source, parsed, latest), parsed, now)
    if latest is not None and latest.status is AlertStatus.FIRING:
        latest.last_seen_at = now  # the same episode, repeated (or re-sent after a restart)
        return Outcome(Action.DUPLICATE, latest.incident.number)
    if latest is not None and _same_start(batch.source, parsed, latest) is not None:
        return Outcome(Action.DUPLICATE, latest.incident.number)  # an ended episode replayed
    return _fire(batch, parsed, latest, now)


def _fire(batch: Batch, parsed: ParsedAlert, previous: Alert | None, now: datetime) -> Outcome:
    """A new episode: into its group's or its key's open incident, or a new one."""
    source, noise = batch.source, batch.noise
    changes, until, started = _state_change(previous, noise, now)
    quiet = paging.decide(noise, source.channel_id, parsed.labels, until, now)
    silence = _silence_of(source, parsed, now)
    grouped = grouping.group_key(noise.grouping, source.channel_id, parsed.labels)
    key = grouped or parsed.dedup_key
    incident = batch.open.get(key) or _open_incident_for(source, key, noise, grouped, now)
    created = incident is None
    if incident is None:
        incident = _open(source, parsed, batch.actor, grouped, quiet, silence)
    batch.open[key] = batch.locked[incident.id] = incident
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
        starts_at=parsed.starts_at or now,
        last_seen_at=now,
        quiet_reason=quiet.reason.value if quiet else None,
        inhibited_by=quiet.inhibited_by if quiet else None,
        state_changes=changes,
        flapping_until=until,
        silence_id=silence.id if silence else None,
    )
    db.session.add(alert)
    batch.latest[parsed.dedup_key] = alert
    details = _details(parsed, quiet)
    if not created and quiet is None and silence is None and _unpaged(incident, batch.unpaged):
        details["pages"] = True  # the first alert that may page: the dispatcher pages now
        batch.unpaged[incident.id] = False
    alert_state.joined(incident, batch.actor, details, first=created, now=now)
    if started:
        alert_state.flapping(incident, batch.actor, {**details, "until": until})
    storms.check(incident, noise.storm_thresholds, batch.actor)
    return Outcome(Action.CREATED if created else Action.JOINED, incident.number)


def _open(
    source: AlertSource,
    parsed: ParsedAlert,
    actor: Actor,
    key: str | None,
    quiet: Quiet | None,
    silence: Silence | None,
) -> Incident:
    details: dict[str, Any] = {"alert": parsed.title, "labels": parsed.labels}
    details["source"] = source.name
    if quiet is not None:
        details["not_paged"] = quiet.details()  # the dispatcher reads it: no page
    incident = incidents.open_incident(
        source.account_id,
        title=parsed.title,
        severity=parsed.severity,
        description=parsed.description,
        channel_id=source.channel_id,
        labels=parsed.labels,
        dedup_key=key or parsed.dedup_key,
        actor=actor,
        details=details,
        commit=False,
        silence_id=silence.id if silence else None,
    )
    if silence is not None:
        holds.hold(incident, silence, actor)
    return incident


def _resolve(batch: Batch, alert: Alert | None, parsed: ParsedAlert, now: datetime) -> Outcome:
    if alert is None:
        return Outcome(Action.IGNORED, None)
    incident = batch.locked.get(alert.incident_id) or _locked(alert.incident_id)
    batch.locked[incident.id] = incident
    if alert.status is AlertStatus.RESOLVED:
        return Outcome(Action.DUPLICATE, incident.number)
    alert.status = AlertStatus.RESOLVED
    alert.ends_at = parsed.ends_at or now
    alert.last_seen_at = now
    # Keep what the resolved alert said (labels, annotations, values) for the timeline.
    alert.labels = parsed.labels or alert.labels
    alert.annotations = parsed.annotations or alert.annotations
    alert.state_changes, alert.flapping_until, started = _state_change(alert, batch.noise, now)
    # The incident is locked, and every alert's change passes here: the count is exact.
    incident.alerts_firing = max(0, incident.alerts_firing - 1)
    if started:
        until = alert.flapping_until
        alert_state.flapping(incident, batch.actor, {**_details(parsed), "until": until})
    last = incident.alerts_firing == 0 and batch.noise.close_when_recovered
    closed = alert_state.resolved(incident, batch.actor, _details(parsed), last=last)
    return Outcome(Action.CLOSED if closed else Action.RESOLVED, incident.number)


def _silence_of(source: AlertSource, parsed: ParsedAlert, now: datetime) -> Silence | None:
    """Is this alert silenced, and by which silence? Kept on the alert and the incident."""
    labels = holds.alert_labels(parsed.labels, parsed.severity, source.name, parsed.dedup_key)
    return holds.silence_for(source.account_id, source.channel_id, labels, now)


def _unpaged(incident: Incident, known: dict[int, bool]) -> bool:
    if incident.id not in known:
        known[incident.id] = paging.never_paged(incident.id)
    return known[incident.id]


def _state_change(
    alert: Alert | None, noise: Noise, now: datetime
) -> tuple[list[str], datetime | None, bool]:
    """The alert's changes with this one, until when it is muted, and whether it starts
    flapping now (one timeline line and one notice, not one per change)."""
    changes = list(alert.state_changes or []) if alert is not None else []
    until = alert.flapping_until if alert is not None else None
    if noise.flapping is None:
        return changes, until, False
    changes = flapping.remember(changes, now, noise.flapping)
    if flapping.muted(until, now) or not flapping.starts_flapping(changes, noise.flapping):
        return changes, until, False
    return [], now + noise.flapping.mute, True


def _details(parsed: ParsedAlert, quiet: Quiet | None = None) -> dict[str, Any]:
    details = {"alert": parsed.title, "labels": parsed.labels, "annotations": parsed.annotations}
    if quiet is not None:
        details["not_paged"] = quiet.details()
    return details


def _open_incident_for(
    source: AlertSource, key: str, noise: Noise, grouped: str | None, now: datetime
) -> Incident | None:
    """The open incident this key joins, locked; a group's only within its window."""
    stmt = (
        select(Incident)
        .where(
            Incident.account_id == source.account_id,
            Incident.dedup_key == key,
            Incident.status != Status.CLOSED,
        )
        .order_by(Incident.id.desc())
        .limit(1)
        .with_for_update()
    )
    if grouped is not None and noise.grouping is not None:
        since: datetime = now - noise.grouping.window
        merged = func.coalesce(Incident.last_merged_at, Incident.created_at)
        stmt = stmt.where(Incident.channel_id == source.channel_id, merged > since)
    return db.session.execute(stmt).scalar_one_or_none()


def _locked(incident_id: int) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id).with_for_update()
    return db.session.execute(stmt.execution_options(populate_existing=True)).scalar_one()


def _latest(source: AlertSource, keys: set[str]) -> dict[str, Alert]:
    """Each alert's newest episode, firing or not, for every dedup key of the body at once."""
    found: dict[str, Alert] = {}
    stmt = (
        select(Alert)
        .where(Alert.source_id == source.id, Alert.dedup_key.in_(sorted(keys)))
        .order_by(Alert.id)
    )
    for alert in db.session.scalars(stmt):
        found[alert.dedup_key] = alert
    return found


def _same_start(source: AlertSource, parsed: ParsedAlert, latest: Alert) -> Alert | None:
    """The episode that began at the alert's start time (a source's own episode key)."""
    if parsed.starts_at is None:
        return None
    if latest.starts_at == parsed.starts_at:
        return latest
    return db.session.execute(
        select(Alert).where(
            Alert.source_id == source.id,
            Alert.dedup_key == parsed.dedup_key,
            Alert.starts_at == parsed.starts_at,
        )
    ).scalar_one_or_none()


def _episode_resolved(
    source: AlertSource, parsed: ParsedAlert, latest: Alert | None
) -> Alert | None:
    """The episode a resolution closes: the one it names by start time, else the one firing."""
    if latest is None:
        return None
    named = _same_start(source, parsed, latest)
    if named is not None:
        return named
    return latest if latest.status is AlertStatus.FIRING else None
