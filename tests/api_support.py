"""Helpers of the REST API tests: a token for a persona, and requests that carry it."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import factories
from webapp.models import TokenScope
from webapp.tokens import service as tokens

PROBLEM = "application/problem+json"


def token_of(
    persona: factories.Persona, scope: TokenScope = TokenScope.WRITE, name: str = "ci"
) -> str:
    _token, secret = tokens.create(persona.account.id, name, scope, None, persona.member)
    return secret


def bearer(secret: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **more}


def call(
    client: FlaskClient, method: str, path: str, secret: str, body: Any = None, **headers: str
) -> TestResponse:
    data = None if body is None else json.dumps(body)
    return client.open(
        f"/api/v1{path}",
        method=method,
        data=data,
        content_type="application/json" if data is not None else None,
        headers=bearer(secret, **headers),
    )


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The answer's problem document, checked to be one (RFC 9457) with this status."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body: dict[str, Any] = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("/api/v1/docs#problem-")
    assert body["title"] and body["detail"]
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}
