"""REST API v1 errors: RFC 9457 problem details for bad bodies, unknown paths and methods,
refused tokens and the per-token rate limit; nothing is written by a refused request."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories
from tests.api_support import bearer, problem, token_of
from webapp.extensions import db
from webapp.models import Incident
from webapp.tokens import service as tokens


@pytest.fixture
def secret(owner: factories.Persona) -> str:
    return token_of(owner)


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "x", "severity": ', b"\xff\xfe not utf-8", b"[" * 100_000 + b"]" * 100_000],
    ids=["cut short", "not utf-8", "nested 100,000 deep"],
)
def test_a_body_that_is_not_json_is_400_and_writes_nothing(
    client: FlaskClient, secret: str, raw: bytes
) -> None:
    answer = client.post(
        "/api/v1/incidents", data=raw, content_type="application/json", headers=bearer(secret)
    )
    assert problem(answer, 400)["detail"] == "The body is not valid JSON."
    assert db.session.scalars(select(Incident)).all() == []


def test_a_form_body_is_415(client: FlaskClient, secret: str) -> None:
    answer = client.post(
        "/api/v1/incidents", data={"title": "x", "severity": "Info"}, headers=bearer(secret)
    )
    assert problem(answer, 415)["detail"] == "Send the body as application/json."


def test_an_unknown_path_and_a_wrong_method_are_problems_too(
    client: FlaskClient, secret: str
) -> None:
    assert problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404)
    wrong = client.delete("/api/v1/incidents", headers=bearer(secret))
    assert problem(wrong, 405)["type"].endswith("method-not-allowed")
    assert "GET" in wrong.headers["Allow"] and "POST" in wrong.headers["Allow"]


def test_a_revoked_token_is_401_at_once(client: FlaskClient, owner: factories.Persona) -> None:
    token, secret = tokens.create(owner.account.id, "ci", tokens.TokenScope.READ, None, None)
    assert client.get("/api/v1/incidents", headers=bearer(secret)).status_code == 200
    tokens.revoke(token, owner.member)
    refused = problem(client.get("/api/v1/incidents", headers=bearer(secret)), 401)
    assert refused["detail"] == "This token was revoked. Ask an admin for a new one."


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(
    app: Flask, client: FlaskClient, owner: factories.Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3/minute")
    busy, calm = token_of(owner, name="busy"), token_of(owner, name="calm")
    for _ in range(3):
        assert client.get("/api/v1/incidents", headers=bearer(busy)).status_code == 200
    refused = client.get("/api/v1/incidents", headers=bearer(busy))
    assert "too many requests" in problem(refused, 429)["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/incidents", headers=bearer(calm)).status_code == 200


def test_wrong_tokens_from_one_address_are_429_after_twenty(client: FlaskClient) -> None:
    wrong = bearer("oncall_0000abcd_" + "x" * 43)
    for _ in range(20):
        problem(client.get("/api/v1/incidents", headers=wrong), 401)
    locked = client.get("/api/v1/incidents", headers=wrong)
    problem(locked, 429)
    assert locked.headers["Retry-After"] == "60"


def test_the_alert_intake_keeps_its_error_words(client: FlaskClient) -> None:
    answer = client.get("/api/v1/alerts/no-such-key")
    body = problem(answer, 405)
    assert body["error"] == "method_not_allowed"
