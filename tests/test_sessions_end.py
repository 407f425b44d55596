"""A session cookie copied before signing out opens nothing afterwards, whichever way ended it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from tests import factories
from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from tests.test_dispatch import bind
from webapp.extensions import db
from webapp.identity import sessions
from webapp.models import LoginSession
from webapp.sandbox import seed
from webapp.views.lark_context import SESSION_KEY


def _signed_in_in_lark(client: FlaskClient, owner: Persona) -> str:
    integration = factories.lark_integration(owner.account)
    binding = bind(integration, owner.member, seed.LI_LEI.open_id)
    sign_in(client, owner)
    with client.session_transaction() as session:
        session[SESSION_KEY] = {"key": integration.key, "binding": binding.id}
    return integration.key


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _get(client: FlaskClient, path: str) -> Any:
    # The test's app context outlives requests; flask-login must not reuse a cached user.
    g.pop("_login_user", None)
    return client.get(path)


def _opens(thief: FlaskClient, key: str) -> dict[str, int]:
    return {
        path: _get(thief, path).status_code
        for path in ("/admin/integrations", "/admin/license", f"/lark/{key}/incidents")
    }


def _post(client: FlaskClient, path: str, key: str) -> None:
    token = csrf_token(client, f"/lark/{key}/incidents")
    assert client.post(path, data={"csrf_token": token}).status_code == 303


WAYS: dict[str, Callable[[FlaskClient, Persona, str], Any]] = {
    "sign out": lambda c, p, k: _post(c, "/logout", k),
    "Lark sign out": lambda c, p, k: _post(c, f"/lark/{k}/sign-out", k),
    "switch account": lambda c, p, k: _post(c, f"/lark/{k}/switch-account", k),
    "password change": lambda c, p, k: sessions.change_password(p.member, "a new passphrase 42"),
    "sign out everywhere": lambda c, p, k: sessions.end_everywhere(p.member),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_a_copied_cookie_stops_working_after_each_way_of_signing_out(
    app: Flask, client: FlaskClient, owner: Persona, way: str
) -> None:
    key = _signed_in_in_lark(client, owner)
    thief = _copy(app, client)
    assert set(_opens(thief, key).values()) == {200}

    WAYS[way](client, owner, key)

    after = _opens(thief, key)
    assert after["/admin/integrations"] == after["/admin/license"] == 302
    assert after[f"/lark/{key}/incidents"] in (302, 303)
    assert "/incidents" not in (_get(thief, f"/lark/{key}/incidents").location or "")
    assert _get(client, "/admin/integrations").status_code == 302


def test_a_session_ends_after_12_idle_hours_and_after_30_days(
    app: Flask, client: FlaskClient, owner: Persona, clock: Any
) -> None:
    sign_in(client, owner)
    clock.shift(11 * 3600)
    assert _get(client, "/admin/integrations").status_code == 200
    clock.shift(11 * 3600)  # 11 h after the last request: still within the idle limit
    assert _get(client, "/admin/integrations").status_code == 200
    clock.shift(12 * 3600 + 60)
    assert _get(client, "/admin/integrations").status_code == 302

    sign_in(client, owner)
    for _step in range(71):  # a request every 10 hours: 29.6 days, never idle
        clock.shift(10 * 3600)
        assert _get(client, "/admin/license").status_code == 200
    clock.shift(10 * 3600 + 60)  # 30 days since sign-in
    assert _get(client, "/admin/integrations").status_code == 302


def test_every_sign_in_gets_a_fresh_session_id(client: FlaskClient, owner: Persona) -> None:
    sign_in(client, owner)
    first = client.get_cookie("session")
    sign_in(client, owner)
    assert client.get_cookie("session") != first
    records = db.session.query(LoginSession).order_by(LoginSession.id).all()
    assert len(records) == 2
    assert records[0].ended_at is not None and records[1].ended_at is None
