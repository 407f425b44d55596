"""Events out: one outbox row per matching endpoint, in the transaction of the change.

Every change to an incident, whoever makes it (web, card, API, system), is recorded as an
IncidentEvent by webapp/incidents/service.py, and escalations by webapp/dispatch/policy.py
through the same service. So the one place to hook is the flush that writes those events:
whatever writes one writes its webhook rows with it, and a rolled-back change sends nothing.

The body is serialised once, when the row is written: every retry sends the same bytes
under the same `webhook-id`, so a receiver can de-duplicate.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from webapp import outbox
from webapp.extensions import db
from webapp.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventKind,
    Incident,
    IncidentEvent,
    LarkIntegration,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from webapp.webhooks import signing

# Timeline events that are webhook events; a capability adding one adds its line here.
EVENT_TYPES: dict[str, WebhookEvent] = {
    EventKind.TRIGGERED: WebhookEvent.TRIGGERED,
    EventKind.ACKNOWLEDGED: WebhookEvent.ACKNOWLEDGED,
    EventKind.RESOLVED: WebhookEvent.RESOLVED,
    EventKind.REOPENED: WebhookEvent.REOPENED,
    EventKind.REASSIGNED: WebhookEvent.REASSIGNED,
    EventKind.COMMENTED: WebhookEvent.COMMENTED,
    EventKind.ESCALATED: WebhookEvent.ESCALATED,
}


def init_app(app: Flask) -> None:
    # One listener per process, whatever the number of apps built (the tests build several).
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def _after_flush(session: Session, _context: Any) -> None:
    events = sorted(
        (o for o in session.new if isinstance(o, IncidentEvent) and o.kind in EVENT_TYPES),
        key=lambda e: e.id,
    )
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for recorded in events:
        incident = recorded.incident
        if incident.account_id not in endpoints:
            endpoints[incident.account_id] = _enabled(session, incident.account_id)
        kind = EVENT_TYPES[recorded.kind]
        targets = [e for e in endpoints[incident.account_id] if wants(e, kind, incident.channel_id)]
        if targets:
            data = {**incident_data(session, incident), **_change(recorded)}
            _write(session, targets, kind, data, recorded.created_at or utcnow())


def emit(account_id: int, kind: WebhookEvent, data: dict[str, Any], channel_id: int | None) -> int:
    """Queue an event that is not an incident's timeline event (a silence, an alert storm)
    for every enabled endpoint of the account that asks for it. The caller commits, so the
    rows go with its change or not at all. Returns how many rows were written."""
    session = db.session()
    targets = [e for e in _enabled(session, account_id) if wants(e, kind, channel_id)]
    _write(session, targets, kind, data, utcnow())
    return len(targets)


def _enabled(session: Session, account_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.account_id == account_id, WebhookEndpoint.enabled.is_(True)
            )
        )
    )


def _write(
    session: Session,
    targets: list[WebhookEndpoint],
    kind: WebhookEvent,
    data: dict[str, Any],
    at: datetime,
) -> None:
    outbox.enqueue_webhooks(session, [_row(e.id, kind, data, at) for e in targets])


def wants(endpoint: WebhookEndpoint, kind: WebhookEvent, channel_id: int | None) -> bool:
    if endpoint.event_types and kind not in endpoint.event_types:
        return False
    return not endpoint.channel_ids or channel_id in endpoint.channel_ids


def send_test(endpoint: WebhookEndpoint) -> Delivery:
    """A `webhook.test` event to this endpoint alone, whatever its filters."""
    now = utcnow()
    data = {"endpoint": {"id": endpoint.id, "url": endpoint.url}, "message": "hello"}
    values = _row(endpoint.id, WebhookEvent.TEST, data, now)
    outbox.enqueue_webhooks(db.session(), [values])
    db.session.commit()
    return db.session.scalars(select(Delivery).where(Delivery.uuid == values["uuid"])).one()


def send_again(row: Delivery) -> None:
    """Queue the same message again (same `webhook-id` and body) to go out now."""
    row.status = DeliveryStatus.PENDING
    row.next_attempt_at = utcnow()
    row.reason = None
    db.session.commit()


def _row(
    endpoint_id: int, kind: WebhookEvent, data: dict[str, Any], at: datetime
) -> dict[str, Any]:
    body = {"type": kind.value, "timestamp": at.isoformat(), "data": data}
    return {
        "integration_id": None,
        "endpoint_id": endpoint_id,
        "incident_id": None,  # kept out of the incident's "who was told": not a person
        "kind": DeliveryKind.WEBHOOK.value,
        "uuid": signing.new_message_id(),
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "layer": 0,
        "next_attempt_at": at,
        "created_at": at,
        "payload": {"type": kind.value, "body": json.dumps(body, ensure_ascii=False)},
    }


# -- the incident as the REST API shows it ---------------------------------------------


def incident_data(session: Session, incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "number": incident.number,
        "title": incident.title,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "channel": (
            {"id": incident.channel.id, "name": incident.channel.name}
            if incident.channel is not None
            else None
        ),
        "assignees": [{"id": m.id, "name": m.name} for m in incident.assignees],
        "url": _url(session, incident),
    }


def _url(session: Session, incident: Incident) -> str | None:
    """The incident's page in the web app (it lives under a Lark integration's key)."""
    integration = session.scalars(
        select(LarkIntegration)
        .where(LarkIntegration.account_id == incident.account_id)
        .order_by(LarkIntegration.enabled.desc(), LarkIntegration.id)
        .limit(1)
    ).first()
    if integration is None:
        return None
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    return f"{base}/lark/{integration.key}/incidents/{incident.number}"


def _change(recorded: IncidentEvent) -> dict[str, Any]:
    """Who made the change, and the few details a receiver needs (a comment's text...)."""
    details = recorded.details or {}
    change: dict[str, Any] = {
        "actor": {
            "member_id": recorded.actor.id if recorded.actor else None,
            "name": recorded.actor.name if recorded.actor else None,
            "source": recorded.source.value,
            "token": details.get("token"),  # the API token's name, for changes made through it
        }
    }
    if recorded.kind == EventKind.COMMENTED:
        change["comment"] = details.get("text", "")
    elif recorded.kind == EventKind.ESCALATED:
        change["layer"] = details.get("layer")
    return change
