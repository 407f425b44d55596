"""The admin's webhook pages: create (the secret shown once, then on demand), refuse a URL
that cannot take a webhook and say why, the delivery log with "send again", "send a test
event", pause, delete with confirmation; members 403, another account's endpoint 404, CSRF."""

from __future__ import annotations

from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_webhooks import drain, endpoint_for
from tests.webhook_fixtures import WebhookReceiver
from webapp.extensions import db
from webapp.models import Delivery, WebhookEndpoint
from webapp.webhooks import endpoints


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    token = csrf_token(client, "/admin/webhooks")
    return client.post(path, data={**(data or {}), "csrf_token": token})


def test_the_empty_list_names_the_next_step(client: FlaskClient, owner: Persona) -> None:
    sign_in(client, owner)
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "No webhook endpoint yet" in page
    assert "Press New endpoint" in page


def test_creating_an_endpoint_shows_its_secret_once_and_again_on_demand(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Payments")
    sign_in(client, owner)
    created = post(
        client,
        "/admin/webhooks/new",
        {
            "url": receiver.url,
            "description": "ticket system",
            "event_types": ["incident.resolved", "incident.triggered"],
            "channel_ids": [str(channel.id)],
        },
    )
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    page = created.get_data(as_text=True)
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in page
    assert endpoint.event_types == ["incident.resolved", "incident.triggered"]
    assert endpoint.channel_ids == [channel.id]
    detail = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert endpoint.secret not in detail and "Show the secret" in detail
    shown = post(client, f"/admin/webhooks/{endpoint.id}/secret")
    assert endpoint.secret in shown.get_data(as_text=True)


def test_a_url_that_cannot_take_a_webhook_is_refused_with_the_reason(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    for url, reason in (
        ("ftp://files.example.com/in", "a webhook is an HTTP POST"),
        ("http://169.254.169.254/latest/meta-data/", "metadata service"),
    ):
        refused = post(client, "/admin/webhooks/new", {"url": url})
        assert refused.status_code == 400
        assert reason in refused.get_data(as_text=True)
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_the_log_shows_each_delivery_and_sends_one_again(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    receiver.answers.append((200, b'{"thanks": "received"}', 0.0, {}))
    factories.incident(owner.account)
    drain()
    sign_in(client, owner)
    log = client.get(f"/admin/webhooks/{endpoint.id}/log").get_data(as_text=True)
    [row] = db.session.scalars(select(Delivery)).all()
    assert 'id="webhook-log"' in log
    assert "Incident triggered" in log and row.uuid in log
    assert "HTTP 200" in log and "received" in log  # the answer's first bytes, escaped
    again = post(client, f"/admin/webhooks/{endpoint.id}/deliveries/{row.id}/again")
    assert again.status_code == 303
    drain()
    assert [d.id for d in receiver.received] == [row.uuid, row.uuid]


def test_send_a_test_event_from_the_page(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    sign_in(client, owner)
    sent = post(client, f"/admin/webhooks/{endpoint.id}/test")
    assert sent.status_code == 303
    drain()
    assert receiver.types() == ["webhook.test"]
    page = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "Test event" in page and "Delivered" in page


def test_pause_and_turn_on_again(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    sign_in(client, owner)
    post(client, f"/admin/webhooks/{endpoint.id}/pause")
    factories.incident(owner.account)
    drain()
    assert receiver.received == []
    assert "Paused" in client.get("/admin/webhooks").get_data(as_text=True)
    post(client, f"/admin/webhooks/{endpoint.id}/resume")
    factories.incident(owner.account)
    drain()
    assert len(receiver.received) == 1


def test_delete_asks_first_then_removes_the_endpoint_and_its_log(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    factories.incident(owner.account)
    sign_in(client, owner)
    asked = client.get(f"/admin/webhooks/{endpoint.id}/delete").get_data(as_text=True)
    assert "Delete the endpoint" in asked
    unconfirmed = post(client, f"/admin/webhooks/{endpoint.id}/delete")
    assert unconfirmed.status_code == 200
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None
    post(client, f"/admin/webhooks/{endpoint.id}/delete", {"confirm": "delete"})
    db.session.expire_all()
    assert db.session.scalars(select(WebhookEndpoint)).all() == []
    assert db.session.scalars(select(Delivery)).all() == []


def test_another_accounts_endpoint_answers_404_and_members_get_403(
    client: FlaskClient,
    owner: Persona,
    member: Persona,
    outsider: Persona,
    receiver: WebhookReceiver,
) -> None:
    theirs = endpoint_for(outsider, receiver)
    sign_in(client, owner)
    assert client.get(f"/admin/webhooks/{theirs.id}").status_code == 404
    for path in ("secret", "test", "pause"):
        assert post(client, f"/admin/webhooks/{theirs.id}/{path}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/webhooks")})
    sign_in(client, member)
    assert client.get("/admin/webhooks").status_code == 403
    assert client.get(f"/admin/webhooks/{theirs.id}").status_code == 403


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    sign_in(client, owner)
    refused = client.post(f"/admin/webhooks/{endpoint.id}/pause")
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).enabled is True  # type: ignore[union-attr]


def test_why_the_worker_switched_it_off_is_told_in_the_readers_language(
    client: FlaskClient, owner: Persona, receiver: WebhookReceiver
) -> None:
    endpoint = endpoint_for(owner, receiver)
    endpoints.disable(endpoint, endpoints.GONE)
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    refresh()  # the test's app context outlives each request: forget the last one's locale
    page = client.get(f"/admin/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "接收方返回 410 Gone：它要求不再发送事件。" in page
