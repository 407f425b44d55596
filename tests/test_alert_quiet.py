"""Alerts recorded but not paged, at chosen instants: inhibited by another firing alert
(Alertmanager's source matchers, target matchers and equal labels), or flapping (4 changes
in 60 minutes mute its pages for 120, with one timeline line and one notice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.incident_pages_support import enter, integration
from tests.test_alert_intake import post
from tests.test_dispatch import events, rows
from tests.test_outbox import CHAT
from webapp.extensions import db
from webapp.models import Alert, AlertSource, Channel, Incident, LarkIntegration, NoiseRules, utcnow

NODE_DOWN = {"source": ["alertname=NodeDown"], "target": ["severity=warning"], "equal": ["cluster"]}


def alert(title: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "title": title,
        "status": status,
        "severity": labels.get("severity", "critical"),
        "labels": {"alertname": title, **labels},
        "dedup_key": "-".join([title, *labels.values()]),
    }


def source_with(owner: Persona, channel: Channel, **settings: Any) -> AlertSource:
    db.session.add(NoiseRules(channel_id=channel.id, **settings))
    db.session.commit()
    return factories.alert_source(owner.account, channel)


def incident(number: int) -> Incident:
    db.session.expire_all()
    return db.session.scalars(select(Incident).where(Incident.number == number)).one()


def paged(number: int) -> bool:
    return bool(rows(incident(number), "send_card"))


def test_a_warning_of_a_cluster_whose_node_is_down_is_recorded_but_not_paged(
    chat_channel: tuple[LarkIntegration, Channel], owner: Persona, client: FlaskClient
) -> None:
    _, channel = chat_channel
    source = source_with(owner, channel, inhibitions=[NODE_DOWN])
    post(client, source.key, alert("NodeDown", cluster="east"))
    outcome = post(client, source.key, alert("DiskSlow", severity="warning", cluster="east"))
    assert outcome.get_json()["results"] == [{"action": "created", "incident_number": 2}]
    assert paged(1) and not paged(2)
    [line] = events(incident(2), "not_paged")
    assert line.details == {"reason": "inhibited", "inhibited_by": 1}
    [quiet] = incident(2).alerts
    assert (quiet.quiet_reason, quiet.inhibited_by) == ("inhibited", 1)
    # Another cluster, or a critical alert, is not inhibited.
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="west"))
    post(client, source.key, alert("DiskFull", severity="critical", cluster="east"))
    assert paged(3) and paged(4)


def test_an_alert_that_may_page_joining_a_quietly_opened_incident_pages_it_once(
    chat_channel: tuple[LarkIntegration, Channel], owner: Persona, client: FlaskClient
) -> None:
    _, channel = chat_channel
    source = source_with(owner, channel, group_by=["alertname"], inhibitions=[NODE_DOWN])
    post(client, source.key, alert("NodeDown", cluster="east"))
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="east", host="d1"))
    assert not paged(2)
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="west", host="d2"))
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="west", host="d3"))
    assert len(rows(incident(2), "send_card")) == 1  # the chat, told once


def test_once_the_inhibiting_alert_recovers_the_same_warning_pages_again(
    chat_channel: tuple[LarkIntegration, Channel], owner: Persona, client: FlaskClient
) -> None:
    _, channel = chat_channel
    source = source_with(owner, channel, inhibitions=[NODE_DOWN])
    post(client, source.key, alert("NodeDown", cluster="east"))
    post(client, source.key, alert("NodeDown", "resolved", cluster="east"))
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="east"))
    assert paged(2)


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_the_fourth_change_in_an_hour_mutes_the_alerts_pages_for_two_hours(
    chat_channel: tuple[LarkIntegration, Channel],
    owner: Persona,
    client: FlaskClient,
    clock: time_machine.Traveller,
) -> None:
    _, channel = chat_channel
    source = factories.alert_source(owner.account, channel)  # no rules: flapping on, 4/60/120
    start = utcnow()

    def at(minutes: int, status: str) -> dict[str, Any]:
        clock.move_to(start + timedelta(minutes=minutes))
        result: dict[str, Any] = post(client, source.key, alert("Ping", status, host="edge-1"))
        return result.get_json()["results"][0]

    assert at(0, "firing")["action"] == "created"
    at(5, "resolved")
    assert at(10, "firing") == {"action": "created", "incident_number": 2}
    assert at(15, "resolved")["action"] == "closed"  # the 4th change: flapping from here
    [flap] = events(incident(2), "flapping")
    assert flap.details["until"].startswith((start + timedelta(minutes=135)).isoformat()[:16])
    [notice] = rows(incident(2), "alert_notice")
    assert (notice.receive_id, notice.payload["what"]) == (CHAT, "flapping")
    assert at(20, "firing") == {"action": "created", "incident_number": 3}
    assert not paged(3)
    assert events(incident(3), "not_paged")[0].details["reason"] == "flapping"
    at(25, "resolved")
    at(30, "firing")
    assert not paged(4)
    assert not events(incident(4), "flapping")  # one line and one notice, not one per change
    at(40, "resolved")
    assert at(136, "firing") == {"action": "created", "incident_number": 5}
    assert paged(5)


def test_a_channel_can_turn_flapping_detection_off(
    owner: Persona, client: FlaskClient, clock: time_machine.Traveller
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = source_with(owner, channel, flap_enabled=False)
    for n in range(6):
        clock.move_to(utcnow() + timedelta(minutes=1))
        post(client, source.key, alert("Ping", "firing" if n % 2 == 0 else "resolved"))
    assert not db.session.scalars(select(Alert).where(Alert.quiet_reason.is_not(None))).all()


def test_the_incident_page_lists_each_alert_with_its_state_and_filters_them(
    owner: Persona, client: FlaskClient
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = source_with(owner, channel, group_by=["alertname"], inhibitions=[NODE_DOWN])
    post(client, source.key, alert("NodeDown", cluster="east", host="n1"))
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="east", host="d1"))
    post(client, source.key, alert("DiskSlow", severity="warning", cluster="west", host="d2"))
    post(
        client,
        source.key,
        alert("DiskSlow", "resolved", severity="warning", cluster="west", host="d2"),
    )
    lark = integration(owner.account)
    enter(client, owner, lark)
    page = client.get(f"/lark/{lark.key}/incidents/2").get_data(as_text=True)
    assert "All (2)" in page and "Still firing (1)" in page and "Recovered (1)" in page
    assert "inhibited by #1" in page and "host=d1" in page and "host=d2" in page
    firing = client.get(
        f"/lark/{lark.key}/incidents/2/alerts?state=firing", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert firing.startswith('<section id="incident-alerts"')
    assert "host=d1" in firing and "host=d2" not in firing
    plain = client.get(f"/lark/{lark.key}/incidents/2/alerts?state=resolved")
    assert plain.status_code == 303
    assert plain.headers["Location"].endswith("/incidents/2?alerts=resolved")
    other = client.get(f"/lark/{lark.key}/incidents/9/alerts", headers={"HX-Request": "true"})
    assert other.status_code == 404
