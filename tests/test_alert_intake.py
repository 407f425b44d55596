"""POST /api/v1/alerts/<key>: generic JSON and Alertmanager webhooks become incidents."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests.factories import Persona
from webapp.extensions import db
from webapp.models import Alert, AlertSource, Incident, IncidentEvent, NoiseRules, Status

ALERTMANAGER_FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "oncall",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "critical", "service": "api"},
    "commonAnnotations": {"summary": "api 5xx above 5%"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "api"},
            "annotations": {"summary": "api 5xx above 5%", "description": "value=7.3%"},
            "startsAt": "2026-11-25T08:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
            "fingerprint": "c3f1a2b4d5e6f708",
        }
    ],
}


def resolved_copy() -> dict[str, Any]:
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    body["status"] = "resolved"
    body["alerts"][0]["status"] = "resolved"
    body["alerts"][0]["endsAt"] = "2026-11-25T08:20:00Z"
    body["alerts"][0]["annotations"]["description"] = "value=0.4%"
    return body


def post(client: FlaskClient, key: str, body: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(f"/api/v1/alerts/{key}", data=data, content_type="application/json")


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Incident)) or 0,
        db.session.scalar(select(func.count()).select_from(Alert)) or 0,
        db.session.scalar(select(func.count()).select_from(IncidentEvent)) or 0,
    )


def source_for(owner: Persona) -> AlertSource:
    return factories.alert_source(owner.account, factories.channel(owner.account, [owner.member]))


def test_an_alertmanager_webhook_opens_one_incident_with_the_alert_labels(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = post(client, source.key, ALERTMANAGER_FIRING)
    assert response.status_code == 200
    assert response.get_json() == {"results": [{"action": "created", "incident_number": 1}]}
    incident = db.session.scalars(select(Incident)).one()
    assert incident.title == "api 5xx above 5%"
    assert incident.labels["service"] == "api"
    assert incident.severity.value == "Critical"
    assert incident.channel_id == source.channel_id
    assert incident.alert_count == 1


def test_the_resolved_webhook_closes_the_incident_and_both_show_in_the_timeline(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, ALERTMANAGER_FIRING)
    response = post(client, source.key, resolved_copy())
    assert response.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    incident = db.session.scalars(select(Incident)).one()
    assert incident.status is Status.CLOSED
    timeline = [(e.kind, e.source.value) for e in incident.events]
    assert timeline == [("triggered", "api"), ("alert_resolved", "api"), ("resolved", "api")]
    resolved = incident.events[1].details
    assert resolved["annotations"]["description"] == "value=0.4%"
    assert resolved["labels"]["alertname"] == "HighErrorRate"


def test_replaying_the_same_alert_changes_nothing(client: FlaskClient, owner: Persona) -> None:
    source = source_for(owner)
    post(client, source.key, ALERTMANAGER_FIRING)
    before = counts()
    again = post(client, source.key, ALERTMANAGER_FIRING)
    assert again.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    assert counts() == before
    post(client, source.key, resolved_copy())
    before = counts()
    post(client, source.key, resolved_copy())
    assert counts() == before


def test_the_same_fingerprint_firing_again_joins_the_incident_left_open(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    db.session.add(NoiseRules(channel_id=source.channel_id, close_when_recovered=False))
    db.session.commit()
    post(client, source.key, ALERTMANAGER_FIRING)
    assert post(client, source.key, resolved_copy()).get_json()["results"][0]["action"] == (
        "resolved"
    )
    later = copy.deepcopy(ALERTMANAGER_FIRING)
    later["alerts"][0]["startsAt"] = "2026-11-25T09:00:00Z"
    response = post(client, source.key, later)
    assert response.get_json()["results"] == [{"action": "joined", "incident_number": 1}]
    incident = db.session.scalars(select(Incident)).one()
    assert incident.alert_count == 2
    assert incident.alerts_firing == 1
    assert [e.kind for e in incident.events] == ["triggered", "alert_resolved", "alert_joined"]


def test_a_generic_alert_uses_its_dedup_key(client: FlaskClient, owner: Persona) -> None:
    source = source_for(owner)
    body = {
        "title": "disk 91% on kafka-3",
        "severity": "warning",
        "labels": {"host": "kafka-3"},
        "dedup_key": "kafka-3-disk",
    }
    assert post(client, source.key, body).get_json()["results"][0]["action"] == "created"
    assert post(client, source.key, body).get_json()["results"][0]["action"] == "duplicate"
    resolved = post(client, source.key, {**body, "status": "resolved"})
    assert resolved.get_json()["results"][0]["action"] == "closed"
    assert post(client, source.key, body).get_json()["results"][0] == {
        "action": "created",
        "incident_number": 2,
    }


def test_an_alert_without_a_title_names_the_field_and_writes_nothing(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = post(client, source.key, {"severity": "loud", "labels": {"a": 1}})
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert set(fields) == {"title", "severity", "labels.a"}
    assert counts() == (0, 0, 0)


def test_one_bad_alert_in_a_batch_writes_none_of_them(client: FlaskClient, owner: Persona) -> None:
    source = source_for(owner)
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    body["alerts"].append({"status": "firing", "labels": {}, "startsAt": "yesterday"})
    response = post(client, source.key, body)
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {
        "alerts[1].labels",
        "alerts[1].startsAt",
    }
    assert counts() == (0, 0, 0)


def test_malformed_json_is_a_400(client: FlaskClient, owner: Persona) -> None:
    source = source_for(owner)
    response = post(client, source.key, b'{"title": "unterminated')
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"
    assert counts() == (0, 0, 0)


def test_an_unknown_key_is_a_404(client: FlaskClient, owner: Persona) -> None:
    source_for(owner)
    response = post(client, "no-such-key", ALERTMANAGER_FIRING)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert counts() == (0, 0, 0)


def test_a_body_over_one_mebibyte_is_a_413(client: FlaskClient, owner: Persona) -> None:
    source = source_for(owner)
    huge = json.dumps({"title": "x", "description": "y" * (1024 * 1024)})
    response = post(client, source.key, huge)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"
    assert counts() == (0, 0, 0)


def test_incidents_of_one_account_never_join_another_accounts(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    mine = source_for(owner)
    theirs = factories.alert_source(outsider.account)
    post(client, mine.key, ALERTMANAGER_FIRING)
    response = post(client, theirs.key, ALERTMANAGER_FIRING)
    assert response.get_json()["results"] == [{"action": "created", "incident_number": 1}]
    assert {i.account_id for i in db.session.scalars(select(Incident))} == {
        owner.account.id,
        outsider.account.id,
    }
