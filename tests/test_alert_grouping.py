"""One incident per problem: alerts sharing the channel's grouping labels join one incident,
each keeps its own state, its card is redrawn in place (never one message per alert), one
alert's recovery never closes it, and the last one does when the channel says so."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.factories import Persona
from tests.test_alert_intake import post
from tests.test_dispatch import events, rows
from tests.test_outbox import CHAT, later
from webapp.cards.render import incident_card
from webapp.delivery import worker as outbox
from webapp.extensions import db
from webapp.models import (
    AlertSource,
    AlertStatus,
    Channel,
    Incident,
    LarkIntegration,
    NoiseRules,
    Status,
    utcnow,
)
from webapp.sandbox.handle import LarkSandbox


def batch(instances: range | list[int], status: str = "firing", **labels: str) -> dict[str, Any]:
    """An Alertmanager webhook with one alert per instance of the same service."""
    common = {"alertname": "HighLatency", "service": "api", "severity": "warning", **labels}
    started = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "4",
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {**common, "instance": f"web-{n:02d}"},
                "annotations": {"summary": f"p99 latency above 2 s on web-{n:02d}"},
                "startsAt": started,
                "fingerprint": f"fp-{labels.get('service', 'api')}-{n}",
            }
            for n in instances
        ],
    }


def grouped(owner: Persona, channel: Channel, **settings: Any) -> AlertSource:
    """The channel groups by alertname and service over 30 minutes, as in the demo."""
    db.session.add(
        NoiseRules(
            channel_id=channel.id,
            group_by=["alertname", "service"],
            group_window_minutes=30,
            **settings,
        )
    )
    db.session.commit()
    return factories.alert_source(owner.account, channel)


def only_incident() -> Incident:
    db.session.expire_all()
    return db.session.scalars(select(Incident)).one()


def card_text(lark: LarkSandbox, receiver: str) -> str:
    [message] = lark.messages_to(receiver)
    return message.content


def test_thirty_alerts_of_one_service_make_one_incident_with_one_card_per_target(
    chat_channel: tuple[LarkIntegration, Channel],
    owner: Persona,
    client: FlaskClient,
    lark: LarkSandbox,
) -> None:
    _, channel = chat_channel
    source = grouped(owner, channel)
    first = post(client, source.key, batch(range(10)))
    assert [r["action"] for r in first.get_json()["results"]] == ["created"] + ["joined"] * 9
    outbox.run_once()
    post(client, source.key, batch(range(10, 20)))
    post(client, source.key, batch(range(20, 30)))
    later(10)
    incident = only_incident()
    assert (incident.alert_count, incident.alerts_firing) == (30, 30)
    assert len({a.labels["instance"] for a in incident.alerts}) == 30
    # One card in the chat (nobody is assigned yet), redrawn in place, not re-sent.
    assert len(rows(incident, "send_card")) == 1
    [chat_card] = lark.messages_to(CHAT)
    assert chat_card.updates == 1
    assert len(lark.calls("/open-apis/im/v1/messages/*", "PATCH")) == 1
    # A Feishu chat's card is in Chinese: "30 alerts, 30 still firing", the newest alert.
    assert "30 条告警，30 条仍在告警" in chat_card.content
    assert "最新告警（共 30 条）：p99 latency above 2 s on web-29" in chat_card.content


def test_one_recovery_never_closes_the_incident_the_last_one_does(
    chat_channel: tuple[LarkIntegration, Channel],
    owner: Persona,
    client: FlaskClient,
    lark: LarkSandbox,
) -> None:
    _, channel = chat_channel
    source = grouped(owner, channel)
    post(client, source.key, batch(range(30)))
    resolved = post(client, source.key, batch(range(29), "resolved"))
    assert {r["action"] for r in resolved.get_json()["results"]} == {"resolved"}
    incident = only_incident()
    assert incident.status is Status.TRIGGERED
    assert incident.alerts_firing == 1
    outbox.run_once()
    assert "30 条告警，1 条仍在告警" in card_text(lark, CHAT)
    english = json.dumps(incident_card(incident, locale="en", web_url="https://x/"))
    assert "30 alerts, 1 still firing" in english
    last = post(client, source.key, batch([29], "resolved"))
    assert last.get_json()["results"] == [{"action": "closed", "incident_number": 1}]
    incident = only_incident()
    assert incident.status is Status.CLOSED
    assert {a.status for a in incident.alerts} == {AlertStatus.RESOLVED}


def test_a_channel_that_leaves_closing_to_a_person_keeps_the_incident_open(
    owner: Persona, client: FlaskClient
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = grouped(owner, channel, close_when_recovered=False)
    post(client, source.key, batch(range(3)))
    outcome = post(client, source.key, batch(range(3), "resolved"))
    assert [r["action"] for r in outcome.get_json()["results"]] == ["resolved"] * 3
    incident = only_incident()
    assert (incident.status, incident.alerts_firing) == (Status.TRIGGERED, 0)


def test_other_services_and_alerts_missing_a_label_open_their_own_incidents(
    owner: Persona, client: FlaskClient
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = grouped(owner, channel)
    post(client, source.key, batch(range(3)))
    post(client, source.key, batch(range(3), service="db"))
    no_service = batch([7])
    del no_service["alerts"][0]["labels"]["service"]
    no_service["alerts"][0]["fingerprint"] = "fp-none-7"
    post(client, source.key, no_service)
    counts = sorted(i.alert_count for i in db.session.scalars(select(Incident)))
    assert counts == [1, 3, 3]


def test_a_missing_label_groups_with_its_likes_when_the_channel_counts_it(
    owner: Persona, client: FlaskClient
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = grouped(owner, channel, group_missing=True)
    body = batch(range(4))
    for alert in body["alerts"]:
        del alert["labels"]["service"]
    post(client, source.key, body)
    assert only_incident().alert_count == 4


def test_the_window_counts_from_the_last_merge(
    owner: Persona, client: FlaskClient, clock: time_machine.Traveller
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = grouped(owner, channel)
    start = utcnow()
    post(client, source.key, batch([0]))
    clock.move_to(start + timedelta(minutes=25))
    assert post(client, source.key, batch([1])).get_json()["results"][0]["action"] == "joined"
    clock.move_to(start + timedelta(minutes=54))  # 29 minutes after the last merge
    assert post(client, source.key, batch([2])).get_json()["results"][0]["action"] == "joined"
    clock.move_to(start + timedelta(minutes=85))  # 31 minutes after it
    late = post(client, source.key, batch([3])).get_json()["results"][0]
    assert late == {"action": "created", "incident_number": 2}


def test_without_a_grouping_rule_each_fingerprint_opens_its_own_incident(
    owner: Persona, client: FlaskClient
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    source = factories.alert_source(owner.account, channel)
    post(client, source.key, batch(range(5)))
    assert len(list(db.session.scalars(select(Incident)))) == 5


@pytest.mark.parametrize("thresholds", [[10, 100], [100, 10]])
def test_each_storm_threshold_writes_one_line_and_one_notice_per_chat(
    chat_channel: tuple[LarkIntegration, Channel],
    owner: Persona,
    client: FlaskClient,
    lark: LarkSandbox,
    thresholds: list[int],
) -> None:
    _, channel = chat_channel
    source = grouped(owner, channel, storm_thresholds=thresholds)
    post(client, source.key, batch(range(8)))
    post(client, source.key, batch(range(8, 15)))
    post(client, source.key, batch(range(15, 25)))
    incident = only_incident()
    storm = events(incident, "storm")
    assert [e.details["threshold"] for e in storm] == [10]
    [notice] = rows(incident, "alert_notice")
    assert notice.receive_id == CHAT
    later(10)
    texts = [m.content for m in lark.messages_to(CHAT)]
    assert len(texts) == 2  # the incident's card and the storm notice
    assert any("25 条告警，25 条仍在告警 · 告警风暴（超过 10）" in t for t in texts)
    assert any("故障 #1 出现告警风暴" in t for t in texts)
