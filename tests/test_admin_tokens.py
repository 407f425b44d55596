"""The API tokens admin page: made with the secret shown once, listed with the last use,
revoked after a confirmation; members get 403, another account's token 404."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select

from tests import factories
from tests.conftest import csrf_token, sign_in
from webapp.extensions import db
from webapp.models import ApiToken, utcnow
from webapp.tokens import service as tokens
from webapp.tokens.service import TokenRefused, TokenScope

SECRET = re.compile(r'id="token-secret" type="text" readonly value="(oncall_[^"]+)"')


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def make_on_page(client: FlaskClient, **form: str) -> tuple[int, str]:
    token = csrf_token(client, "/admin/tokens/")
    response = client.post("/admin/tokens/", data={"csrf_token": token, **form})
    return response.status_code, response.get_data(as_text=True)


def test_a_made_token_shows_its_secret_once_and_then_only_its_prefix(
    app: Flask, client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    status, page = make_on_page(client, name="deploy-pipeline", scope="write")
    assert status == 201
    secret = SECRET.search(page)
    assert secret, page
    assert "It is shown only now" in text(page)
    with app.test_request_context():
        assert tokens.authenticate(f"Bearer {secret.group(1)}", TokenScope.WRITE).name == (
            "deploy-pipeline"
        )
    later = client.get("/admin/tokens/")
    assert later.headers["Cache-Control"] == "no-store"
    listed = later.get_data(as_text=True)
    assert secret.group(1) not in listed
    row = text(listed)
    prefix = secret.group(1).split("_")[1]
    assert f"deploy-pipeline oncall_{prefix}_… read and write {owner.member.name}" in row


def test_the_list_shows_last_use_and_expiry(client: FlaskClient, owner: factories.Persona) -> None:
    token, _secret = tokens.create(
        owner.account.id, "nightly", TokenScope.READ, utcnow() + timedelta(days=3), owner.member
    )
    token.last_used_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    sign_in(client, owner)
    row = text(client.get("/admin/tokens/").get_data(as_text=True))
    assert "nightly" in row
    assert "5 minutes ago" in row
    assert "never" not in row.split("nightly", 1)[1].split("Revoke", 1)[0]


def test_an_empty_list_says_what_to_do(client: FlaskClient, owner: factories.Persona) -> None:
    sign_in(client, owner)
    page = text(client.get("/admin/tokens/").get_data(as_text=True))
    assert "No token yet. Make one below for each script or tool" in page


def test_a_token_without_a_name_or_with_a_past_expiry_names_the_field(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    status, page = make_on_page(client, name="", scope="read")
    assert status == 422
    assert "Give the token a name" in text(page)
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    status, page = make_on_page(client, name="x", scope="read", expires_at=yesterday)
    assert status == 422
    assert "The expiry must be in the future." in text(page)
    assert 'id="t-expires" name="expires_at" type="date" value="' + yesterday in page
    assert db.session.scalars(select(ApiToken)).all() == []


def test_a_chosen_day_ends_the_token_at_its_start(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    day = (utcnow() + timedelta(days=10)).date()
    status, _page = make_on_page(client, name="temp", scope="read", expires_at=day.isoformat())
    assert status == 201
    token = db.session.scalars(select(ApiToken)).one()
    assert token.expires_at is not None
    assert abs(token.expires_at.date() - day) <= timedelta(days=1)


def test_revoking_asks_first_then_ends_the_token(
    app: Flask, client: FlaskClient, owner: factories.Persona
) -> None:
    token, secret = tokens.create(owner.account.id, "ci", TokenScope.WRITE, None, owner.member)
    sign_in(client, owner)
    ask = client.get(f"/admin/tokens/{token.id}/revoke")
    assert "Revoke “ci”?" in text(ask.get_data(as_text=True))
    csrf = csrf_token(client, f"/admin/tokens/{token.id}/revoke")
    unconfirmed = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None  # type: ignore[union-attr]
    done = client.post(
        f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf, "confirm": "revoke"}
    )
    assert done.status_code == 303
    page = text(client.get("/admin/tokens/").get_data(as_text=True))
    assert "Token “ci” revoked" in page
    assert "revoked" in page.split("ci", 1)[1]
    with app.test_request_context():
        try:
            tokens.authenticate(f"Bearer {secret}", TokenScope.READ)
        except TokenRefused as refusal:
            assert refusal.status == 401
        else:
            raise AssertionError("a revoked token was accepted")


def test_a_form_without_its_csrf_token_is_refused(
    client: FlaskClient, owner: factories.Persona
) -> None:
    sign_in(client, owner)
    response = client.post("/admin/tokens/", data={"name": "x", "scope": "write"})
    assert response.status_code == 400
    assert db.session.scalars(select(ApiToken)).all() == []


def test_members_get_403(client: FlaskClient, member: factories.Persona) -> None:
    sign_in(client, member)
    assert client.get("/admin/tokens/").status_code == 403
    assert client.post("/admin/tokens/", data={"name": "x"}).status_code in (400, 403)


def test_another_accounts_token_answers_404(
    client: FlaskClient, owner: factories.Persona, outsider: factories.Persona
) -> None:
    theirs, _secret = tokens.create(
        outsider.account.id, "theirs", TokenScope.WRITE, None, outsider.member
    )
    sign_in(client, owner)
    assert client.get(f"/admin/tokens/{theirs.id}/revoke").status_code == 404
    csrf = csrf_token(client, "/admin/tokens/")
    answer = client.post(
        f"/admin/tokens/{theirs.id}/revoke", data={"csrf_token": csrf, "confirm": "revoke"}
    )
    assert answer.status_code == 404
    assert "theirs" not in client.get("/admin/tokens/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ApiToken, theirs.id).revoked_at is None  # type: ignore[union-attr]


def test_the_page_speaks_chinese(client: FlaskClient, owner: factories.Persona) -> None:
    owner.member.locale = "zh"
    db.session.commit()
    sign_in(client, owner)
    refresh()  # the test's app context outlives each request: forget the last one's locale
    page = text(client.get("/admin/tokens/").get_data(as_text=True))
    assert "API 令牌" in page
    assert "Make a token" not in page
    assert "创建令牌" in page
