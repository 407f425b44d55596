"""Grafana, Zabbix and Nightingale alerts, and every source's own words for severity.

Where each fixture comes from:
- GRAFANA: the example body of Grafana's webhook contact point, "Configure the webhook
  notifier for Alerting", grafana.com/docs/grafana/latest/alerting/configure-notifications/
  manage-contact-points/integrations/webhook-notifier/ (first alert of the example; the
  dashboard and panel URLs, empty there, are filled as Grafana fills them for a rule
  linked to a panel).
- ZABBIX: what contrib/zabbix/oncall_webhook.js posts, its fields being the Zabbix macros
  of the media type's parameters ({EVENT.ID}, {EVENT.VALUE}, {EVENT.NAME},
  {EVENT.SEVERITY}, {HOST.NAME}, {EVENT.TAGSJSON}, {EVENT.OPDATA}); in a recovery
  message {EVENT.ID} is still the problem's event id and {EVENT.VALUE} is 0 (Zabbix manual,
  "Macros supported by location", and "Webhook" media type).
- NIGHTINGALE: the JSON of AlertCurEvent in ccfos/nightingale models/alert_cur_event.go
  (v6/v7: hash, rule_name, rule_note, severity 1-3, tags as "k=v", trigger_value,
  is_recovered, target_ident), as its callback notification posts it.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import Persona
from tests.incident_pages_support import enter, integration
from tests.test_alert_intake import counts, post, source_for
from webapp.cards.render import incident_card
from webapp.extensions import db
from webapp.models import Incident, Status

GRAFANA: dict[str, Any] = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
            "&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "https://play.grafana.org/d/abc123",
            "panelURL": "https://play.grafana.org/d/abc123?viewPanel=2",
            "values": {"B": 44.23943737541908, "C": 1},
        }
    ],
    "groupLabels": {},
    "commonLabels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": '{}:{alertname="High memory usage"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1]  (High memory usage blue us-1)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = High memory usage",
}

ZABBIX: dict[str, Any] = {
    "event_id": "3791",
    "event_value": "1",
    "event_name": "High CPU utilization (over 90% for 5m)",
    "severity": "High",
    "host": "web-01",
    "trigger_id": "23580",
    "tags": [{"tag": "scope", "value": "performance"}, {"tag": "service", "value": "api"}],
    "opdata": "Current utilization: 96.3 %",
    "url": "https://zabbix.example.com/tr_events.php?triggerid=23580&eventid=3791",
    "message": "Problem started at 10:02:11 on 2026.06.15",
}

NIGHTINGALE: dict[str, Any] = {
    "id": 1021,
    "cate": "prometheus",
    "cluster": "Default",
    "datasource_id": 1,
    "group_id": 1,
    "group_name": "Default Busi Group",
    "hash": "8f4e1c2b9a7d3e6f5a4b3c2d1e0f9a8b",
    "rule_id": 7,
    "rule_name": "Disk usage above 90%",
    "rule_note": "Clean /var/log or grow the volume",
    "rule_prod": "metric",
    "prom_ql": "disk_used_percent > 90",
    "severity": 2,
    "prom_eval_interval": 15,
    "prom_for_duration": 60,
    "target_ident": "db-01",
    "target_note": "",
    "trigger_time": 1781488920,
    "trigger_value": "93.41",
    "tags": ["__name__=disk_used_percent", "ident=db-01", "path=/"],
    "annotations": {},
    "is_recovered": False,
    "notify_cur_number": 1,
    "first_trigger_time": 1781488920,
    "last_eval_time": 1781488920,
}


def only_incident() -> Incident:
    return db.session.scalars(select(Incident)).one()


def card_text(incident: Incident) -> str:
    return json.dumps(incident_card(incident, locale="en", web_url="https://x/"))


# -- severity words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "ours"),
    [
        ("P0", "Critical"),
        ("P1", "Critical"),
        ("p2", "Warning"),
        ("P3", "Info"),
        ("P4", "Info"),
        ("S1", "Critical"),
        ("S2", "Warning"),
        ("S3", "Info"),
        ("critical", "Critical"),
        ("High", "Critical"),
        ("error", "Critical"),
        ("Disaster", "Critical"),
        ("warning", "Warning"),
        ("Average", "Warning"),
        ("info", "Info"),
        ("Information", "Info"),
        ("Not classified", "Info"),
        ("严重", "Critical"),
        ("警告", "Warning"),
        ("提醒", "Info"),
    ],
)
def test_every_source_word_maps_to_our_severity(
    client: FlaskClient, owner: Persona, word: str, ours: str
) -> None:
    source = source_for(owner)
    response = post(client, source.key, {"title": "disk full", "severity": word})
    assert response.status_code == 200
    assert only_incident().severity.value == ours


def test_an_unknown_word_names_the_words_that_source_accepts(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = post(client, source.key, {"title": "disk full", "severity": "catastrophic"})
    assert response.status_code == 400
    message = response.get_json()["fields"]["severity"]
    assert "p0" in message and "严重" in message and "not classified" in message
    zabbix = post(client, source.key, {**ZABBIX, "severity": "P0"})
    assert zabbix.status_code == 400
    assert zabbix.get_json()["fields"]["severity"] == (
        "one of disaster, high, average, warning, information, not classified"
    )
    n9e = post(client, source.key, {**NIGHTINGALE, "severity": 4})
    assert n9e.get_json()["fields"]["severity"] == "one of 1, 2, 3"
    assert counts() == (0, 0, 0)


# -- Grafana -----------------------------------------------------------------------------


def grafana_resolved() -> dict[str, Any]:
    body = copy.deepcopy(GRAFANA)
    body["status"] = "resolved"
    body["alerts"][0]["status"] = "resolved"
    body["alerts"][0]["endsAt"] = "2021-10-12T10:01:03.157076+02:00"
    body["alerts"][0]["values"] = {"B": 12.5, "C": 0}
    return body


def test_a_grafana_alert_opens_an_incident_whose_card_shows_values_and_links(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = post(client, source.key, GRAFANA)
    assert response.get_json()["results"] == [{"action": "created", "incident_number": 1}]
    incident = only_incident()
    assert incident.title == "This alert was triggered for zone us-1"
    assert incident.dedup_key == "c6eadffa33fcdf37"
    card = incident_card(incident, locale="en", web_url="https://x/")
    text = json.dumps(card, ensure_ascii=False)
    assert "Values: B=44.24, C=1" in text
    urls = [
        b["behaviors"][0]["default_url"]
        for b in _buttons(card)
        if b.get("behaviors", [{}])[0].get("type") == "open_url"
    ]
    for key in ("dashboardURL", "panelURL", "silenceURL", "generatorURL"):
        assert GRAFANA["alerts"][0][key] in urls


def _buttons(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("tag") == "button":
            found.append(node)
        for value in node.values():
            found.extend(_buttons(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_buttons(value))
    return found


def test_the_incident_page_shows_grafana_values_and_links(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, GRAFANA)
    lark = integration(owner.account)
    enter(client, owner, lark)
    page = client.get(f"/lark/{lark.key}/incidents/1").get_data(as_text=True)
    assert "B=44.24, C=1" in page
    assert 'href="https://play.grafana.org/d/abc123?viewPanel=2"' in page
    assert ">Dashboard</a>" in page and ">Silence</a>" in page and ">Alert rule</a>" in page


def test_a_repeated_grafana_alert_merges_and_its_resolution_closes(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    post(client, source.key, GRAFANA)
    before = counts()
    again = post(client, source.key, GRAFANA)
    assert again.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    assert counts() == before
    closed = post(client, source.key, grafana_resolved())
    assert closed.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    assert only_incident().status is Status.CLOSED
    assert "B=12.5, C=0" in card_text(only_incident())


def test_grafana_links_that_are_not_web_addresses_are_dropped(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    body = copy.deepcopy(GRAFANA)
    body["alerts"][0]["dashboardURL"] = "javascript:alert(1)"
    post(client, source.key, body)
    assert "javascript:" not in card_text(only_incident())


def test_a_grafana_alert_without_a_start_time_is_refused(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    body = copy.deepcopy(GRAFANA)
    del body["alerts"][0]["startsAt"]
    response = post(client, source.key, body)
    assert response.status_code == 400
    assert "alerts[0].startsAt" in response.get_json()["fields"]


# -- Zabbix ------------------------------------------------------------------------------


def test_a_zabbix_problem_opens_an_incident_a_repeat_merges_and_the_recovery_closes(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    first = post(client, source.key, ZABBIX)
    assert first.get_json()["results"] == [{"action": "created", "incident_number": 1}]
    incident = only_incident()
    assert incident.severity.value == "Critical"
    assert incident.labels == {
        "host": "web-01",
        "trigger_id": "23580",
        "scope": "performance",
        "service": "api",
    }
    text = card_text(incident)
    assert "Current utilization: 96.3 %" in text
    assert ZABBIX["url"] in text
    before = counts()
    again = post(client, source.key, ZABBIX)
    assert again.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    assert counts() == before
    recovery = post(client, source.key, {**ZABBIX, "event_value": "0"})
    assert recovery.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    assert only_incident().status is Status.CLOSED


def test_zabbix_tags_as_text_are_read_and_a_bad_event_is_refused(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    bad = post(client, source.key, {**ZABBIX, "event_id": "{EVENT.ID}", "event_value": "2"})
    assert bad.status_code == 400
    assert set(bad.get_json()["fields"]) == {"event_id", "event_value"}
    assert counts() == (0, 0, 0)
    as_text = {**ZABBIX, "tags": json.dumps(ZABBIX["tags"])}
    assert post(client, source.key, as_text).status_code == 200
    assert only_incident().labels["scope"] == "performance"


# -- Nightingale -------------------------------------------------------------------------


def test_a_nightingale_event_opens_an_incident_a_repeat_merges_and_recovery_closes(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    first = post(client, source.key, NIGHTINGALE)
    assert first.get_json()["results"] == [{"action": "created", "incident_number": 1}]
    incident = only_incident()
    assert incident.title == "Disk usage above 90%"
    assert incident.severity.value == "Warning"
    assert incident.labels == {"__name__": "disk_used_percent", "ident": "db-01", "path": "/"}
    text = card_text(incident)
    assert "Trigger value: 93.41" in text
    assert "Rule note: Clean /var/log or grow the volume" in text
    before = counts()
    again = post(client, source.key, {**NIGHTINGALE, "trigger_value": "94.0"})
    assert again.get_json()["results"] == [{"action": "duplicate", "incident_number": 1}]
    assert counts() == before
    recovered = post(client, source.key, {**NIGHTINGALE, "is_recovered": True})
    assert recovered.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    assert only_incident().status is Status.CLOSED


@pytest.mark.parametrize(("level", "ours"), [(1, "Critical"), (2, "Warning"), (3, "Info")])
def test_nightingale_severities(client: FlaskClient, owner: Persona, level: int, ours: str) -> None:
    source = source_for(owner)
    post(client, source.key, {**NIGHTINGALE, "severity": level})
    assert only_incident().severity.value == ours


def test_a_bad_nightingale_event_is_refused_and_names_each_field(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    body = {**NIGHTINGALE, "hash": "", "tags": "ident=db-01", "is_recovered": "yes"}
    response = post(client, source.key, body)
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {"hash", "tags", "is_recovered"}
    assert counts() == (0, 0, 0)


def test_an_unknown_intake_key_answers_404_and_writes_nothing(client: FlaskClient) -> None:
    assert post(client, "no-such-key", NIGHTINGALE).status_code == 404
    assert counts() == (0, 0, 0)


ZABBIX_SCRIPT = Path(__file__).parent.parent / "contrib" / "zabbix" / "oncall_webhook.js"
ZABBIX_MEDIA_TYPE = ZABBIX_SCRIPT.with_name("media_type_oncall.yaml")


def run_zabbix_script(params: dict[str, str]) -> dict[str, Any]:
    """Run the shipped media-type script under node, with Zabbix's HttpRequest stubbed."""
    harness = (
        "var posted = null;"
        "function HttpRequest() {}"
        "HttpRequest.prototype.addHeader = function () {};"
        "HttpRequest.prototype.setProxy = function () {};"
        "HttpRequest.prototype.post = function (url, body) { posted = {url: url, body: body};"
        " return '{}'; };"
        "HttpRequest.prototype.getStatus = function () { return 200; };"
        "var Zabbix = {log: function () {}};"
        "var value = process.argv[1];"
        "var answer = (function () {" + ZABBIX_SCRIPT.read_text() + "})();"
        "console.log(JSON.stringify({answer: answer, posted: posted}));"
    )
    out = subprocess.run(
        ["node", "-e", harness, json.dumps(params)],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_the_shipped_zabbix_script_posts_what_the_intake_takes(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    params = {
        "intake_url": f"https://oncall.example.com/api/v1/alerts/{source.key}",
        "event_id": "3791",
        "event_value": "1",
        "event_name": "High CPU utilization (over 90% for 5m)",
        "severity": "High",
        "host": "web-01",
        "trigger_id": "23580",
        "tags": '[{"tag":"service","value":"api"}]',
        "opdata": "{EVENT.OPDATA}",
        "url": "https://zabbix.example.com/tr_events.php?triggerid=23580&eventid=3791",
        "message": "Problem started",
        "http_proxy": "",
    }
    # Every parameter the script reads is declared in the media type export.
    declared = set(re.findall(r"- name: (\w+)", ZABBIX_MEDIA_TYPE.read_text()))
    assert declared >= set(params)
    text = ZABBIX_MEDIA_TYPE.read_text()
    block = text.split("      script: |\n", 1)[1].split("      timeout:", 1)[0]
    embedded = "\n".join(line[8:] for line in block.splitlines())
    assert embedded.strip() == ZABBIX_SCRIPT.read_text().strip()  # the export holds this script
    problem = run_zabbix_script(params)
    assert problem["answer"] == "OK"
    assert problem["posted"]["url"] == params["intake_url"]
    body = json.loads(problem["posted"]["body"])
    assert "opdata" not in body  # an unresolved macro is not sent
    created = post(client, source.key, body)
    assert created.get_json()["results"] == [{"action": "created", "incident_number": 1}]
    assert only_incident().labels["service"] == "api"
    recovery = run_zabbix_script({**params, "event_value": "0"})
    closed = post(client, source.key, json.loads(recovery["posted"]["body"]))
    assert closed.get_json()["results"] == [{"action": "closed", "incident_number": 1}]


# -- one intake URL per kind -------------------------------------------------------------


def source_of_kind(owner: Persona, kind: str) -> Any:
    source = source_for(owner)
    source.kind = kind
    db.session.commit()
    return source


def test_a_zabbix_intake_reads_only_zabbix_events(client: FlaskClient, owner: Persona) -> None:
    source = source_of_kind(owner, "zabbix")
    refused = post(client, source.key, GRAFANA)
    assert refused.status_code == 400
    assert {"event_id", "event_value", "event_name"} <= set(refused.get_json()["fields"])
    assert post(client, source.key, ZABBIX).get_json()["results"][0]["action"] == "created"


def test_a_nightingale_intake_names_nightingale_fields(client: FlaskClient, owner: Persona) -> None:
    source = source_of_kind(owner, "nightingale")
    refused = post(client, source.key, {"title": "disk full"})
    assert refused.status_code == 400
    assert {"hash", "rule_name", "severity"} <= set(refused.get_json()["fields"])
    assert counts() == (0, 0, 0)


def test_a_grafana_intake_refuses_a_body_without_alerts(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_of_kind(owner, "grafana")
    refused = post(client, source.key, NIGHTINGALE)
    assert refused.status_code == 400
    assert "alerts" in refused.get_json()["fields"]
    assert post(client, source.key, GRAFANA).get_json()["results"][0]["action"] == "created"
