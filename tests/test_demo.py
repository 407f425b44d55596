"""`flask demo load` makes a usable demo account, and running it twice adds nothing."""

from __future__ import annotations

import copy
import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.test_alert_intake import ALERTMANAGER_FIRING
from webapp.extensions import db
from webapp.models import Account, Incident, IncidentEvent, LarkIntegration, Member, Status

MODELS = (Account, Member, Incident, IncidentEvent, LarkIntegration)


def row_counts() -> list[int]:
    return [db.session.scalar(select(func.count()).select_from(m)) or 0 for m in MODELS]


def test_demo_load_makes_incidents_in_every_state_and_a_second_run_adds_nothing(
    app: Flask,
) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "sign in as li.lei@example.com / oncall-demo" in first.output
    assert "/api/v1/alerts/demo-alerts-7f3c9a" in first.output
    for kind, key in [
        ("Alertmanager", "demo-alerts-7f3c9a"),
        ("Grafana", "demo-grafana-2b8d41"),
        ("Zabbix", "demo-zabbix-5e1a07"),
        ("Nightingale", "demo-n9e-9c4f62"),
        ("Generic JSON", "demo-generic-3d7b15"),
    ]:
        assert f"{kind} alert intake: http://" in first.output
        assert (
            f"{kind} alert intake: http://localhost:5000/api/v1/alerts/{key}" in first.output
            or (f"/api/v1/alerts/{key}\n" in first.output)
        )
    assert "/lark/demo/" in first.output
    rows = list(db.session.scalars(select(Incident)))
    assert len(rows) == 30
    assert {i.status for i in rows} == {Status.TRIGGERED, Status.PROCESSING, Status.CLOSED}
    assert any(i.snoozed_until for i in rows)
    assert all(i.events for i in rows)
    before = row_counts()
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert row_counts() == before


def test_an_alertmanager_webhook_to_the_printed_url_opens_an_incident(
    app: Flask, client: FlaskClient
) -> None:
    app.test_cli_runner().invoke(args=["demo", "load"])
    response = client.post(
        "/api/v1/alerts/demo-alerts-7f3c9a",
        data=json.dumps(ALERTMANAGER_FIRING),
        content_type="application/json",
    )
    assert response.get_json()["results"] == [{"action": "created", "incident_number": 31}]


def test_the_demo_channel_groups_alerts_by_alertname_and_service(
    app: Flask, client: FlaskClient
) -> None:
    app.test_cli_runner().invoke(args=["demo", "load"])
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    first = body["alerts"][0]
    body["alerts"] = [
        {**first, "labels": {**first["labels"], "instance": f"api-{n}"}, "fingerprint": f"f{n}"}
        for n in range(3)
    ]
    response = client.post(
        "/api/v1/alerts/demo-alerts-7f3c9a", data=json.dumps(body), content_type="application/json"
    )
    results = response.get_json()["results"]
    assert [r["action"] for r in results] == ["created", "joined", "joined"]
    assert {r["incident_number"] for r in results} == {31}
