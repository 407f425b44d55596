"""Bodies built to hurt: deep nesting and oversized label sets answer a clear 400."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests import factories
from tests.factories import Persona
from tests.test_alert_intake import counts, source_for
from webapp.config import from_environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_ANCESTORS = from_environment({"SECRET_KEY": "x", "DATA_KEY": "x"})["LARK_FRAME_ANCESTORS"]

DEPTH = 200_000
DEEP = b"[" * DEPTH + b"]" * DEPTH  # 400 KB: under the 1 MiB limit


def test_deeply_nested_json_on_the_alert_api_is_the_usual_400(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    response = client.post(
        f"/api/v1/alerts/{source.key}", data=DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"
    assert counts() == (0, 0, 0)


def test_deeply_nested_json_on_the_card_url_answers_lark_json(
    client: FlaskClient, owner: Persona
) -> None:
    integration = factories.lark_integration(owner.account)
    for body in (DEEP, b'{"a": ' + DEEP + b"}"):
        response = client.post(
            f"/lark/{integration.key}/card", data=body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.mimetype == "application/json"
        assert response.get_json()["error"] == "invalid_json"


def test_every_page_says_who_may_frame_it_and_runs_only_our_own_scripts(
    client: FlaskClient, owner: Persona
) -> None:
    for path in ("/login", "/healthz", "/static/app.js", "/nowhere"):
        response = client.get(path)
        response.close()
        headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        ancestors = policy.split("frame-ancestors ")[1].split(";")[0].split()
        assert ancestors[0] == "'self'"
        assert "https://*.feishu.cn" in ancestors and "https://*.larksuite.com" in ancestors
        assert "*" not in ancestors and "'unsafe-inline'" not in policy.split("style-src")[0]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "X-Frame-Options" not in headers  # would forbid Lark's framing


def test_without_lark_hosts_only_the_app_may_frame_itself(app: Flask) -> None:
    app.config["LARK_FRAME_ANCESTORS"] = ""
    try:
        headers = app.test_client().get("/login").headers
    finally:
        app.config["LARK_FRAME_ANCESTORS"] = DEFAULT_ANCESTORS
    assert "frame-ancestors 'self';" in headers["Content-Security-Policy"] + ";"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    found = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                found.append(f"{template.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text) or "hx-on" in text or "javascript:" in text:
            found.append(f"{template.name}: event handler attribute")
    assert found == []


def test_too_many_labels_or_annotations_are_a_400_naming_the_limit(
    client: FlaskClient, owner: Persona
) -> None:
    source = source_for(owner)
    url = f"/api/v1/alerts/{source.key}"
    many = {f"k{i}": "v" for i in range(10_000)}
    generic = client.post(url, json={"title": "t", "labels": many})
    assert generic.status_code == 400
    assert generic.get_json()["fields"] == {"labels": "at most 64 entries (got 10000)"}
    alertmanager = {
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "Disk"},
                "annotations": {f"a{i}": "v" for i in range(65)},
                "startsAt": "2026-06-15T01:00:00Z",
            }
        ]
    }
    response = client.post(url, json=alertmanager)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"alerts[0].annotations": "at most 64 entries (got 65)"}
    long_key = client.post(url, json={"title": "t", "labels": {"k" * 129: "v"}})
    assert long_key.status_code == 400
    assert "at most 128 characters" in str(long_key.get_json()["fields"])
    long_value = client.post(url, json={"title": "t", "labels": {"k": "v" * 4001}})
    assert long_value.get_json()["fields"] == {
        "labels.k": "must be a string of at most 4,000 characters"
    }
    assert counts() == (0, 0, 0)
    exactly = {f"k{i}": "v" * 4000 for i in range(64)}
    assert client.post(url, json={"title": "t", "labels": exactly}).status_code == 200
