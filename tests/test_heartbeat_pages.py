"""The admin's heartbeat pages and the Watchdog recipe on the alert sources page."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_heartbeats import heartbeat_for
from webapp.extensions import db
from webapp.heartbeats import service as heartbeats
from webapp.models import Heartbeat


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    token = csrf_token(client, "/admin/heartbeats")
    return client.post(path, data={**(data or {}), "csrf_token": token})


def test_the_empty_list_names_the_next_step(client: FlaskClient, owner: Persona) -> None:
    sign_in(client, owner)
    page = client.get("/admin/heartbeats").get_data(as_text=True)
    assert "No heartbeat yet" in page and "Press New heartbeat" in page


def test_creating_a_heartbeat_shows_its_ping_url(client: FlaskClient, owner: Persona) -> None:
    channel = factories.channel(owner.account, [owner.member], name="Backups")
    sign_in(client, owner)
    made = post(
        client,
        "/admin/heartbeats/new",
        {"name": "Nightly backup", "channel_id": channel.id, "period": "1440", "grace": "60"},
    )
    assert made.status_code == 303
    heartbeat = db.session.scalars(select(Heartbeat)).one()
    assert (heartbeat.period_s, heartbeat.grace_s) == (86400, 3600)
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert heartbeats.ping_url(heartbeat) in page
    listed = client.get("/admin/heartbeats").get_data(as_text=True)
    assert "Nightly backup" in listed and "Waiting for the first ping" in listed


def test_a_wrong_field_is_named_and_nothing_is_saved(client: FlaskClient, owner: Persona) -> None:
    channel = factories.channel(owner.account, [owner.member])
    sign_in(client, owner)
    refused = post(
        client,
        "/admin/heartbeats/new",
        {"name": "x", "channel_id": channel.id, "period": "0", "grace": "5"},
    )
    assert refused.status_code == 400
    assert "The period is 1 minute to 30 days" in refused.get_data(as_text=True)
    assert db.session.scalars(select(Heartbeat)).all() == []


def test_edit_pause_resume_and_delete_with_confirmation(
    client: FlaskClient, owner: Persona
) -> None:
    heartbeat = heartbeat_for(owner)
    sign_in(client, owner)
    path = f"/admin/heartbeats/{heartbeat.id}"
    edited = post(
        client,
        path,
        {"name": "Watchdog", "channel_id": heartbeat.channel_id, "period": "5", "grace": "2"},
    )
    assert edited.status_code == 303
    db.session.expire_all()
    assert (heartbeat.name, heartbeat.period_s, heartbeat.grace_s) == ("Watchdog", 300, 120)
    post(client, f"{path}/pause")
    assert "Paused" in client.get("/admin/heartbeats").get_data(as_text=True)
    post(client, f"{path}/resume")
    db.session.expire_all()
    assert heartbeat.paused is False
    assert "Delete the heartbeat" in client.get(f"{path}/delete").get_data(as_text=True)
    post(client, f"{path}/delete")
    assert db.session.get(Heartbeat, heartbeat.id) is not None  # not confirmed
    post(client, f"{path}/delete", {"confirm": "delete"})
    db.session.expire_all()
    assert db.session.scalars(select(Heartbeat)).all() == []


def test_another_accounts_heartbeat_is_404_members_403_and_csrf_is_required(
    client: FlaskClient, owner: Persona, member: Persona, outsider: Persona
) -> None:
    theirs = heartbeat_for(outsider)
    mine = heartbeat_for(owner)
    sign_in(client, owner)
    assert client.get(f"/admin/heartbeats/{theirs.id}").status_code == 404
    assert post(client, f"/admin/heartbeats/{theirs.id}/pause").status_code == 404
    assert client.post(f"/admin/heartbeats/{mine.id}/pause").status_code == 400  # no CSRF token
    db.session.expire_all()
    assert mine.paused is False
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/heartbeats")})
    sign_in(client, member)
    assert client.get("/admin/heartbeats").status_code == 403


def test_the_alert_sources_page_shows_the_watchdog_recipe_with_the_ping_url(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    before = client.get("/admin/sources/").get_data(as_text=True)
    assert "Create a heartbeat (period 5 minutes, grace 5 minutes)" in before
    heartbeat = heartbeat_for(owner)
    page = client.get("/admin/sources/").get_data(as_text=True)
    assert "alertname = Watchdog" in page
    assert "repeat_interval: 1m" in page
    assert f"- url: {heartbeats.ping_url(heartbeat)}" in page
