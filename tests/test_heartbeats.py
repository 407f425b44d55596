"""Heartbeats: a ping URL that must be called in time. Silence past the grace opens one
incident in the heartbeat's channel (whatever the number of workers), the next ping closes
it, and the timeline says why; tested at chosen instants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests import factories
from tests import incident_pages_support as pages
from tests.factories import Persona
from tests.races import run_together
from webapp.delivery import worker
from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.models import EventKind, Heartbeat, Incident, Source, Status, utcnow


def heartbeat_for(owner: Persona, period_min: int = 1, grace_min: int = 1) -> Heartbeat:
    channel = factories.channel(owner.account, [owner.member], name="Monitoring")
    settings = heartbeats.checked(
        owner.account.id, "Prometheus watchdog", channel.id, period_min, grace_min
    )
    return heartbeats.create(owner.account.id, settings)


def path_of(heartbeat: Heartbeat) -> str:
    return f"/ping/{heartbeat.token}"


def incidents_of(heartbeat: Heartbeat) -> list[Incident]:
    db.session.expire_all()
    return list(db.session.scalars(select(Incident).where(Incident.title == heartbeat.name)))


@pytest.mark.now("2026-06-15T02:00:00+00:00")
def test_a_one_minute_heartbeat_opens_an_incident_when_pings_stop_and_closes_it_on_the_next(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner, period_min=1, grace_min=1)
    start = utcnow()
    assert client.get(path_of(heartbeat)).status_code == 200
    clock.move_to(start + timedelta(seconds=119))  # 1 min period + 1 min grace not yet over
    assert worker.check_heartbeats(utcnow()) == 0
    assert incidents_of(heartbeat) == []
    clock.move_to(start + timedelta(seconds=121))
    assert worker.check_heartbeats(utcnow()) == 1
    [incident] = incidents_of(heartbeat)
    assert incident.status is Status.TRIGGERED
    assert incident.channel_id == heartbeat.channel_id
    assert incident.events[0].source is Source.SYSTEM
    assert incident.events[0].details["heartbeat"] == heartbeat.id
    clock.move_to(start + timedelta(minutes=10))
    assert worker.check_heartbeats(utcnow()) == 0  # still silent: still one incident
    assert len(incidents_of(heartbeat)) == 1
    assert client.post(path_of(heartbeat)).status_code == 200
    [incident] = incidents_of(heartbeat)
    assert incident.status is Status.CLOSED
    assert [e.kind for e in incident.events][-2:] == [EventKind.ALERT_RESOLVED, EventKind.RESOLVED]
    clock.move_to(start + timedelta(minutes=11))
    assert worker.check_heartbeats(utcnow()) == 0  # pinged a minute ago: healthy


def test_the_timeline_says_which_heartbeat_fell_silent_and_which_ping_closed_it(
    client: FlaskClient, owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner)
    clock.move_to(utcnow() + timedelta(minutes=3))
    worker.check_heartbeats(utcnow())
    client.head(path_of(heartbeat))
    [incident] = incidents_of(heartbeat)
    integration = pages.integration(owner.account)
    pages.enter(client, owner, integration)
    page = client.get(f"/lark/{integration.key}/incidents/{incident.number}").get_data(as_text=True)
    assert "No ping from Prometheus watchdog for 3 minutes" in page
    assert "Prometheus watchdog pinged again" in page


def test_a_ping_answers_get_head_and_post_and_an_unknown_token_404(
    client: FlaskClient, owner: Persona
) -> None:
    heartbeat = heartbeat_for(owner)
    assert client.get(path_of(heartbeat)).get_data(as_text=True) == "OK\n"
    assert client.head(path_of(heartbeat)).status_code == 200
    assert client.post(path_of(heartbeat), data=b"anything").status_code == 200  # no CSRF
    missing = client.get("/ping/not-a-token")
    assert missing.status_code == 404
    assert "copy it again" in missing.get_data(as_text=True)
    db.session.expire_all()
    assert heartbeat.last_ping_at is not None


def test_pings_are_rate_limited_per_url(client: FlaskClient, owner: Persona) -> None:
    heartbeat = heartbeat_for(owner)
    answers = [client.get(path_of(heartbeat)).status_code for _ in range(61)]
    assert answers[:60] == [200] * 60
    limited = client.get(path_of(heartbeat))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "60"


def test_a_paused_heartbeat_opens_nothing_and_resuming_counts_from_then(
    owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner)
    heartbeats.pause(heartbeat)
    clock.move_to(utcnow() + timedelta(hours=1))
    assert worker.check_heartbeats(utcnow()) == 0
    heartbeats.resume(heartbeat)
    clock.move_to(utcnow() + timedelta(seconds=90))
    assert worker.check_heartbeats(utcnow()) == 0
    clock.move_to(utcnow() + timedelta(seconds=60))
    assert worker.check_heartbeats(utcnow()) == 1


def test_a_heartbeat_that_never_pinged_is_silent_too(
    owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner)
    clock.move_to(utcnow() + timedelta(minutes=3))
    assert worker.check_heartbeats(utcnow()) == 1
    assert len(incidents_of(heartbeat)) == 1


def test_a_deleted_heartbeat_no_longer_answers_pings(client: FlaskClient, owner: Persona) -> None:
    heartbeat = heartbeat_for(owner)
    path = path_of(heartbeat)
    heartbeats.delete(heartbeat)
    assert client.get(path).status_code == 404


def test_the_token_is_stored_hashed_and_sealed_never_plain(owner: Persona) -> None:
    heartbeat = heartbeat_for(owner)
    token = heartbeat.token
    assert len(token) >= 32
    assert token not in heartbeat.token_hash and token not in heartbeat.token_sealed


def test_bad_settings_name_the_field(owner: Persona, outsider: Persona) -> None:
    theirs = factories.channel(outsider.account, [outsider.member])
    mine = factories.channel(owner.account, [owner.member])
    cases = [
        ("", mine.id, 1, 1, "name"),
        ("x", theirs.id, 1, 1, "channel_id"),
        ("x", mine.id, 0, 1, "period"),
        ("x", mine.id, 1, -1, "grace"),
    ]
    for name, channel_id, period, grace, field in cases:
        with pytest.raises(heartbeats.InvalidHeartbeat) as caught:
            heartbeats.checked(owner.account.id, name, channel_id, period, grace)
        assert caught.value.field == field


def test_many_workers_checking_at_once_open_one_incident(
    app: Flask, owner: Persona, clock: time_machine.Traveller
) -> None:
    heartbeat = heartbeat_for(owner)
    heartbeat_id = heartbeat.id
    clock.move_to(utcnow() + timedelta(minutes=3))
    now = utcnow()

    def check(ready: Callable[[], None]) -> str:
        ready()
        return str(heartbeats.check_due(now))

    opened = run_together(app, [check] * 6)
    assert sorted(opened) == ["0", "0", "0", "0", "0", "1"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
    incident_id = db.session.get(Heartbeat, heartbeat_id).incident_id  # type: ignore[union-attr]
    assert incident_id is not None
