"""One alert episode, however its source repeats it: a firing alert re-sent with a new start
time (Prometheus or Grafana after a restart) is the same alert, and its recovery closes it."""

from __future__ import annotations

import copy
from typing import Any

from flask.testing import FlaskClient

from tests.factories import Persona
from tests.test_alert_intake import ALERTMANAGER_FIRING, counts, post, source_for
from tests.test_alert_sources import GRAFANA, NIGHTINGALE, ZABBIX, only_incident
from webapp.models import AlertStatus, Status


def restarted(body: dict[str, Any], starts_at: str, status: str = "firing") -> dict[str, Any]:
    """The body a restarted Prometheus (or Grafana) sends: same fingerprint, new startsAt."""
    again = copy.deepcopy(body)
    again["status"] = status
    again["alerts"][0]["status"] = status
    again["alerts"][0]["startsAt"] = starts_at
    if status == "resolved":
        again["alerts"][0]["endsAt"] = starts_at.replace("T01:20", "T01:45")
    return again


def test_the_resolution_after_a_prometheus_restart_closes_the_incident(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    first = restarted(ALERTMANAGER_FIRING, "2026-11-25T01:00:00Z")
    assert post(client, source.key, first).get_json()["results"][0]["action"] == "created"
    again = post(client, source.key, restarted(first, "2026-11-25T01:20:00Z"))
    assert again.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    resolved = post(client, source.key, restarted(first, "2026-11-25T01:20:00Z", "resolved"))
    assert resolved.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    incident = only_incident()
    assert incident.status is Status.CLOSED
    assert [a.status for a in incident.alerts] == [AlertStatus.RESOLVED]


def test_a_repeat_while_firing_is_the_same_alert_and_counts_once(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T01:00:00Z"))
    before = counts()
    post(client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T01:20:00Z"))
    assert counts() == before
    incident = only_incident()
    assert incident.alert_count == 1
    assert incident.alerts[0].last_seen_at > incident.alerts[0].created_at


def test_an_old_resolution_arriving_late_closes_the_episode_it_names(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T01:00:00Z"))
    resolved = post(
        client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T01:00:00Z", "resolved")
    )
    assert resolved.get_json()["results"][0]["action"] == "closed"
    # Fires again later: a new episode, a new incident; the old resolution replayed is a no-op.
    post(client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T03:00:00Z"))
    replay = post(
        client, source.key, restarted(ALERTMANAGER_FIRING, "2026-11-25T01:00:00Z", "resolved")
    )
    assert replay.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]


def test_the_resolution_after_a_grafana_restart_closes_the_incident(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, restarted(GRAFANA, "2026-11-25T01:00:00+02:00"))
    post(client, source.key, restarted(GRAFANA, "2026-11-25T01:20:00+02:00"))
    resolved = post(client, source.key, restarted(GRAFANA, "2026-11-25T01:20:00+02:00", "resolved"))
    assert resolved.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    assert only_incident().status is Status.CLOSED


def test_a_zabbix_problem_resent_after_a_server_restart_is_closed_by_its_recovery(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, ZABBIX)
    # Zabbix keeps {EVENT.ID} across a restart; only the operational data moves on.
    resent = post(client, source.key, {**ZABBIX, "opdata": "Current utilization: 97.0 %"})
    assert resent.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    recovery = post(client, source.key, {**ZABBIX, "event_value": "0"})
    assert recovery.get_json()["results"] == [{"action": "closed", "incident_number": 1}]


def test_a_nightingale_event_renotified_with_a_new_trigger_time_is_closed_by_its_recovery(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, NIGHTINGALE)
    later = {**NIGHTINGALE, "trigger_time": NIGHTINGALE["trigger_time"] + 1200}
    renotified = post(client, source.key, {**later, "notify_cur_number": 2})
    assert renotified.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    recovered = post(client, source.key, {**later, "is_recovered": True})
    assert recovered.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
