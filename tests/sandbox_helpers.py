"""Small helpers for the sandbox's own tests: get a token, send a card, as a product would."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from webapp.sandbox import seed

API = "/_lark/open-apis"


def card(title: str = "P1 db-01 is down", value: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": {"title": {"tag": "plain_text", "content": title}, "template": "red"},
        "body": {
            "elements": [
                {"tag": "markdown", "content": "**db-01** is down"},
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": "Acknowledge"},
                    "type": "primary",
                    "behaviors": [
                        {"type": "callback", "value": value or {"action": "ack", "id": "42"}}
                    ],
                },
            ]
        },
    }


def token(
    client: FlaskClient, app_id: str = seed.DEMO_APP_ID, secret: str = seed.DEMO_APP_SECRET
) -> str:
    answer = client.post(
        f"{API}/auth/v3/tenant_access_token/internal", json={"app_id": app_id, "app_secret": secret}
    )
    assert answer.json and answer.json["code"] == 0, answer.json
    return str(answer.json["tenant_access_token"])


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def send(
    client: FlaskClient,
    tok: str,
    receive_id: str,
    id_type: str = "open_id",
    content: dict[str, Any] | None = None,
    uuid: str | None = None,
) -> TestResponse:
    body: dict[str, Any] = {
        "receive_id": receive_id,
        "msg_type": "interactive",
        "content": json.dumps(content or card()),
    }
    if uuid:
        body["uuid"] = uuid
    return client.post(
        f"{API}/im/v1/messages?receive_id_type={id_type}", json=body, headers=bearer(tok)
    )


def code(response: TestResponse) -> int:
    assert response.json is not None, response.data
    return int(response.json["code"])
