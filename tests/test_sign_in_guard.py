"""Sign-in does not tell which e-mails exist, and its lockout is per e-mail and client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from werkzeug import security

from tests.factories import Persona
from webapp.identity import sign_in


def _from(app: Flask, address: str, email: str, password: str) -> Any:
    client = app.test_client()
    g.pop("csrf_token", None)  # the test's app context outlives requests: no cached token
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_unknown_email_costs_the_same_hash_check_as_a_known_one(
    app: Flask, owner: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real = security.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(stored.split("$")[0])
        return real(stored, password)

    monkeypatch.setattr("webapp.models.core.check_password_hash", counting)
    monkeypatch.setattr("webapp.identity.sign_in.check_password_hash", counting)
    _from(app, "10.0.0.1", owner.member.email, "wrong")
    _from(app, "10.0.0.1", "nobody@example.com", "wrong")
    assert len(checked) == 2
    assert checked[0] == checked[1] == "pbkdf2:sha256:1000"  # the same method, the same cost


def test_ten_wrong_passwords_lock_that_email_from_that_client_only_and_tell_the_member(
    app: Flask, owner: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[tuple[int, str]] = []
    monkeypatch.setattr(sign_in, "tell_member_locked_out", lambda m, c: told.append((m.id, c)))
    email = owner.member.email
    for _ in range(10):
        assert _from(app, "10.0.0.1", email, "guess").status_code == 422
    locked = _from(app, "10.0.0.1", email, owner.password)
    assert "Too many attempts" in locked.get_data(as_text=True)
    assert _from(app, "10.0.0.2", email, owner.password).status_code == 303
    assert told == [(owner.member.id, "10.0.0.1")]  # once, when the lock began


def test_the_lock_lifts_after_15_minutes(app: Flask, owner: Persona, clock: Any) -> None:
    for _ in range(10):
        _from(app, "10.0.0.1", owner.member.email, "guess")
    assert _from(app, "10.0.0.1", owner.member.email, owner.password).status_code == 422
    clock.shift(16 * 60)
    assert _from(app, "10.0.0.1", owner.member.email, owner.password).status_code == 303


def test_the_member_is_told_by_e_mail_when_the_lock_begins(
    app: Flask, owner: Persona, smtp: Any
) -> None:
    for _ in range(10):
        _from(app, "10.0.0.7", owner.member.email, "guess")
    [mail] = smtp.all()
    assert mail.to == [owner.member.email]
    assert mail.subject == "Sign-in to On-call locked for 15 minutes"
    assert "from 10.0.0.7" in mail.body and "locked for 15 minutes" in mail.body
    _from(app, "10.0.0.7", owner.member.email, "guess")  # still locked: no second e-mail
    assert len(smtp.all()) == 1
