"""Shared set-up of the silence and maintenance window tests: a channel whose rule tells a
bound person and a chat, an Alertmanager source in it, and silences made through the service."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.test_dispatch import CHAT, bind, rule
from webapp.extensions import db
from webapp.incidents.service import Actor
from webapp.models import (
    AlertSource,
    Channel,
    Delivery,
    Incident,
    IncidentEvent,
    Silence,
    Source,
    utcnow,
)
from webapp.sandbox import seed
from webapp.silences import matchers, service

FIRING: dict[str, Any] = {
    "version": "4",
    "status": "firing",
    "receiver": "oncall",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-01"},
            "annotations": {"summary": "Disk full on db-01"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "f00d",
        }
    ],
}


def paging_channel(owner: Persona) -> tuple[Channel, AlertSource]:
    """A channel whose rule tells the owner (bound to Li Lei) and the on-call chat at once,
    and the owner again 10 minutes later; an Alertmanager source lands alerts in it."""
    integration = factories.lark_integration(owner.account)
    bind(integration, owner.member, seed.LI_LEI.open_id)
    channel = factories.channel(owner.account, [owner.member])
    rule(
        channel,
        integration,
        [
            {"delay_minutes": 0, "member_ids": [owner.member.id], "chat_ids": [CHAT]},
            {"delay_minutes": 10, "member_ids": [owner.member.id]},
        ],
    )
    return channel, factories.alert_source(owner.account, channel)


def firing(name: str = "DiskFull", fingerprint: str = "f00d", **labels: str) -> dict[str, Any]:
    """An Alertmanager webhook for one alert that started a minute before the clock's now."""
    body = copy.deepcopy(FIRING)
    alert = body["alerts"][0]
    alert["labels"] = {**alert["labels"], "alertname": name, **labels}
    alert["fingerprint"] = fingerprint
    alert["startsAt"] = (utcnow() - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    return body


def post(client: FlaskClient, source: AlertSource, body: dict[str, Any]) -> Incident:
    response = client.post(
        f"/api/v1/alerts/{source.key}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    number = response.get_json()["results"][0]["incident_number"]
    return db.session.scalars(
        select(Incident).where(Incident.account_id == source.account_id, Incident.number == number)
    ).one()


def silence(
    owner: Persona,
    *texts: str,
    hours: float = 2,
    starts_in: timedelta = timedelta(0),
    comment: str = "db switchover",
) -> Silence:
    start = utcnow() + starts_in
    data = service.SilenceInput(
        matchers=[matchers.parse(t) for t in texts or ("alertname=DiskFull",)],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        created_by=owner.member.name,
        comment=comment,
    )
    return service.save(owner.account.id, data, Actor(owner.member, Source.WEB))


def pages(incident: Incident) -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.incident_id == incident.id, Delivery.kind == "send_card")
            .order_by(Delivery.id)
        )
    )


def kinds(incident: Incident) -> list[str]:
    return list(
        db.session.scalars(
            select(IncidentEvent.kind)
            .where(IncidentEvent.incident_id == incident.id)
            .order_by(IncidentEvent.id)
        )
    )


def at(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
