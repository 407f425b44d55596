"""Members sign in with e-mail and password; CSRF on every form; only safe redirects."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import csrf_token, sign_in
from tests.factories import Persona


def login(client: FlaskClient, email: str, password: str, **extra: str) -> object:
    token = csrf_token(client)
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def test_a_member_signs_in_and_sees_their_name(client: FlaskClient, owner: Persona) -> None:
    sign_in(client, owner)
    page = client.get("/").get_data(as_text=True)
    assert f"Signed in as {owner.member.name}" in page


def test_a_wrong_password_says_so_and_signs_nobody_in(client: FlaskClient, owner: Persona) -> None:
    response = login(client, owner.member.email, "not the password")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "Wrong e-mail or password." in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert client.get("/").status_code == 302


def test_sign_in_attempts_are_rate_limited_per_address(client: FlaskClient, owner: Persona) -> None:
    for _ in range(10):
        login(client, owner.member.email, "guess")
    response = login(client, owner.member.email, owner.password)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "Too many attempts" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_form_without_its_csrf_token_is_refused(client: FlaskClient, owner: Persona) -> None:
    response = client.post("/login", data={"email": owner.member.email, "password": owner.password})
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_next_only_redirects_within_the_site(client: FlaskClient, owner: Persona) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = login(client, owner.member.email, owner.password, next=evil)
        assert response.headers["Location"] == "/"  # type: ignore[attr-defined]
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = login(client, owner.member.email, owner.password, next="/healthz")
    assert response.headers["Location"] == "/healthz"  # type: ignore[attr-defined]


def test_signing_out_ends_the_session(client: FlaskClient, owner: Persona) -> None:
    sign_in(client, owner)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303
    assert client.get("/").status_code == 302


def test_passwords_are_stored_hashed(owner: Persona) -> None:
    assert owner.member.password_hash
    assert owner.password not in owner.member.password_hash
    assert owner.member.check_password(owner.password)
