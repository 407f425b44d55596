"""A member's own security page: change the password, sign out everywhere."""

from __future__ import annotations

from typing import Any

import flask_babel
import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from tests.conftest import csrf_token, sign_in
from tests.factories import Persona
from webapp.extensions import db
from webapp.models import Member

PAGE = "/account/security"
NEW = "a brand new passphrase 7"


def _fresh() -> None:
    # The test's app context outlives requests: forget one browser's user and CSRF token
    # before another's request.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def _get(client: FlaskClient, path: str) -> Any:
    _fresh()
    return client.get(path)


def _post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    _fresh()
    token = csrf_token(client, PAGE)
    _fresh()
    return client.post(path, data={"csrf_token": token, **data})


def _two_browsers(app: Flask, persona: Persona) -> tuple[FlaskClient, FlaskClient]:
    here, there = app.test_client(), app.test_client()
    _fresh()
    sign_in(there, persona)
    _fresh()
    sign_in(here, persona)
    assert _get(there, PAGE).status_code == 200
    return here, there


def _change(client: FlaskClient, current: str, new: str = NEW, again: str = NEW) -> Any:
    data = {"current": current, "password": new, "confirm": again}
    return _post(client, f"{PAGE}/password", data)


def _password_is(persona: Persona, password: str) -> bool:
    member = db.session.get(Member, persona.member.id)
    assert member is not None
    db.session.refresh(member)
    return member.check_password(password)


def test_a_password_change_signs_out_the_other_browser_and_keeps_this_one(
    app: Flask, member: Persona
) -> None:
    here, there = _two_browsers(app, member)

    answer = _change(here, member.password)

    assert answer.status_code == 303 and answer.location.endswith(PAGE)
    page = _get(here, PAGE)
    assert page.status_code == 200
    assert "Password changed. 1 other session(s) signed out; you stay signed in here." in (
        page.get_data(as_text=True)
    )
    assert _get(there, PAGE).status_code == 302
    assert _password_is(member, NEW)
    assert not _password_is(member, member.password)


def test_a_wrong_current_password_changes_nothing(app: Flask, member: Persona) -> None:
    here, there = _two_browsers(app, member)

    answer = _change(here, "not my password at all")

    assert answer.status_code == 422
    assert "That is not your current password." in answer.get_data(as_text=True)
    assert _password_is(member, member.password) and not _password_is(member, NEW)
    assert _get(there, PAGE).status_code == 200
    assert _get(here, PAGE).status_code == 200


@pytest.mark.parametrize(
    "new, again, words",
    [
        ("short", "short", "Use at least 10 characters."),
        (NEW, NEW + "x", "The two passwords differ."),
        ("x" * 201, "x" * 201, "Field cannot be longer than 200 characters."),
    ],
)
def test_a_new_password_breaking_the_rules_is_refused_in_words(
    app: Flask, member: Persona, new: str, again: str, words: str
) -> None:
    here, there = _two_browsers(app, member)

    answer = _change(here, member.password, new, again)

    assert answer.status_code == 422
    assert words in answer.get_data(as_text=True)
    assert _password_is(member, member.password)
    assert _get(there, PAGE).status_code == 200


def test_a_change_without_the_csrf_token_is_refused(app: Flask, member: Persona) -> None:
    here, _ = _two_browsers(app, member)
    data = {"current": member.password, "password": NEW, "confirm": NEW}

    answer = here.post(f"{PAGE}/password", data=data)

    assert answer.status_code == 400
    assert _password_is(member, member.password)


def test_sign_out_everywhere_ends_every_session_and_the_sign_in_page_says_so(
    app: Flask, member: Persona
) -> None:
    here, there = _two_browsers(app, member)

    answer = _post(here, f"{PAGE}/sign-out-everywhere", {})

    assert answer.status_code == 303 and answer.location.endswith("/login")
    login = _get(here, "/login").get_data(as_text=True)
    assert "You were signed out everywhere (2 sessions ended). Sign in again." in login
    assert _get(here, PAGE).status_code == 302
    assert _get(there, PAGE).status_code == 302
    assert _get(there, "/admin/license").status_code == 302


def test_the_page_is_reached_from_the_landing_page_and_the_admin_header(
    client: FlaskClient, owner: Persona
) -> None:
    sign_in(client, owner)
    assert f'href="{PAGE}"' in _get(client, "/").get_data(as_text=True)
    assert f'href="{PAGE}"' in _get(client, "/admin/integrations").get_data(as_text=True)
    assert _get(client, PAGE).status_code == 200


def test_the_page_speaks_chinese(client: FlaskClient, member: Persona) -> None:
    member.member.locale = "zh"
    db.session.commit()
    sign_in(client, member)
    flask_babel.refresh()
    page = _get(client, PAGE).get_data(as_text=True)
    assert "修改密码" in page and "在所有设备上退出登录" in page


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    assert client.get(PAGE).status_code == 302
    assert client.post(f"{PAGE}/sign-out-everywhere").status_code in (302, 400)


def test_ten_wrong_current_passwords_lock_the_change_for_fifteen_minutes(
    app: Flask, member: Persona, clock: Any
) -> None:
    here, there = _two_browsers(app, member)
    for _attempt in range(10):
        assert _change(here, "a wrong guess").status_code == 422

    locked = _change(here, member.password)

    assert locked.status_code == 429
    assert "Too many attempts. Wait 15 minutes and try again." in locked.get_data(as_text=True)
    assert _password_is(member, member.password)
    assert _get(there, PAGE).status_code == 200
    clock.shift(15 * 60 + 1)
    assert _change(here, member.password).status_code == 303
    assert _password_is(member, NEW)
