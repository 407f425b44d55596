"""REST API v1, heartbeats: list, one, create (with Idempotency-Key), pause and resume,
delete; the ping URL goes to write tokens only and needs no token itself; another
account's heartbeat is 404, a read token cannot change one (403)."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask.testing import FlaskClient

from tests import factories
from tests.api_support import call, fields, problem, token_of
from tests.factories import Persona
from tests.test_heartbeats import heartbeat_for
from webapp.delivery import worker
from webapp.extensions import db
from webapp.models import Heartbeat, TokenScope, utcnow


def test_a_program_creates_a_heartbeat_and_pings_it_without_a_token(
    client: FlaskClient, owner: Persona
) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Backups")
    secret = token_of(owner)
    body = {"name": "Nightly backup", "channel_id": channel.id, "period_minutes": 1440}
    made = call(client, "POST", "/heartbeats", secret, body)
    assert made.status_code == 201, made.get_data(as_text=True)
    out = made.get_json()
    assert out["name"] == "Nightly backup"
    assert out["channel"] == {"id": channel.id, "name": "Backups"}
    assert (out["period_minutes"], out["grace_minutes"]) == (1440, 5)
    assert out["state"] == "waiting" and out["incident_number"] is None
    ping = out["ping_url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert client.post(f"/{ping}").status_code == 200  # no Authorization header
    again = call(client, "GET", f"/heartbeats/{out['id']}", secret).get_json()
    assert again["state"] == "up" and again["last_ping_at"] is not None


def test_the_same_idempotency_key_creates_one_heartbeat(
    client: FlaskClient, owner: Persona
) -> None:
    channel = factories.channel(owner.account, [owner.member])
    secret = token_of(owner)
    body = {"name": "cron", "channel_id": channel.id, "period_minutes": 5}
    first = call(client, "POST", "/heartbeats", secret, body, **{"Idempotency-Key": "k1"})
    second = call(client, "POST", "/heartbeats", secret, body, **{"Idempotency-Key": "k1"})
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert db.session.query(Heartbeat).count() == 1


def test_wrong_fields_are_named_in_problem_details(client: FlaskClient, owner: Persona) -> None:
    theirs = factories.channel(factories.persona("outsider").account, [])
    secret = token_of(owner)
    body = {"name": " ", "channel_id": 0, "period_minutes": 0, "grace_minutes": -1}
    wrong = problem(call(client, "POST", "/heartbeats", secret, body), 422)
    assert fields(wrong) >= {"name", "channel_id", "period_minutes", "grace_minutes"}
    body = {"name": "x", "channel_id": theirs.id, "period_minutes": 5}
    elsewhere = problem(call(client, "POST", "/heartbeats", secret, body), 422)
    assert fields(elsewhere) == {"channel_id"}
    assert db.session.query(Heartbeat).count() == 0


def test_list_pause_resume_and_delete(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner)
    secret = token_of(owner)
    [listed] = call(client, "GET", "/heartbeats", secret).get_json()["items"]
    assert listed["id"] == heartbeat.id and listed["state"] == "waiting"
    paused = call(client, "POST", f"/heartbeats/{heartbeat.id}/pause", secret).get_json()
    assert paused["state"] == "paused"
    clock.move_to(utcnow() + timedelta(hours=1))
    assert worker.check_heartbeats(utcnow()) == 0
    resumed = call(client, "POST", f"/heartbeats/{heartbeat.id}/resume", secret).get_json()
    assert resumed["state"] == "waiting"
    clock.move_to(utcnow() + timedelta(minutes=3))
    worker.check_heartbeats(utcnow())
    down = call(client, "GET", f"/heartbeats/{heartbeat.id}", secret).get_json()
    assert down["state"] == "down" and down["incident_number"] == 1
    deleted = call(client, "DELETE", f"/heartbeats/{heartbeat.id}", secret)
    assert deleted.status_code == 200 and deleted.get_json()["id"] == heartbeat.id
    problem(call(client, "GET", f"/heartbeats/{heartbeat.id}", secret), 404)


def test_a_read_token_sees_no_ping_url_and_cannot_change_a_heartbeat(
    client: FlaskClient, owner: Persona
) -> None:
    heartbeat = heartbeat_for(owner)
    secret = token_of(owner, TokenScope.READ)
    seen = call(client, "GET", f"/heartbeats/{heartbeat.id}", secret).get_json()
    assert seen["ping_url"] is None
    problem(call(client, "POST", f"/heartbeats/{heartbeat.id}/pause", secret), 403)
    problem(call(client, "DELETE", f"/heartbeats/{heartbeat.id}", secret), 403)
    db.session.expire_all()
    assert db.session.get(Heartbeat, heartbeat.id).paused is False  # type: ignore[union-attr]


def test_another_accounts_heartbeat_is_404(
    client: FlaskClient, owner: Persona, outsider: Persona
) -> None:
    theirs = heartbeat_for(outsider)
    secret = token_of(owner)
    for method, path in (
        ("GET", ""),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("DELETE", ""),
    ):
        problem(call(client, method, f"/heartbeats/{theirs.id}{path}", secret), 404)
    assert call(client, "GET", "/heartbeats", secret).get_json()["items"] == []
    assert db.session.get(Heartbeat, theirs.id) is not None
