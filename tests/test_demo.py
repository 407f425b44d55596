"""`flask demo load` makes a usable demo account, and running it twice adds nothing."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.test_alert_intake import ALERTMANAGER_FIRING
from webapp.extensions import db
from webapp.models import Account, Incident, IncidentEvent, Member, Status


def test_demo_load_prints_where_to_send_alerts_and_how_to_sign_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "sign in as li.lei@example.com / oncall-demo" in result.output
    assert "/api/v1/alerts/demo-alerts-7f3c9a" in result.output


def test_demo_load_twice_adds_nothing_the_second_time(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "load"])
    before = [
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Account, Member, Incident, IncidentEvent)
    ]
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    after = [
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Account, Member, Incident, IncidentEvent)
    ]
    assert after == before


def test_the_demo_has_incidents_in_every_state_with_timelines(app: Flask) -> None:
    app.test_cli_runner().invoke(args=["demo", "load"])
    rows = list(db.session.scalars(select(Incident)))
    assert len(rows) == 30
    assert {i.status for i in rows} == {Status.TRIGGERED, Status.PROCESSING, Status.CLOSED}
    assert any(i.snoozed_until for i in rows)
    assert all(i.events for i in rows)


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
