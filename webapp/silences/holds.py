"""Which silence holds an alert, and holding or releasing an incident's pages.

`silence_for` is the intake's one question ("is this alert silenced, and by which
silence?"); its answer is kept on the alert and the incident. `hold` and `release` change
`Incident.silence_id` with a timeline line and tell the incident's listeners (dispatch
cancels pending escalation on a hold and pages on a release that says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from webapp.extensions import db
from webapp.incidents.service import Actor, incident_changed
from webapp.models import (
    Alert,
    AlertSource,
    EventKind,
    Incident,
    IncidentEvent,
    Severity,
    Silence,
    Status,
    utcnow,
)
from webapp.silences import matchers

OPEN = (Status.TRIGGERED, Status.PROCESSING)


def alert_labels(
    labels: Mapping[str, str], severity: Severity, source: str, dedup_key: str | None
) -> dict[str, str]:
    """What a silence's matchers see of an alert: its labels and our three (matchers.py)."""
    return {
        **labels,
        "oncall_severity": severity.value,
        "oncall_source": source,
        "oncall_dedup_key": dedup_key or "",
    }


def silence_for(
    account_id: int, channel_id: int | None, labels: Mapping[str, str], now: datetime
) -> Silence | None:
    """The active silence of the account that matches these labels (the longest-running
    one when several do), or None: the alert is then paged as usual."""
    for silence in active(account_id, channel_id, now):
        if matchers.all_match(matchers.load(silence.matchers), labels):
            return silence
    return None


def active(account_id: int, channel_id: int | None, now: datetime) -> list[Silence]:
    scope: ColumnElement[bool] = Silence.channel_id.is_(None)
    if channel_id is not None:
        scope = or_(scope, Silence.channel_id == channel_id)
    return list(
        db.session.scalars(
            select(Silence)
            .where(
                Silence.account_id == account_id,
                Silence.starts_at <= now,
                Silence.ends_at > now,
                scope,
            )
            .order_by(Silence.ends_at.desc(), Silence.id)
        )
    )


def incident_labels(incident: Incident) -> dict[str, str]:
    """An open incident's labels as its first alert's source saw them."""
    source = db.session.scalar(
        select(AlertSource.name)
        .join(Alert, Alert.source_id == AlertSource.id)
        .where(Alert.incident_id == incident.id)
        .order_by(Alert.id)
        .limit(1)
    )
    return alert_labels(incident.labels or {}, incident.severity, source or "", incident.dedup_key)


def in_scope(silence: Silence) -> list[Incident]:
    """The account's open incidents, not held yet, that the silence matches."""
    stmt = select(Incident).where(
        Incident.account_id == silence.account_id,
        Incident.status.in_(OPEN),
        Incident.silence_id.is_(None),
    )
    if silence.channel_id is not None:
        stmt = stmt.where(Incident.channel_id == silence.channel_id)
    wanted = matchers.load(silence.matchers)
    found = db.session.scalars(stmt.order_by(Incident.id).with_for_update())
    return [i for i in found if matchers.all_match(wanted, incident_labels(i))]


def held_by(silence: Silence) -> list[Incident]:
    return list(
        db.session.scalars(
            select(Incident)
            .where(Incident.silence_id == silence.id)
            .order_by(Incident.id)
            .with_for_update()
        )
    )


def describe(silence: Silence) -> dict[str, Any]:
    """What a timeline line says of the silence: its id, who made it, why, until when."""
    return {
        "silence_id": silence.id,
        "by": silence.created_by,
        "comment": silence.comment,
        "until": silence.ends_at.isoformat(),
        "window": silence.window.name if silence.window is not None else None,
        "matchers": [str(m) for m in matchers.load(silence.matchers)],
    }


def hold(incident: Incident, silence: Silence, actor: Actor) -> None:
    """From now on nobody is paged about the incident while the silence lasts."""
    incident.silence_id = silence.id
    _changed(incident, actor, EventKind.SILENCED, describe(silence))


def release(incident: Incident, silence: Silence, actor: Actor, why: str) -> bool:
    """The silence ended: page the incident when it still waits for someone (triggered, and
    the silence says to page at its end). Returns whether it was paged."""
    page = silence.page_at_end and incident.status is Status.TRIGGERED
    incident.silence_id = None
    details = {**describe(silence), "why": why, "paged": page}
    _changed(incident, actor, EventKind.UNSILENCED, details)
    return page


def note_change(incident: Incident, silence: Silence, actor: Actor, change: str) -> None:
    """The silence holding the incident was extended or edited, or another took over."""
    incident.silence_id = silence.id
    _changed(incident, actor, EventKind.SILENCE_CHANGED, {**describe(silence), "change": change})


def _changed(incident: Incident, actor: Actor, kind: str, details: dict[str, Any]) -> None:
    now = utcnow()
    event = IncidentEvent(
        incident=incident,
        actor=actor.member,
        source=actor.source,
        kind=kind,
        details=details,
        created_at=now,
    )
    db.session.add(event)
    incident.updated_at = now
    db.session.flush()
    incident_changed.send(incident, event=event)
