"""Outbound webhooks: every incident change reaches a real receiver, signed per Standard
Webhooks (verified with the `standardwebhooks` library), once per `webhook-id`, through
retries, timeouts and a worker killed mid-send; failing endpoints are switched off."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.api_support import call, token_of
from tests.factories import Persona
from tests.webhook_fixtures import WebhookReceiver, body_of
from webapp.delivery import webhook_kinds as sending
from webapp.delivery import worker
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import (
    Delivery,
    DeliveryStatus,
    EventKind,
    Severity,
    Source,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from webapp.sandbox.inbox import Inbox
from webapp.webhooks import emit, endpoints


def endpoint_for(
    owner: Persona,
    receiver: WebhookReceiver,
    types: list[str] | None = None,
    channels: list[int] | None = None,
) -> WebhookEndpoint:
    settings = endpoints.checked(owner.account.id, receiver.url, "", types or [], channels or [])
    endpoint = endpoints.create(owner.account.id, settings)
    receiver.secret = endpoint.secret
    return endpoint


def drain() -> None:
    """Run the worker until nothing is due now."""
    for _ in range(10):
        if worker.run_once() == 0:
            return


def rows() -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).where(Delivery.kind == "webhook")))


def test_every_incident_change_arrives_signed_and_verifies_with_standardwebhooks(
    owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint_for(owner, receiver)
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    incident = factories.incident(owner.account, title="api 5xx", ch=channel)
    actor = Actor(owner.member, Source.WEB)
    incidents.acknowledge(incident, actor)
    incidents.comment(incident, actor, "rolling back")
    incidents.reassign(incident, actor, [owner.member])
    incidents.resolve(incident, actor)
    incidents.reopen(incident, actor)
    incidents.record(incident, Actor.system(), EventKind.ESCALATED, {"layer": 2})
    db.session.commit()
    drain()
    assert receiver.refused == []
    assert [body_of(d)["type"] for d in receiver.received] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.commented",
        "incident.reassigned",
        "incident.resolved",
        "incident.reopened",
        "incident.escalated",
    ]
    assert len(receiver.processed) == 7  # each verified by the library, each id once
    acknowledged = body_of(receiver.received[1])["data"]
    assert acknowledged["id"] == incident.id
    assert acknowledged["title"] == "api 5xx"
    assert acknowledged["status"] == "Processing"
    assert acknowledged["severity"] == "Critical"
    assert acknowledged["channel"] == {"id": channel.id, "name": "Payments"}
    assert acknowledged["assignees"] == [{"id": owner.member.id, "name": owner.member.name}]
    assert acknowledged["actor"]["source"] == "web"
    assert body_of(receiver.received[2])["data"]["comment"] == "rolling back"
    assert all(r.status is DeliveryStatus.DELIVERED for r in rows())


def test_the_incident_url_points_at_its_page_in_the_web_app(
    app: Flask, owner: Persona, receiver: WebhookReceiver
) -> None:
    integration = factories.lark_integration(owner.account)
    endpoint_for(owner, receiver)
    incident = factories.incident(owner.account)
    drain()
    url = body_of(receiver.received[0])["data"]["url"]
    assert url == (
        f"{app.config['PUBLIC_BASE_URL']}/lark/{integration.key}/incidents/{incident.number}"
    )


def test_a_change_that_is_rolled_back_sends_nothing(
    owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint_for(owner, receiver)
    incidents.open_incident(
        owner.account.id,
        title="never",
        severity=Severity.INFO,
        actor=Actor.api(),
        commit=False,
    )
    db.session.rollback()
    drain()
    assert rows() == []
    assert receiver.received == []


def test_filters_pick_event_types_and_channels(owner: Persona, receiver: WebhookReceiver) -> None:
    payments = factories.channel(owner.account, [owner.member], name="Payments")
    search = factories.channel(owner.account, [owner.member], name="Search")
    endpoint_for(owner, receiver, types=[WebhookEvent.RESOLVED], channels=[payments.id])
    actor = Actor(owner.member, Source.WEB)
    for channel in (payments, search):
        incident = factories.incident(owner.account, title=channel.name, ch=channel)
        incidents.resolve(incident, actor)
    drain()
    assert [(e["type"], e["data"]["title"]) for e in receiver.processed.values()] == [
        ("incident.resolved", "Payments")
    ]


def test_another_accounts_endpoint_hears_nothing(
    owner: Persona, outsider: Persona, receiver: WebhookReceiver
) -> None:
    endpoint_for(outsider, receiver)
    factories.incident(owner.account)
    drain()
    assert receiver.received == []


def test_a_killed_worker_resends_the_same_webhook_id_and_the_receiver_keeps_one(
    owner: Persona,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
) -> None:
    endpoint_for(owner, receiver)
    factories.incident(owner.account)
    real_post = sending.post

    class Killed(BaseException):
        """The process dies: no handler runs, nothing after the send is committed."""

    def post_then_die(*args: object, **kwargs: object) -> sending.Answer:
        real_post(*args, **kwargs)  # type: ignore[arg-type]
        raise Killed

    monkeypatch.setattr(sending, "post", post_then_die)
    with pytest.raises(Killed):
        worker.run_once()
    db.session.rollback()  # the dead worker's transaction never commits
    [row] = rows()
    assert row.status is DeliveryStatus.PENDING and row.attempts == 0
    monkeypatch.setattr(sending, "post", real_post)
    drain()
    assert len(receiver.received) == 1  # its lease still holds: nobody else takes the row
    clock.move_to(utcnow() + worker.LEASE + timedelta(seconds=1))
    drain()
    first, second = receiver.received
    assert first.id == second.id == row.uuid
    assert first.body == second.body
    assert list(receiver.processed) == [row.uuid]  # processed once
    [row] = rows()
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 1


def test_a_receiver_slower_than_the_timeout_gets_the_same_event_again_not_a_new_one(
    owner: Persona,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
) -> None:
    monkeypatch.setattr(sending, "TIMEOUT", 0.3)
    endpoint_for(owner, receiver)
    factories.incident(owner.account)
    receiver.answers.append((200, b"late", 1.0, {}))
    drain()
    [row] = rows()
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error == "no answer within 0.3 s"
    clock.move_to(row.next_attempt_at + timedelta(seconds=1))
    drain()
    [row] = rows()
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 2
    assert {d.id for d in receiver.received} == {row.uuid}
    assert len(receiver.processed) == 1


def test_the_delivery_log_keeps_status_time_and_the_first_500_bytes(
    owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint_for(owner, receiver)
    receiver.answers.append((503, b"x" * 2000, 0.0, {}))
    factories.incident(owner.account)
    drain()
    [row] = rows()
    response = row.payload["response"]
    assert response["status"] == 503
    assert response["body"] == "x" * 500
    assert isinstance(response["ms"], int) and response["ms"] >= 0
    assert row.attempts == 1 and row.status is DeliveryStatus.PENDING
    assert row.last_error == "HTTP 503"


def test_a_redirect_is_not_followed(owner: Persona, receiver: WebhookReceiver) -> None:
    endpoint_for(owner, receiver)
    receiver.answers.append((302, b"", 0.0, {"Location": "http://169.254.169.254/latest"}))
    factories.incident(owner.account)
    drain()
    [row] = rows()
    assert len(receiver.received) == 1
    assert row.status is DeliveryStatus.PENDING
    assert row.last_error == "redirect to http://169.254.169.254/latest not followed"


def test_410_gone_switches_the_endpoint_off(owner: Persona, receiver: WebhookReceiver) -> None:
    endpoint = endpoint_for(owner, receiver)
    receiver.answers.append((410, b"", 0.0, {}))
    factories.incident(owner.account)
    factories.incident(owner.account)
    drain()
    db.session.expire_all()
    assert endpoint.enabled is False
    assert "410 Gone" in (endpoints.disabled_words(endpoint) or "")
    assert sorted(r.status for r in rows()) == [DeliveryStatus.CANCELLED, DeliveryStatus.FAILED]
    factories.incident(owner.account)
    assert len(rows()) == 2  # a switched-off endpoint is not queued


def test_an_endpoint_failing_for_a_day_is_switched_off_and_the_admins_are_emailed(
    owner: Persona,
    member: Persona,
    receiver: WebhookReceiver,
    smtp: Inbox,
    clock: time_machine.Traveller,
) -> None:
    endpoint = endpoint_for(owner, receiver)
    receiver.answer = None
    receiver.answers.extend([(500, b"down", 0.0, {})] * 3)
    factories.incident(owner.account)
    start = utcnow()
    drain()
    clock.move_to(start + timedelta(hours=23))
    drain()
    db.session.expire_all()
    assert endpoint.enabled is True
    clock.move_to(start + timedelta(hours=24, minutes=1))
    drain()
    db.session.expire_all()
    assert endpoint.enabled is False
    words = endpoints.disabled_words(endpoint) or ""
    assert words == "Every delivery failed for 24 hours; the last answer: HTTP 500"
    [row] = rows()
    assert row.status is DeliveryStatus.FAILED and row.attempts == 3
    [mail] = smtp.to(owner.member.email)
    assert receiver.url in mail.subject
    assert words in mail.body
    assert f"/admin/webhooks/{endpoint.id}" in mail.body
    assert smtp.to(member.member.email) == []  # a plain member is not an admin


def test_a_success_resets_the_day_of_failures(
    owner: Persona, receiver: WebhookReceiver, clock: time_machine.Traveller
) -> None:
    endpoint = endpoint_for(owner, receiver)
    receiver.answers.append((500, b"", 0.0, {}))
    factories.incident(owner.account)
    drain()
    db.session.expire_all()
    assert endpoint.failing_since is not None
    clock.move_to(utcnow() + timedelta(minutes=2))
    drain()
    db.session.expire_all()
    assert endpoint.failing_since is None and endpoint.enabled is True


def test_send_again_resends_the_same_message(owner: Persona, receiver: WebhookReceiver) -> None:
    endpoint_for(owner, receiver)
    factories.incident(owner.account)
    drain()
    [row] = rows()
    emit.send_again(row)
    drain()
    first, second = receiver.received
    assert first.id == second.id and first.body == second.body
    assert rows()[0].attempts == 2


def test_a_test_event_reaches_the_endpoint_whatever_its_filters(
    owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver, types=[WebhookEvent.RESOLVED])
    emit.send_test(endpoint)
    drain()
    assert receiver.types() == ["webhook.test"]


def test_loopback_needs_the_setting_and_link_local_is_always_refused(
    app: Flask, owner: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(endpoints.InvalidEndpoint, match=re.escape("169.254.169.254")):
        endpoints.checked(owner.account.id, "http://169.254.169.254/latest/meta-data", "", [], [])
    with pytest.raises(endpoints.InvalidEndpoint, match=re.escape("http:// or https://")):
        endpoints.checked(owner.account.id, "ftp://example.com/hooks", "", [], [])
    with pytest.raises(endpoints.InvalidEndpoint, match="link-local"):
        endpoints.checked(owner.account.id, "http://[fe80::1]/", "", [], [])
    endpoints.checked(owner.account.id, "http://127.0.0.1:9/hooks", "", [], [])
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    with pytest.raises(endpoints.InvalidEndpoint, match="WEBHOOKS_ALLOW_LOOPBACK"):
        endpoints.checked(owner.account.id, "http://127.0.0.1:9/hooks", "", [], [])
    endpoints.checked(owner.account.id, "http://10.1.2.3/hooks", "", [], [])  # operator's LAN


def test_a_host_that_resolves_to_loopback_is_refused_at_send_time(
    app: Flask, owner: Persona, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint_for(owner, receiver)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_LOOPBACK", False)
    factories.incident(owner.account)
    drain()
    [row] = rows()
    assert receiver.received == []
    assert "WEBHOOKS_ALLOW_LOOPBACK" in (row.last_error or "")
    assert row.status is DeliveryStatus.PENDING


def test_a_change_made_through_the_rest_api_names_its_token(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint_for(owner, receiver)
    secret = token_of(owner, name="deploy-pipeline")
    body = {"title": "deploy failed", "severity": "Critical"}
    declared = call(client, "POST", "/incidents", secret, body)
    assert declared.status_code == 201, declared.get_data(as_text=True)
    drain()
    [event] = receiver.processed.values()
    assert event["type"] == "incident.triggered"
    assert event["data"]["actor"] == {
        "member_id": None,
        "name": None,
        "source": "api",
        "token": "deploy-pipeline",
    }


def test_another_capability_emits_its_own_event_type_in_its_transaction(
    owner: Persona, receiver: WebhookReceiver
) -> None:
    """How a silence or an alert storm reaches the endpoints that ask for it."""
    channel = factories.channel(owner.account, [owner.member])
    endpoint_for(owner, receiver, types=[WebhookEvent.SILENCED])
    data = {"silence": {"id": 7, "matchers": [{"name": "job", "value": "api"}]}}
    assert emit.emit(owner.account.id, WebhookEvent.STORM, {}, channel.id) == 0
    assert emit.emit(owner.account.id, WebhookEvent.SILENCED, data, channel.id) == 1
    db.session.rollback()  # the capability's change failed: nothing goes out
    assert rows() == []
    emit.emit(owner.account.id, WebhookEvent.SILENCED, data, channel.id)
    db.session.commit()
    drain()
    [event] = receiver.processed.values()
    assert (event["type"], event["data"]) == ("alert.silenced", data)
